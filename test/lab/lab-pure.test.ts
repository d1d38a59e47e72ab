// Pure parts of the lab: mirror detection, docker argv, inventory rendering, key format, engine errors.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { checkDockerEngine } from '../../src/lab/docker.js';
import { DOCKER_UNREACHABLE_MESSAGE } from '../../src/lab/errors.js';
import { dockerRunArgs, validateFleetName } from '../../src/lab/fleet.js';
import { hostImageHash, renderHostBuildContext } from '../../src/lab/host-image.js';
import { renderKnownHosts, renderLabInventory } from '../../src/lab/inventory.js';
import { ensureLabKey } from '../../src/lab/keys.js';
import { parseDeb822Sources, parseOneLineSources, pickMirrors, renderSourcesList } from '../../src/lab/mirror.js';

const execFileAsync = promisify(execFile);

describe('mirror detection', () => {
  it('reads deb822 sources, skipping disabled stanzas and other suites', () => {
    const entries = parseDeb822Sources(`Types: deb
URIs: http://mirror.example/debian/
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Enabled: no
Types: deb
URIs: http://disabled.example/debian
Suites: bookworm

Types: deb
URIs: http://mirror.example/debian-security
Suites: bookworm-security
Components: main
`);
    expect(pickMirrors(entries, 'bookworm')).toEqual({
      archive: 'http://mirror.example/debian',
      security: 'http://mirror.example/debian-security',
    });
  });

  it('reads one-line sources with options and ignores other suites', () => {
    const entries = parseOneLineSources(`# comment
deb [arch=amd64 signed-by=/x.gpg] https://deb.nodesource.com/node_20.x nodistro main
deb http://ftp.example.org/debian bookworm main contrib
deb-src http://src.example.org/debian bookworm main
`);
    expect(pickMirrors(entries, 'bookworm')).toEqual({ archive: 'http://ftp.example.org/debian', security: undefined });
  });

  it('falls back to deb.debian.org', () => {
    expect(pickMirrors([], 'bookworm').archive).toBe('http://deb.debian.org/debian');
  });

  it('renders the hosts sources.list for the same mirrors', () => {
    expect(renderSourcesList({ archive: 'http://m/debian', security: 'http://m/debian-security' })).toBe(
      'deb http://m/debian bookworm main\ndeb http://m/debian bookworm-updates main\ndeb http://m/debian-security bookworm-security main\n',
    );
  });
});

describe('docker run argv', () => {
  it('publishes only 127.0.0.1 for plain hosts', () => {
    expect(dockerRunArgs({ container: 'f-1', fleet: 'f', image: 'img:1', systemd: false })).toEqual([
      'run', '-d', '--name', 'f-1', '--hostname', 'f-1',
      '--label', 'halyard.lab=f', '--label', 'halyard.lab.variant=plain',
      '-p', '127.0.0.1::22', 'img:1',
    ]);
  });

  it('uses the measured systemd flags, never --privileged', () => {
    const args = dockerRunArgs({ container: 'f-1', fleet: 'f', image: 'img:1', systemd: true, labels: { a: 'b' } });
    expect(args).not.toContain('--privileged');
    expect(args.join(' ')).toContain(
      '--security-opt seccomp=unconfined --security-opt apparmor=unconfined --cgroupns host -v /sys/fs/cgroup:/sys/fs/cgroup:rw --tmpfs /run --tmpfs /run/lock -v f-1-docker:/var/lib/docker',
    );
    const caps = args.flatMap((a, i) => (a === '--cap-add' ? [args[i + 1]] : []));
    expect(caps).toHaveLength(15);
    for (const bad of ['SYS_RESOURCE', 'PERFMON', 'BPF', 'CHECKPOINT_RESTORE']) expect(caps).not.toContain(bad);
    expect(args.slice(-2)).toEqual(['img:1', '/sbin/init']);
    expect(args).toContain('a=b');
  });

  it('rejects fleet names docker would refuse or a shell would misread', () => {
    expect(() => validateFleetName('ok-name_1.x')).not.toThrow();
    for (const bad of ['', '-x', 'a b', 'a;b', '$(x)', 'é']) expect(() => validateFleetName(bad)).toThrow(/invalid lab name/);
  });
});

describe('host image', () => {
  it('bakes no host keys and changes its tag when an input changes', () => {
    const context = renderHostBuildContext('ssh-ed25519 AAAA test');
    expect(context['Dockerfile']).toContain('rm -f /etc/ssh/ssh_host_*');
    expect(context['halyard-lab-sshd']).toContain('/usr/local/sbin/halyard-lab-hostkeys\nexec /usr/sbin/sshd -D -e');
    expect(context['ssh-service-override.conf']).toContain('ExecStartPre=/usr/local/sbin/halyard-lab-hostkeys');
    const a = hostImageHash(context, 'sha256:1');
    expect(a).toMatch(/^[0-9a-f]{12}$/);
    expect(hostImageHash(context, 'sha256:2')).not.toBe(a);
    expect(hostImageHash(renderHostBuildContext('ssh-ed25519 BBBB test'), 'sha256:1')).not.toBe(a);
  });
});

describe('inventory', () => {
  it('renders the Ansible shape and known_hosts with [host]:port', () => {
    const text = renderLabInventory({
      name: 'f', user: 'halyard', keyFile: '/k', knownHostsFile: '/kh', systemd: false, image: 'i',
      hosts: [{ name: 'f-1', container: 'f-1', address: '127.0.0.1', port: 40001 }],
    });
    expect(parse(text)).toEqual({
      all: {
        hosts: { 'f-1': { ansible_host: '127.0.0.1', ansible_port: 40001, ansible_user: 'halyard', ansible_ssh_private_key_file: '/k', ansible_become: true } },
        vars: { halyard_lab: 'f', halyard_lab_systemd: false, ansible_python_interpreter: '/usr/bin/python3', ansible_ssh_common_args: '-o UserKnownHostsFile=/kh' },
      },
    });
    expect(renderKnownHosts([{ address: '127.0.0.1', port: 40001, keys: ['ssh-ed25519 AAA'] }])).toBe('[127.0.0.1]:40001 ssh-ed25519 AAA\n');
  });
});

describe('lab key', () => {
  it('is an OpenSSH ed25519 key that ssh-keygen reads, made once', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'halyard-key-'));
    try {
      const [a, b] = await Promise.all([ensureLabKey(dir), ensureLabKey(dir)]);
      expect(a).toEqual(b);
      expect(a.publicKey).toMatch(/^ssh-ed25519 AAAAC3NzaC1lZDI1NTE5\S+ halyard-lab$/);
      const { stdout } = await execFileAsync('ssh-keygen', ['-y', '-f', a.privateKeyFile]);
      expect(stdout.trim()).toBe(a.publicKey);
      expect((await readFile(a.publicKeyFile, 'utf8')).trim()).toBe(a.publicKey);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('Docker engine check', () => {
  it('fails with the clear message when dockerd is not answering', async () => {
    const error = await checkDockerEngine({ ...process.env, DOCKER_HOST: 'unix:///nonexistent/docker.sock' }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'E_LAB_DOCKER_UNREACHABLE' });
    expect((error as Error).message.startsWith(DOCKER_UNREACHABLE_MESSAGE)).toBe(true);
  });

  it('fails with the clear message when the docker CLI is missing', async () => {
    const error = await checkDockerEngine({ ...process.env, PATH: '/nonexistent' }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'E_LAB_DOCKER_UNREACHABLE' });
    expect((error as Error).message).toContain(DOCKER_UNREACHABLE_MESSAGE);
  });
});

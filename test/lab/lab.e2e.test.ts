// Real lab hosts: containers with sshd on 127.0.0.1, reached with the system OpenSSH client.
import { execFile } from 'node:child_process';
import { access, readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  LAB_PASSWORD_USER,
  LAB_SUDO_PASSWORD,
  labExec,
  labStart,
  labStop,
  readFleet,
  readHostKeys,
  regenerateHostKeys,
} from '../../src/lab/index.js';
import { docker } from '../../src/lab/docker.js';
import { readSshBanner } from '../../src/lab/wait.js';
import { startTestFleet, type TestFleet } from '../support/lab.js';
import { busyBudget } from '../support/budget.js';


// One command over real SSH with strict host-key checking against the fleet's known_hosts.
async function ssh(
  fleet: TestFleet,
  port: number,
  user: string,
  command: string,
  input?: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const args = [
    '-o', 'BatchMode=yes',
    '-o', 'StrictHostKeyChecking=yes',
    '-o', `UserKnownHostsFile=${fleet.knownHostsFile}`,
    '-o', 'GlobalKnownHostsFile=/dev/null',
    '-o', 'ConnectTimeout=10',
    '-F', '/dev/null',
    '-i', fleet.keyFile,
    '-p', String(port),
    `${user}@127.0.0.1`,
    command,
  ];
  return new Promise((resolve) => {
    const child = execFile('ssh', args, { timeout: 30_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
    child.stdin?.end(input ?? '');
  });
}

async function containersOf(fleetName: string): Promise<string[]> {
  const result = await docker(['ps', '-a', '--filter', `label=halyard.lab=${fleetName}`, '--format', '{{.Names}}']);
  return result.stdout.split('\n').filter(Boolean);
}

describe('lab fleet, sshd as PID 1', () => {
  let fleet: TestFleet;

  beforeAll(async () => {
    fleet = await startTestFleet({ count: 2, prefix: 'lab' });
  });
  afterAll(async () => {
    await fleet?.stop();
  });

  it('returns two hosts on distinct 127.0.0.1 ports', () => {
    expect(fleet.hosts).toHaveLength(2);
    expect(fleet.user).toBe('halyard');
    expect(fleet.hosts.map((h) => h.name)).toEqual([`${fleet.name}-1`, `${fleet.name}-2`]);
    for (const host of fleet.hosts) {
      expect(host.address).toBe('127.0.0.1');
      expect(host.container).toBe(host.name);
    }
    expect(new Set(fleet.hosts.map((h) => h.port)).size).toBe(2);
  }, busyBudget(1));

  it('answers with an SSH banner on both ports', async () => {
    for (const host of fleet.hosts) {
      expect(await readSshBanner('127.0.0.1', host.port, 5_000)).toMatch(/^SSH-2\.0-OpenSSH/);
    }
  }, busyBudget(1));

  it('writes an Ansible-shaped inventory', async () => {
    const doc = parse(await readFile(fleet.inventoryPath, 'utf8')) as {
      all: { hosts: Record<string, Record<string, unknown>>; vars: Record<string, unknown> };
    };
    expect(Object.keys(doc.all.hosts)).toEqual(fleet.hosts.map((h) => h.name));
    expect(doc.all.hosts[fleet.hosts[0]!.name]).toEqual({
      ansible_host: '127.0.0.1',
      ansible_port: fleet.hosts[0]!.port,
      ansible_user: 'halyard',
      ansible_ssh_private_key_file: fleet.keyFile,
      ansible_become: true,
    });
    expect(doc.all.vars['halyard_lab']).toBe(fleet.name);
    expect((await readFleet(fleet.name))?.hosts).toEqual(fleet.hosts);
  }, busyBudget(1));

  it('runs scripts inside a host with labExec', async () => {
    const host = fleet.hosts[0]!;
    const result = await labExec(host.container, 'hostname; id -u halyard; exit 3');
    expect(result.exitCode).toBe(3);
    expect(result.stdout).toBe(`${host.name}\n1000\n`);
    const asUser = await labExec(host.container, 'id -un', { user: 'halyard' });
    expect(asUser.stdout.trim()).toBe('halyard');
    // Over the host's kept SSH connection through the lab user's sudo (not docker exec), from /.
    const overSsh = await labExec(host.container, 'printf "%s %s %s|" "$SUDO_USER" "$(id -un)" "$PWD"; cat', { input: 'stdin\n' });
    expect(overSsh).toMatchObject({ exitCode: 0, signal: null, stdout: 'halyard root /|stdin\n', stderr: '' });
    const killed = await labExec(host.container, 'echo started; sleep 30', { timeoutMs: 500 });
    expect(killed).toMatchObject({ exitCode: null, signal: 'SIGKILL', stdout: 'started\n' });
    expect(killed.durationMs).toBeLessThan(10_000);
    // More commands at once than sshd's MaxSessions (10) allows on one connection.
    const many = await Promise.all(Array.from({ length: 24 }, (_, i) => labExec(host.container, `echo ${i}`)));
    expect(many.map((run) => run.stdout)).toEqual(Array.from({ length: 24 }, (_, i) => `${i}\n`));
  }, busyBudget(3));

  it('gives every host its own host keys, recorded in known_hosts', async () => {
    const [a, b] = await Promise.all(fleet.hosts.map((h) => readHostKeys(h.container)));
    expect(a![0]).toMatch(/^ssh-ed25519 /);
    expect(a).not.toEqual(b);
    expect(a!.some((key) => b!.includes(key))).toBe(false);
    const knownHosts = await readFile(fleet.knownHostsFile, 'utf8');
    expect(knownHosts).toContain(`[127.0.0.1]:${fleet.hosts[0]!.port} ${a![0]}`);
    expect(knownHosts).toContain(`[127.0.0.1]:${fleet.hosts[1]!.port} ${b![0]}`);
  }, busyBudget(1));

  it('logs in with the lab key; halyard has passwordless sudo', async () => {
    for (const host of fleet.hosts) {
      const result = await ssh(fleet, host.port, 'halyard', 'hostname && sudo -n true && echo sudo-ok');
      expect(result.stderr).toBe('');
      expect(result).toMatchObject({ code: 0, stdout: `${host.name}\nsudo-ok\n` });
    }
  }, busyBudget(2));

  it('halyard-pw needs its password for sudo', async () => {
    const port = fleet.hosts[0]!.port;
    const noPassword = await ssh(fleet, port, LAB_PASSWORD_USER, 'sudo -n true');
    expect(noPassword.code).toBe(1);
    const withPassword = await ssh(fleet, port, LAB_PASSWORD_USER, "sudo -S -p '' id -u", `${LAB_SUDO_PASSWORD}\n`);
    expect(withPassword).toMatchObject({ code: 0, stdout: '0\n' });
    const wrongPassword = await ssh(fleet, port, LAB_PASSWORD_USER, "sudo -S -p '' true", 'wrong\n');
    expect(wrongPassword.code).toBe(1);
  }, busyBudget(5));

  it('runs apt-get against the same mirror as this machine', async () => {
    const result = await labExec(fleet.hosts[0]!.container, 'apt-get update -q >/dev/null && apt-cache policy tree | grep -c Candidate');
    expect(result).toMatchObject({ exitCode: 0, stdout: '1\n' });
  }, busyBudget(9));

  it('stops and starts a host; the fleet files follow its new port', async () => {
    const host = fleet.hosts[1]!;
    await labStop(host.container);
    expect(await readSshBanner('127.0.0.1', host.port, 2_000)).toBeUndefined();
    const { port } = await labStart(host.container);
    host.port = port;
    expect(await readSshBanner('127.0.0.1', port, 5_000)).toMatch(/^SSH-2\.0/);
    const saved = await readFleet(fleet.name);
    expect(saved?.hosts[1]?.port).toBe(port);
    // Same host keys after a restart, so known_hosts (rewritten for the new port) still matches.
    const result = await ssh(fleet, port, 'halyard', 'echo back');
    expect(result).toMatchObject({ code: 0, stdout: 'back\n' });
    expect((await labExec(host.container, 'echo "$SUDO_USER"')).stdout).toBe('halyard\n');
  }, busyBudget(4));

  it('regenerates host keys so a pinned known_hosts refuses the host', async () => {
    const host = fleet.hosts[0]!;
    const before = await readHostKeys(host.container);
    const after = await regenerateHostKeys(host.container);
    expect(after).toHaveLength(before.length);
    expect(after.some((key) => before.includes(key))).toBe(false);
    const result = await ssh(fleet, host.port, 'halyard', 'true');
    expect(result.code).toBe(255);
    // labExec's own connection refuses the new keys too, and the command runs through docker exec.
    expect(await labExec(host.container, 'echo "${SUDO_USER:-docker exec}"')).toMatchObject({ exitCode: 0, stdout: 'docker exec\n' });
  }, busyBudget(4));

  it('labDown removes the containers and the fleet files', async () => {
    expect(await containersOf(fleet.name)).toHaveLength(2);
    await fleet.stop();
    expect(await containersOf(fleet.name)).toEqual([]);
    await expect(access(fleet.inventoryPath)).rejects.toThrow();
  }, busyBudget(3));
});

describe('lab fleet, systemd as PID 1', () => {
  let fleet: TestFleet;

  beforeAll(async () => {
    fleet = await startTestFleet({ count: 1, systemd: true, prefix: 'lab-sd' });
  });
  afterAll(async () => {
    await fleet?.stop();
  });

  it('boots systemd with ssh.service active and no failed units', async () => {
    const container = fleet.hosts[0]!.container;
    const state = await labExec(container, 'systemctl is-system-running');
    expect(state.stdout.trim()).toMatch(/^(running|degraded)$/);
    expect((await labExec(container, 'cat /proc/1/comm')).stdout.trim()).toBe('systemd');
    expect((await labExec(container, 'systemctl is-active ssh.service')).stdout.trim()).toBe('active');
    expect((await labExec(container, 'systemctl --failed --no-legend --plain')).stdout.trim()).toBe('');
    expect((await labExec(container, 'systemctl is-enabled apt-daily.timer')).stdout.trim()).toBe('masked');
  }, busyBudget(4));

  it('is reachable over SSH with sudo, and /var/lib/docker is a volume', async () => {
    const host = fleet.hosts[0]!;
    const result = await ssh(fleet, host.port, 'halyard', 'sudo -n systemctl is-active ssh');
    expect(result).toMatchObject({ code: 0, stdout: 'active\n' });
    const mounts = await labExec(host.container, 'grep -c " /var/lib/docker " /proc/self/mountinfo');
    expect(mounts.stdout.trim()).toBe('1');
  }, busyBudget(2));

  it('labDown removes the container and its docker volume', async () => {
    const volume = `${fleet.hosts[0]!.container}-docker`;
    expect((await docker(['volume', 'inspect', volume])).exitCode).toBe(0);
    await fleet.stop();
    expect(await containersOf(fleet.name)).toEqual([]);
    expect((await docker(['volume', 'inspect', volume])).exitCode).not.toBe(0);
  }, busyBudget(3));
});

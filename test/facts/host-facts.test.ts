import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { defineHostFact, hostFactsFact, isCustomFact, osFamily, parseHostFacts, type HostFacts } from '../../src/facts/host-facts.js';
import { probeOne } from './local-shell.js';

const DEBIAN = `hostname web1
arch x86_64
kernel 6.1.0-18-amd64
init systemd
tool apt-get
tool dpkg-query
cpus 2
memkb 4018236
inet 10.0.1.17
inet 172.17.0.1
inet6 2a05:d018::17
osr PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
osr NAME="Debian GNU/Linux"
osr VERSION_ID="12"
osr VERSION_CODENAME=bookworm
osr ID=debian
`;

describe('parseHostFacts', () => {
  it('reads a Debian 12 host', () => {
    expect(parseHostFacts(DEBIAN, 0)).toEqual({
      hostname: 'web1',
      distribution: 'debian',
      family: 'debian',
      version: '12',
      codename: 'bookworm',
      prettyName: 'Debian GNU/Linux 12 (bookworm)',
      arch: 'x86_64',
      kernel: '6.1.0-18-amd64',
      packageManager: 'apt',
      initSystem: 'systemd',
      cpus: 2,
      memoryMb: 3924,
      ipv4: ['10.0.1.17', '172.17.0.1'],
      ipv6: ['2a05:d018::17'],
    });
  });

  it('Ubuntu: codename from UBUNTU_CODENAME when VERSION_CODENAME is empty; Amazon Linux: family redhat, dnf; no systemd: PID 1 named', () => {
    const ubuntu = parseHostFacts('hostname u\narch aarch64\ninit systemd\ntool apt-get\ntool dpkg-query\nosr ID=ubuntu\nosr ID_LIKE=debian\nosr VERSION_ID="24.04"\nosr VERSION_CODENAME=\nosr UBUNTU_CODENAME=noble\n', 0);
    expect(ubuntu).toMatchObject({ distribution: 'ubuntu', family: 'debian', version: '24.04', codename: 'noble', arch: 'aarch64', cpus: 0, memoryMb: 0, ipv4: [] });
    const amazon = parseHostFacts('hostname a\narch x86_64\ninit systemd\ntool dnf\ntool yum\nosr ID="amzn"\nosr ID_LIKE="fedora"\nosr VERSION_ID="2023"\n', 0);
    expect(amazon).toMatchObject({ distribution: 'amzn', family: 'redhat', packageManager: 'dnf', codename: '' });
    expect(parseHostFacts('hostname c\narch x86_64\ninit sshd\n', 0)).toMatchObject({ initSystem: 'sshd', distribution: '', family: 'unknown', packageManager: 'unknown' });
  });

  it('a family comes from ID_LIKE when the ID is not known', () => {
    expect(osFamily('rocky', [])).toBe('redhat');
    expect(osFamily('mydistro', ['ubuntu', 'debian'])).toBe('debian');
    expect(osFamily('mydistro', [])).toBe('unknown');
  });

  it('a failed or truncated probe is an error, not empty facts', () => {
    expect(() => parseHostFacts(DEBIAN, 1)).toThrow(/probe failed with exit code 1/);
    expect(() => parseHostFacts('arch x86_64\n', 0)).toThrow(/no hostname line/);
  });
});

describe('defineHostFact', () => {
  it('makes a fact keyed by its name, with the command as its script', () => {
    const fact = defineHostFact({ name: 'java_version', command: 'java -version 2>&1 | head -1', parse: (stdout) => stdout.trim() });
    expect(isCustomFact(fact)).toBe(true);
    expect(fact.key).toBe('custom:java_version');
    expect(fact.script).toBe('java -version 2>&1 | head -1');
    expect(fact.parse(' x \n', 0)).toBe('x');
  });

  it('refuses a name that is not a plain identifier and a missing parser', () => {
    expect(() => defineHostFact({ name: 'a b', command: 'true', parse: () => 1 })).toThrow(/needs a name of letters/);
    expect(() => defineHostFact({ name: 'ok', command: 'true' } as never)).toThrow(/needs a parse/);
  });
});

describe('the host facts probe on this machine', () => {
  // The probe reads /proc, /sys and os-release with the shell's own builtins: the same answers as the programs.
  it('says what uname, getconf, /proc/meminfo, ip and os-release say', async () => {
    const facts: HostFacts = await probeOne(hostFactsFact);
    const run = (command: string, ...args: string[]) => execFileSync(command, args, { encoding: 'utf8' }).trim();
    expect(facts.hostname).toBe(run('uname', '-n'));
    expect(facts.arch).toBe(run('uname', '-m'));
    expect(facts.kernel).toBe(run('uname', '-r'));
    expect(facts.cpus).toBe(Number(run('getconf', '_NPROCESSORS_ONLN')));
    expect(facts.memoryMb).toBe(Math.floor(Number(/^MemTotal:\s+(\d+) kB$/m.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1]) / 1024));
    const addresses = run('sh', '-c', "ip -o addr show scope global | sed -n 's/^[0-9]*: *[^ ]* *\\(inet6\\{0,1\\}\\) \\([^/ ]*\\).*/\\1 \\2/p'").split('\n').filter(Boolean);
    expect([...facts.ipv4.map((address) => `inet ${address}`), ...facts.ipv6.map((address) => `inet6 ${address}`)].sort()).toEqual(addresses.sort());
    const release = Object.fromEntries(readFileSync('/etc/os-release', 'utf8').split('\n').filter(Boolean).map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1).replace(/^"(.*)"$/, '$1')]));
    expect(facts.distribution).toBe(release.ID);
    expect(facts.version).toBe(release.VERSION_ID ?? '');
    expect(facts.prettyName).toBe(release.PRETTY_NAME);
  });
});

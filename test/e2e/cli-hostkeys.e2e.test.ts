// Host-key policy through the real CLI against a lab host: accept-new records, strict refuses
// unknown keys, a changed key is refused under both policies, hashed known_hosts entries match.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { labExec, readHostKeys, regenerateHostKeys } from '../../src/lab/index.js';
import { fleetInventory, freshKnownHosts, runCli, type CliRun } from '../support/cli.js';
import { startTestFleet, type TestFleet } from '../support/lab.js';
import { busyBudget } from '../support/budget.js';

const PLAYBOOK = 'test/e2e/playbooks/cli-fleet.ts';

describe('halyard apply: SSH host keys on a lab host', () => {
  let fleet: TestFleet;
  let inventory: string;
  let name: string;
  let container: string;
  let port: number;
  let runs = 0;

  // One apply into its own directory, so a refused run can be shown to have left no trace.
  const apply = async (knownHosts: string, ...extra: string[]): Promise<{ run: CliRun; dir: string }> => {
    const dir = `/tmp/hy-hostkeys-${++runs}`;
    const run = await runCli(['apply', PLAYBOOK, '-i', inventory, '--known-hosts', knownHosts, '-e', `cli_dir=${dir}`, ...extra]);
    return { run, dir };
  };
  const exists = async (path: string) => (await labExec(container, `test -e ${path} && echo yes || echo no`)).stdout.trim() === 'yes';

  // The lab inventory with only the named hosts, and groups of them.
  const inventoryOf = (names: string[], children: Record<string, string[]> = {}): string => {
    const doc = parse(readFileSync(fleetInventory(fleet, {}), 'utf8')) as { all: { hosts: Record<string, unknown>; children?: Record<string, unknown> } };
    doc.all.hosts = Object.fromEntries(Object.entries(doc.all.hosts).filter(([host]) => names.includes(host)));
    doc.all.children = Object.fromEntries(Object.entries(children).map(([group, members]) => [group, { hosts: Object.fromEntries(members.map((member) => [member, null])) }]));
    const path = join(mkdtempSync(join(tmpdir(), 'hy-inv-')), 'inventory.yml');
    writeFileSync(path, stringify(doc));
    return path;
  };
  // sshd -e logs on the container's stderr, which `docker logs` gives on its own stderr.
  const sshdLog = async (hostContainer: string): Promise<string> => execFileSync('sh', ['-c', 'docker logs "$1" 2>&1', 'sh', hostContainer], { encoding: 'utf8' });

  beforeAll(async () => {
    // The second host is for the test of hosts a run does not target.
    fleet = await startTestFleet({ count: 2, prefix: 'cli-hostkeys' });
    const [host] = fleet.hosts;
    if (!host) throw new Error('no lab host');
    ({ name, container, port } = host);
    inventory = inventoryOf([name]);
  });
  afterAll(() => fleet?.stop());

  it('records, refuses unknown and changed keys, and matches hashed entries', async () => {
    // accept-new (the default) with a fresh file: the run succeeds and records the key.
    const recorded = freshKnownHosts();
    const first = await apply(recorded, '--json');
    expect(first.run.exitCode, first.run.stderr).toBe(0);
    expect(first.run.json?.hosts[name]).toMatchObject({ unreachable: false, failed: 0 });
    expect(await exists(`${first.dir}/greeting`)).toBe(true);
    const lines = readFileSync(recorded, 'utf8').trim().split('\n');
    expect(lines.length).toBeGreaterThanOrEqual(1);
    const hostKeys = await readHostKeys(container);
    for (const line of lines) {
      expect(line.startsWith(`[127.0.0.1]:${port} `), line).toBe(true);
      expect(hostKeys).toContain(line.slice(line.indexOf(' ') + 1));
    }
    // A second run finds the key and records nothing more.
    const again = await apply(recorded);
    expect(again.run.exitCode, again.run.stderr).toBe(0);
    expect(readFileSync(recorded, 'utf8').trim().split('\n')).toEqual(lines);

    // strict with an empty known_hosts: refused before anything runs, file left empty.
    const empty = freshKnownHosts();
    writeFileSync(empty, '');
    const strict = await apply(empty, '--strict-host-keys', '--json');
    expect(strict.run.exitCode, strict.run.stderr).toBe(1);
    const refused = strict.run.json?.hosts[name];
    expect(refused).toMatchObject({ unreachable: true, changed: 0, execs: 0, tasks: [] });
    expect(refused?.error).toMatch(/is not in .*known_hosts and strict host key checking is on/);
    expect(refused?.error).toMatch(/SHA256:/);
    expect(readFileSync(empty, 'utf8')).toBe('');
    expect(await exists(strict.dir)).toBe(false);
    const strictPlain = await apply(empty, '--strict-host-keys');
    expect(strictPlain.run.exitCode).toBe(1);
    expect(strictPlain.run.stdout).toMatch(new RegExp(`^${name}\\s+UNREACHABLE\\s.*unreachable=1`, 'm'));
    expect(strictPlain.run.stdout).toContain('strict host key checking is on');
    expect(await exists(strictPlain.dir)).toBe(false);

    // Hashed entries (ssh-keygen -H) are matched, under strict too, and nothing is appended.
    const hashed = freshKnownHosts();
    copyFileSync(recorded, hashed);
    execFileSync('ssh-keygen', ['-H', '-f', hashed], { stdio: 'ignore' });
    const hashedText = readFileSync(hashed, 'utf8');
    expect(hashedText).not.toContain('127.0.0.1');
    expect(hashedText).toMatch(/^\|1\|/);
    const viaHashed = await apply(hashed, '--strict-host-keys');
    expect(viaHashed.run.exitCode, viaHashed.run.stdout + viaHashed.run.stderr).toBe(0);
    expect(await exists(`${viaHashed.dir}/greeting`)).toBe(true);
    const viaHashedAcceptNew = await apply(hashed);
    expect(viaHashedAcceptNew.run.exitCode).toBe(0);
    expect(readFileSync(hashed, 'utf8')).toBe(hashedText);

    // The host is rebuilt with new keys: the stale files are refused under both policies,
    // although the login key is still valid, and they are not rewritten.
    const newKeys = await regenerateHostKeys(container);
    expect(newKeys).not.toEqual(hostKeys);
    const staleText = readFileSync(recorded, 'utf8');
    for (const [file, flags] of [
      [recorded, []],
      [recorded, ['--strict-host-keys']],
      [hashed, []],
    ] as const) {
      const stale = await apply(file, ...flags, '--json');
      expect(stale.run.exitCode, stale.run.stderr).toBe(1);
      const result = stale.run.json?.hosts[name];
      expect(result).toMatchObject({ unreachable: true, changed: 0, execs: 0 });
      expect(result?.error).toMatch(/has CHANGED/);
      expect(result?.error).toContain(`${file}:1`);
      expect(result?.error).toContain(`ssh-keygen -R '[127.0.0.1]:${port}'`);
      expect(await exists(stale.dir)).toBe(false);
    }
    expect(readFileSync(recorded, 'utf8')).toBe(staleText);
    expect(readFileSync(hashed, 'utf8')).toBe(hashedText);
    const stalePlain = await apply(recorded);
    expect(stalePlain.run.exitCode).toBe(1);
    expect(stalePlain.run.stdout).toMatch(new RegExp(`^${name}\\s+UNREACHABLE\\s`, 'm'));
    expect(stalePlain.run.stdout).toContain('has CHANGED');

    // The same login works with a fresh known_hosts: only the host key was in the way.
    const fresh = freshKnownHosts();
    const after = await apply(fresh);
    expect(after.run.exitCode, after.run.stdout).toBe(0);
    expect(await exists(`${after.dir}/greeting`)).toBe(true);
    expect(newKeys).toContain(readFileSync(fresh, 'utf8').trim().split('\n')[0]?.replace(/^\S+ /, ''));
  }, busyBudget(37));

  it('a host known only by a key of another type is a changed identity, refused as OpenSSH refuses it', async () => {
    // known_hosts holds an RSA key for the host; the host offers only ed25519 and ecdsa keys.
    const dir = freshKnownHosts().replace(/\/known_hosts$/, '');
    execFileSync('ssh-keygen', ['-q', '-t', 'rsa', '-b', '2048', '-N', '', '-f', `${dir}/other_rsa`]);
    const knownHosts = `${dir}/known_hosts`;
    const rsaLine = `[127.0.0.1]:${port} ${readFileSync(`${dir}/other_rsa.pub`, 'utf8').split(' ').slice(0, 2).join(' ')}\n`;
    writeFileSync(knownHosts, rsaLine);

    // The oracle: OpenSSH's own client with accept-new refuses and leaves the file alone.
    let openssh = '';
    try {
      execFileSync('ssh', ['-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=accept-new', '-o', `UserKnownHostsFile=${knownHosts}`, '-i', fleet.keyFile, '-p', String(port), `${fleet.user}@127.0.0.1`, 'true'], { stdio: 'pipe' });
    } catch (error) {
      openssh = String((error as { stderr?: Buffer }).stderr ?? '');
    }
    expect(openssh).toContain('has changed');
    expect(readFileSync(knownHosts, 'utf8')).toBe(rsaLine);

    // halyard says the same, with its changed-key message, under the default policy.
    const run = await apply(knownHosts, '--json');
    expect(run.run.exitCode, run.run.stderr).toBe(1);
    const result = run.run.json?.hosts[name];
    expect(result).toMatchObject({ unreachable: true, execs: 0, errorCode: 'E_HOSTKEY_CHANGED' });
    expect(result?.error).toMatch(/has CHANGED: the server now presents ssh-ed25519 key SHA256:\S+, but .*known_hosts:1 holds a different ssh-rsa key for it/);
    expect(readFileSync(knownHosts, 'utf8')).toBe(rsaLine);
    expect(await exists(run.dir)).toBe(false);
  }, busyBudget(10));

  it('connects while the playbook loads, but a host no play targets (or every host, when the playbook fails) has its key neither checked nor recorded, and no login', async () => {
    const [targeted, other] = fleet.hosts;
    if (!targeted || !other) throw new Error('two lab hosts expected');
    const both = inventoryOf([targeted.name, other.name], { targeted: [targeted.name] });
    // docker logs holds each sshd's log (sshd -e): what the run did to each host, counted from here.
    const before = { targeted: (await sshdLog(targeted.container)).length, other: (await sshdLog(other.container)).length };
    const since = async (host: typeof targeted, from: number) => (await sshdLog(host.container)).slice(from);

    const knownHosts = freshKnownHosts();
    const run = await runCli(['apply', 'test/e2e/playbooks/targeted-group.ts', '-i', both, '--known-hosts', knownHosts, '--json']);
    expect(run.exitCode, run.stderr).toBe(0);
    expect(Object.keys(run.json?.hosts ?? {})).toEqual([targeted.name]);
    // Only the targeted host's key is recorded (accept-new), under its own port.
    const recorded = readFileSync(knownHosts, 'utf8').trim().split('\n');
    expect(recorded.length).toBeGreaterThanOrEqual(1);
    for (const line of recorded) expect(line.startsWith(`[127.0.0.1]:${targeted.port} `), line).toBe(true);
    // The other host was reached early (two hosts, within the early-connection limit) and let go
    // before authentication: sshd logs the preauth close, and no accepted login.
    const otherLog = await since(other, before.other);
    // (Closed during the key exchange or before it: sshd words it one of these ways.)
    expect(otherLog).toMatch(/^(?:Connection (?:closed|reset) by|Disconnected from|Received disconnect from) \S+ port \d+.*\[preauth\]$|^kex_exchange_identification: /m);
    expect(otherLog).not.toMatch(/Accepted publickey/);
    expect(await since(targeted, before.targeted)).toMatch(/^Accepted publickey for \S+ from \S+ port \d+/m);

    // A playbook error (found after the inventory is read and connections began): exit 65, no
    // key recorded and no login anywhere.
    const marks = { targeted: (await sshdLog(targeted.container)).length, other: (await sshdLog(other.container)).length };
    const untouched = freshKnownHosts();
    const bad = await runCli(['apply', 'test/e2e/playbooks/bad-task.ts', '-i', both, '--known-hosts', untouched]);
    expect(bad.exitCode, bad.stdout + bad.stderr).toBe(65);
    expect(bad.stderr).toMatch(/bad-task\.ts:\d+: file: path must be a string/);
    expect(readFileSync(untouched, { encoding: 'utf8', flag: 'a+' })).toBe('');
    for (const host of [targeted, other]) expect(await since(host, marks[host === targeted ? 'targeted' : 'other'])).not.toMatch(/Accepted publickey/);
    // Budget: 5.2 s in a fresh-clone CI run with every lane busy (Dec 6), not yet under ci-under-load.sh.
  }, busyBudget(6));
});

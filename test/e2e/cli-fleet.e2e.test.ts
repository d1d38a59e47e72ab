// Fleet execution through the real CLI on three lab hosts: --limit, -e, --serial with
// --max-fail-percent, --forks, a play's become, -K on a terminal, and an unreachable host that
// does not stop the others.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LAB_PASSWORD_USER, LAB_SUDO_PASSWORD } from '../../src/lab/host-image.js';
import { labExec, labStop } from '../../src/lab/index.js';
import { freshKnownHosts, runCli, type CliRun } from '../support/cli.js';
import { startTestFleet, type TestFleet } from '../support/lab.js';
import { runCliOnTerminal } from '../support/pty.js';
import { busyBudget } from '../support/budget.js';

const PLAYBOOK = 'test/e2e/playbooks/cli-fleet.ts';

describe('halyard apply: a three-host lab fleet', () => {
  let fleet: TestFleet;
  let knownHosts: string;
  let names: string[];
  let runs = 0;

  // An inventory with groups web (hosts 1, 2) and db (host 3), a greeting in all.vars and extra host vars.
  const inventory = (hostVars: Record<number, Record<string, unknown>> = {}): string => {
    const hostEntry = (index: number) => {
      const host = fleet.hosts[index];
      if (!host) throw new Error(`no lab host ${index}`);
      return [host.name, { ansible_host: host.address, ansible_port: host.port, ...hostVars[index] }] as const;
    };
    const document = {
      all: {
        vars: { ansible_user: fleet.user, ansible_ssh_private_key_file: fleet.keyFile, ansible_become: true, greeting: 'from-inventory' },
        children: {
          web: { hosts: Object.fromEntries([hostEntry(0), hostEntry(1)]) },
          db: { hosts: Object.fromEntries([hostEntry(2)]) },
        },
      },
    };
    const path = join(mkdtempSync(join(tmpdir(), 'hy-inv-')), 'inventory.yml');
    writeFileSync(path, stringify(document));
    return path;
  };
  // One apply writing into its own directory on the hosts.
  const apply = async (inventoryPath: string, ...extra: string[]): Promise<{ run: CliRun; dir: string }> => {
    const dir = `/tmp/hy-fleet-${++runs}`;
    const run = await runCli(['apply', PLAYBOOK, '-i', inventoryPath, '--known-hosts', knownHosts, '-e', `cli_dir=${dir}`, ...extra]);
    return { run, dir };
  };
  const container = (index: number) => fleet.hosts[index]?.container ?? '';
  // Which hosts (by index) hold a path.
  const holding = async (path: string): Promise<number[]> => {
    const found: number[] = [];
    for (const [index, host] of fleet.hosts.entries()) {
      if ((await labExec(host.container, `test -e ${path} && echo yes || echo no`)).stdout.trim() === 'yes') found.push(index);
    }
    return found;
  };
  // Start/end timestamps each host wrote around its sleep, as [start, end] seconds.
  const intervals = async (dir: string): Promise<[number, number][]> =>
    Promise.all(
      fleet.hosts.map(async (host) => {
        const [start, end] = (await labExec(host.container, `cat ${dir}/times`)).stdout.trim().split('\n').map(Number);
        if (start === undefined || end === undefined || Number.isNaN(start + end)) throw new Error(`no times on ${host.name}`);
        return [start, end] as [number, number];
      }),
    );

  beforeAll(async () => {
    fleet = await startTestFleet({ count: 3, prefix: 'cli-fleet' });
    knownHosts = freshKnownHosts();
    names = fleet.hosts.map((host) => host.name);
  });
  afterAll(() => fleet?.stop());

  it('--limit selects exactly a host, a group or a glob; an unknown group exits 65 with one line', async () => {
    const plain = inventory();
    // One apply per kind of term: the pattern language itself is compared with Ansible's term by
    // term in test/inventory/pattern-oracle.test.ts; here each apply proves only the hosts touched.
    const cases: [string, number[]][] = [
      [names[1] ?? '', [1]],
      // A glob class; `-[13]` would be a subscript (the 14th host), as in Ansible.
      [names[0]?.replace(/-1$/, '-[!2]') ?? '', [0, 2]],
      ['all:!web', [2]],
    ];
    for (const [limit, expected] of cases) {
      const { run, dir } = await apply(plain, '--limit', limit, '--json');
      expect(run.exitCode, `${limit}: ${run.stderr}`).toBe(0);
      expect(Object.keys(run.json?.hosts ?? {}), limit).toEqual(expected.map((index) => names[index]));
      expect(await holding(`${dir}/greeting`), limit).toEqual(expected);
    }

    const unknown = await apply(plain, '--limit', 'nosuchgroup');
    expect(unknown.run.exitCode).toBe(65);
    expect(unknown.run.stdout).toBe('');
    expect(unknown.run.stderr.trimEnd().split('\n')).toEqual([expect.stringContaining('no host or group named "nosuchgroup"')]);
    expect(await holding(unknown.dir)).toEqual([]);
  }, busyBudget(16));

  it('-e key=value overrides inventory group and host vars', async () => {
    const withHostVar = inventory({ 1: { greeting: 'from-host-var' } });
    const before = await apply(withHostVar);
    expect(before.run.exitCode, before.run.stdout).toBe(0);
    expect((await labExec(container(0), `cat ${before.dir}/greeting`)).stdout).toBe(`from-inventory from ${names[0]}\n`);
    expect((await labExec(container(1), `cat ${before.dir}/greeting`)).stdout).toBe(`from-host-var from ${names[1]}\n`);

    const overridden = await apply(withHostVar, '-e', "greeting='from cli'");
    expect(overridden.run.exitCode, overridden.run.stdout).toBe(0);
    for (const [index, name] of names.entries()) {
      expect((await labExec(container(index), `cat ${overridden.dir}/greeting`)).stdout).toBe(`from cli from ${name}\n`);
    }
  }, busyBudget(18));

  it('--serial batches with --max-fail-percent stop after a failing host; without it later batches still run', async () => {
    const failFirst = inventory({ 0: { fail_here: true } });
    const notRun = (run: CliRun, index: number) => {
      const result = run.json?.hosts[names[index] ?? ''];
      expect(result, `host ${index}`).toMatchObject({ ok: 0, changed: 0, failed: 0, unreachable: false, execs: 0, tasks: [] });
      expect(result?.error).toMatch(/^not run: /);
    };
    const ran = (run: CliRun, index: number) =>
      expect(run.json?.hosts[names[index] ?? ''], `host ${index}`).toMatchObject({ failed: 0, unreachable: false, execs: 1 });
    const failedFirst = (run: CliRun) => {
      const result = run.json?.hosts[names[0] ?? ''];
      expect(result).toMatchObject({ failed: 1, unreachable: false });
      expect(result?.tasks.find((task) => task.name === 'fail on purpose')).toMatchObject({ status: 'failed', error: expect.stringContaining('exit code 3') });
    };

    // --serial 1 --max-fail-percent 0: host 1 fails, batches 2 and 3 are never started.
    const strict = await apply(failFirst, '--serial', '1', '--max-fail-percent', '0', '--json');
    expect(strict.run.exitCode).toBe(1);
    expect(Object.keys(strict.run.json?.hosts ?? {})).toEqual(names);
    failedFirst(strict.run);
    notRun(strict.run, 1);
    notRun(strict.run, 2);
    expect(await holding(`${strict.dir}/greeting`)).toEqual([0]);
    const strictPlain = await apply(failFirst, '--serial', '1', '--max-fail-percent', '0');
    expect(strictPlain.run.exitCode).toBe(1);
    expect(strictPlain.run.stdout).toMatch(new RegExp(`^${names[0]}\\s+FAILED\\s`, 'm'));
    expect(strictPlain.run.stdout).toMatch(new RegExp(`^${names[2]}\\s+FAILED\\s+ok=0 changed=0 failed=0 skipped=0 unreachable=0 execs=0\\n\\s+error: not run: `, 'm'));

    // --serial 2 --max-fail-percent 0: batch [1, 2] runs both (one failure stops nothing inside a
    // batch), 50% failed > 0%, so batch [3] is not run.
    const percent = await apply(failFirst, '--serial', '2', '--max-fail-percent', '0', '--json');
    expect(percent.run.exitCode).toBe(1);
    failedFirst(percent.run);
    ran(percent.run, 1);
    notRun(percent.run, 2);
    expect(percent.run.json?.hosts[names[2] ?? '']?.error).toContain('over --max-fail-percent 0');
    expect(await holding(`${percent.dir}/greeting`)).toEqual([0, 1]);

    // --serial 2 alone: the failure in batch [1, 2] does not stop batch [3].
    const lenient = await apply(failFirst, '--serial', '2', '--json');
    expect(lenient.run.exitCode).toBe(1);
    failedFirst(lenient.run);
    ran(lenient.run, 1);
    ran(lenient.run, 2);
    expect(await holding(`${lenient.dir}/greeting`)).toEqual([0, 1, 2]);

    // --serial 1 alone with the first host failing: a batch whose hosts ALL failed stops the run,
    // as Ansible's serial does (even without max_fail_percentage).
    const single = await apply(failFirst, '--serial', '1', '--json');
    expect(single.run.exitCode).toBe(1);
    failedFirst(single.run);
    notRun(single.run, 1);
    expect(single.run.json?.hosts[names[1] ?? '']?.error).toContain('every host of the previous batch failed');
  }, busyBudget(35));

  it('--forks 1 runs hosts one at a time; the default runs them together', async () => {
    const plain = inventory();
    const serialRun = await apply(plain, '--forks', '1', '-e', 'sleep_seconds=1', '--json');
    expect(serialRun.run.exitCode, serialRun.run.stderr).toBe(0);
    expect(serialRun.run.json?.durationMs).toBeGreaterThanOrEqual(3000);
    const one = (await intervals(serialRun.dir)).sort((a, b) => a[0] - b[0]);
    for (let index = 1; index < one.length; index += 1) {
      expect(one[index]?.[0], JSON.stringify(one)).toBeGreaterThanOrEqual(one[index - 1]?.[1] ?? Infinity);
    }

    const parallel = await apply(plain, '-e', 'sleep_seconds=2', '--json');
    expect(parallel.run.exitCode, parallel.run.stderr).toBe(0);
    const together = await intervals(parallel.dir);
    // Every host started its sleep before any host ended its own.
    const lastStart = Math.max(...together.map(([start]) => start));
    const firstEnd = Math.min(...together.map(([, end]) => end));
    expect(lastStart, JSON.stringify(together)).toBeLessThan(firstEnd);
  }, busyBudget(26));

  it("a play's become: true converges root-owned paths for an inventory without ansible_become; the inventory's ansible_become: false beats it", async () => {
    const hostEntry = (index: number, extra: Record<string, unknown>) => [names[index], { ansible_host: fleet.hosts[index]!.address, ansible_port: fleet.hosts[index]!.port, ...extra }];
    const path = join(mkdtempSync(join(tmpdir(), 'hy-inv-')), 'inventory.yml');
    // No ansible_become anywhere but on the second host, where it says no.
    writeFileSync(path, stringify({ all: { vars: { ansible_user: fleet.user, ansible_ssh_private_key_file: fleet.keyFile }, hosts: Object.fromEntries([hostEntry(0, {}), hostEntry(1, { ansible_become: false })]) } }));
    const dir = `/etc/hy-become-${++runs}`;
    const become = (...extra: string[]) => runCli(['apply', 'test/e2e/playbooks/become-play.ts', '-i', path, '--known-hosts', knownHosts, '-e', `become_dir=${dir}`, '--json', ...extra]);
    const first = await become();
    expect(first.exitCode, first.stderr).toBe(1);
    expect(first.json?.hosts[names[0]!]).toMatchObject({ changed: 2, failed: 0 });
    expect((await labExec(container(0), `stat -c '%U:%G %a' ${dir} ${dir}/marker`)).stdout).toBe('root:root 750\nroot:root 640\n');
    // The login user cannot create a directory in /etc: the play's keyword did not apply there.
    expect(first.json?.hosts[names[1]!]?.failed).toBe(1);
    expect(JSON.stringify(first.json?.hosts[names[1]!]?.tasks)).toMatch(/Permission denied/);
    expect((await labExec(container(1), `test -e ${dir} && echo present || echo absent`)).stdout).toBe('absent\n');
    const rerun = await become('--limit', names[0]!);
    expect(rerun.exitCode, rerun.stderr).toBe(0);
    expect(rerun.json?.hosts[names[0]!]).toMatchObject({ changed: 0, execs: 1 });
  }, busyBudget(7));

  it('-K on a terminal: the sudo password is asked once, never echoed, and becomes root for a user whose sudo needs it', async () => {
    const host = fleet.hosts[0]!;
    const path = join(mkdtempSync(join(tmpdir(), 'hy-inv-')), 'inventory.yml');
    writeFileSync(path, stringify({ all: { hosts: { [host.name]: { ansible_host: host.address, ansible_port: host.port, ansible_user: LAB_PASSWORD_USER, ansible_ssh_private_key_file: fleet.keyFile } } } }));
    const dir = `/etc/hy-become-${++runs}`;
    const run = await runCliOnTerminal(['apply', 'test/e2e/playbooks/become-play.ts', '-i', path, '--known-hosts', knownHosts, '-e', `become_dir=${dir}`, '-K'], [['BECOME password: ', LAB_SUDO_PASSWORD]]);
    expect(run.unanswered).toEqual([]);
    expect(run.exitCode, run.output).toBe(0);
    expect(run.output.match(/BECOME password: /g)).toHaveLength(1);
    expect(run.output).not.toContain(LAB_SUDO_PASSWORD);
    expect((await labExec(container(0), `stat -c '%U:%G %a' ${dir}/marker`)).stdout).toBe('root:root 640\n');
  }, busyBudget(3));

  it('halyard facts: distribution, version, codename and arch as the host itself says them; under the lock, one exec', async () => {
    const run = await runCli(['facts', names[0] ?? '', '-i', inventory(), '--known-hosts', knownHosts, '--json']);
    expect(run.exitCode, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout) as { ok: boolean; hosts: Record<string, { facts: Record<string, unknown>; execs: number }> };
    expect(Object.keys(report.hosts)).toEqual([names[0]]);
    const { facts, execs } = report.hosts[names[0] ?? '']!;
    expect(execs).toBe(1);
    const osRelease = (await labExec(container(0), '. /etc/os-release && printf "%s|%s|%s\\n" "$ID" "$VERSION_ID" "$VERSION_CODENAME"')).stdout.trim().split('|');
    const arch = (await labExec(container(0), 'uname -m')).stdout.trim();
    const cpus = Number((await labExec(container(0), 'getconf _NPROCESSORS_ONLN')).stdout.trim());
    expect(facts).toMatchObject({ distribution: osRelease[0], version: osRelease[1], codename: osRelease[2], family: 'debian', arch, packageManager: 'apt', cpus });
    expect(facts.ipv4).toEqual(expect.arrayContaining([expect.stringMatching(/^\d+\.\d+\.\d+\.\d+$/)]));
    expect(facts.memoryMb).toBeGreaterThan(0);

    const text = await runCli(['facts', names[0] ?? '', '-i', inventory(), '--known-hosts', knownHosts]);
    expect(text.exitCode, text.stderr).toBe(0);
    expect(text.stdout).toContain(`${names[0]}:\n  hostname: `);
    expect(text.stdout).toContain(`\n  distribution: ${osRelease[0]}\n`);
  }, busyBudget(3));

  it('an unreachable host is reported as such while the others converge (exit 1)', async () => {
    await labStop(container(2));
    const plain = inventory();
    const { run, dir } = await apply(plain, '--connect-timeout', '5', '--json');
    expect(run.exitCode, run.stderr).toBe(1);
    expect(run.json?.ok).toBe(false);
    for (const index of [0, 1]) {
      expect(run.json?.hosts[names[index] ?? '']).toMatchObject({ unreachable: false, failed: 0, changed: 2, execs: 1 });
      expect((await labExec(container(index), `cat ${dir}/greeting`)).stdout).toBe(`from-inventory from ${names[index]}\n`);
    }
    const down = run.json?.hosts[names[2] ?? ''];
    expect(down).toMatchObject({ unreachable: true, ok: 0, changed: 0, failed: 0, execs: 0, tasks: [] });
    expect(down?.error).toMatch(/refused|closed|reset/i);

    const text = await apply(plain, '--connect-timeout', '5');
    expect(text.run.exitCode).toBe(1);
    expect(text.run.stdout).toMatch(new RegExp(`^${names[2]} \\| UNREACHABLE \\| `, 'm'));
    expect(text.run.stdout).toMatch(new RegExp(`^${names[2]}\\s+UNREACHABLE\\s+ok=0 changed=0 failed=0 skipped=0 unreachable=1 execs=0$`, 'm'));
    for (const index of [0, 1]) expect(text.run.stdout).toMatch(new RegExp(`^${names[index]}\\s+CHANGED\\s+ok=0 changed=2 failed=0 `, 'm'));
  }, busyBudget(18));

  it('halyard exec all -- uptime with one host down: two outputs, one clear error, exit 1; --json has each exit code', async () => {
    // Host 2 was stopped by the test before.
    const plain = inventory();
    const run = await runCli(['exec', 'all', '-i', plain, '--known-hosts', knownHosts, '--connect-timeout', '5', '--', 'uptime']);
    expect(run.exitCode, run.stderr).toBe(1);
    for (const index of [0, 1]) expect(run.stdout).toMatch(new RegExp(`^${names[index]} \\| OK \\| rc=0 >>\\n.*load average`, 'm'));
    expect(run.stdout).toMatch(new RegExp(`^${names[2]} \\| UNREACHABLE: .*(refused|closed|reset)`, 'mi'));

    // An argv is quoted word by word; a non-zero exit is that host's failure, with its output.
    const json = await runCli(['exec', 'web', '-i', plain, '--known-hosts', knownHosts, '--json', '--', 'sh', '-c', 'echo "$1 $0"; exit 3', "it's", 'a; b']);
    expect(json.exitCode, json.stderr).toBe(1);
    const result = JSON.parse(json.stdout) as { ok: boolean; hosts: Record<string, { exitCode: number; output: string }> };
    expect(result.ok).toBe(false);
    expect(Object.keys(result.hosts)).toEqual([names[0], names[1]]);
    for (const index of [0, 1]) expect(result.hosts[names[index] ?? '']).toMatchObject({ exitCode: 3, output: "a; b it's\n" });
  }, busyBudget(6));
});

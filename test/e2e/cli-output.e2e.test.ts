// What `halyard apply` prints, on two lab hosts: --json is exactly one JSON document of the
// documented shape; plain mode prints task lines and the RECAP; on a TTY listr2 draws live progress.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HostResult } from '../../src/engine/results.js';
import { fleetInventory, freshKnownHosts, runCli, runOnTty } from '../support/cli.js';
import { startTestFleet, type TestFleet } from '../support/lab.js';
import { busyBudget } from '../support/budget.js';

const PLAYBOOK = 'test/e2e/playbooks/cli-fleet.ts';

// Terminal output without colours and cursor movement.
function stripAnsi(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\u001b\[[0-9;?]*[ -/]*[@-~]/g, '').replace(/\u001b\][^\u0007]*\u0007/g, '').replace(/\r/g, '');
}

const TASK_STATUSES = ['ok', 'changed', 'failed', 'skipped'];

// Checks one host result field by field against the documented --json shape.
function expectHostShape(result: HostResult): void {
  for (const field of ['ok', 'changed', 'failed', 'skipped', 'execs'] as const) {
    expect(Number.isInteger(result[field]), field).toBe(true);
    expect(result[field], field).toBeGreaterThanOrEqual(0);
  }
  expect(typeof result.unreachable).toBe('boolean');
  expect(Array.isArray(result.tasks)).toBe(true);
  if ('error' in result) expect(typeof result.error).toBe('string');
  for (const task of result.tasks) {
    expect(typeof task.name).toBe('string');
    expect(task.name.length).toBeGreaterThan(0);
    expect(TASK_STATUSES).toContain(task.status);
    expect(typeof task.durationMs).toBe('number');
    expect(task.durationMs).toBeGreaterThanOrEqual(0);
    if (task.status === 'failed') expect(typeof task.error).toBe('string');
    else expect(task.error).toBeUndefined();
  }
  // The counters are the task statuses counted.
  for (const status of TASK_STATUSES) {
    expect(result[status as 'ok'], status).toBe(result.tasks.filter((task) => task.status === status).length);
  }
}

describe('halyard apply output on lab hosts', () => {
  let fleet: TestFleet;
  let inventory: string;
  let failingInventory: string;
  let knownHosts: string;
  let names: [string, string];
  let runs = 0;
  const nextDir = () => `/tmp/hy-output-${++runs}`;

  beforeAll(async () => {
    fleet = await startTestFleet({ count: 2, prefix: 'cli-output' });
    inventory = fleetInventory(fleet, {});
    const second = fleet.hosts[1]?.name ?? '';
    failingInventory = fleetInventory(fleet, {}, { hostVars: { [second]: { fail_here: true } } });
    knownHosts = freshKnownHosts();
    names = [fleet.hosts[0]?.name ?? '', second];
  });
  afterAll(() => fleet?.stop());

  it('--json prints exactly one JSON document of the documented shape', async () => {
    const dir = nextDir();
    const run = await runCli(['apply', PLAYBOOK, '-i', failingInventory, '--known-hosts', knownHosts, '--json', '-e', `cli_dir=${dir}`, '-e', 'sleep_seconds=0']);
    expect(run.exitCode, run.stderr).toBe(1);
    // The whole of stdout is one document; nothing else is printed on either stream.
    const document = JSON.parse(run.stdout) as Record<string, unknown>;
    expect(run.stdout.trimEnd().startsWith('{') && run.stdout.trimEnd().endsWith('}')).toBe(true);
    expect(run.stderr).toBe('');
    // `slice` appears only with --slice; `playbook` names the run for `halyard report merge`.
    expect(Object.keys(document).sort()).toEqual(['check', 'durationMs', 'hosts', 'ok', 'playbook']);
    expect(document.playbook).toEqual(expect.stringMatching(/\S/));
    expect(document.ok).toBe(false);
    expect(document.check).toBe(false);
    expect(typeof document.durationMs).toBe('number');
    expect(document.durationMs).toBeGreaterThan(0);
    const hosts = document.hosts as Record<string, HostResult>;
    expect(Object.keys(hosts)).toEqual(names);
    for (const name of names) {
      const result = hosts[name] as HostResult;
      expectHostShape(result);
      expect(Object.keys(result).sort()).toEqual(expect.arrayContaining(['changed', 'execs', 'failed', 'ok', 'skipped', 'tasks', 'unreachable']));
      expect(result.execs).toBe(1);
    }
    expect(hosts[names[0]]).toMatchObject({ ok: 0, changed: 3, failed: 0, skipped: 0, unreachable: false });
    expect(hosts[names[0]]?.tasks.map((task) => task.name)).toEqual([`directory ${dir}`, `file ${dir}/greeting`, 'timed sleep']);
    expect(hosts[names[1]]).toMatchObject({ ok: 0, changed: 2, failed: 1, skipped: 1, unreachable: false });
    expect(hosts[names[1]]?.tasks.map((task) => [task.name, task.status])).toEqual([
      [`directory ${dir}`, 'changed'],
      [`file ${dir}/greeting`, 'changed'],
      ['fail on purpose', 'failed'],
      ['timed sleep', 'skipped'],
    ]);
    expect(hosts[names[1]]?.tasks[2]?.error).toContain('exit code 3');
    expect(hosts[names[1]]?.tasks[2]?.error).toContain('failing on purpose');

    // Converged and in check mode: check is true, nothing pending, exit 0.
    const check = await runCli(['apply', PLAYBOOK, '-i', inventory, '--known-hosts', knownHosts, '--json', '--check', '-e', `cli_dir=${dir}`]);
    expect(check.exitCode, check.stderr).toBe(0);
    const checked = JSON.parse(check.stdout) as { ok: boolean; check: boolean; hosts: Record<string, HostResult> };
    expect(checked).toMatchObject({ ok: true, check: true });
    for (const name of names) {
      expectHostShape(checked.hosts[name] as HostResult);
      expect(checked.hosts[name]).toMatchObject({ ok: 2, changed: 0, execs: 1 });
    }
    // Pending changes in check mode: exit 2, still one document.
    const drift = await runCli(['apply', PLAYBOOK, '-i', inventory, '--known-hosts', knownHosts, '--json', '--check', '-e', `cli_dir=${nextDir()}`]);
    expect(drift.exitCode, drift.stderr).toBe(2);
    const drifted = JSON.parse(drift.stdout) as { ok: boolean; check: boolean; hosts: Record<string, HostResult> };
    expect(drifted).toMatchObject({ ok: true, check: true });
    for (const name of names) expect(drifted.hosts[name]).toMatchObject({ changed: 2, failed: 0 });
  }, busyBudget(11));

  it('plain mode prints one line per changed or failed task and the RECAP', async () => {
    const dir = nextDir();
    const run = await runCli(['apply', PLAYBOOK, '-i', failingInventory, '--known-hosts', knownHosts, '-e', `cli_dir=${dir}`]);
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toBe('');
    const [one, two] = names;
    for (const name of names) {
      expect(run.stdout).toContain(`${name} | changed | directory ${dir} | create directory ${dir}\n`);
      expect(run.stdout).toMatch(new RegExp(`^${name} \\| changed \\| file ${dir}/greeting \\| `, 'm'));
    }
    expect(run.stdout).toMatch(new RegExp(`^${two} \\| failed \\| fail on purpose \\| run .*exit code 3.*failing on purpose`, 'm'));
    const recap = run.stdout.slice(run.stdout.indexOf('\nRECAP\n') + 1);
    const lines = recap.trimEnd().split('\n');
    expect(lines[0]).toBe('RECAP');
    expect(lines[1]).toMatch(new RegExp(`^${one}\\s+CHANGED\\s+ok=0 changed=2 failed=0 skipped=0 unreachable=0 execs=1$`));
    expect(lines[2]).toMatch(new RegExp(`^${two}\\s+FAILED\\s+ok=0 changed=2 failed=1 skipped=0 unreachable=0 execs=1$`));
    expect(lines[3]).toMatch(/^\s+failed: fail on purpose: run .*exit code 3/);
    expect(lines.at(-1)).toMatch(/^finished in \d+\.\d\d s$/);

    // A converged rerun prints no task lines, only the recap; -v adds the ok tasks.
    const quiet = await runCli(['apply', PLAYBOOK, '-i', inventory, '--known-hosts', knownHosts, '-e', `cli_dir=${dir}`]);
    expect(quiet.exitCode).toBe(0);
    expect(quiet.stdout.startsWith('\nRECAP\n')).toBe(true);
    for (const name of names) expect(quiet.stdout).toMatch(new RegExp(`^${name}\\s+OK\\s+ok=2 changed=0 failed=0 skipped=0 unreachable=0 execs=1$`, 'm'));
    const verbose = await runCli(['apply', PLAYBOOK, '-i', inventory, '--known-hosts', knownHosts, '-e', `cli_dir=${dir}`, '-v']);
    expect(verbose.exitCode).toBe(0);
    for (const name of names) {
      expect(verbose.stdout).toMatch(new RegExp(`^${name} \\| ok \\| directory ${dir}`, 'm'));
      expect(verbose.stdout).toMatch(new RegExp(`^${name} \\| probing$`, 'm'));
    }
  }, busyBudget(11));

  it('on a TTY, listr2 draws each host and the RECAP follows; the exit code is kept', async () => {
    const dir = nextDir();
    const failing = await runOnTty(['apply', PLAYBOOK, '-i', failingInventory, '--known-hosts', knownHosts, '-e', `cli_dir=${dir}`]);
    const text = stripAnsi(failing.output);
    expect(failing.exitCode, text).toBe(1);
    const [one, two] = names;
    // listr2's settled lines: a tick or a cross, the host name and its counters.
    expect(text).toContain(`✔ ${one}  ok=0 changed=2 failed=0 execs=1`);
    expect(text).toContain(`✖ ${two}  ok=0 changed=2 failed=1 execs=1`);
    // After the live view: what changed or failed, then the recap.
    const recapAt = text.indexOf('\nRECAP\n');
    expect(recapAt).toBeGreaterThan(text.lastIndexOf('✖'));
    expect(text.slice(0, recapAt)).toMatch(new RegExp(`^${two} \\| failed \\| fail on purpose \\| `, 'm'));
    expect(text).toMatch(new RegExp(`^${one}\\s+CHANGED\\s+ok=0 changed=2`, 'm'));
    expect(text).toMatch(new RegExp(`^${two}\\s+FAILED\\s+ok=0 changed=2 failed=1`, 'm'));

    const converged = await runOnTty(['apply', PLAYBOOK, '-i', inventory, '--known-hosts', knownHosts, '-e', `cli_dir=${dir}`]);
    const again = stripAnsi(converged.output);
    expect(converged.exitCode, again).toBe(0);
    for (const name of names) {
      expect(again).toContain(`✔ ${name}  ok=2 changed=0 failed=0 execs=1`);
      expect(again).toMatch(new RegExp(`^${name}\\s+OK\\s+ok=2`, 'm'));
    }

    const pending = await runOnTty(['apply', PLAYBOOK, '-i', inventory, '--known-hosts', knownHosts, '-e', `cli_dir=${nextDir()}`, '--check']);
    const checkText = stripAnsi(pending.output);
    expect(pending.exitCode, checkText).toBe(2);
    for (const name of names) expect(checkText).toContain(`${name}  ok=0 would change=2 failed=0 execs=1`);
    expect(checkText).toContain('RECAP (check mode: nothing was changed)');

    // A host that is refused at once (closed port) finishes before listr draws its line: the
    // live view must still settle (it used to wait forever) and report it unreachable.
    const refused = fleetInventory(fleet, {}, { hostVars: { [two]: { ansible_port: 1 } } });
    const mixed = await runOnTty(['apply', PLAYBOOK, '-i', refused, '--known-hosts', knownHosts, '-e', `cli_dir=${dir}`]);
    const mixedText = stripAnsi(mixed.output);
    expect(mixed.exitCode, mixedText).toBe(1);
    expect(mixedText).toContain(`✖ ${two}  unreachable`);
    expect(mixedText).toContain(`✔ ${one}  ok=2 changed=0 failed=0 execs=1`);
    expect(mixedText).toMatch(new RegExp(`^${two}\\s+UNREACHABLE\\s+ok=0 changed=0 failed=0 skipped=0 unreachable=1 execs=0$`, 'm'));
  }, busyBudget(8));
});

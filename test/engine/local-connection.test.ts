// ansible_connection: local through the real CLI: the controller converges itself (same guarded
// shell and lock as a remote host, no SSH), then a rerun is one exec with nothing changed; a
// mistake in a later task (a misspelt notify, an argument of the wrong type) changes nothing.
// Local runs share the controller's host lock with other local test files (test/report/sliced-run):
// --lock-timeout makes one wait for another instead of failing.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';

describe('ansible_connection: local', () => {
  it('converges the controller, then reruns with one exec and no change', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hy-local-'));
    const inventory = join(dir, 'hosts');
    writeFileSync(inventory, `[controller]\nctl ansible_connection=local target_dir=${dir}\n`);
    const first = await runCli(['apply', 'test/e2e/playbooks/local-file.ts', '-i', inventory, '--lock-timeout', '30', '--json']);
    expect(first.exitCode, first.stderr + first.stdout).toBe(0);
    expect(first.json?.hosts.ctl).toMatchObject({ changed: 1, failed: 0, unreachable: false });
    expect(readFileSync(join(dir, 'hello.txt'), 'utf8')).toBe('hello from halyard\n');
    expect(statSync(join(dir, 'hello.txt')).mode & 0o777).toBe(0o640);
    const again = await runCli(['apply', 'test/e2e/playbooks/local-file.ts', '-i', inventory, '--lock-timeout', '30', '--json']);
    expect(again.json?.hosts.ctl).toMatchObject({ changed: 0, execs: 1 });
  }, 30_000);
});

describe('mistakes found before the host is touched', () => {
  it.each([
    ['notify', 'task "file ', 'notifies "relaod", which is no handler (did you mean "reload"?)'],
    ['argument', 'plan-errors.ts:12: ', 'file: mode must be a string of octal digits'],
  ])('a mistaken %s in a later task: exit 65, one line, the earlier task changed nothing', async (mistake, first, second) => {
    const dir = mkdtempSync(join(tmpdir(), 'hy-plan-'));
    const inventory = join(dir, 'hosts');
    writeFileSync(inventory, `[controller]\nctl ansible_connection=local target_dir=${dir} mistake=${mistake}\n`);
    const run = await runCli(['apply', 'test/e2e/playbooks/plan-errors.ts', '-i', inventory, '--lock-timeout', '30']);
    expect(run.exitCode, run.stderr + run.stdout).toBe(65);
    expect(run.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(run.stderr).toContain(first);
    expect(run.stderr).toContain(second);
    expect(existsSync(join(dir, 'first.txt'))).toBe(false);
    // Without the mistake the same role converges and its handler runs.
    writeFileSync(inventory, `[controller]\nctl ansible_connection=local target_dir=${dir}\n`);
    const good = await runCli(['apply', 'test/e2e/playbooks/plan-errors.ts', '-i', inventory, '--lock-timeout', '30', '--json']);
    expect(good.exitCode, good.stderr).toBe(0);
    expect(existsSync(join(dir, 'reloaded'))).toBe(true);
  }, 30_000);
});

describe('handlers are never lost', () => {
  it('a handler notified before a later task failed runs on the next run, though nothing changes; --force-handlers runs it in the failing run', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hy-journal-'));
    const inventory = join(dir, 'hosts');
    const apply = async (vars: string, ...extra: string[]) => {
      writeFileSync(inventory, `[controller]\nctl ansible_connection=local target_dir=${dir} ${vars}\n`);
      return runCli(['apply', 'test/e2e/playbooks/handler-journal.ts', '-i', inventory, '--lock-timeout', '30', '--json', ...extra]);
    };
    const restarts = () => (existsSync(join(dir, 'restarts')) ? readFileSync(join(dir, 'restarts'), 'utf8').split('\n').filter(Boolean).length : 0);

    const failing = await apply('config_version=v1 fail_after=true');
    expect(failing.exitCode, failing.stderr).toBe(1);
    expect(failing.json?.hosts.ctl).toMatchObject({ changed: 1, failed: 1, pendingHandlers: ['restart app'] });
    expect(restarts()).toBe(0);

    // Nothing changes now, and the config's restart still happens.
    const next = await apply('config_version=v1');
    expect(next.exitCode, next.stderr).toBe(0);
    expect(next.json?.hosts.ctl?.tasks.map((task) => `${task.name}: ${task.status}`)).toEqual(['file ' + join(dir, 'app.conf') + ': ok', 'handler: restart app: changed']);
    expect(next.json?.hosts.ctl?.pendingHandlers).toBeUndefined();
    expect(restarts()).toBe(1);

    const forced = await apply('config_version=v2 fail_after=true', '--force-handlers');
    expect(forced.exitCode).toBe(1);
    expect(forced.json?.hosts.ctl?.pendingHandlers).toBeUndefined();
    expect(restarts()).toBe(2);

    // Converged and nothing pending: one exec, no handler.
    const converged = await apply('config_version=v2');
    expect(converged.json?.hosts.ctl).toMatchObject({ changed: 0, execs: 1 });
    expect(restarts()).toBe(2);
  }, 60_000);
});

describe('host facts', () => {
  it('a role reads host.facts and a custom fact; with the facts cached a converged rerun is one exec and one request', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hy-facts-'));
    const env = { XDG_CACHE_HOME: join(dir, 'cache') };
    const inventory = join(dir, 'hosts');
    writeFileSync(inventory, `[controller]\nctl ansible_connection=local target_dir=${dir}\n`);
    const apply = () => runCli(['apply', 'test/e2e/playbooks/host-facts.ts', '-i', inventory, '--lock-timeout', '30', '--json'], { env });
    const osRelease = readFileSync('/etc/os-release', 'utf8');
    const id = /^ID=(.*)$/m.exec(osRelease)?.[1]?.replace(/^"|"$/g, '');
    const expected = `apt ${id} ${execFileSync('uname', ['-m'], { encoding: 'utf8' }).trim()} ${execFileSync('id', ['-un'], { encoding: 'utf8' }).trim()}\n`;

    // A host never seen: tasks are built after the first request gathered its facts (same exec).
    const first = await apply();
    expect(first.exitCode, first.stderr + first.stdout).toBe(0);
    expect(first.json?.hosts.ctl).toMatchObject({ changed: 1, execs: 1 });
    expect(readFileSync(join(dir, 'facts.txt'), 'utf8')).toBe(expected);

    // Seen before: built from the cached facts before connecting; the first request confirms them.
    const again = await apply();
    expect(again.json?.hosts.ctl).toMatchObject({ changed: 0, execs: 1, requests: 1 });

    // Cached facts that no longer hold (the host was reinstalled): the tasks are built again from
    // the gathered facts, so nothing is written from the stale ones (changed=0); their probes were
    // in the first request already (same file), so no second request is needed.
    const [cacheFile] = readdirSync(join(dir, 'cache', 'halyard', 'facts'));
    const cachePath = join(dir, 'cache', 'halyard', 'facts', cacheFile!);
    const cached = JSON.parse(readFileSync(cachePath, 'utf8'));
    cached.facts.host.distribution = 'not-this-one';
    writeFileSync(cachePath, JSON.stringify(cached));
    const stale = await apply();
    expect(stale.json?.hosts.ctl).toMatchObject({ changed: 0, execs: 1, requests: 1 });
    expect(readFileSync(join(dir, 'facts.txt'), 'utf8')).toBe(expected);
    expect(JSON.parse(readFileSync(cachePath, 'utf8')).facts.host.distribution).toBe(id);
  }, 30_000);
});

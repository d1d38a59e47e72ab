import { mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { PassThrough } from 'node:stream';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Redactor, Secret } from '../../src/core/secret.js';
import { template } from '../../src/core/template.js';
import { runHost, type HostLink, type HostRunOptions } from '../../src/engine/host-run.js';
import { wholeLinesTail } from '../../src/engine/remote-shell.js';
import { task } from '../../src/playbook/define.js';
import { flushHandlers } from '../../src/playbook/tasks.js';
import { commandResource, type CommandDesired } from '../../src/resources/command.js';
import { directoryResource } from '../../src/resources/directory.js';
import { fileResource } from '../../src/resources/file.js';
import type { ResourceType } from '../../src/resources/types.js';
import type { PathState } from '../../src/facts/file.js';
import { defineFact } from '../../src/facts/fact.js';
import { localLink } from '../support/local-link.js';
import { holdLock } from '../support/lock-holder.js';

function options(overrides: Partial<HostRunOptions> = {}): HostRunOptions {
  return {
    check: false,
    diff: false,
    lockOwner: { runId: 'test', controller: 'vitest', pid: process.pid, startedAt: new Date().toISOString() },
    // Every local "host" shares this machine's lock file, so local runs queue on it.
    lockWaitSeconds: 10,
    probeTimeoutMs: 10_000,
    stepTimeoutMs: 10_000,
    redactor: new Redactor(),
    ...overrides,
  };
}

describe('runHost on a local shell', () => {
  it('converges, then a rerun is all ok in one exec, and check mode reports drift without touching', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hy-engine-'));
    const secret = new Secret('s3cr3t-value', 'db_password');
    const tasks = [
      task(directoryResource, { path: `${dir}/conf`, mode: '0750' }),
      task(fileResource, { path: `${dir}/conf/app.env`, content: template`PASSWORD=${secret}\n`, mode: '0600' }, { notify: 'reload' }),
      task(fileResource, { path: `${dir}/conf/plain.txt`, content: 'hello\n' }),
    ];
    const handlers = new Map([['reload', [task(fileResource, { path: `${dir}/reloaded`, content: 'yes\n' })]]]);

    const first = await runHost('local', localLink(), { tasks, handlers }, options());
    expect(first.error).toBeUndefined();
    expect(first.changed).toBe(4);
    expect(readFileSync(`${dir}/conf/app.env`, 'utf8')).toBe('PASSWORD=s3cr3t-value\n');
    expect(statSync(`${dir}/conf/app.env`).mode & 0o777).toBe(0o600);
    expect(readFileSync(`${dir}/reloaded`, 'utf8')).toBe('yes\n');

    const link = localLink();
    const second = await runHost('local', link, { tasks, handlers }, options());
    expect(second).toMatchObject({ changed: 0, ok: 3, failed: 0, execs: 1 });

    writeFileSync(`${dir}/conf/plain.txt`, 'drifted\n');
    const redactor = new Redactor();
    redactor.add(secret);
    const check = await runHost('local', localLink(), { tasks, handlers }, options({ check: true, diff: true, redactor }));
    expect(check.changed).toBe(1);
    expect(readFileSync(`${dir}/conf/plain.txt`, 'utf8')).toBe('drifted\n');
    const diffText = check.tasks.find((t) => t.status === 'changed')?.diff?.text ?? '';
    expect(diffText).toContain('-drifted');
    expect(diffText).toContain('+hello');
    expect(JSON.stringify(check)).not.toContain('s3cr3t-value');
  });

  it('masks secret values in task names, reasons and errors (a command text names its task)', async () => {
    const secret = new Secret('s3cr3t-in-command', 'db_password');
    const redactor = new Redactor();
    redactor.add(secret);
    const events: string[] = [];
    const tasks = [task(commandResource, { command: `echo "bad password ${secret.reveal()}" >&2; exit 3` })];
    const result = await runHost('local', localLink(), { tasks, handlers: new Map() }, options({ redactor, onEvent: (event) => events.push(JSON.stringify(event)) }));
    expect(result.failed).toBe(1);
    expect(result.tasks[0]?.name).toContain('********');
    expect(result.tasks[0]?.error).toContain('bad password ********');
    expect(JSON.stringify(result)).not.toContain('s3cr3t-in-command');
    expect(events.join('\n')).not.toContain('s3cr3t-in-command');
  });

  it('says a task started before its work runs, so live progress shows what runs now', async () => {
    const events: Array<{ type: string; name?: string; result?: { name: string } }> = [];
    const tasks = [task(commandResource, { command: 'true' }, { name: 'first' }), task(commandResource, { command: 'true' }, { name: 'second' })];
    await runHost('local', localLink(), { tasks, handlers: new Map() }, options({ redactor: new Redactor(), onEvent: (event) => events.push(event as never) }));
    const order = events.filter((event) => event.type === 'task-start' || event.type === 'task').map((event) => `${event.type} ${event.name ?? event.result?.name}`);
    expect(order).toEqual(['task-start first', 'task first', 'task-start second', 'task second']);
  });
});

describe('secrets in text that is shortened', () => {
  it('a secret past the 80-character label of a command is masked before the label is cut', async () => {
    const secret = new Secret('s3cr3t-beyond-the-label-cut', 'token');
    const redactor = new Redactor();
    redactor.add(secret);
    const command = `echo ${'x'.repeat(70)} ${secret.reveal()} >/dev/null`;
    const result = await runHost('local', localLink(), { tasks: [task(commandResource, { command })], handlers: new Map() }, options({ redactor }));
    expect(result.changed).toBe(1);
    const shown = JSON.stringify(result);
    for (const fragment of ['s3cr3t', 'beyond-the', 'label-cut']) expect(shown).not.toContain(fragment);
    // The mask is cut, never the secret.
    expect(result.tasks[0]?.changes?.[0]).toMatch(/^run echo x{70} \*+…$/);
  });

  it('tails keep whole lines, so a cut never leaves part of a secret', () => {
    expect(wholeLinesTail('aaaa\nsecret-value\ntail', 12)).toBe('tail');
    expect(wholeLinesTail('short', 12)).toBe('short');
    expect(wholeLinesTail('x'.repeat(40), 12)).toBe('');
  });
});

describe('check mode and stale facts', () => {
  it('reports a task that depends on an earlier pending change as pending, not failed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hy-check-'));
    // A planner that cannot plan while its directory is missing (like a service whose unit file is not written yet).
    const needsDirectory: ResourceType<{ path: string }> = {
      ...directoryResource,
      kind: 'needs-directory',
      plan: (desired, facts) => {
        if ((facts.path as PathState).type === 'absent') throw new Error(`${desired.path} not found`);
        return { action: 'noop', reason: 'present' };
      },
    };
    const tasks = [task(directoryResource, { path: `${dir}/new` }), task(needsDirectory, { path: `${dir}/new` })];
    const check = await runHost('local', localLink(), { tasks, handlers: new Map() }, options({ check: true }));
    expect(check).toMatchObject({ failed: 0, changed: 2 });
    expect(check.tasks[1]?.changes?.[0]).toMatch(/depends on earlier pending changes/);
    // Without the earlier pending change the same failure is real.
    const alone = await runHost('local', localLink(), { tasks: [tasks[1]!], handlers: new Map() }, options({ check: true }));
    expect(alone.failed).toBe(1);
  });
});

describe('facts made stale by a change', () => {
  it('are probed again just before the task that reads them, not after every change', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hy-stale-'));
    const counter = join(dir, 'probes.log');
    // A fact every file change invalidates (like compose or health facts under status:*), counting its probes.
    const costly: ResourceType<{ path: string }> = {
      ...directoryResource,
      kind: 'costly',
      facts: () => ({ state: defineFact('status:costly', `echo probe >> ${counter}; echo ok`, (stdout) => stdout.trim()) }),
      invalidates: () => [],
      plan: (_desired, facts) => ({ action: 'noop', reason: `costly fact says ${String(facts.state)}` }),
    };
    const tasks = [
      task(directoryResource, { path: `${dir}/a` }),
      task(fileResource, { path: `${dir}/a/one`, content: '1\n' }),
      task(directoryResource, { path: `${dir}/b` }),
      task(fileResource, { path: `${dir}/b/two`, content: '2\n' }),
      task(costly, { path: dir }),
    ];
    const result = await runHost('local', localLink(), { tasks, handlers: new Map() }, options());
    expect(result).toMatchObject({ changed: 4, ok: 1, failed: 0 });
    // Once in the first probe, once more before its own task: four changes came in between.
    expect(readFileSync(counter, 'utf8')).toBe('probe\nprobe\n');
    expect(readFileSync(`${dir}/b/two`, 'utf8')).toBe('2\n');
  });
});

describe('output bounds', () => {
  it('a host printing 200 MB where a fact expects a line fails the host at 8 MiB and stops reading the flood', async () => {
    const flood: ResourceType<{ path: string }> = {
      ...directoryResource,
      kind: 'flood',
      facts: () => ({ value: defineFact('flood', "head -c 200000000 /dev/zero | tr '\\\\0' a", (stdout) => stdout.length) }),
      plan: () => ({ action: 'noop', reason: 'never reached' }),
    };
    // Counts what the controller read from the host's stdout.
    let read = 0;
    const local = localLink();
    const link: HostLink = {
      ...local,
      async openShell() {
        const transport = await local.openShell();
        const counted = new PassThrough();
        counted.on('data', (chunk: Buffer) => (read += chunk.length));
        transport.stdout.pipe(counted);
        // As an SSH channel does, tearing the stream down ends the remote side (its lock with it).
        counted.on('close', () => transport.stdout.destroy());
        return { ...transport, stdout: counted };
      },
    };
    const result = await runHost('local', link, { tasks: [task(flood, { path: '/' })], handlers: new Map() }, options());
    expect(result).toMatchObject({ errorCode: 'E_OUTPUT_TOO_LARGE', error: 'probe facts: the host printed more than 8 MiB where facts were expected' });
    // The old 64 MiB cap and whole-buffer searches read the flood on and took 772 MB and 110 s.
    expect(read).toBeLessThan(16 * 1024 * 1024);
  });
});

describe('handlers a later change makes moot', () => {
  it('drops notifications made before a change that satisfies them, keeps those made after', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hy-satisfy-'));
    const recreate: ResourceType<{ path: string }> = {
      ...directoryResource,
      kind: 'recreate',
      plan: (desired) => ({ action: 'change', changes: ['recreated'], steps: [{ label: 'recreate', script: 'true' }], satisfies: ['restart'] }),
    };
    const log = (name: string) => task(commandResource, { command: `echo ${name} >> ${dir}/handlers.log` });
    const before = [
      task(fileResource, { path: `${dir}/a.conf`, content: 'a\n' }, { notify: 'restart' }),
      task(recreate, { path: dir }),
    ];
    const handlers = new Map([['restart', [log('restart')]]]);
    const satisfied = await runHost('local', localLink(), { tasks: before, handlers }, options());
    expect(satisfied.tasks.some((t) => t.handler)).toBe(false);

    const after = [...before, task(fileResource, { path: `${dir}/b.conf`, content: 'b\n' }, { notify: 'restart' })];
    const notified = await runHost('local', localLink(), { tasks: after, handlers }, options());
    expect(notified.tasks.filter((t) => t.handler).map((t) => t.name)).toEqual(['handler: restart']);
    expect(readFileSync(`${dir}/handlers.log`, 'utf8')).toBe('restart\n');
  });
});

describe('handlers notified next to each other that combine', () => {
  it('run as one, named after each, in declared order; a handler of another kind or shape keeps them apart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hy-combine-'));
    // Commands that say "together" combine into one command (as compose restarts of one project do).
    const joinable: ResourceType<CommandDesired> = {
      ...commandResource,
      kind: 'joinable-command',
      combine: (first, next) => (String(first.command).includes('together') && String(next.command).includes('together') ? { command: `${String(first.command)} && ${String(next.command)}` } : undefined),
    };
    const step = (line: string) => task(joinable, { command: `echo ${line} together >> ${dir}/handlers.log` });
    const handlers = new Map([
      ['a', [step('a')]],
      ['b', [step('b')]],
      ['c', [task(commandResource, { command: `echo c >> ${dir}/handlers.log` })]],
      ['d', [step('d')]],
      ['e', [step('e'), step('e2')]],
      ['f', [step('f')]],
      ['g', [step('g')]],
    ]);
    const tasks = ['a', 'b', 'c', 'd', 'e', 'g'].map((name) => task(fileResource, { path: `${dir}/${name}.conf`, content: `${name}\n` }, { notify: name }));
    const check = await runHost('local', localLink(), { tasks, handlers }, options({ check: true }));
    const result = await runHost('local', localLink(), { tasks, handlers }, options());
    expect(result.failed).toBe(0);
    // a and b combine; c is of another kind; d and e differ in shape (one step against two); f
    // was not notified, so e and g are next to each other, and differ in shape too.
    const ran = ['handler: a, b', 'handler: c', 'handler: d', 'handler: e', 'handler: e', 'handler: g'];
    expect(result.tasks.filter((t) => t.handler).map((t) => t.name)).toEqual(ran);
    expect(check.tasks.filter((t) => t.handler).map((t) => t.name)).toEqual(ran);
    expect(readFileSync(`${dir}/handlers.log`, 'utf8')).toBe('a together\nb together\nc\nd together\ne together\ne2 together\ng together\n');
  });

  it('a combined handler that fails leaves every one of its handlers pending for the next run', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hy-combine-fail-'));
    const joinable: ResourceType<CommandDesired> = {
      ...commandResource,
      kind: 'joinable-command',
      combine: (first, next) => ({ command: `${String(first.command)} && ${String(next.command)}` }),
    };
    const failOnce = `${dir}/fail-once`;
    writeFileSync(failOnce, '');
    const handlers = new Map([
      ['a', [task(joinable, { command: `echo a >> ${dir}/handlers.log` })]],
      ['b', [task(joinable, { command: `if [ -e ${failOnce} ]; then rm ${failOnce}; exit 3; fi; echo b >> ${dir}/handlers.log` })]],
    ]);
    const tasks = ['a', 'b'].map((name) => task(fileResource, { path: `${dir}/${name}.conf`, content: `${name}\n` }, { notify: name }));
    const failed = await runHost('local', localLink(), { tasks, handlers }, options());
    expect(failed.failed).toBe(1);
    expect(failed.tasks.filter((t) => t.handler).map((t) => [t.name, t.status])).toEqual([['handler: a, b', 'failed']]);
    // Nothing changes on the rerun, but both handlers were journaled as pending: they run now, as one.
    const rerun = await runHost('local', localLink(), { tasks, handlers }, options());
    expect(rerun.failed).toBe(0);
    expect(rerun.tasks.filter((t) => t.handler).map((t) => [t.name, t.status])).toEqual([['handler: a, b', 'changed']]);
    expect(readFileSync(`${dir}/handlers.log`, 'utf8')).toBe('a\na\nb\n');
  });
});

describe('flushHandlers()', () => {
  it('runs the handlers notified so far at that point, once, and later notifications again at the end', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hy-flush-'));
    const log = (line: string) => task(commandResource, { command: `echo ${line} >> ${dir}/order.log` });
    const tasks = [
      task(fileResource, { path: `${dir}/daemon.json`, content: '{}\n' }, { notify: 'restart daemon' }),
      flushHandlers(),
      log('task-after-flush'),
      task(fileResource, { path: `${dir}/app.conf`, content: 'x\n' }, { notify: 'restart daemon' }),
    ];
    const handlers = new Map([['restart daemon', [log('handler')]]]);
    const result = await runHost('local', localLink(), { tasks, handlers }, options());
    expect(result.failed).toBe(0);
    expect(readFileSync(`${dir}/order.log`, 'utf8')).toBe('handler\ntask-after-flush\nhandler\n');
    const rerun = await runHost('local', localLink(), { tasks: tasks.filter((t) => t.type.kind !== 'command'), handlers }, options());
    expect(rerun).toMatchObject({ changed: 0, execs: 1 });
  });
});

describe('runHost and a host held by a daemon job', () => {
  it.each(['probe', 'drift'] as const)('an apply asks again while a daemon %s holds the host and runs once it lets go; any other holder fails it at once, named', async (purpose) => {
    const dir = mkdtempSync(join(tmpdir(), 'hy-probe-held-'));
    const lockPaths = { rootDir: join(dir, 'run-halyard'), userHome: join(dir, 'home') };
    mkdirSync(lockPaths.userHome);
    const tasks = [task(fileResource, { path: `${dir}/applied`, content: 'yes\n' })];
    const probe = await holdLock(lockPaths, { runId: 'probe1', controller: 'daemon-host', pid: 1, startedAt: 'then', purpose });
    expect(probe.outcome).toMatchObject({ locked: true });
    expect(readFileSync(join(lockPaths.rootDir, 'owner-lock'), 'utf8')).toBe(`run=probe1 controller=daemon-host pid=1 since=then for=${purpose}\n`);
    const started = Date.now();
    const released = new Promise<void>((resolve) => setTimeout(() => void probe.release().then(resolve), 1000));
    const applied = await runHost('local', localLink(), { tasks, handlers: new Map() }, options({ lockWaitSeconds: 0, lockPaths }));
    await released;
    expect(applied).toMatchObject({ changed: 1, failed: 0 });
    expect(readFileSync(`${dir}/applied`, 'utf8')).toBe('yes\n');
    // It cannot have run before the probe let go.
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);

    const apply = await holdLock(lockPaths, { runId: 'apply1', controller: 'laptop', pid: 2, startedAt: 'then' });
    const refused = await runHost('local', localLink(), { tasks, handlers: new Map() }, options({ lockWaitSeconds: 0, lockPaths }));
    await apply.release();
    expect(refused.error).toBe('host is locked by another halyard run (run=apply1 controller=laptop pid=2 since=then); wait for it or pass --lock-timeout');
  });
});

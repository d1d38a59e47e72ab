import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import type { HostResult, TaskResult } from '../../src/engine/results.js';
import { labExec } from '../../src/lab/index.js';
import { fleetInventory, freshKnownHosts, runCli, type CliRun } from '../support/cli.js';
import { stepChain } from '../support/steps.js';
import { startTestFleet, type TestFleet } from '../support/lab.js';
import { busyBudget } from '../support/budget.js';

const PLAYBOOK = 'test/e2e/playbooks/upload.ts';
const DIR = '/opt/hy-upload';
const BIG = `${DIR}/big.bin`;
const SCRIPT = `${DIR}/hello.sh`;
const BIG_BYTES = 30 * 1024 * 1024;
const GOOD_SCRIPT = '#!/bin/sh\necho "hello from the upload"\n';
const NEWER_SCRIPT = '#!/bin/sh\necho "a newer hello"\n';
const sha = (content: string | Buffer) => createHash('sha256').update(content).digest('hex');

describe('upload: local files streamed to a lab host', () => {
  const steps = stepChain();
  let fleet: TestFleet;
  let container: string;
  let hostName: string;
  let inventory: string;
  let knownHosts: string;
  let local: string;
  let bigSrc: string;
  let scriptSrc: string;
  let bigSha: string;

  beforeAll(async () => {
    fleet = await startTestFleet({ count: 1, prefix: 'upload' });
    const [host] = fleet.hosts;
    if (!host) throw new Error('no host');
    container = host.container;
    hostName = host.name;
    inventory = fleetInventory(fleet, { upload_dir: DIR });
    knownHosts = freshKnownHosts();
    local = mkdtempSync(join(tmpdir(), 'hy-upload-e2e-'));
    bigSrc = join(local, 'big.bin');
    scriptSrc = join(local, 'hello.sh');
    const big = randomBytes(BIG_BYTES);
    bigSha = sha(big);
    writeFileSync(bigSrc, big);
    writeFileSync(scriptSrc, GOOD_SCRIPT);
  });
  afterAll(async () => {
    await fleet?.stop();
    if (local) rmSync(local, { recursive: true, force: true });
  });

  async function apply(...extra: string[]): Promise<{ run: CliRun; host: HostResult; wallMs: number }> {
    const started = Date.now();
    const run = await runCli(['apply', PLAYBOOK, '-i', inventory, '--known-hosts', knownHosts, '-e', `big_src=${bigSrc}`, '-e', `script_src=${scriptSrc}`, '--json', ...extra]);
    const wallMs = Date.now() - started;
    const host = run.json?.hosts[hostName];
    if (!host) throw new Error(`no JSON result for ${hostName}\nexit ${run.exitCode}\nstdout: ${run.stdout}\nstderr: ${run.stderr}`);
    return { run, host, wallMs };
  }

  async function sh(script: string): Promise<string> {
    const result = await labExec(container, script);
    if (result.exitCode !== 0) throw new Error(`${script}: exit ${result.exitCode}\n${result.stderr}`);
    return result.stdout;
  }

  const task = (host: HostResult, name: string): TaskResult => {
    const found = host.tasks.find((candidate) => candidate.name === name);
    if (!found) throw new Error(`no task ${name} in ${JSON.stringify(host.tasks.map((t) => t.name))}`);
    return found;
  };
  const statuses = (host: HostResult) => host.tasks.map((t) => `${t.name}: ${t.status}`);

  // Owner, mode and sha256 of both files, and every entry of the directory (temp files would show).
  function hostState(): Promise<string> {
    return sh(`cd ${DIR} && stat -c '%n %U:%G %a %s' big.bin hello.sh && sha256sum big.bin hello.sh && ls -A`);
  }
  const expectedState = (scriptSha = sha(GOOD_SCRIPT), scriptSize = Buffer.byteLength(GOOD_SCRIPT)) =>
    [
      `big.bin root:root 644 ${BIG_BYTES}`,
      `hello.sh root:root 755 ${scriptSize}`,
      `${bigSha}  big.bin`,
      `${scriptSha}  hello.sh`,
      'big.bin',
      'hello.sh',
      '',
    ].join('\n');

  steps.step('first apply uploads both files (each over its own exec), validated, with owner and mode', async () => {
    const { run, host, wallMs } = await apply();
    expect(run.exitCode, run.stdout + run.stderr).toBe(0);
    expect(statuses(host)).toEqual([`directory ${DIR}: changed`, `upload ${BIG}: changed`, `upload ${SCRIPT}: changed`]);
    expect(task(host, `upload ${BIG}`).changes).toEqual([`upload ${BIG} (30.0 MiB) from ${bigSrc}`]);
    expect(task(host, `upload ${SCRIPT}`).changes).toEqual([`upload ${SCRIPT} (${Buffer.byteLength(GOOD_SCRIPT)} B) from ${scriptSrc}`]);
    // The run's shell plus one streamed exec per upload.
    expect(host.execs).toBe(3);
    expect(await hostState()).toBe(expectedState());
    expect(await sh(SCRIPT)).toBe('hello from the upload\n');
    const uploadMs = task(host, `upload ${BIG}`).durationMs;
    console.log(`[upload e2e] 30 MiB random file (gzip -1 in transit): upload task ${uploadMs} ms; whole first apply ${wallMs} ms wall (CLI start, connect, facts, 3 tasks)`);
  }, busyBudget(14));

  steps.step('a rerun changes nothing and needs one exec', async () => {
    const { run, host } = await apply();
    expect(run.exitCode).toBe(0);
    expect(host).toMatchObject({ changed: 0, failed: 0, execs: 1 });
    expect(task(host, `upload ${BIG}`)).toMatchObject({ status: 'ok', reason: `${BIG} already has sha256 ${bigSha.slice(0, 12)}, owner and mode` });
    expect(task(host, `upload ${SCRIPT}`)).toMatchObject({ status: 'ok', reason: `${SCRIPT} already has sha256 ${sha(GOOD_SCRIPT).slice(0, 12)}, owner and mode` });
  }, busyBudget(4));

  steps.step('hand edits: --check reports them (exit 2) and changes nothing; apply repairs them', async () => {
    await sh(`printf 'edited by hand' | dd of=${BIG} bs=1 seek=1048576 conv=notrunc 2>/dev/null && chmod 0700 ${SCRIPT} && chown nobody ${SCRIPT}`);
    const edited = await hostState();
    const editedSha = (await sh(`sha256sum < ${BIG} | cut -c1-64`)).trim();
    expect(editedSha).not.toBe(bigSha);

    const check = await apply('--check');
    expect(check.run.exitCode, check.run.stdout + check.run.stderr).toBe(2);
    expect(check.host).toMatchObject({ changed: 2, failed: 0, execs: 1 });
    expect(task(check.host, `upload ${BIG}`)).toMatchObject({
      status: 'changed',
      changes: [`content of ${BIG} differs from ${bigSrc} (sha256 ${editedSha.slice(0, 12)} -> ${bigSha.slice(0, 12)}, 30.0 MiB)`],
    });
    expect(task(check.host, `upload ${SCRIPT}`)).toMatchObject({ status: 'changed', changes: ['owner nobody -> root', 'mode 0700 -> 0755'] });
    expect(await hostState()).toBe(edited);

    const repair = await apply();
    expect(repair.run.exitCode, repair.run.stdout + repair.run.stderr).toBe(0);
    expect(statuses(repair.host)).toEqual([`directory ${DIR}: ok`, `upload ${BIG}: changed`, `upload ${SCRIPT}: changed`]);
    // Only the content needed a stream; ownership was set in the run's shell.
    expect(repair.host.execs).toBe(2);
    expect(await hostState()).toBe(expectedState());
    console.log(`[upload e2e] 30 MiB re-upload after a hand edit: upload task ${task(repair.host, `upload ${BIG}`).durationMs} ms`);

    const again = await apply();
    expect(again.host).toMatchObject({ changed: 0, failed: 0, execs: 1 });
  }, busyBudget(21));

  steps.step('a script that fails validation (sh -n) fails the task; the old file stays byte-identical, no temp file', async () => {
    const before = await sh(`base64 -w0 ${SCRIPT}`);
    writeFileSync(scriptSrc, '#!/bin/sh\nif [ -n "$1" ] then\n  echo broken\nfi (\n');
    const { run, host } = await apply();
    expect(run.exitCode).toBe(1);
    expect(statuses(host)).toEqual([`directory ${DIR}: ok`, `upload ${BIG}: ok`, `upload ${SCRIPT}: failed`]);
    const error = task(host, `upload ${SCRIPT}`).error ?? '';
    expect(error).toMatch(/^upload \/opt\/hy-upload\/hello\.sh: exit code 1\n/);
    expect(error).toMatch(/Syntax error/);
    expect(error).toContain(`validation of ${SCRIPT} failed: sh -n %s`);
    expect(await sh(`base64 -w0 ${SCRIPT}`)).toBe(before);
    expect(await hostState()).toBe(expectedState());
  }, busyBudget(6));

  steps.step('a validate that always refuses (/bin/false %s) fails a valid new script the same way', async () => {
    const before = await sh(`base64 -w0 ${SCRIPT}`);
    writeFileSync(scriptSrc, NEWER_SCRIPT);
    const { run, host } = await apply('-e', 'script_validate=bin-false');
    expect(run.exitCode).toBe(1);
    expect(task(host, `upload ${SCRIPT}`)).toMatchObject({ status: 'failed', error: `upload ${SCRIPT}: exit code 1\nvalidation of ${SCRIPT} failed: /bin/false %s` });
    expect(await sh(`base64 -w0 ${SCRIPT}`)).toBe(before);
    expect(await hostState()).toBe(expectedState());

    // With the usual check the newer script goes in.
    const fixed = await apply();
    expect(fixed.run.exitCode, fixed.run.stdout + fixed.run.stderr).toBe(0);
    expect(statuses(fixed.host)).toEqual([`directory ${DIR}: ok`, `upload ${BIG}: ok`, `upload ${SCRIPT}: changed`]);
    expect(await sh(SCRIPT)).toBe('a newer hello\n');
    expect(await hostState()).toBe(expectedState(sha(NEWER_SCRIPT), Buffer.byteLength(NEWER_SCRIPT)));
  }, busyBudget(10));

  steps.step('a target directory that does not exist fails the task fast (mktemp), with the 30 MiB stream still being sent', async () => {
    const started = Date.now();
    const { run, host } = await apply('-e', 'big_target=/opt/hy-no-such-dir/big.bin');
    expect(run.exitCode).toBe(1);
    expect(statuses(host)).toEqual([`directory ${DIR}: ok`, 'upload /opt/hy-no-such-dir/big.bin: failed', `upload ${SCRIPT}: skipped`]);
    const error = task(host, 'upload /opt/hy-no-such-dir/big.bin').error ?? '';
    expect(error).toMatch(/^upload \/opt\/hy-no-such-dir\/big\.bin: exit code 1\nmktemp: .*\/opt\/hy-no-such-dir\/\.halyard\.XXXXXXXX/);
    expect(Date.now() - started).toBeLessThan(60_000);
    expect(await sh('test -e /opt/hy-no-such-dir && echo present || echo absent')).toBe('absent\n');
  }, busyBudget(3));

  steps.step('a local file that is missing is a clear error naming it, before anything runs on the host', async () => {
    const missing = join(local, 'not-built-yet.tar.gz');
    const run = await runCli(['apply', PLAYBOOK, '-i', inventory, '--known-hosts', knownHosts, '-e', `big_src=${missing}`, '-e', `script_src=${scriptSrc}`, '--json']);
    expect(run.exitCode).toBe(1);
    expect(run.json?.hosts[hostName]).toMatchObject({ execs: 0, tasks: [], error: `upload: cannot read ${missing} on the controller (no such file)` });
    expect(await hostState()).toBe(expectedState(sha(NEWER_SCRIPT), Buffer.byteLength(NEWER_SCRIPT)));
  }, busyBudget(3));
});

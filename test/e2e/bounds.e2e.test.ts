// What a slow or hostile host cannot make a run do (hang past --timeout, even in the fact probe),
// what a killed run leaves behind (temp files, removed by the next write into their directory),
// and a host reached only through an ssh_config ProxyCommand.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labExec } from '../../src/lab/index.js';
import { busyBudget } from '../support/budget.js';
import { fleetInventory, freshKnownHosts, runCli } from '../support/cli.js';
import { startTestFleet, type TestFleet } from '../support/lab.js';

describe('bounds on a lab host', () => {
  let fleet: TestFleet;
  let inventory: string;
  let knownHosts: string;

  beforeAll(async () => {
    fleet = await startTestFleet({ count: 1, prefix: 'bounds' });
    inventory = fleetInventory(fleet, {});
    knownHosts = freshKnownHosts();
  });
  afterAll(() => fleet?.stop());

  it('--timeout bounds the fact probe: a check that never returns fails the host after the timeout, not 120 s', async () => {
    const run = await runCli(['apply', 'test/e2e/playbooks/hung-probe.ts', '-i', inventory, '--known-hosts', knownHosts, '--timeout', '3', '--json']);
    expect(run.exitCode, run.stderr).toBe(1);
    const host = run.json?.hosts[fleet.hosts[0]!.name];
    expect(host).toMatchObject({ errorCode: 'E_COMMAND_TIMEOUT', error: 'probe facts timed out after 3 s' });
    // Well below the probe's own 120 s.
    expect(run.json?.durationMs).toBeLessThan(60_000);
  }, busyBudget(12));

  it("a write into a directory removes halyard's temp files a killed run left there, and nothing else", async () => {
    const container = fleet.hosts[0]!.container;
    // What a run killed mid-write leaves (an hour old), a temp file newer than this run, and
    // files halyard never makes.
    await labExec(
      container,
      'mkdir -p /srv/hy-temp && cd /srv/hy-temp && rm -f .halyard.* && ' +
        "touch -d '1 hour ago' .halyard.Ab3dE9xZ .halyard.k7Qp2LmN && touch -d '1 hour' .halyard.Fut2URe1 && " +
        "touch -d '1 hour ago' .halyard.short .halyard-Ab3dE9xZ notes.txt",
    );
    const run = await runCli(['apply', 'test/e2e/playbooks/temp-files.ts', '-i', inventory, '--known-hosts', knownHosts, '-e', 'version=2', '--json']);
    expect(run.exitCode, run.stderr + run.stdout).toBe(0);
    expect(run.json?.hosts[fleet.hosts[0]!.name]).toMatchObject({ changed: 1, failed: 0 });
    const left = (await labExec(container, 'ls -A /srv/hy-temp')).stdout.trim().split('\n');
    expect(left.sort()).toEqual(['.halyard-Ab3dE9xZ', '.halyard.Fut2URe1', '.halyard.short', 'app.conf', 'notes.txt']);
    // A converged rerun writes nothing, so it touches nothing.
    const again = await runCli(['apply', 'test/e2e/playbooks/temp-files.ts', '-i', inventory, '--known-hosts', knownHosts, '-e', 'version=2', '--json']);
    expect(again.json?.hosts[fleet.hosts[0]!.name]).toMatchObject({ changed: 0, execs: 1 });
  }, busyBudget(11));

  it('a host reached through a ProxyCommand (ssh_config, or ansible_ssh_common_args) converges; a failing one is that host\'s error, with its stderr', async () => {
    const work = mkdtempSync(join(tmpdir(), 'hy-proxy-'));
    const log = join(work, 'proxy.log');
    const proxy = resolve(import.meta.dirname, '../support/stdio-proxy.mjs');
    const sshConfig = join(work, 'ssh_config');
    writeFileSync(sshConfig, `Host via-proxy\n  HostName 127.0.0.1\n  ProxyCommand ${process.execPath} ${proxy} %h %p ${log}\nHost broken-proxy\n  HostName 127.0.0.1\n  ProxyCommand sh -c 'echo "no route to the bastion" >&2; exit 3'\n`);
    const host = fleet.hosts[0]!.name;
    // The playbook writes into this folder (the temp-file test may not have run first).
    await labExec(fleet.hosts[0]!.container, 'mkdir -p /srv/hy-temp');
    const proxied = fleetInventory(fleet, {}, { dir: work, hostVars: { [host]: { ansible_host: 'via-proxy' } } });
    const run = await runCli(['apply', 'test/e2e/playbooks/temp-files.ts', '-i', proxied, '--known-hosts', knownHosts, '--ssh-config', sshConfig, '-e', 'version=3', '--json']);
    expect(run.exitCode, run.stderr + run.stdout).toBe(0);
    expect(run.json?.hosts[host]).toMatchObject({ changed: 1, failed: 0 });
    expect(readFileSync(log, 'utf8')).toBe(`127.0.0.1:${fleet.hosts[0]!.port}\n`);

    // The same route from the inventory, as Ansible users write it, with no ssh_config at all.
    const viaVarsDir = mkdtempSync(join(tmpdir(), 'hy-proxy-'));
    const viaVars = fleetInventory(fleet, {}, { dir: viaVarsDir, hostVars: { [host]: { ansible_ssh_common_args: `-o ProxyCommand="${process.execPath} ${proxy} %h %p ${log}"` } } });
    const again = await runCli(['apply', 'test/e2e/playbooks/temp-files.ts', '-i', viaVars, '--known-hosts', knownHosts, '--ssh-config', 'none', '-e', 'version=4', '--json']);
    expect(again.exitCode, again.stderr + again.stdout).toBe(0);
    expect(again.json?.hosts[host]).toMatchObject({ changed: 1, failed: 0 });
    expect(readFileSync(log, 'utf8')).toBe(`127.0.0.1:${fleet.hosts[0]!.port}\n127.0.0.1:${fleet.hosts[0]!.port}\n`);

    const brokenDir = mkdtempSync(join(tmpdir(), 'hy-proxy-'));
    const broken = fleetInventory(fleet, {}, { dir: brokenDir, hostVars: { [host]: { ansible_host: 'broken-proxy' } } });
    const failed = await runCli(['apply', 'test/e2e/playbooks/temp-files.ts', '-i', broken, '--known-hosts', knownHosts, '--ssh-config', sshConfig, '--json']);
    expect(failed.exitCode, failed.stderr + failed.stdout).toBe(1);
    expect(failed.json?.hosts[host], failed.stderr + failed.stdout).toMatchObject({ unreachable: true });
    expect(failed.json?.hosts[host]?.error).toMatch(/ProxyCommand exited 3: no route to the bastion/);
  }, busyBudget(10));
});

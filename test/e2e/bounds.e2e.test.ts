// What a slow or hostile host cannot make a run do (hang past --timeout, even in the fact probe),
// and what a killed run leaves behind (temp files, removed by the next write into their directory).
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
});

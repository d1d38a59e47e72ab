// What a slow or hostile host cannot make a run do: hang past --timeout, even in the fact probe.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
});

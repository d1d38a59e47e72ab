// A playbook's controller steps: `monitor apply` as the last step of a run (site.ts's self-monitoring
// slot), through the real CLI and SDK against the AWS emulator; --check plans it without changes.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAwsEmulator, type AwsEmulator } from '../support/aws-emulator/index.js';
import { fleetInventory, freshKnownHosts, runCli } from '../support/cli.js';
import { startTestFleet, type TestFleet } from '../support/lab.js';
import { busyBudget } from '../support/budget.js';

describe('controller steps after the hosts', () => {
  let fleet: TestFleet;
  let aws: AwsEmulator;
  let inventory: string;
  let knownHosts: string;
  let monitorFile: string;
  const apply = (...extra: string[]) =>
    runCli(['apply', 'test/e2e/playbooks/controller-steps.ts', '-i', inventory, '--known-hosts', knownHosts, '--json', ...extra], { env: aws.env });

  beforeAll(async () => {
    aws = await startAwsEmulator();
    fleet = await startTestFleet({ count: 1, prefix: 'ctrl' });
    inventory = fleetInventory(fleet, {});
    knownHosts = freshKnownHosts();
    monitorFile = join(mkdtempSync(join(tmpdir(), 'hy-mon-')), 'monitor.yml');
    writeFileSync(monitorFile, 'topic: stack-alerts\ninstances:\n  ids: [i-0abc]\n');
  });
  afterAll(async () => {
    await fleet?.stop();
    await aws?.stop();
  });

  it('is skipped without its var, plans in --check (exit 2, nothing created), applies once, then is unchanged', async () => {
    const without = await apply();
    expect(without.exitCode, without.stderr).toBe(0);
    expect(without.json?.controller?.[0]).toMatchObject({ status: 'skipped', reason: 'no monitor_config var' });

    const check = await apply('--check', '-e', `monitor_config=${monitorFile}`);
    expect(check.exitCode, check.stderr).toBe(2);
    expect(check.json?.controller?.[0]?.status).toBe('changed');
    expect(aws.state.topics.size).toBe(0);

    const applied = await apply('-e', `monitor_config=${monitorFile}`);
    expect(applied.exitCode, applied.stderr).toBe(0);
    expect(applied.json?.controller?.[0]?.status).toBe('changed');
    expect(aws.state.topics.size).toBe(1);
    expect(aws.state.alarms.size).toBeGreaterThanOrEqual(2);

    const again = await apply('-e', `monitor_config=${monitorFile}`);
    expect(again.exitCode, again.stderr).toBe(0);
    expect(again.json?.controller?.[0]?.status).toBe('ok');
    expect(again.json?.hosts[fleet.hosts[0]?.name ?? '']).toMatchObject({ changed: 0, execs: 1 });
  }, busyBudget(13));
});

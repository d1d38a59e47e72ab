// The daemon's drift job against the controller itself (ansible_connection: local): the real
// orchestrator, lock script and guarded shell, no SSH. Its check-mode run must be recorded beside
// the host lock as a drift check (`for=drift`), which is what lets an operator's apply ask past it
// (engine/lock.ts heldByDaemonJob) instead of failing. The playbook's one task would change only
// while that record says so: the job reports it as drift, a plain `halyard apply --check` does not.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runDrift } from '../../src/daemon/drift.js';
import type { LogFields, LogLevel } from '../../src/daemon/log.js';
import { SshPool } from '../../src/ssh/index.js';
import { runCli } from '../support/cli.js';

const PLAYBOOK = 'test/daemon/playbooks/lock-purpose.ts';

describe('drift job', () => {
  it('holds the host as a drift check: the lock record says for=drift while its check runs', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hy-drift-'));
    const inventory = join(dir, 'hosts');
    // The run's own lock record (engine/lock.ts): ~/.halyard/owner-lock-HOSTNAME in the login user's
    // home as passwd has it (the lock script asks getent, not $HOME).
    const ownerFile = join(userInfo().homedir, '.halyard', `owner-lock-${hostname()}`);
    writeFileSync(inventory, `[controller]\nctl ansible_connection=local owner_file=${ownerFile}\n`);
    const published: Array<{ subject: string; message: string }> = [];
    const logged: Array<{ level: LogLevel; event: string; fields?: LogFields }> = [];
    const outcome = await runDrift({
      jobName: 'drift-test',
      playbook: PLAYBOOK,
      inventory,
      forks: 1,
      pool: new SshPool(),
      notifier: { publish: async (subject, message) => void published.push({ subject, message }) },
      logger: { log: (level, event, fields) => void logged.push({ level, event, ...(fields ? { fields } : {}) }) },
    });
    expect(outcome.summary).toEqual({ hosts: 1, driftedHosts: 1, busyHosts: 0, notified: true });
    expect(published).toEqual([
      {
        subject: 'halyard drift: 1 host (ctl)',
        message: `Check-mode run of ${PLAYBOOK} found drift:\n\nctl:\n  - held as a drift check (run true)\n`,
      },
    ]);
    expect(logged.find((entry) => entry.event === 'drift')).toMatchObject({ level: 'warn', fields: { job: 'drift-test', hosts: 1, drifted: ['ctl'], tasks: 1 } });

    // The same check from an operator's `apply --check`: no purpose recorded, so nothing would change.
    const operator = await runCli(['apply', PLAYBOOK, '-i', inventory, '--check', '--lock-timeout', '30', '--json']);
    expect(operator.exitCode, operator.stderr + operator.stdout).toBe(0);
    expect(operator.json?.hosts.ctl).toMatchObject({ changed: 0, failed: 0 });
  }, 60_000);
});

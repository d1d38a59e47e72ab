import { describe, expect, test } from 'vitest';
import { parseDaemonConfig } from '../../src/daemon/config.js';
import { buildJob, type DaemonServices } from '../../src/daemon/daemon.js';
import { silentNotifier } from '../../src/daemon/notify.js';
import { memoryLogger } from '../../src/daemon/log.js';
import { Scheduler } from '../../src/daemon/scheduler.js';

const services: DaemonServices = { metrics: {} as never, notifier: silentNotifier, leaseStore: undefined, sshOptions: {} };

describe('command jobs', () => {
  test('exit 0 is success, another exit a failure, and timeout_seconds aborts a run that takes too long', async () => {
    const config = parseDaemonConfig(
      `jobs:
  - { name: ok, kind: command, schedule: "* * * * *", command: [sh, -c, "exit 0"] }
  - { name: bad, kind: command, schedule: "* * * * *", command: [sh, -c, "exit 3"] }
  - { name: slow, kind: command, schedule: "* * * * *", command: [sleep, "30"], timeout_seconds: 1 }
`,
      '/tmp/daemon.yml',
    );
    const scheduler = new Scheduler(config.jobs.map((job) => buildJob(config, job, services)), { logger: memoryLogger() });
    expect(await scheduler.trigger('ok')).toBe('success');
    expect(await scheduler.trigger('bad')).toBe('failure');
    expect(scheduler.statuses()[1]?.lastError).toBe('sh exited 3');
    const started = Date.now();
    expect(await scheduler.trigger('slow')).toBe('failure');
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(scheduler.statuses()[2]?.lastError).toMatch(/abort/i);
  });
});

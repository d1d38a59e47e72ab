import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { sdkObjectStore } from '../../src/aws/objects.js';
import { parseDaemonConfig } from '../../src/daemon/config.js';
import { awsServices } from '../../src/daemon/daemon.js';
import { Lease, objectLeaseStore } from '../../src/daemon/lease.js';
import { memoryLogger } from '../../src/daemon/log.js';
import { Scheduler, type DaemonJob } from '../../src/daemon/scheduler.js';
import { startAwsEmulator, useEmulatorEnv, type AwsEmulator } from '../support/aws-emulator/index.js';

// Two daemons against one S3 bucket (the emulator's S3, real SDK clients, If-None-Match: *).
describe('lease in S3', () => {
  const BUCKET = 'halyard-daemon-leases';
  let aws: AwsEmulator;
  let restoreEnv: () => void;

  beforeAll(async () => {
    aws = await startAwsEmulator();
    restoreEnv = useEmulatorEnv(aws);
    aws.createBucket(BUCKET);
  });
  afterAll(async () => {
    restoreEnv?.();
    await aws?.stop();
  });

  test('two daemons fire every tick at once: each tick of each job runs exactly once', async () => {
    const ran: string[] = [];
    const jobs = (daemon: string): DaemonJob[] =>
      ['probe', 'drift'].map((name) => ({
        name,
        schedule: '0 * * * * *',
        run: async ({ tick }) => {
          ran.push(`${name} ${tick.toISOString()} ${daemon}`);
        },
      }));
    // Separate clients, as two machines would have.
    const daemonA = new Scheduler(jobs('a'), { logger: memoryLogger(), lease: new Lease(objectLeaseStore(sdkObjectStore({ bucket: BUCKET })), 'a') });
    const daemonB = new Scheduler(jobs('b'), { logger: memoryLogger(), lease: new Lease(objectLeaseStore(sdkObjectStore({ bucket: BUCKET })), 'b') });
    const ticks = Array.from({ length: 5 }, (_, i) => new Date(Date.UTC(2026, 0, 5, 10, i + 1)));
    // Tick after tick (a job never overlaps itself); within a tick both daemons race for both jobs.
    const results: string[] = [];
    for (const tick of ticks) {
      results.push(...(await Promise.all(['probe', 'drift'].flatMap((job) => [daemonA.trigger(job, tick), daemonB.trigger(job, tick)]))));
    }
    expect(results.filter((r) => r === 'success')).toHaveLength(10);
    expect(results.filter((r) => r === 'skipped-lease')).toHaveLength(10);
    const byTick = new Map<string, number>();
    for (const entry of ran) {
      const key = entry.split(' ').slice(0, 2).join(' ');
      byTick.set(key, (byTick.get(key) ?? 0) + 1);
    }
    expect(byTick.size).toBe(10);
    expect([...byTick.values()].every((count) => count === 1)).toBe(true);

    const keys: string[] = [];
    for await (const object of sdkObjectStore({ bucket: BUCKET }).list('leases/')) keys.push(object.key);
    expect(keys).toHaveLength(10);
    expect(keys).toContain('leases/drift/2026-01-05T10:01:00.000Z');
  });

  test('a daemon file with lease: builds the S3 lease store (conditional put: first wins, second loses)', async () => {
    const config = parseDaemonConfig(`aws: { region: us-east-1, endpoint: "${aws.url}" }\nlease: { bucket: ${BUCKET}, prefix: ha/leases }\njobs:\n  - { name: x, kind: command, schedule: "* * * * *", command: ["true"] }\n`, '/tmp/daemon.yml');
    const services = await awsServices(config);
    expect(services.leaseStore).toBeDefined();
    const lease = new Lease(services.leaseStore!, 'a', config.lease?.prefix);
    const tick = new Date('2026-02-01T00:00:00Z');
    expect(await lease.claim('x', tick)).toEqual({ acquired: true, key: 'ha/leases/x/2026-02-01T00:00:00.000Z' });
    expect(await lease.claim('x', tick)).toEqual({ acquired: false, key: 'ha/leases/x/2026-02-01T00:00:00.000Z' });
  });
});

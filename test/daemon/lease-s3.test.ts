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
    // Separate clients, as two machines would have; their clocks agree with the ticks (no lease is old yet).
    const now = () => new Date(Date.UTC(2026, 0, 5, 10, 6));
    const daemonA = new Scheduler(jobs('a'), { logger: memoryLogger(), now, lease: new Lease(objectLeaseStore(sdkObjectStore({ bucket: BUCKET })), 'a') });
    const daemonB = new Scheduler(jobs('b'), { logger: memoryLogger(), now, lease: new Lease(objectLeaseStore(sdkObjectStore({ bucket: BUCKET })), 'b') });
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
    expect(lease.keepHours).toBe(24);
  });

  // The sweep: the daemon that wins a tick deletes the job's lease objects older than keep_hours,
  // at most once an hour (per daemon, in memory), and only keys that are this job's lease keys.
  test('the winner of a tick deletes old lease objects of that job, at most once an hour; recent and foreign keys stay', async () => {
    const prefix = 'sweep/leases';
    const objects = sdkObjectStore({ bucket: BUCKET });
    const HOUR = 3_600_000;
    const t0 = Date.parse('2026-03-10T12:00:00.000Z');
    let clock = t0;
    const ran: string[] = [];
    const logs = { a: memoryLogger(), b: memoryLogger() };
    const daemon = (id: 'a' | 'b') =>
      new Scheduler([{ name: 'probe', schedule: '0 * * * * *', run: async ({ tick }) => void ran.push(`${id} ${tick.toISOString()}`) }], {
        logger: logs[id],
        now: () => new Date(clock),
        // Separate clients, as two machines would have.
        lease: new Lease(objectLeaseStore(sdkObjectStore({ bucket: BUCKET })), id, prefix),
      });
    const a = daemon('a');
    const b = daemon('b');
    const at = (ms: number) => `${prefix}/probe/${new Date(ms).toISOString()}`;
    const old = [at(t0 - 25 * HOUR), at(t0 - 24 * HOUR - 1000)];
    const recent = [at(t0 - 24 * HOUR), at(t0 - 6 * HOUR)]; // exactly keep_hours old is kept
    const foreign = [
      `${prefix}/probe/README`,
      `${prefix}/probe/2026-03-01T00:00:00Z`, // not a key leaseKey gives (no milliseconds)
      `${prefix}/probe/2026-03-01T00:00:00.000Z/x`,
      `${prefix}/probes/2026-03-01T00:00:00.000Z`, // another job
      `${prefix}/drift/2026-03-01T00:00:00.000Z`,
      `leases/probe/2026-03-01T00:00:00.000Z`, // another prefix
    ];
    for (const key of [...old, ...recent, ...foreign]) await objects.putBytes(key, '{}');
    const keys = () => aws.s3.keys(BUCKET, `${prefix}/`).concat(aws.s3.keys(BUCKET, 'leases/probe/2026-03'));
    const lists = () => aws.countRequests({ service: 's3', operation: 'ListObjectsV2' });
    const cleanups = (id: 'a' | 'b') => logs[id].records.filter((r) => r.event === 'lease-cleanup');

    // t0: both daemons fire; a's put goes first and wins, so a sweeps.
    const listsBefore = lists();
    expect(await a.trigger('probe', new Date(t0))).toBe('success');
    expect(await b.trigger('probe', new Date(t0))).toBe('skipped-lease');
    expect(keys().sort()).toEqual([...recent, ...foreign, at(t0)].sort());
    expect(cleanups('a')).toEqual([{ level: 'info', event: 'lease-cleanup', job: 'probe', deleted: 2, oldest: old[0], newest: old[1] }]);
    expect(cleanups('b')).toEqual([]);
    expect(lists()).toBe(listsBefore + 1);

    // t0 + 30 min: a wins again, but swept half an hour ago: no listing, the newly old lease stays.
    const newlyOld = at(t0 - 24 * HOUR + 10 * 60_000); // 24 h 20 min old by then
    await objects.putBytes(newlyOld, '{}');
    clock = t0 + 30 * 60_000;
    expect(await a.trigger('probe', new Date(clock))).toBe('success');
    expect(await b.trigger('probe', new Date(clock))).toBe('skipped-lease');
    expect(lists()).toBe(listsBefore + 1);
    expect(keys()).toContain(newlyOld);

    // t0 + 59 min: still within a's hour; b loses, so b does not sweep either.
    clock = t0 + 59 * 60_000;
    expect(await a.trigger('probe', new Date(clock))).toBe('success');
    expect(await b.trigger('probe', new Date(clock))).toBe('skipped-lease');
    expect(lists()).toBe(listsBefore + 1);

    // t0 + 61 min: an hour since a's sweep: a sweeps again and deletes what aged past 24 h meanwhile
    // (the one exactly 24 h old at t0 included); the tick leases of this hour stay.
    clock = t0 + 61 * 60_000;
    expect(await a.trigger('probe', new Date(clock))).toBe('success');
    expect(lists()).toBe(listsBefore + 2);
    expect(cleanups('a')[1]).toMatchObject({ deleted: 2, oldest: recent[0], newest: newlyOld });
    const ticks = [t0, t0 + 30 * 60_000, t0 + 59 * 60_000, t0 + 61 * 60_000];
    expect(keys().sort()).toEqual([recent[1]!, ...foreign, ...ticks.map(at)].sort());
    // Every tick ran exactly once, on a; b never swept (it never won).
    expect(ran).toEqual(ticks.map((t) => `a ${new Date(t).toISOString()}`));
    expect(cleanups('b')).toEqual([]);

    // b wins a tick for the first time: it has not swept yet, so it does (the hour is per daemon).
    clock = t0 + 62 * 60_000;
    expect(await b.trigger('probe', new Date(clock))).toBe('success');
    expect(lists()).toBe(listsBefore + 3);
    expect(cleanups('b')).toEqual([]); // nothing old left to delete
    expect(keys().sort()).toEqual([recent[1]!, ...foreign, ...ticks.map(at), at(clock)].sort());
  });

  test('a failing sweep is logged, never fails the job, and waits an hour before it is tried again', async () => {
    const prefix = 'failing/leases';
    const objects = sdkObjectStore({ bucket: BUCKET });
    const t0 = Date.parse('2026-04-01T00:00:00.000Z');
    let clock = t0;
    const stale = `${prefix}/backup/${new Date(t0 - 48 * 3_600_000).toISOString()}`;
    await objects.putBytes(stale, '{}');
    const logger = memoryLogger();
    const daemon = new Scheduler([{ name: 'backup', schedule: '0 * * * * *', run: async () => ({ summary: { ok: 1 } }) }], {
      logger,
      now: () => new Date(clock),
      lease: new Lease(objectLeaseStore(objects), 'a', prefix, 36),
    });
    // Every listing fails (the SDK's retries included).
    aws.failNext({ service: 's3', operation: 'ListObjectsV2', kind: '500', count: 20 });
    expect(await daemon.trigger('backup', new Date(clock))).toBe('success');
    aws.clearFaults();
    expect(logger.records.filter((r) => r.event === 'lease-cleanup-failed')).toEqual([
      { level: 'warn', event: 'lease-cleanup-failed', job: 'backup', error: expect.stringMatching(/ListObjectsV2 s3:\/\/halyard-daemon-leases\/failing\/leases\/backup\/.*InternalError/) },
    ]);
    expect(daemon.statuses()[0]).toMatchObject({ runs: { success: 1, failure: 0 }, consecutiveFailures: 0 });
    expect(aws.s3.keys(BUCKET, `${prefix}/`)).toContain(stale);
    // Within the hour: not tried again.
    clock = t0 + 30 * 60_000;
    const lists = aws.countRequests({ service: 's3', operation: 'ListObjectsV2' });
    expect(await daemon.trigger('backup', new Date(clock))).toBe('success');
    expect(aws.countRequests({ service: 's3', operation: 'ListObjectsV2' })).toBe(lists);
    // An hour later it is, and deletes the stale lease (48 h old, kept 36 h).
    clock = t0 + 60 * 60_000;
    expect(await daemon.trigger('backup', new Date(clock))).toBe('success');
    expect(aws.s3.keys(BUCKET, `${prefix}/`)).toEqual([t0, t0 + 30 * 60_000, t0 + 60 * 60_000].map((t) => `${prefix}/backup/${new Date(t).toISOString()}`));
    expect(logger.records.filter((r) => r.event === 'lease-cleanup')).toMatchObject([{ job: 'backup', deleted: 1, oldest: stale }]);
  });
});

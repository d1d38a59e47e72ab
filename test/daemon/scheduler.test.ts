import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { LEASE_SWEEP_INTERVAL_MS, LEASE_SWEEP_MAX_DELETES, Lease, MemoryLeaseStore, leaseKey, parseLeaseKey } from '../../src/daemon/lease.js';
import { memoryLogger } from '../../src/daemon/log.js';
import { Scheduler, tickOf, type DaemonJob, type JobRunContext } from '../../src/daemon/scheduler.js';

// A job whose runs the test finishes by hand (or that takes `ms` of fake time).
function controllableJob(name: string, schedule: string, options: { ms?: number; honourAbort?: boolean } = {}) {
  const runs: JobRunContext[] = [];
  const job: DaemonJob = {
    name,
    schedule,
    run: (context) => {
      runs.push(context);
      return new Promise((resolve, reject) => {
        if (options.ms !== undefined) setTimeout(() => resolve({ bytes: 10 }), options.ms);
        if (options.honourAbort) context.signal.addEventListener('abort', () => reject(new Error('aborted by signal')));
      });
    },
  };
  return { job, runs };
}

describe('scheduler (fake timers)', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: new Date('2026-01-05T10:00:00.000Z') });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  test('runs on schedule, in the configured time zone', async () => {
    const ticks: string[] = [];
    const everyMinute: DaemonJob = { name: 'probe', schedule: '0 * * * * *', run: async ({ tick }) => void ticks.push(tick.toISOString()) };
    // 09:30 in Berlin (UTC+1 in January) is 08:30 UTC.
    const daily: DaemonJob = { name: 'daily', schedule: '0 30 9 * * *', timezone: 'Europe/Berlin', run: async ({ tick }) => void ticks.push(`daily ${tick.toISOString()}`) };
    const logger = memoryLogger();
    const scheduler = new Scheduler([everyMinute, daily], { logger });
    scheduler.start();
    await vi.advanceTimersByTimeAsync(3 * 60_000 + 500);
    expect(ticks).toEqual(['2026-01-05T10:01:00.000Z', '2026-01-05T10:02:00.000Z', '2026-01-05T10:03:00.000Z']);
    const [probe, dailyStatus] = scheduler.statuses();
    expect(probe).toMatchObject({ runs: { success: 3, failure: 0 }, skippedOverlap: 0, lastResult: 'success' });
    expect(dailyStatus?.nextRun).toBe('2026-01-06T08:30:00.000Z');
    await vi.advanceTimersByTimeAsync(22.5 * 3600_000);
    expect(ticks.filter((t) => t.startsWith('daily'))).toEqual(['daily 2026-01-06T08:30:00.000Z']);
    await scheduler.shutdown();
    expect(logger.records.filter((r) => r.event === 'success' && r.job === 'probe').length).toBeGreaterThan(3);
  });

  test('a run that outlasts its interval is never overlapped: the ticks in between are skipped and counted', async () => {
    const { job, runs } = controllableJob('slow', '*/10 * * * * *', { ms: 35_000 });
    const logger = memoryLogger();
    const scheduler = new Scheduler([job], { logger });
    scheduler.start();
    await vi.advanceTimersByTimeAsync(10_000); // 10:00:10 first run starts, lasts 35 s
    expect(runs).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(30_000); // ticks at :20, :30, :40 come while it runs (ends :45)
    expect(runs).toHaveLength(1);
    expect(scheduler.statuses()[0]).toMatchObject({ skippedOverlap: 3, running: true });
    await vi.advanceTimersByTimeAsync(10_000); // :45 done, :50 runs again
    expect(runs).toHaveLength(2);
    expect(runs.map((r) => r.tick.toISOString())).toEqual(['2026-01-05T10:00:10.000Z', '2026-01-05T10:00:50.000Z']);
    expect(scheduler.statuses()[0]).toMatchObject({ runs: { success: 1, failure: 0 }, skippedOverlap: 3, bytesTotal: 10 });
    expect(logger.records.filter((r) => r.event === 'skipped-overlap')).toHaveLength(3);
    const done = scheduler.shutdown({ graceMs: 60_000 });
    await vi.advanceTimersByTimeAsync(35_000);
    await done;
    expect(scheduler.statuses()[0]).toMatchObject({ runs: { success: 2, failure: 0 }, running: false });
  });

  test('SIGTERM mid-job: scheduling stops and the running job finishes within the grace period', async () => {
    const { job, runs } = controllableJob('backup', '0 * * * * *', { ms: 20_000 });
    const scheduler = new Scheduler([job], { logger: memoryLogger() });
    scheduler.start();
    await vi.advanceTimersByTimeAsync(60_000 + 5_000);
    expect(runs).toHaveLength(1);
    let resolved = false;
    const done = scheduler.shutdown({ graceMs: 30_000 }).then(() => (resolved = true));
    await vi.advanceTimersByTimeAsync(10_000);
    expect(resolved).toBe(false);
    await vi.advanceTimersByTimeAsync(10_000);
    await done;
    expect(runs[0]?.signal.aborted).toBe(false);
    expect(scheduler.statuses()[0]).toMatchObject({ runs: { success: 1, failure: 0 }, running: false });
    // No more ticks once stopped.
    await vi.advanceTimersByTimeAsync(5 * 60_000);
    expect(runs).toHaveLength(1);
    expect(await scheduler.trigger('backup')).toBe('stopped');
  });

  test('SIGTERM mid-job: past the grace period the job is aborted through its signal, then shutdown resolves', async () => {
    const { job, runs } = controllableJob('stuck', '0 * * * * *', { honourAbort: true });
    const logger = memoryLogger();
    const scheduler = new Scheduler([job], { logger });
    scheduler.start();
    await vi.advanceTimersByTimeAsync(61_000);
    expect(runs).toHaveLength(1);
    expect(runs[0]?.stopping.aborted).toBe(false);
    const done = scheduler.shutdown({ graceMs: 5_000 });
    // Waits that have not started work (a host lock) end when shutdown begins; the work itself gets the grace.
    await vi.advanceTimersByTimeAsync(0);
    expect(runs[0]?.stopping.aborted).toBe(true);
    expect(runs[0]?.signal.aborted).toBe(false);
    await vi.advanceTimersByTimeAsync(5_000);
    await done;
    expect(runs[0]?.signal.aborted).toBe(true);
    expect(scheduler.statuses()[0]).toMatchObject({ runs: { success: 0, failure: 1 }, running: false, lastError: 'aborted by signal' });
    expect(logger.records.map((r) => r.event)).toEqual(expect.arrayContaining(['shutdown', 'aborting', 'aborted']));
  });

  test('failures count in a row; health turns bad at the threshold and back on a success', async () => {
    let fail = true;
    const job: DaemonJob = {
      name: 'flaky',
      schedule: '0 * * * * *',
      run: async () => {
        if (fail) throw new Error('host unreachable');
      },
    };
    const scheduler = new Scheduler([job], { logger: memoryLogger(), failureThreshold: 2 });
    expect(await scheduler.trigger('flaky')).toBe('failure');
    expect(scheduler.healthy()).toBe(true);
    expect(await scheduler.trigger('flaky')).toBe('failure');
    expect(scheduler.healthy()).toBe(false);
    fail = false;
    expect(await scheduler.trigger('flaky')).toBe('success');
    expect(scheduler.healthy()).toBe(true);
    expect(scheduler.statuses()[0]).toMatchObject({ runs: { success: 1, failure: 2 }, consecutiveFailures: 0 });
  });

  test('bad schedules and duplicate names are refused', () => {
    const noop = async () => {};
    expect(() => new Scheduler([{ name: 'x', schedule: 'every minute', run: noop }], { logger: memoryLogger() })).toThrow(/job x: invalid schedule/);
    expect(() => new Scheduler([{ name: 'x', schedule: '* * * * *', run: noop }, { name: 'x', schedule: '* * * * *', run: noop }], { logger: memoryLogger() })).toThrow(/two jobs are named "x"/);
  });
});

describe('two daemons sharing a lease store', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: new Date('2026-01-05T10:00:00.000Z') });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  test('each tick of each job runs exactly once across both daemons', async () => {
    const store = new MemoryLeaseStore();
    const ran: Array<{ daemon: string; job: string; tick: string }> = [];
    const daemon = (id: string) =>
      new Scheduler(
        ['probe', 'drift'].map((name) => ({
          name,
          schedule: name === 'probe' ? '0 * * * * *' : '0 */5 * * * *',
          run: async ({ tick }: JobRunContext) => void ran.push({ daemon: id, job: name, tick: tick.toISOString() }),
        })),
        { logger: memoryLogger(), lease: new Lease(store, id) },
      );
    const a = daemon('a');
    const b = daemon('b');
    a.start();
    b.start();
    await vi.advanceTimersByTimeAsync(10 * 60_000 + 500);
    await Promise.all([a.shutdown(), b.shutdown()]);

    const probeTicks = ran.filter((r) => r.job === 'probe').map((r) => r.tick);
    const driftTicks = ran.filter((r) => r.job === 'drift').map((r) => r.tick);
    expect(probeTicks).toHaveLength(10);
    expect(new Set(probeTicks).size).toBe(10);
    expect(driftTicks).toEqual(['2026-01-05T10:05:00.000Z', '2026-01-05T10:10:00.000Z']);
    expect(store.objects.size).toBe(12);
    expect(store.objects.has(leaseKey('drift', new Date('2026-01-05T10:05:00Z')))).toBe(true);
    expect([...store.objects.keys()]).toContain('leases/drift/2026-01-05T10:05:00.000Z');
    // Whoever lost a tick counted it.
    const skipped = [...a.statuses(), ...b.statuses()].reduce((sum, s) => sum + s.skippedLease, 0);
    expect(skipped).toBe(12);
    const body = JSON.parse(store.objects.get('leases/drift/2026-01-05T10:05:00.000Z')!) as { owner: string };
    expect(['a', 'b']).toContain(body.owner);
  });

  test('a timer firing a little early or late names the same tick, so both daemons claim the same lease key', () => {
    const keys = ['2026-01-05T10:00:59.999Z', '2026-01-05T10:01:00.000Z', '2026-01-05T10:01:00.004Z', '2026-01-05T10:01:00.430Z'].map((at) => leaseKey('probe', tickOf(new Date(at))));
    expect(new Set(keys)).toEqual(new Set(['leases/probe/2026-01-05T10:01:00.000Z']));
  });
});

describe('lease keys and the sweep (memory store)', () => {
  test.each([
    ['leases/probe/2026-01-05T10:01:00.000Z', 'probe', 'leases', '2026-01-05T10:01:00.000Z'],
    ['ha/leases/a.b_c-1/2026-12-31T23:59:59.000Z', 'a.b_c-1', 'ha/leases', '2026-12-31T23:59:59.000Z'],
    ['leases/probe/2026-01-05T10:01:00.500Z', 'probe', 'leases', undefined], // ticks are whole seconds
    ['leases/probe/2026-01-05T10:01:00Z', 'probe', 'leases', undefined],
    ['leases/probe/2026-02-30T10:01:00.000Z', 'probe', 'leases', undefined], // no such day
    ['leases/probe/2026-01-05T10:01:00.000Z/x', 'probe', 'leases', undefined],
    ['leases/probe/README', 'probe', 'leases', undefined],
    ['leases/probes/2026-01-05T10:01:00.000Z', 'probe', 'leases', undefined],
    ['leases/drift/2026-01-05T10:01:00.000Z', 'probe', 'leases', undefined],
    ['other/probe/2026-01-05T10:01:00.000Z', 'probe', 'leases', undefined],
  ])('%s as a lease key of job %s under %s: %s', (key, job, prefix, tick) => {
    expect(parseLeaseKey(key, job, prefix)?.toISOString()).toBe(tick);
  });

  test('every key leaseKey gives parses back to its tick', () => {
    const tick = new Date('2026-07-01T08:09:10.000Z');
    expect(parseLeaseKey(leaseKey('nightly', tick, 'x/y'), 'nightly', 'x/y')).toEqual(tick);
  });

  test('a sweep deletes oldest first, at most LEASE_SWEEP_MAX_DELETES; the rest an hour later', async () => {
    const store = new MemoryLeaseStore();
    const now = Date.parse('2026-05-01T00:00:00.000Z');
    const extra = 5;
    for (let i = 0; i < LEASE_SWEEP_MAX_DELETES + extra; i++) store.objects.set(leaseKey('probe', new Date(now - 48 * 3_600_000 + i * 1000)), '{}');
    store.objects.set(leaseKey('probe', new Date(now - 3_600_000)), '{}');
    store.objects.set(leaseKey('drift', new Date(now - 48 * 3_600_000)), '{}');
    const lease = new Lease(store, 'a');
    const first = await lease.sweep('probe', new Date(now));
    expect(first).toHaveLength(LEASE_SWEEP_MAX_DELETES);
    expect(first![0]).toBe(leaseKey('probe', new Date(now - 48 * 3_600_000)));
    expect(store.objects.size).toBe(extra + 2);
    expect(await lease.sweep('probe', new Date(now + LEASE_SWEEP_INTERVAL_MS - 1))).toBeUndefined();
    expect(await lease.sweep('probe', new Date(now + LEASE_SWEEP_INTERVAL_MS))).toHaveLength(extra);
    expect([...store.objects.keys()].sort()).toEqual([leaseKey('drift', new Date(now - 48 * 3_600_000)), leaseKey('probe', new Date(now - 3_600_000))]);
    // Per job: drift has not been swept yet.
    expect(await lease.sweep('drift', new Date(now + LEASE_SWEEP_INTERVAL_MS))).toEqual([leaseKey('drift', new Date(now - 48 * 3_600_000))]);
  });
});

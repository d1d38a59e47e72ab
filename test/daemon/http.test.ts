import { afterEach, describe, expect, test } from 'vitest';
import { execFileSync } from 'node:child_process';
import { bridgeAddressOf, dockerBridgeAddress, processMetricsText, startStatusServer, type StatusServer } from '../../src/daemon/http.js';
import { memoryLogger } from '../../src/daemon/log.js';
import { Scheduler, type DaemonJob } from '../../src/daemon/scheduler.js';

describe('/healthz and /metrics over HTTP on 127.0.0.1', () => {
  let server: StatusServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  test('job results, durations, bytes, last success, overlaps; 503 once a job fails past the threshold', async () => {
    let fail = false;
    let release: (() => void) | undefined;
    const jobs: DaemonJob[] = [
      { name: 'backup', schedule: '0 0 2 * * *', run: async () => ({ bytes: 1_048_576, summary: { volumes: 2 } }) },
      {
        name: 'probe',
        schedule: '0 */5 * * * *',
        run: async () => {
          if (fail) throw new Error('ssh: connection refused');
        },
      },
      { name: 'slow', schedule: '0 0 * * * *', run: () => new Promise<void>((resolve) => (release = resolve)) },
    ];
    const scheduler = new Scheduler(jobs, { logger: memoryLogger(), failureThreshold: 2 });
    server = await startStatusServer(scheduler, 0);
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);

    expect(await scheduler.trigger('backup')).toBe('success');
    expect(await scheduler.trigger('probe')).toBe('success');
    const slow = scheduler.trigger('slow');
    expect(await scheduler.trigger('slow')).toBe('skipped-overlap');

    let health = await fetch(`${server.url}/healthz`);
    expect(health.status).toBe(200);
    const doc = (await health.json()) as { ok: boolean; jobs: Record<string, Record<string, unknown>> };
    expect(doc.ok).toBe(true);
    expect(doc.jobs.backup).toMatchObject({ ok: true, lastResult: 'success', runs: { success: 1, failure: 0 }, summary: { volumes: 2 } });
    expect(doc.jobs.slow).toMatchObject({ running: true, skippedOverlap: 1, lastResult: null });

    const metrics = await fetch(`${server.url}/metrics`);
    expect(metrics.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await metrics.text();
    expect(text).toContain('# TYPE halyard_job_runs_total counter');
    expect(text).toContain('halyard_job_runs_total{job="backup",result="success"} 1');
    expect(text).toContain('halyard_job_runs_total{job="backup",result="failure"} 0');
    expect(text).toContain('halyard_job_bytes_total{job="backup"} 1048576');
    expect(text).toContain('halyard_job_skipped_overlap_total{job="slow"} 1');
    expect(text).toContain('halyard_job_duration_seconds_count{job="probe"} 1');
    expect(text).toMatch(/halyard_job_duration_seconds_sum\{job="probe"\} [\d.]+\n/);
    expect(text).toContain('halyard_job_last_success_timestamp_seconds{job="slow"} 0');
    const lastSuccess = Number(/halyard_job_last_success_timestamp_seconds\{job="backup"\} ([\d.]+)/.exec(text)?.[1]);
    expect(Math.abs(lastSuccess - Date.now() / 1000)).toBeLessThan(60);
    // Every sample line is "name{labels} number".
    for (const line of text.trim().split('\n').filter((l) => !l.startsWith('#'))) expect(line).toMatch(/^[a-z_]+(\{[^}]*\})? -?[\d.e+]+$/);
    // The daemon's own footprint, for an alarm on a leak.
    const rss = Number(/^process_resident_memory_bytes (\d+)$/m.exec(text)?.[1]);
    expect(rss).toBeGreaterThan(10 * 1024 * 1024);
    expect(Math.abs(Number(/^process_start_time_seconds (\d+)$/m.exec(text)?.[1]) - (Date.now() - performance.now()) / 1000)).toBeLessThan(5);

    fail = true;
    await scheduler.trigger('probe');
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    await scheduler.trigger('probe');
    health = await fetch(`${server.url}/healthz`);
    expect(health.status).toBe(503);
    const bad = (await health.json()) as { ok: boolean; jobs: Record<string, Record<string, unknown>> };
    expect(bad.ok).toBe(false);
    expect(bad.jobs.probe).toMatchObject({ ok: false, consecutiveFailures: 2, lastError: 'ssh: connection refused' });
    expect(await (await fetch(`${server.url}/metrics`)).text()).toContain('halyard_job_runs_total{job="probe",result="failure"} 2');

    expect((await fetch(`${server.url}/nope`)).status).toBe(404);
    expect((await fetch(`${server.url}/healthz`, { method: 'POST' })).status).toBe(405);
    release?.();
    await slow;
  });

  test('a port in use is one clear error', async () => {
    const scheduler = new Scheduler([{ name: 'x', schedule: '* * * * *', run: async () => {} }], { logger: memoryLogger() });
    server = await startStatusServer(scheduler, 0);
    await expect(startStatusServer(scheduler, server.port)).rejects.toThrow(`cannot listen on 127.0.0.1:${server.port}: the port is in use (another daemon?)`);
  });
});

describe('on the Docker bridge too, where the stack collector scrapes it', () => {
  let server: StatusServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });
  // 127.0.0.2 stands in for docker0's 172.17.0.1 (any 127/8 address can be bound here, the bridge
  // only where Docker runs).
  const bridge = async () => '127.0.0.2';
  const scheduler = () => new Scheduler([{ name: 'x', schedule: '0 0 * * * *', run: async () => {} }], { logger: memoryLogger() });

  test('docker_bridge true: /metrics answers on the bridge address on the same port as on loopback', async () => {
    server = await startStatusServer(scheduler(), 0, undefined, { dockerBridge: true, bridgeAddress: bridge });
    expect(server.bridgeUrl()).toBe(`http://127.0.0.2:${server.port}`);
    expect((await fetch(`${server.bridgeUrl()}/metrics`)).status).toBe(200);
    expect((await fetch(`${server.url}/metrics`)).status).toBe(200);
  });

  test("'auto' with Docker not started yet: it listens there once docker0 appears; false never does", async () => {
    let present = false;
    const events: string[] = [];
    server = await startStatusServer(scheduler(), 0, undefined, {
      dockerBridge: 'auto',
      bridgeAddress: async () => (present ? '127.0.0.2' : undefined),
      bridgeRetryMs: 20,
      log: (_level, event) => events.push(event),
    });
    expect(server.bridgeUrl()).toBeUndefined();
    present = true;
    for (let i = 0; i < 100 && server.bridgeUrl() === undefined; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(server.bridgeUrl()).toBe(`http://127.0.0.2:${server.port}`);
    expect((await fetch(`${server.bridgeUrl()}/healthz`)).status).toBe(200);
    expect(events).toEqual(['http-bridge-waiting', 'http-bridge']);
    await server.close();

    server = await startStatusServer(scheduler(), 0, undefined, { dockerBridge: false, bridgeAddress: bridge });
    expect(server.bridgeUrl()).toBeUndefined();
    await expect(fetch(`http://127.0.0.2:${server.port}/metrics`)).rejects.toThrow();
  });
});

describe('the Docker bridge address', () => {
  test("read from `ip -4 -o addr show dev docker0` (an interface without carrier included)", () => {
    expect(bridgeAddressOf('4: docker0    inet 172.18.0.1/16 brd 172.18.255.255 scope global docker0\\       valid_lft forever preferred_lft forever\n')).toBe('172.18.0.1');
    expect(bridgeAddressOf('')).toBeUndefined();
  });

  test('on this machine, docker0 as ip shows it', async () => {
    const shown = execFileSync('sh', ['-c', "ip -4 -o addr show dev docker0 2>/dev/null | sed -n 's/.* inet \\([0-9.]*\\)\\/.*/\\1/p' | head -1"], { encoding: 'utf8' }).trim();
    expect(await dockerBridgeAddress()).toBe(shown === '' ? undefined : shown);
  });
});

describe('processMetricsText', () => {
  test('RSS, heap and start time under the client libraries\' names', () => {
    expect(processMetricsText({ rss: 104857600, heapUsed: 20971520 }, 1764072000)).toBe(
      [
        '# HELP process_resident_memory_bytes Resident memory size in bytes.',
        '# TYPE process_resident_memory_bytes gauge',
        'process_resident_memory_bytes 104857600',
        '# HELP nodejs_heap_size_used_bytes Process heap size used from Node.js in bytes.',
        '# TYPE nodejs_heap_size_used_bytes gauge',
        'nodejs_heap_size_used_bytes 20971520',
        '# HELP process_start_time_seconds Start time of the process since unix epoch in seconds.',
        '# TYPE process_start_time_seconds gauge',
        'process_start_time_seconds 1764072000',
        '',
      ].join('\n'),
    );
  });
});


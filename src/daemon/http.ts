import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { execFile } from 'node:child_process';
import { networkInterfaces } from 'node:os';
import { promisify } from 'node:util';
import { HalyardError } from '../core/errors.js';

const runFile = promisify(execFile);
import { nameTable } from '../core/name-table.js';
import { snakeCase, type MetricGauge, type Publisher, type TargetStatus } from './publish.js';
import type { JobStatus, Scheduler } from './scheduler.js';

// The daemon's local HTTP port (127.0.0.1 only): /healthz for supervisors (jobs decide its status,
// publishing never does) and /metrics for Prometheus (jobs, publish failures, the values jobs published).

/** Prometheus text exposition (format 0.0.4) of the jobs' counters. */
export function prometheusText(statuses: JobStatus[]): string {
  const lines: string[] = [];
  const family = (name: string, type: string, help: string, samples: Array<[string, number]>) => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of samples) lines.push(`${name}${labels} ${formatNumber(value)}`);
  };
  const job = (status: JobStatus, extra = '') => `{job="${escapeLabel(status.name)}"${extra}}`;
  family(
    'halyard_job_runs_total',
    'counter',
    'Finished runs of a job by result.',
    statuses.flatMap((s) => [
      [job(s, ',result="success"'), s.runs.success],
      [job(s, ',result="failure"'), s.runs.failure],
    ]),
  );
  lines.push('# HELP halyard_job_duration_seconds Duration of finished runs of a job.', '# TYPE halyard_job_duration_seconds summary');
  for (const s of statuses) {
    lines.push(`halyard_job_duration_seconds_sum${job(s)} ${formatNumber(s.durationSecondsSum)}`);
    lines.push(`halyard_job_duration_seconds_count${job(s)} ${s.runs.success + s.runs.failure}`);
  }
  family(
    'halyard_job_last_success_timestamp_seconds',
    'gauge',
    'Unix time of the last successful run of a job (0: never).',
    statuses.map((s) => [job(s), s.lastSuccess ? Date.parse(s.lastSuccess) / 1000 : 0]),
  );
  family('halyard_job_bytes_total', 'counter', 'Bytes moved by a job (backups).', statuses.map((s) => [job(s), s.bytesTotal]));
  family('halyard_job_skipped_overlap_total', 'counter', 'Ticks skipped because the previous run of the job was still going.', statuses.map((s) => [job(s), s.skippedOverlap]));
  family('halyard_job_skipped_lease_total', 'counter', "Ticks skipped because another daemon held the tick's lease.", statuses.map((s) => [job(s), s.skippedLease]));
  family('halyard_job_running', 'gauge', '1 while a run of the job is going.', statuses.map((s) => [job(s), s.running ? 1 : 0]));
  family(
    'halyard_job_last_outcome',
    'gauge',
    "The numbers of a job's last run if it succeeded (none after a failed run), as in /healthz's summary (field: its key in snake case, e.g. drifted_hosts, failing_hosts; true is 1).",
    statuses.flatMap((s) =>
      Object.entries(s.lastSummary ?? {}).flatMap(([key, value]): Array<[string, number]> =>
        (typeof value === 'number' && Number.isFinite(value)) || typeof value === 'boolean' ? [[job(s, `,field="${escapeLabel(snakeCase(key))}"`), Number(value)]] : [],
      ),
    ),
  );
  return `${lines.join('\n')}\n`;
}

/**
 * Publish failures per configured target (`halyard_publish_failures_total{target}`), and the last
 * value of each metric the jobs published, as gauges named after the CloudWatch metric
 * (`halyard_disk_used_percent{instance_id}`), with `halyard_metric_updated_timestamp_seconds{metric,...}`
 * saying when (a heartbeat's age). Present whether or not CloudWatch is configured.
 */
export function publishingText(targets: TargetStatus[], gauges: MetricGauge[]): string {
  const lines = [
    '# HELP halyard_publish_failures_total Publishes to CloudWatch or SNS that failed (after the SDK retries); jobs are not failed by them.',
    '# TYPE halyard_publish_failures_total counter',
    ...targets.map((t) => `halyard_publish_failures_total{target="${t.target}"} ${t.failures}`),
  ];
  const families = new Map<string, MetricGauge[]>();
  for (const gauge of gauges) families.set(gauge.name, [...(families.get(gauge.name) ?? []), gauge]);
  const labelText = (labels: Record<string, string>) => Object.entries(labels).map(([key, value]) => `${key}="${escapeLabel(value)}"`).join(',');
  for (const [name, samples] of families) {
    lines.push(`# HELP ${name} Last value a job published (CloudWatch metric of this name).`, `# TYPE ${name} gauge`);
    for (const gauge of samples) {
      const labels = labelText(gauge.labels);
      lines.push(`${name}${labels ? `{${labels}}` : ''} ${formatNumber(gauge.value)}`);
    }
  }
  if (gauges.length > 0) {
    lines.push('# HELP halyard_metric_updated_timestamp_seconds Unix time a job last published the metric.', '# TYPE halyard_metric_updated_timestamp_seconds gauge');
    for (const gauge of gauges) lines.push(`halyard_metric_updated_timestamp_seconds{${labelText({ metric: gauge.name.replace(/^halyard_/, ''), ...gauge.labels })}} ${gauge.updatedSeconds}`);
  }
  return `${lines.join('\n')}\n`;
}

/** When this process started, for process_start_time_seconds. */
const PROCESS_START_SECONDS = Math.round((Date.now() - performance.now()) / 1000);

/** The daemon's own footprint under the names Prometheus' client libraries use, for alerts on a leak. */
export function processMetricsText(memory: Pick<NodeJS.MemoryUsage, 'rss' | 'heapUsed'>, startSeconds: number): string {
  return [
    '# HELP process_resident_memory_bytes Resident memory size in bytes.',
    '# TYPE process_resident_memory_bytes gauge',
    `process_resident_memory_bytes ${memory.rss}`,
    '# HELP nodejs_heap_size_used_bytes Process heap size used from Node.js in bytes.',
    '# TYPE nodejs_heap_size_used_bytes gauge',
    `nodejs_heap_size_used_bytes ${memory.heapUsed}`,
    '# HELP process_start_time_seconds Start time of the process since unix epoch in seconds.',
    '# TYPE process_start_time_seconds gauge',
    `process_start_time_seconds ${startSeconds}`,
    '',
  ].join('\n');
}

/**
 * The /healthz document: ok, and each job's last result (no secrets: errors are redacted at the
 * source); with a publisher, each configured target's failures, which never change `ok`.
 */
export function healthDocument(scheduler: Scheduler, publisher?: Publisher): { ok: boolean; failureThreshold: number; jobs: Record<string, unknown>; publishing?: Record<string, unknown> } {
  const jobs = nameTable<unknown>();
  for (const s of scheduler.statuses()) {
    jobs[s.name] = {
      ok: s.consecutiveFailures < scheduler.failureThreshold,
      running: s.running,
      lastResult: s.lastResult ?? null,
      lastStart: s.lastStart ?? null,
      lastDurationMs: s.lastDurationMs ?? null,
      lastSuccess: s.lastSuccess ?? null,
      lastError: s.lastError ?? null,
      consecutiveFailures: s.consecutiveFailures,
      runs: s.runs,
      skippedOverlap: s.skippedOverlap,
      skippedLease: s.skippedLease,
      nextRun: s.nextRun ?? null,
      ...(s.lastSummary ? { summary: s.lastSummary } : {}),
    };
  }
  const doc: { ok: boolean; failureThreshold: number; jobs: Record<string, unknown>; publishing?: Record<string, unknown> } = { ok: scheduler.healthy(), failureThreshold: scheduler.failureThreshold, jobs };
  if (publisher) {
    doc.publishing = Object.fromEntries(
      publisher.targets().map((t) => [t.target, { failing: t.failing, failures: t.failures, lastError: t.lastError ?? null, lastFailure: t.lastFailure ?? null }]),
    );
  }
  return doc;
}

export interface StatusServer {
  port: number;
  url: string;
  /** Where containers on this host reach it (the Docker bridge's address), once it listens there. */
  bridgeUrl(): string | undefined;
  close(): Promise<void>;
}

// Where else the status server listens: on the Docker bridge's address too ('auto': when the
// bridge exists, waiting for it when Docker starts after the daemon), so the stack's collector
// scrapes /metrics from its container (host.docker.internal) without the port being on any
// outside interface.
export interface StatusServerOptions {
  dockerBridge?: boolean | 'auto';
  /** docker0's IPv4 address now, or undefined (tests pass their own). */
  bridgeAddress?: () => Promise<string | undefined>;
  /** How often to look for the bridge again while it is missing. */
  bridgeRetryMs?: number;
  log?: (level: 'info' | 'warn', event: string, data: Record<string, unknown>) => void;
}

/** Listens on 127.0.0.1:port (0: any free port), and on the Docker bridge as options say. */
export async function startStatusServer(scheduler: Scheduler, port: number, publisher?: Publisher, options: StatusServerOptions = {}): Promise<StatusServer> {
  const handler = (request: IncomingMessage, response: ServerResponse) => {
    const path = (request.url ?? '/').split('?')[0];
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (path === '/healthz') {
      const doc = healthDocument(scheduler, publisher);
      response.writeHead(doc.ok ? 200 : 503, { 'content-type': 'application/json' }).end(`${JSON.stringify(doc)}\n`);
    } else if (path === '/metrics') {
      const published = publisher ? publishingText(publisher.targets(), publisher.gauges()) : '';
      response.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(prometheusText(scheduler.statuses()) + published + processMetricsText(process.memoryUsage(), PROCESS_START_SECONDS));
    } else {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /healthz or /metrics\n');
    }
  };
  const server = await listenOn(createServer(handler), port, '127.0.0.1');
  const actual = (server.address() as AddressInfo).port;
  let bridge: { server: Server; address: string } | undefined;
  let retry: NodeJS.Timeout | undefined;
  let closed = false;
  const bridgeAddress = options.bridgeAddress ?? dockerBridgeAddress;
  const tryBridge = async (): Promise<void> => {
    const address = await bridgeAddress();
    if (address === undefined) {
      retry = setTimeout(() => void tryBridge(), options.bridgeRetryMs ?? 5_000);
      retry.unref();
      return;
    }
    try {
      const listening = await listenOn(createServer(handler), actual, address);
      if (closed) {
        listening.close();
        return;
      }
      bridge = { server: listening, address };
      options.log?.('info', 'http-bridge', { url: `http://${address}:${actual}` });
    } catch (error) {
      options.log?.('warn', 'http-bridge-failed', { detail: error instanceof Error ? error.message : String(error) });
    }
  };
  if ((options.dockerBridge ?? false) !== false) {
    if ((await bridgeAddress()) === undefined) options.log?.('info', 'http-bridge-waiting', { detail: 'no docker0 interface yet: /metrics listens there once Docker creates it' });
    await tryBridge();
  }
  return {
    port: actual,
    url: `http://127.0.0.1:${actual}`,
    bridgeUrl: () => (bridge ? `http://${bridge.address}:${actual}` : undefined),
    close: async () => {
      closed = true;
      clearTimeout(retry);
      await Promise.all(
        [server, bridge?.server].map(
          (one) =>
            one &&
            new Promise<void>((resolve) => {
              one.close(() => resolve());
              one.closeAllConnections();
            }),
        ),
      );
    },
  };
}

// docker0's IPv4 address: what host.docker.internal (host-gateway) resolves to in containers. Asked
// of `ip`, as Node's own list leaves out an interface without carrier, and docker0 has none while
// every container sits on a compose network of its own (the address is there and can be bound).
export async function dockerBridgeAddress(): Promise<string | undefined> {
  try {
    const { stdout } = await runFile('ip', ['-4', '-o', 'addr', 'show', 'dev', 'docker0'], { timeout: 5_000 });
    return bridgeAddressOf(stdout);
  } catch {
    // No docker0 (Docker not installed or not started), or no `ip`: Node's list as a last resort.
    return networkInterfaces().docker0?.find((entry) => entry.family === 'IPv4' && !entry.internal)?.address;
  }
}

// The first IPv4 address in `ip -4 -o addr show` output ("4: docker0    inet 172.17.0.1/16 brd ...").
export function bridgeAddressOf(ipOutput: string): string | undefined {
  return /\sinet (\d+\.\d+\.\d+\.\d+)\//.exec(ipOutput)?.[1];
}

function listenOn(server: Server, port: number, address: string): Promise<Server> {
  return new Promise<Server>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      const why = error.code === 'EADDRINUSE' ? 'the port is in use (another daemon?)' : (error.code ?? error.message);
      reject(new HalyardError('E_DAEMON_HTTP', `cannot listen on ${address}:${port}: ${why}`, { cause: error }));
    });
    server.listen(port, address, () => resolve(server));
  });
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function formatNumber(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(6).replace(/0+$/, '').replace(/\.$/, '');
}

import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { nameTable } from '../core/name-table.js';
import { dirname } from 'node:path';
import type { MetricPoint, MetricsService } from '../aws/metrics.js';
import { HALYARD_METRICS } from '../aws/metrics.js';
import { sh } from '../core/shell.js';
import type { Host } from '../inventory/types.js';
import { HalyardError } from '../core/errors.js';
import { newLockOwner, type LockPaths } from '../engine/lock.js';
import { withHostLock } from '../engine/locked-host.js';
import { connectTargetOf } from '../engine/ssh-link.js';
import type { SshPool } from '../ssh/index.js';
import { errorMessage, type DaemonLogger } from './log.js';
import type { Notifier } from './notify.js';
import type { JobOutcome } from './scheduler.js';

// The probes job: per host, one SSH exec of a batched script reports disk use of / (and the
// install dir), whether the Docker daemon answers, containers unhealthy or restarting, and the
// stack's health endpoints (curl from the host). Values go to CloudWatch per instance; SNS hears
// only about changes of state per host and check (ok -> failing, failing -> ok).

export interface ProbeSettings {
  installDir?: string | undefined;
  healthUrls: string[];
  diskPercentThreshold: number;
}

/** What one host answered. */
export interface ProbeReport {
  /** Used % per mount point path probed. */
  disk: Record<string, number>;
  docker: 'up' | 'down' | 'missing';
  /** Containers unhealthy or restarting: "name: status". */
  badContainers: string[];
  containers: number;
  /** HTTP status per URL (0: no answer). */
  health: Record<string, number>;
}

/** A check's verdict: ok, or failing with a short safe reason. */
export interface CheckState {
  ok: boolean;
  detail: string;
}

export const PROBE_TIMEOUT_MS = 60_000;
/** Seconds a probe waits for a host's lock (a converge or a backup) before it skips the host this round. */
export const PROBE_LOCK_WAIT_SECONDS = 30;

/** The batched script: one line per fact, tab separated. */
export function probeScript(settings: ProbeSettings): string {
  const paths = ['/', ...(settings.installDir ? [settings.installDir] : [])];
  const lines = [
    'LC_ALL=C; export LC_ALL',
    sh`for p in ${paths}; do`.text,
    '  [ -e "$p" ] || continue',
    `  u=$(df -P "$p" 2>/dev/null | awk 'NR==2 { sub(/%/, "", $5); print $5 }')`,
    '  [ -n "$u" ] && printf \'disk\\t%s\\t%s\\n\' "$p" "$u"',
    'done',
    // `docker ps` both proves the daemon answers and lists the containers: with a `docker info` before
    // it, that part of the probe took 167-197 ms on a lab host, alone 67-96 ms (6 alternating runs),
    // with the host's lock held.
    'if ! command -v docker >/dev/null 2>&1; then echo "docker	missing"',
    `elif hy_ps=$(docker ps -a --format '{{.Names}}\t{{.Status}}' 2>/dev/null); then`,
    '  echo "docker	up"',
    `  [ -z "$hy_ps" ] || printf '%s\\n' "$hy_ps" | while IFS= read -r c; do printf 'container\\t%s\\n' "$c"; done`,
    'else echo "docker	down"; fi',
  ];
  // The health URLs are asked all at once: one that hangs costs the probe its 5 s once, not once per URL.
  for (const url of settings.healthUrls) {
    lines.push(sh`( c=$(curl -s -o /dev/null -m 5 -w '%{http_code}' ${url} 2>/dev/null) || true; printf 'health\\t%s\\t%s\\n' ${url} "\${c:-000}" ) &`.text);
  }
  lines.push('wait', 'exit 0');
  return `${lines.join('\n')}\n`;
}

export function parseProbeOutput(text: string): ProbeReport {
  const report: ProbeReport = { disk: {}, docker: 'missing', badContainers: [], containers: 0, health: {} };
  for (const line of text.split('\n')) {
    const [kind, a = '', b = ''] = line.split('\t');
    if (kind === 'disk' && /^\d+$/.test(b)) report.disk[a] = Number(b);
    else if (kind === 'docker' && (a === 'up' || a === 'down' || a === 'missing')) report.docker = a;
    else if (kind === 'container') {
      report.containers++;
      if (/\(unhealthy\)/.test(b) || /^Restarting/.test(b)) report.badContainers.push(`${a}: ${b}`);
    } else if (kind === 'health') report.health[a] = /^\d+$/.test(b) ? Number(b) : 0;
  }
  return report;
}

/** Checks of one host, by name: disk, docker, containers, health <url>. */
export function evaluateChecks(report: ProbeReport, settings: ProbeSettings): Record<string, CheckState> {
  const checks: Record<string, CheckState> = {};
  const full = Object.entries(report.disk).filter(([, used]) => used >= settings.diskPercentThreshold);
  checks.disk = full.length
    ? { ok: false, detail: full.map(([path, used]) => `${path} ${used}% used (threshold ${settings.diskPercentThreshold}%)`).join(', ') }
    : { ok: true, detail: Object.entries(report.disk).map(([path, used]) => `${path} ${used}%`).join(', ') };
  checks.docker = report.docker === 'up' ? { ok: true, detail: 'docker daemon answers' } : { ok: false, detail: report.docker === 'missing' ? 'docker is not installed' : 'docker daemon does not answer' };
  if (report.docker === 'up') {
    checks.containers = report.badContainers.length ? { ok: false, detail: report.badContainers.join('; ') } : { ok: true, detail: `${report.containers} containers fine` };
  }
  for (const url of settings.healthUrls) {
    const status = report.health[url] ?? 0;
    checks[`health ${url}`] = status >= 200 && status < 400 ? { ok: true, detail: `HTTP ${status}` } : { ok: false, detail: status ? `HTTP ${status}` : 'no answer' };
  }
  return checks;
}

/** The InstanceId dimension: the host var ec2_instance_id, else the inventory name. */
export function instanceIdOf(host: Host): string {
  const id = host.vars['ec2_instance_id'];
  return typeof id === 'string' && id !== '' ? id : host.name;
}

export function metricPoints(host: Host, report: ProbeReport, now: Date): MetricPoint[] {
  const dimensions = { InstanceId: instanceIdOf(host) };
  const points: MetricPoint[] = [{ name: HALYARD_METRICS.DockerDaemonUp, value: report.docker === 'up' ? 1 : 0, unit: 'Count', dimensions, timestamp: now }];
  const disks = Object.values(report.disk);
  if (disks.length) points.push({ name: HALYARD_METRICS.DiskUsedPercent, value: Math.max(...disks), unit: 'Percent', dimensions, timestamp: now });
  if (report.docker === 'up') points.push({ name: 'UnhealthyContainers', value: report.badContainers.length, unit: 'Count', dimensions, timestamp: now });
  return points;
}

/** Last known state per host and check, kept in memory and in a small JSON file. */
export class ProbeStateStore {
  #state: Record<string, Record<string, CheckState>> | undefined;
  constructor(readonly file: string | undefined) {}

  async load(): Promise<Record<string, Record<string, CheckState>>> {
    if (this.#state) return this.#state;
    // Host names come from inventories: a null-prototype table keeps "__proto__" a host.
    this.#state = nameTable();
    if (this.file) {
      try {
        this.#state = nameTable(Object.entries(JSON.parse(await readFile(this.file, 'utf8')) as Record<string, Record<string, CheckState>>));
      } catch {
        // Missing or unreadable: start fresh (a change may then be reported once more).
      }
    }
    return this.#state;
  }

  async save(): Promise<void> {
    if (!this.file || !this.#state) return;
    await mkdir(dirname(this.file), { recursive: true });
    const temp = `${this.file}.${process.pid}.tmp`;
    await writeFile(temp, `${JSON.stringify(this.#state, null, 2)}\n`, { mode: 0o640 });
    await rename(temp, this.file);
  }
}

export interface StateChange {
  check: string;
  from: 'ok' | 'failing' | 'unknown';
  to: 'ok' | 'failing';
  detail: string;
}

/** Changes since the last state; a check seen for the first time is a change only when it fails. */
export function stateChanges(previous: Record<string, CheckState> | undefined, current: Record<string, CheckState>): StateChange[] {
  const changes: StateChange[] = [];
  for (const [check, state] of Object.entries(current)) {
    const before = previous?.[check];
    if (before === undefined) {
      if (!state.ok) changes.push({ check, from: 'unknown', to: 'failing', detail: state.detail });
    } else if (before.ok !== state.ok) {
      changes.push({ check, from: before.ok ? 'ok' : 'failing', to: state.ok ? 'ok' : 'failing', detail: state.detail });
    }
  }
  return changes;
}

export interface ProbeJobDeps {
  hosts: Host[];
  pool: SshPool;
  /** In the daemon: the publisher's view (never throws; CloudWatch only when configured). */
  metrics: Pick<MetricsService, 'putMetricData'>;
  namespace: string;
  notifier: Notifier;
  state: ProbeStateStore;
  settings: ProbeSettings;
  logger: DaemonLogger;
  jobName: string;
  signal?: AbortSignal;
  now?: () => Date;
  /** Where host locks live (tests that probe this machine as a host). */
  lockPaths?: LockPaths;
  /** Seconds to wait for a host's lock; default PROBE_LOCK_WAIT_SECONDS. */
  lockWaitSeconds?: number;
  /** Ends waits for host locks at once (the daemon begins to stop): those hosts count as busy. */
  lockWaitSignal?: AbortSignal;
}

/** One round of probes over every host (in parallel); resolves with a summary. */
export async function runProbes(deps: ProbeJobDeps): Promise<JobOutcome> {
  const now = deps.now ?? (() => new Date());
  const known = await deps.state.load();
  const points: MetricPoint[] = [];
  let failing = 0;
  let published = 0;
  let undelivered = 0;
  let busy = 0;
  const script = probeScript(deps.settings);
  await Promise.all(
    deps.hosts.map(async (host) => {
      let checks: Record<string, CheckState>;
      try {
        deps.signal?.throwIfAborted();
        const session = await deps.pool.session(connectTargetOf(host));
        // Under the host lock like every remote action: a probe never reads a host mid-converge or
        // mid-backup (containers stopped on purpose); a host locked past the wait is skipped, not failing.
        // The probe travels with the lock request (prefetch): one round trip per host.
        const output = await withHostLock(
          session,
          { label: `probe ${host.name}`, owner: { ...newLockOwner(), purpose: 'probe' }, waitSeconds: deps.lockWaitSeconds ?? PROBE_LOCK_WAIT_SECONDS, timeoutMs: PROBE_TIMEOUT_MS, prefetch: script, ...(deps.lockPaths ? { lockPaths: deps.lockPaths } : {}), ...(deps.lockWaitSignal ? { signal: deps.lockWaitSignal } : {}) },
          (held) => held.run(`probe ${host.name}`, script),
        );
        const report = parseProbeOutput(output);
        checks = evaluateChecks(report, deps.settings);
        points.push(...metricPoints(host, report, now()));
      } catch (error) {
        if (error instanceof HalyardError && error.code === 'E_HOST_LOCKED') {
          deps.logger.log('info', 'probe-busy', { job: deps.jobName, host: host.name, detail: errorMessage(error) });
          busy++;
          return;
        }
        checks = { ssh: { ok: false, detail: `unreachable: ${errorMessage(error)}` } };
      }
      // A host that answers again clears its ssh failure.
      if (!('ssh' in checks) && known[host.name]?.ssh && !known[host.name]!.ssh!.ok) checks.ssh = { ok: true, detail: 'reachable' };
      const changes = stateChanges(known[host.name], checks);
      const next = { ...(checks.ssh?.ok === false ? known[host.name] : {}), ...checks };
      const bad = Object.entries(checks).filter(([, s]) => !s.ok);
      if (bad.length) failing++;
      deps.logger.log(bad.length ? 'warn' : 'info', 'probe', { job: deps.jobName, host: host.name, failing: bad.map(([name]) => name), changes: changes.length });
      if (changes.length) {
        const worse = changes.some((c) => c.to === 'failing');
        const subject = `halyard: ${host.name} ${worse ? 'FAILING' : 'recovered'}: ${changes.map((c) => c.check).join(', ')}`;
        const message = [
          `Host ${host.name} (${instanceIdOf(host)}), probe at ${now().toISOString()}:`,
          ...changes.map((c) => `- ${c.check}: ${c.from} -> ${c.to} (${c.detail})`),
        ].join('\n');
        // The state moves on only once the message is out: an undelivered one (false from the
        // daemon's notifier; a bare SNS notifier throws) is sent again next round.
        if ((await deps.notifier.publish(subject, message)) === false) {
          undelivered++;
          return;
        }
        published++;
      }
      known[host.name] = next;
    }),
  );
  await deps.state.save();
  if (points.length) await deps.metrics.putMetricData(deps.namespace, points);
  return { summary: { hosts: deps.hosts.length, failingHosts: failing, busyHosts: busy, notifications: published, ...(undelivered ? { undeliveredNotifications: undelivered } : {}), metrics: points.length } };
}

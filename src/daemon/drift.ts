import { FactsCache } from '../engine/facts-cache.js';
import type { PrepareOptions } from '../engine/prepare-run.js';
import { runPlaybook, type PlaybookRun } from '../engine/run-playbook.js';
import { probeTimeoutMs } from '../engine/run.js';
import { hostLink } from '../engine/ssh-link.js';
import type { HostResult, RunResult } from '../engine/results.js';
import type { SshPool } from '../ssh/index.js';
import type { DaemonLogger } from './log.js';
import type { Notifier } from './notify.js';
import type { JobOutcome } from './scheduler.js';

// The drift job: a check-mode run of a playbook (exactly `halyard apply --check`), then one SNS
// message listing, per host, the tasks with pending changes and hosts that failed. Nothing drifted:
// no message.

export interface DriftJobDeps {
  jobName: string;
  playbook: string;
  inventory: string;
  prepare?: PrepareOptions;
  forks: number;
  /** Opens SSH connections; the job closes it at the end. */
  pool: SshPool;
  notifier: Notifier;
  logger: DaemonLogger;
  signal?: AbortSignal;
}

export interface DriftedHost {
  host: string;
  /** Task names with pending changes. */
  tasks: Array<{ name: string; changes: string[] }>;
  /** Set when the host could not be checked. */
  error?: string;
}

// How long a drift check waits for a run (a converge from a controller) that holds a host's lock.
export const DRIFT_LOCK_WAIT_SECONDS = 60;

/** Hosts a drift check could not look at because another halyard run held their lock: not drift. */
export function busyHostsOf(result: RunResult): string[] {
  return Object.entries(result.hosts)
    .filter(([, hostResult]) => hostResult.errorCode === 'E_HOST_LOCKED')
    .map(([host]) => host);
}

/** Hosts with pending changes (or that failed), from a check-mode run; busy (locked) hosts are left out. */
export function driftOf(result: RunResult): DriftedHost[] {
  const drifted: DriftedHost[] = [];
  for (const [host, hostResult] of Object.entries(result.hosts)) {
    if (hostResult.errorCode === 'E_HOST_LOCKED') continue;
    const tasks = hostResult.tasks.filter((task) => task.status === 'changed' && !task.handler).map((task) => ({ name: task.name, changes: task.changes ?? [] }));
    const error = hostError(hostResult);
    if (tasks.length || error) drifted.push({ host, tasks, ...(error ? { error } : {}) });
  }
  // Controller steps (CloudWatch alarms as code) that would change, or could not be checked.
  for (const step of result.controller ?? []) {
    if (step.status === 'changed') drifted.push({ host: `controller step ${step.name}`, tasks: [{ name: step.name, changes: ['would change'] }] });
    if (step.status === 'failed') drifted.push({ host: `controller step ${step.name}`, tasks: [], error: step.error ?? 'failed' });
  }
  return drifted;
}

function hostError(result: HostResult): string | undefined {
  if (result.unreachable) return `unreachable: ${result.error ?? ''}`.trim();
  if (result.error) return result.error;
  const failed = result.tasks.filter((task) => task.status === 'failed');
  return failed.length ? failed.map((task) => `${task.name} failed: ${task.error ?? ''}`.trim()).join('; ') : undefined;
}

export function driftMessage(playbook: string, drifted: DriftedHost[]): { subject: string; message: string } {
  const names = drifted.map((d) => d.host);
  const subject = `halyard drift: ${names.length} host${names.length === 1 ? '' : 's'} (${names.join(', ')})`;
  const lines = [`Check-mode run of ${playbook} found drift:`, ''];
  for (const host of drifted) {
    lines.push(`${host.host}:`);
    for (const task of host.tasks) lines.push(`  - ${task.name}${task.changes.length ? ` (${task.changes.join('; ')})` : ''}`);
    if (host.error) lines.push(`  ! ${host.error}`);
  }
  return { subject, message: `${lines.join('\n')}\n` };
}

export async function runDrift(deps: DriftJobDeps): Promise<JobOutcome> {
  deps.signal?.throwIfAborted();
  // Aborting (shutdown past its grace period) closes the connections: the run ends at once, hosts' locks go with them.
  const abort = () => void deps.pool.closeAll();
  deps.signal?.addEventListener('abort', abort, { once: true });
  let run: PlaybookRun;
  try {
    // The same orchestrator as `halyard apply --check`: hosts, then the playbook's controller
    // steps in check mode (monitoring drift is drift too).
    run = await runPlaybook({
      playbook: deps.playbook,
      inventory: deps.inventory,
      prepare: { factsCache: new FactsCache(), ...deps.prepare },
      check: true,
      diff: false,
      forks: deps.forks,
      lockWaitSeconds: DRIFT_LOCK_WAIT_SECONDS,
      // Recorded beside the lock: an operator's apply meeting this check asks again until it ends.
      lockPurpose: 'drift',
      probeTimeoutMs: probeTimeoutMs(deps.pool.options.commandTimeoutMs),
      stepTimeoutMs: deps.pool.options.commandTimeoutMs,
      connect: (host) => {
        deps.signal?.throwIfAborted();
        return hostLink(deps.pool, host);
      },
      log: (line) => deps.logger.log('info', 'drift-controller', { job: deps.jobName, line }),
    });
  } finally {
    deps.signal?.removeEventListener('abort', abort);
    await deps.pool.closeAll();
  }
  const { result, prepared } = run;
  deps.signal?.throwIfAborted();
  const drifted = driftOf(result);
  // A converge in progress is not drift: those hosts are checked on the next tick.
  const busy = busyHostsOf(result);
  if (drifted.length) {
    const { subject, message } = driftMessage(deps.playbook, drifted);
    // Task names and change lines are safe to print (the engine redacts); redact once more anyway.
    await deps.notifier.publish(prepared.redactor.redact(subject), prepared.redactor.redact(message));
  }
  deps.logger.log(drifted.length ? 'warn' : 'info', 'drift', {
    job: deps.jobName,
    hosts: prepared.hosts.length,
    drifted: drifted.map((d) => d.host),
    tasks: drifted.reduce((sum, d) => sum + d.tasks.length, 0),
    ...(busy.length ? { busy } : {}),
  });
  return { summary: { hosts: prepared.hosts.length, driftedHosts: drifted.length, busyHosts: busy.length, notified: drifted.length > 0 } };
}

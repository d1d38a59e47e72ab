import { CronJob, validateCronExpression } from 'cron';
import type { Lease } from './lease.js';
import { errorMessage, type DaemonLogger } from './log.js';

// The daemon's scheduler: one CronJob per job (time zones via the cron package). A job never runs
// twice at once: a tick that comes while the previous run is still going is skipped and counted.
// With a lease, a tick runs only on the daemon whose conditional write of the tick's lease wins;
// the winner sweeps the job's old lease objects alongside the run (at most hourly, never failing it).
// shutdown() stops scheduling, waits for the running jobs up to a grace period, then aborts them
// (their AbortSignal fires) and waits for them to settle.

/** What a job receives for one run. */
export interface JobRunContext {
  /** Fires when the daemon shuts down and the grace period is over: stop and clean up. */
  signal: AbortSignal;
  /**
   * Fires as soon as the daemon begins to shut down: waits that have not started any work (a host
   * lock held by another run, maybe the very apply restarting the daemon) end then, not after the grace.
   */
  stopping: AbortSignal;
  /** The scheduled time of this run (to the second). */
  tick: Date;
  logger: DaemonLogger;
}

/** What a run may report besides success. */
export interface JobOutcome {
  /** Bytes moved (backups); summed into halyard_job_bytes_total. */
  bytes?: number;
  /** Safe-to-print facts for logs and /healthz. */
  summary?: Record<string, unknown>;
}

export interface DaemonJob {
  name: string;
  /** Cron expression (5 or 6 fields; 6 with seconds first). */
  schedule: string;
  /** IANA time zone; default the machine's. */
  timezone?: string | undefined;
  run(context: JobRunContext): Promise<JobOutcome | void>;
}

export type TriggerResult = 'success' | 'failure' | 'skipped-overlap' | 'skipped-lease' | 'stopped';

/** A job's counters and last result, as /healthz and /metrics report them. */
export interface JobStatus {
  name: string;
  schedule: string;
  timezone: string | undefined;
  running: boolean;
  runs: { success: number; failure: number };
  skippedOverlap: number;
  skippedLease: number;
  consecutiveFailures: number;
  bytesTotal: number;
  durationSecondsSum: number;
  lastResult: 'success' | 'failure' | undefined;
  lastStart: string | undefined;
  lastDurationMs: number | undefined;
  lastError: string | undefined;
  lastSuccess: string | undefined;
  lastSummary: Record<string, unknown> | undefined;
  nextRun: string | undefined;
}

export interface SchedulerOptions {
  logger: DaemonLogger;
  /** Runs each tick on one daemon only. */
  lease?: Lease | undefined;
  /** Consecutive failures after which /healthz answers 503. Default 3. */
  failureThreshold?: number;
  now?: () => Date;
}

interface Slot {
  job: DaemonJob;
  status: JobStatus;
  cron: CronJob | undefined;
  inFlight: { promise: Promise<TriggerResult>; controller: AbortController } | undefined;
}

export class Scheduler {
  readonly #slots = new Map<string, Slot>();
  readonly #logger: DaemonLogger;
  readonly #lease: Lease | undefined;
  readonly #now: () => Date;
  readonly failureThreshold: number;
  #stopping = false;
  /** Aborted when shutdown begins (JobRunContext.stopping). */
  readonly #stoppingSignal = new AbortController();

  constructor(jobs: DaemonJob[], options: SchedulerOptions) {
    this.#logger = options.logger;
    this.#lease = options.lease;
    this.#now = options.now ?? (() => new Date());
    this.failureThreshold = options.failureThreshold ?? 3;
    for (const job of jobs) {
      if (this.#slots.has(job.name)) throw new Error(`two jobs are named ${JSON.stringify(job.name)}`);
      const check = validateCronExpression(job.schedule);
      if (!check.valid) throw new Error(`job ${job.name}: invalid schedule ${JSON.stringify(job.schedule)}: ${check.error?.message ?? 'invalid'}`);
      this.#slots.set(job.name, { job, status: emptyStatus(job), cron: undefined, inFlight: undefined });
    }
  }

  /** Starts every job's cron schedule. */
  start(): void {
    for (const slot of this.#slots.values()) {
      const { job } = slot;
      slot.cron = CronJob.from({
        cronTime: job.schedule,
        ...(job.timezone ? { timeZone: job.timezone } : {}),
        start: false,
        onTick: () => {
          void this.trigger(job.name, tickOf(this.#now()));
        },
      });
      slot.cron.start();
      this.#logger.log('info', 'scheduled', { job: job.name, schedule: job.schedule, timezone: job.timezone, nextRun: nextRunOf(slot) });
    }
  }

  /**
   * Runs a job for a tick now (the cron schedule calls this), unless it is already running
   * (skipped-overlap), another daemon holds the tick's lease (skipped-lease) or the scheduler stops.
   */
  trigger(name: string, tick: Date = tickOf(this.#now())): Promise<TriggerResult> {
    const slot = this.#slots.get(name);
    if (!slot) return Promise.reject(new Error(`no job named ${JSON.stringify(name)}`));
    if (this.#stopping) return Promise.resolve('stopped');
    if (slot.inFlight) {
      slot.status.skippedOverlap++;
      this.#logger.log('warn', 'skipped-overlap', { job: name, tick: tick.toISOString() });
      return Promise.resolve('skipped-overlap');
    }
    const controller = new AbortController();
    const promise = this.#run(slot, tick, controller.signal).finally(() => {
      slot.inFlight = undefined;
      slot.status.running = false;
    });
    slot.inFlight = { promise, controller };
    slot.status.running = true;
    return promise;
  }

  async #run(slot: Slot, tick: Date, signal: AbortSignal): Promise<TriggerResult> {
    const { job, status } = slot;
    const started = this.#now();
    let sweeping: Promise<void> | undefined;
    try {
      if (this.#lease) {
        const claim = await this.#lease.claim(job.name, tick, started);
        if (!claim.acquired) {
          status.skippedLease++;
          this.#logger.log('info', 'skipped-lease', { job: job.name, tick: tick.toISOString(), lease: claim.key });
          return 'skipped-lease';
        }
        sweeping = this.#sweepLeases(this.#lease, job.name, started);
      }
      this.#logger.log('info', 'start', { job: job.name, tick: tick.toISOString() });
      status.lastStart = started.toISOString();
      const outcome = (await job.run({ signal, stopping: this.#stoppingSignal.signal, tick, logger: this.#logger })) ?? {};
      if (signal.aborted) throw new Error('aborted at shutdown');
      const durationMs = this.#now().getTime() - started.getTime();
      status.runs.success++;
      status.consecutiveFailures = 0;
      status.lastResult = 'success';
      status.lastError = undefined;
      status.lastDurationMs = durationMs;
      status.durationSecondsSum += durationMs / 1000;
      status.lastSuccess = this.#now().toISOString();
      status.bytesTotal += outcome.bytes ?? 0;
      status.lastSummary = outcome.summary;
      this.#logger.log('info', 'success', { job: job.name, durationMs, ...(outcome.bytes !== undefined ? { bytes: outcome.bytes } : {}), ...(outcome.summary ?? {}) });
      return 'success';
    } catch (error) {
      const durationMs = this.#now().getTime() - started.getTime();
      status.runs.failure++;
      status.consecutiveFailures++;
      status.lastResult = 'failure';
      status.lastError = errorMessage(error);
      status.lastDurationMs = durationMs;
      status.durationSecondsSum += durationMs / 1000;
      status.lastSummary = undefined;
      this.#logger.log('error', signal.aborted ? 'aborted' : 'failure', { job: job.name, durationMs, error: status.lastError });
      return 'failure';
    } finally {
      // The run counts as over once the sweep is too (it never throws).
      await sweeping;
    }
  }

  // Deletes the job's old lease objects (Lease.sweep decides whether an hour has passed); logs, never throws.
  async #sweepLeases(lease: Lease, job: string, now: Date): Promise<void> {
    try {
      const deleted = await lease.sweep(job, now);
      if (deleted && deleted.length > 0) this.#logger.log('info', 'lease-cleanup', { job, deleted: deleted.length, oldest: deleted[0], newest: deleted.at(-1) });
    } catch (error) {
      this.#logger.log('warn', 'lease-cleanup-failed', { job, error: errorMessage(error) });
    }
  }

  /**
   * Stops scheduling; running jobs get `graceMs` to finish, then their signal aborts and they get
   * `abortWaitMs` more to settle. Resolves when nothing runs (or the waits are over).
   */
  async shutdown(options: { graceMs?: number; abortWaitMs?: number } = {}): Promise<void> {
    this.#stopping = true;
    this.#stoppingSignal.abort(new Error('daemon shutting down'));
    for (const slot of this.#slots.values()) await slot.cron?.stop();
    const running = [...this.#slots.values()].filter((slot) => slot.inFlight);
    this.#logger.log('info', 'shutdown', { running: running.map((slot) => slot.job.name) });
    if (running.length === 0) return;
    const all = Promise.allSettled(running.map((slot) => slot.inFlight!.promise));
    if (await within(all, options.graceMs ?? 30_000)) return;
    for (const slot of running) {
      if (!slot.inFlight) continue;
      this.#logger.log('warn', 'aborting', { job: slot.job.name });
      slot.inFlight.controller.abort(new Error('daemon shutting down'));
    }
    if (!(await within(all, options.abortWaitMs ?? 10_000))) {
      this.#logger.log('error', 'abandoned', { job: running.filter((slot) => slot.inFlight).map((slot) => slot.job.name).join(',') });
    }
  }

  get stopping(): boolean {
    return this.#stopping;
  }

  /** Every job's status, in configuration order. */
  statuses(): JobStatus[] {
    return [...this.#slots.values()].map((slot) => ({ ...slot.status, runs: { ...slot.status.runs }, nextRun: nextRunOf(slot) }));
  }

  /** False when a job has failed failureThreshold times in a row. */
  healthy(): boolean {
    return [...this.#slots.values()].every((slot) => slot.status.consecutiveFailures < this.failureThreshold);
  }
}

/**
 * A tick is the scheduled second. Cron fires on whole seconds, and a timer may fire a millisecond
 * early or some late: the nearest second is the one scheduled (so two daemons agree on the key).
 */
export function tickOf(now: Date): Date {
  return new Date(Math.round(now.getTime() / 1000) * 1000);
}

function emptyStatus(job: DaemonJob): JobStatus {
  return {
    name: job.name,
    schedule: job.schedule,
    timezone: job.timezone,
    running: false,
    runs: { success: 0, failure: 0 },
    skippedOverlap: 0,
    skippedLease: 0,
    consecutiveFailures: 0,
    bytesTotal: 0,
    durationSecondsSum: 0,
    lastResult: undefined,
    lastStart: undefined,
    lastDurationMs: undefined,
    lastError: undefined,
    lastSuccess: undefined,
    lastSummary: undefined,
    nextRun: undefined,
  };
}

function nextRunOf(slot: Slot): string | undefined {
  if (!slot.cron?.isActive) return undefined;
  return slot.cron.nextDate().toUTC().toISO() ?? undefined;
}

// Whether the promise settled within ms (the timer is cleared either way).
async function within(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([promise.then(() => true as const), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

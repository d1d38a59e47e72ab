import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { AwsClientOptions } from '../aws/clients.js';
import { UsageError } from '../core/errors.js';
import type { MetricsService } from '../aws/metrics.js';
import { loadInventory } from '../inventory/index.js';
import { SshPool } from '../ssh/index.js';
import type { SshOptions } from '../ssh/types.js';
import { runBackupJob } from './backup-job.js';
import type { DaemonConfig, JobConfig } from './config.js';
import { runDrift } from './drift.js';
import { startStatusServer, type StatusServer } from './http.js';
import { Lease, objectLeaseStore, type LeaseStore } from './lease.js';
import { jsonLogger, type DaemonLogger } from './log.js';
import { silentNotifier, snsNotifier, type Notifier } from './notify.js';
import { ProbeStateStore, runProbes } from './probe.js';
import { Scheduler, type DaemonJob, type JobOutcome, type JobRunContext } from './scheduler.js';

// Wires a daemon file into running parts: AWS services, jobs, the scheduler and the HTTP port.

/** What jobs talk to; built from the file, replaced in tests. */
export interface DaemonServices {
  metrics: MetricsService;
  notifier: Notifier;
  leaseStore: LeaseStore | undefined;
  sshOptions: Partial<SshOptions>;
}

export async function awsServices(config: DaemonConfig): Promise<DaemonServices> {
  const aws: AwsClientOptions = { ...(config.aws.region ? { region: config.aws.region } : {}), ...(config.aws.endpoint ? { endpoint: config.aws.endpoint } : {}) };
  const { sdkMetricsService } = await import('../aws/metrics.js');
  const metrics = sdkMetricsService(aws);
  let notifier: Notifier = silentNotifier;
  if (config.sns_topic_arn) {
    const { sdkAlertsService } = await import('../aws/alerts.js');
    notifier = snsNotifier(sdkAlertsService(aws), config.sns_topic_arn);
  }
  let leaseStore: LeaseStore | undefined;
  if (config.lease) {
    const { sdkObjectStore } = await import('../aws/objects.js');
    leaseStore = objectLeaseStore(sdkObjectStore({ ...aws, bucket: config.lease.bucket }));
  }
  return { metrics, notifier, leaseStore, sshOptions: sshOptionsOf(config) };
}

export function sshOptionsOf(config: DaemonConfig): Partial<SshOptions> {
  return {
    hostKeyPolicy: config.ssh.strict_host_keys ? 'strict' : 'accept-new',
    ...(config.ssh.known_hosts ? { knownHostsFile: config.ssh.known_hosts } : {}),
    connectTimeoutMs: config.ssh.connect_timeout_seconds * 1000,
  };
}

/** Turns one job of the file into a schedulable job. */
export function buildJob(config: DaemonConfig, job: JobConfig, services: DaemonServices): DaemonJob {
  const base = { name: job.name, schedule: job.schedule, timezone: job.timezone };
  const withTimeout = (run: (context: JobRunContext) => Promise<JobOutcome>) => (context: JobRunContext) => timed(run, context, job.timeout_seconds);
  switch (job.kind) {
    case 'probe': {
      const state = new ProbeStateStore(join(config.state_dir, `probe-${job.name}.json`));
      return {
        ...base,
        run: withTimeout(async ({ signal, logger }) => {
          const inventory = await loadInventory(job.inventory, job.limit ? { limit: job.limit } : {});
          const pool = new SshPool(services.sshOptions);
          const abort = () => void pool.closeAll();
          signal.addEventListener('abort', abort, { once: true });
          try {
            return await runProbes({
              hosts: inventory.hosts,
              pool,
              metrics: services.metrics,
              namespace: config.cloudwatch_namespace,
              notifier: services.notifier,
              state,
              settings: { installDir: job.install_dir, healthUrls: job.health_urls, diskPercentThreshold: job.disk_percent_threshold },
              logger,
              jobName: job.name,
              signal,
            });
          } finally {
            signal.removeEventListener('abort', abort);
            await pool.closeAll();
          }
        }),
      };
    }
    case 'drift':
      return {
        ...base,
        run: withTimeout(({ signal, logger }) =>
          runDrift({
            jobName: job.name,
            playbook: job.playbook,
            inventory: job.inventory,
            prepare: { extraVars: job.extra_vars, ...(job.limit ? { limit: job.limit } : {}) },
            forks: job.forks,
            pool: new SshPool(services.sshOptions),
            notifier: services.notifier,
            logger,
            signal,
          }),
        ),
      };
    case 'command':
      return { ...base, run: withTimeout(({ signal }) => runCommand(job.command, signal)) };
    case 'backup':
      return {
        ...base,
        run: withTimeout(({ signal, logger }) =>
          runBackupJob({
            jobName: job.name,
            backupFile: job.backup_file,
            volume: job.volume,
            limit: job.limit,
            ssh: services.sshOptions,
            metrics: services.metrics,
            namespace: config.cloudwatch_namespace,
            notifier: services.notifier,
            logger,
            signal,
          }),
        ),
      };
  }
}

// Runs argv (no shell); output goes to the daemon's stderr, never parsed.
function runCommand(argv: string[], signal: AbortSignal): Promise<JobOutcome> {
  return new Promise((resolve, reject) => {
    const [file, ...args] = argv as [string, ...string[]];
    const child = spawn(file, args, { stdio: ['ignore', 'inherit', 'inherit'], signal, killSignal: 'SIGTERM' });
    child.on('error', reject);
    child.on('close', (code, sig) => {
      if (code === 0) resolve({ summary: { exitCode: 0 } });
      else reject(new Error(`${file} exited ${code ?? sig}`));
    });
  });
}

// A job run with an optional time limit: past it, the run's signal aborts.
async function timed(run: (context: JobRunContext) => Promise<JobOutcome>, context: JobRunContext, seconds: number | undefined): Promise<JobOutcome> {
  if (seconds === undefined) return run(context);
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new Error(`timed out after ${seconds} s`)), seconds * 1000);
  const signal = AbortSignal.any([context.signal, controller.signal]);
  try {
    return await run({ ...context, signal });
  } finally {
    clearTimeout(timer);
  }
}

export interface RunningDaemon {
  scheduler: Scheduler;
  server: StatusServer;
  /** Stops scheduling, lets the running job finish (grace period) or aborts it, closes the port. */
  stop(): Promise<void>;
}

export async function startDaemon(config: DaemonConfig, options: { services?: DaemonServices; logger?: DaemonLogger; owner?: string } = {}): Promise<RunningDaemon> {
  const logger = options.logger ?? jsonLogger();
  const services = options.services ?? (await awsServices(config));
  const owner = options.owner ?? `${hostname()}/${process.pid}/${randomBytes(3).toString('hex')}`;
  const scheduler = new Scheduler(
    config.jobs.map((job) => buildJob(config, job, services)),
    { logger, failureThreshold: config.failure_threshold, lease: services.leaseStore ? new Lease(services.leaseStore, owner, config.lease?.prefix, config.lease?.keep_hours) : undefined },
  );
  const server = await startStatusServer(scheduler, config.http.port);
  scheduler.start();
  logger.log('info', 'started', { config: config.file, http: server.url, jobs: config.jobs.length, lease: config.lease ? `s3://${config.lease.bucket}/${config.lease.prefix}` : undefined });
  let stopping: Promise<void> | undefined;
  return {
    scheduler,
    server,
    stop() {
      stopping ??= (async () => {
        await scheduler.shutdown({ graceMs: config.shutdown_grace_seconds * 1000 });
        await server.close();
        logger.log('info', 'stopped');
      })();
      return stopping;
    },
  };
}

/**
 * Runs one job of the file now, once, as the schedule would (same services, logs and timeout) but
 * without the HTTP port or a lease: for an admin testing a backup or a probe (`daemon --run JOB`).
 * A signal aborts it like a shutdown.
 */
export async function runJobOnce(
  config: DaemonConfig,
  name: string,
  options: { services?: DaemonServices; logger?: DaemonLogger; signal?: AbortSignal } = {},
): Promise<'success' | 'failure'> {
  const job = config.jobs.find((candidate) => candidate.name === name);
  if (!job) throw new UsageError(`${config.file}: no job named ${JSON.stringify(name)} (jobs: ${config.jobs.map((candidate) => candidate.name).join(', ')})`);
  const logger = options.logger ?? jsonLogger();
  const services = options.services ?? (await awsServices(config));
  const scheduler = new Scheduler([buildJob(config, job, services)], { logger, failureThreshold: config.failure_threshold });
  const abort = () => void scheduler.shutdown({ graceMs: 0 });
  options.signal?.addEventListener('abort', abort, { once: true });
  try {
    const result = await scheduler.trigger(name);
    return result === 'success' ? 'success' : 'failure';
  } finally {
    options.signal?.removeEventListener('abort', abort);
  }
}


import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { AwsClientOptions } from '../aws/clients.js';
import { UsageError } from '../core/errors.js';
import type { MetricsService } from '../aws/metrics.js';
import type { LockPaths } from '../engine/lock.js';
import { loadInventory, type InventoryReading } from '../inventory/index.js';
import { fetchHostSecrets } from '../engine/resolve-secrets.js';
import { SshPool } from '../ssh/index.js';
import type { SshOptions } from '../ssh/types.js';
import { runBackupJob } from './backup-job.js';
import type { DaemonConfig, JobConfig } from './config.js';
import { runDrift } from './drift.js';
import { startStatusServer, type StatusServer } from './http.js';
import { Lease, checkLeaseStore, objectLeaseStore, type LeaseStore } from './lease.js';
import { jsonLogger, type DaemonLogger } from './log.js';
import { snsNotifier, type Notifier } from './notify.js';
import { Publisher } from './publish.js';
import { ProbeStateStore, runProbes } from './probe.js';
import { Scheduler, type DaemonJob, type JobOutcome, type JobRunContext } from './scheduler.js';

// Wires a daemon file into running parts: AWS services (CloudWatch and SNS only when configured),
// the publisher jobs report through, jobs, the lease (checked at start), the scheduler and the HTTP port.

/** What jobs talk to; built from the file, replaced in tests. */
export interface DaemonServices {
  /** CloudWatch; undefined when the file says `cloudwatch: false` (values on /metrics only). */
  metrics?: Pick<MetricsService, 'putMetricData'> | undefined;
  /** SNS; undefined when the file names no topic. */
  notifier?: Notifier | undefined;
  leaseStore: LeaseStore | undefined;
  sshOptions: Partial<SshOptions>;
  /** Opens the SSH pool of a probe or drift run (tests: a local stand-in); default `new SshPool(sshOptions)`. */
  sshPool?: () => SshPool;
  /** Where probes take host locks (tests that probe this machine as a host); default the hosts' own. */
  lockPaths?: LockPaths;
  /**
   * How jobs read their inventories (a backup file's too): vault passwords and connection defaults
   * from ansible.cfg and halyard.yml, as `halyard apply` reads them in the daemon's directory
   * (the CLI gives it; asked again for every run, so edited files count). None: neither applies.
   */
  inventoryReading?: () => Promise<InventoryReading>;
}

export async function awsServices(config: DaemonConfig): Promise<DaemonServices> {
  const aws = awsOptionsOf(config);
  let metrics: DaemonServices['metrics'];
  if (config.cloudwatch) {
    const { sdkMetricsService } = await import('../aws/metrics.js');
    metrics = sdkMetricsService(aws);
  }
  let notifier: Notifier | undefined;
  if (config.sns_topic_arn) {
    const { sdkAlertsService } = await import('../aws/alerts.js');
    notifier = snsNotifier(sdkAlertsService(aws), config.sns_topic_arn);
  }
  return { metrics, notifier, leaseStore: await leaseStoreOf(config), sshOptions: sshOptionsOf(config) };
}

function awsOptionsOf(config: DaemonConfig): AwsClientOptions {
  return { ...(config.aws.region ? { region: config.aws.region } : {}), ...(config.aws.endpoint ? { endpoint: config.aws.endpoint } : {}) };
}

/** The file's lease store (S3), named for messages by bucket, prefix and endpoint; undefined without `lease`. */
export async function leaseStoreOf(config: DaemonConfig): Promise<LeaseStore | undefined> {
  if (!config.lease) return undefined;
  const { sdkObjectStore } = await import('../aws/objects.js');
  const endpoint = config.aws.endpoint ?? process.env['AWS_ENDPOINT_URL_S3'] ?? process.env['AWS_ENDPOINT_URL'];
  const where = `s3://${config.lease.bucket}/${config.lease.prefix}/ at ${endpoint ?? `AWS S3${config.aws.region ? ` (${config.aws.region})` : ''}`}`;
  return objectLeaseStore(sdkObjectStore({ ...awsOptionsOf(config), bucket: config.lease.bucket }), where);
}

export function sshOptionsOf(config: DaemonConfig): Partial<SshOptions> {
  return {
    hostKeyPolicy: config.ssh.strict_host_keys ? 'strict' : 'accept-new',
    ...(config.ssh.known_hosts ? { knownHostsFile: config.ssh.known_hosts } : {}),
    connectTimeoutMs: config.ssh.connect_timeout_seconds * 1000,
  };
}

/** Turns one job of the file into a schedulable job; it publishes through `publisher` (never failing on a publish). */
export function buildJob(config: DaemonConfig, job: JobConfig, services: DaemonServices, publisher: Publisher = publisherOf(services, jsonLogger())): DaemonJob {
  const base = { name: job.name, schedule: job.schedule, timezone: job.timezone };
  const { metrics, notifier } = publisher.forJob(job.name);
  const openPool = () => services.sshPool?.() ?? new SshPool(services.sshOptions);
  const withTimeout = (run: (context: JobRunContext) => Promise<JobOutcome>) => (context: JobRunContext) => timed(run, context, job.timeout_seconds);
  switch (job.kind) {
    case 'probe': {
      const state = new ProbeStateStore(join(config.state_dir, `probe-${job.name}.json`));
      return {
        ...base,
        run: withTimeout(async ({ signal, stopping, logger }) => {
          const reading = (await services.inventoryReading?.()) ?? {};
          const inventory = await loadInventory(job.inventory, { ...reading, ...(job.limit ? { limit: job.limit } : {}) });
          await fetchHostSecrets(inventory.hosts, 'connection');
          const pool = openPool();
          const abort = () => void pool.closeAll();
          signal.addEventListener('abort', abort, { once: true });
          try {
            return await runProbes({
              hosts: inventory.hosts,
              pool,
              metrics,
              namespace: config.cloudwatch_namespace,
              notifier,
              state,
              settings: { installDir: job.install_dir, healthUrls: job.health_urls, diskPercentThreshold: job.disk_percent_threshold },
              logger,
              jobName: job.name,
              signal,
              lockWaitSignal: lockWaitEnds({ signal, stopping }),
              ...(services.lockPaths ? { lockPaths: services.lockPaths } : {}),
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
        run: withTimeout(async ({ signal, logger }) =>
          runDrift({
            jobName: job.name,
            playbook: job.playbook,
            inventory: job.inventory,
            prepare: { ...((await services.inventoryReading?.()) ?? {}), extraVars: job.extra_vars, ...(job.limit ? { limit: job.limit } : {}) },
            forks: job.forks,
            pool: openPool(),
            notifier,
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
        run: withTimeout(({ signal, stopping, logger }) =>
          runBackupJob({
            jobName: job.name,
            backupFile: job.backup_file,
            volume: job.volume,
            limit: job.limit,
            ssh: services.sshOptions,
            ...(services.inventoryReading ? { inventoryReading: services.inventoryReading } : {}),
            metrics,
            namespace: config.cloudwatch_namespace,
            notifier,
            logger,
            signal,
            lockWaitSignal: lockWaitEnds({ signal, stopping }),
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

// A job's waits for host locks end when the daemon begins to stop, or when the run itself is aborted
// (past the grace, or its time limit).
function lockWaitEnds(context: Pick<JobRunContext, 'signal' | 'stopping'>): AbortSignal {
  return AbortSignal.any([context.stopping, context.signal]);
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

// The publisher of a daemon's services: CloudWatch and SNS when they are there.
function publisherOf(services: DaemonServices, logger: DaemonLogger): Publisher {
  return new Publisher({ logger, cloudwatch: services.metrics, sns: services.notifier });
}

export interface RunningDaemon {
  scheduler: Scheduler;
  server: StatusServer;
  publisher: Publisher;
  /** Stops scheduling, lets the running job finish (grace period) or aborts it, closes the port. */
  stop(): Promise<void>;
}

export async function startDaemon(config: DaemonConfig, options: { services?: DaemonServices; logger?: DaemonLogger; owner?: string } = {}): Promise<RunningDaemon> {
  const logger = options.logger ?? jsonLogger();
  const services = options.services ?? (await awsServices(config));
  // Two daemons share a lease only through conditional writes: a store that ignores them refuses the start.
  if (services.leaseStore) await checkLeaseStore(services.leaseStore, config.lease?.prefix);
  const owner = options.owner ?? `${hostname()}/${process.pid}/${randomBytes(3).toString('hex')}`;
  const publisher = publisherOf(services, logger);
  const scheduler = new Scheduler(
    config.jobs.map((job) => buildJob(config, job, services, publisher)),
    { logger, failureThreshold: config.failure_threshold, lease: services.leaseStore ? new Lease(services.leaseStore, owner, config.lease?.prefix, config.lease?.keep_hours) : undefined },
  );
  const server = await startStatusServer(scheduler, config.http.port, publisher, {
    dockerBridge: config.http.docker_bridge,
    log: (level, event, data) => logger.log(level, event, data),
  });
  scheduler.start();
  logger.log('info', 'started', {
    config: config.file,
    http: server.url,
    jobs: config.jobs.length,
    publishTo: publisher.targets().map((target) => target.target),
    lease: config.lease ? `s3://${config.lease.bucket}/${config.lease.prefix}` : undefined,
  });
  let stopping: Promise<void> | undefined;
  return {
    scheduler,
    server,
    publisher,
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
  const scheduler = new Scheduler([buildJob(config, job, services, publisherOf(services, logger))], { logger, failureThreshold: config.failure_threshold });
  const abort = () => void scheduler.shutdown({ graceMs: 0 });
  options.signal?.addEventListener('abort', abort, { once: true });
  try {
    const result = await scheduler.trigger(name);
    return result === 'success' ? 'success' : 'failure';
  } finally {
    options.signal?.removeEventListener('abort', abort);
  }
}


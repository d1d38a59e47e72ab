import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { CronTime, validateCronExpression } from 'cron';
import { LineCounter, parseDocument, isNode, type Document } from 'yaml';
import { z } from 'zod';
import { HalyardError } from '../core/errors.js';
import { ExitCode } from '../core/exit-codes.js';
import { decodeUtf8, describeInvalidUtf8 } from '../core/utf8.js';

// The daemon's file (`halyard daemon -c FILE`). Secrets never go here: AWS credentials come from
// the SDK's chain (instance role), host secrets from the inventory (`!aws_secret`).
//
//   aws: { region: eu-west-1, endpoint: http://127.0.0.1:4566 }   # endpoint: tests only
//   sns_topic_arn: arn:aws:sns:eu-west-1:123456789012:halyard-alerts   # optional: no topic, no messages
//   cloudwatch: true                  # false: no CloudWatch at all, the jobs' values on /metrics only
//   cloudwatch_namespace: halyard
//   http: { port: 9464, docker_bridge: auto }   # also on docker0's address (auto: once it exists), for the stack's collector
//   state_dir: /var/lib/halyard
//   lease: { bucket: my-bucket, prefix: leases, keep_hours: 24 }  # two daemons, one run per tick
//   ssh: { known_hosts: /var/lib/halyard/known_hosts, strict_host_keys: true }
//   jobs:
//     - { name: probes, kind: probe, schedule: "0 */5 * * * *", inventory: inventory.yml,
//         install_dir: /opt/observability, health_urls: [http://127.0.0.1:3000/api/health] }
//     - { name: drift, kind: drift, schedule: "0 0 * * * *", timezone: Europe/Berlin,
//         playbook: site.ts, inventory: inventory.yml }
//     - { name: nightly, kind: backup, schedule: "0 30 2 * * *", backup_file: backup.yml }
//     - { name: cleanup, kind: command, schedule: "0 0 4 * * 0", command: [/usr/local/bin/cleanup] }

const name = z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'must be 1-64 letters, digits, ".", "-" or "_"');

const schedule = z.string().refine((text) => validateCronExpression(text).valid, { message: 'is not a cron expression (like "0 */5 * * * *" or "*/5 * * * *")' });

const timezone = z.string().refine(
  (zone) => {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: zone });
      return true;
    } catch {
      return false;
    }
  },
  { message: 'is not an IANA time zone (like Europe/Berlin or UTC)' },
);

const common = {
  name,
  schedule,
  timezone: timezone.optional(),
  /** Kill the run after this many seconds (default: none). */
  timeout_seconds: z.number().int().positive().optional(),
};

const probeJob = z.strictObject({
  ...common,
  kind: z.literal('probe'),
  inventory: z.string().min(1),
  limit: z.string().optional(),
  install_dir: z.string().startsWith('/').optional(),
  health_urls: z.array(z.url()).default([]),
  disk_percent_threshold: z.number().min(1).max(100).default(85),
});

const driftJob = z.strictObject({
  ...common,
  kind: z.literal('drift'),
  playbook: z.string().min(1),
  inventory: z.string().min(1),
  limit: z.string().optional(),
  extra_vars: z.record(z.string(), z.unknown()).default({}),
  forks: z.number().int().positive().default(10),
});

const backupJob = z.strictObject({
  ...common,
  kind: z.literal('backup'),
  /** The backup file (`halyard backup run -c FILE`): inventory, bucket, volumes, retention. */
  backup_file: z.string().min(1),
  volume: z.string().optional(),
  limit: z.string().optional(),
});

const commandJob = z.strictObject({
  ...common,
  kind: z.literal('command'),
  command: z.array(z.string().min(1)).min(1),
});

const job = z.discriminatedUnion('kind', [probeJob, driftJob, backupJob, commandJob]);

export const daemonConfigSchema = z.strictObject({
  aws: z.strictObject({ region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d+$/, 'is not an AWS region name (like eu-west-1)').optional(), endpoint: z.url().optional() }).default({}),
  sns_topic_arn: z.string().regex(/^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$/, 'is not an SNS topic ARN').optional(),
  /** false: nothing goes to CloudWatch (no client, no PutMetricData); every value is on /metrics either way. */
  cloudwatch: z.boolean().default(true),
  cloudwatch_namespace: z.string().min(1).max(255).default('halyard'),
  /** docker_bridge: also listen on docker0's address ('auto': once it exists), where the stack's collector scrapes /metrics. */
  http: z
    .strictObject({ port: z.number().int().min(0).max(65535).default(9464), docker_bridge: z.union([z.literal('auto'), z.boolean()]).default('auto') })
    .default({ port: 9464, docker_bridge: 'auto' }),
  state_dir: z.string().default('/var/lib/halyard'),
  failure_threshold: z.number().int().positive().default(3),
  shutdown_grace_seconds: z.number().positive().default(30),
  lease: z
    .strictObject({
      bucket: z.string().min(3),
      prefix: z.string().default('leases'),
      /** Lease objects whose tick is older than this are deleted (hourly, by the daemon that won the job's tick). */
      keep_hours: z.number().min(1, 'must be at least 1 (hours)').default(24),
    })
    .optional(),
  ssh: z
    .strictObject({ known_hosts: z.string().optional(), strict_host_keys: z.boolean().default(false), connect_timeout_seconds: z.number().positive().default(20) })
    .default({ strict_host_keys: false, connect_timeout_seconds: 20 }),
  jobs: z.array(job).min(1, 'needs at least one job'),
});

export type DaemonConfig = z.output<typeof daemonConfigSchema> & { file: string };
export type JobConfig = DaemonConfig['jobs'][number];
export type ProbeJobConfig = z.output<typeof probeJob>;
export type DriftJobConfig = z.output<typeof driftJob>;

/** A bad daemon file: one line `file:line: message`, exit code 65. */
export class DaemonConfigError extends HalyardError {
  constructor(message: string, where: { file: string; line?: number | undefined; cause?: unknown }) {
    super('E_DAEMON_CONFIG', `${where.file}${where.line ? `:${where.line}` : ''}: ${message}`, { exitCode: ExitCode.InputError, cause: where.cause });
  }
}

export async function loadDaemonConfig(path: string): Promise<DaemonConfig> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new DaemonConfigError(`cannot read daemon file (${code === 'ENOENT' ? 'no such file' : (code ?? String(error))})`, { file: path, cause: error });
  }
  const decoded = decodeUtf8(bytes);
  if (!decoded.ok) throw new DaemonConfigError(describeInvalidUtf8(decoded), { file: path, line: decoded.line });
  return parseDaemonConfig(decoded.text, path);
}

/** Parses and validates; relative paths (inventory, playbook, state_dir) are relative to the file. */
export function parseDaemonConfig(text: string, file: string): DaemonConfig {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: true });
  const yamlError = doc.errors[0];
  if (yamlError) {
    throw new DaemonConfigError(`YAML: ${yamlError.message.split('\n')[0]?.replace(/ at line \d+, column \d+:?$/, '')}`, { file, line: yamlError.linePos?.[0].line });
  }
  const parsed = daemonConfigSchema.safeParse(doc.toJS() ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const path = issue.path.map((part) => (typeof part === 'symbol' ? String(part) : part));
    const shown = describePath(path, doc);
    let message = issue.message;
    if (issue.code === 'unrecognized_keys') message = `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.join(', ')}`;
    else if (issue.code === 'invalid_union' && path.at(-1) === 'kind') message = 'kind must be one of probe, drift, backup, command';
    else if (issue.code === 'invalid_type' && issue.input === undefined) message = 'is required';
    const unknownKeyPath = issue.code === 'unrecognized_keys' ? [...path, issue.keys[0]!] : path;
    throw new DaemonConfigError(`${shown ? `${shown}: ` : ''}${message}`, { file, line: lineOf(doc, lines, unknownKeyPath) });
  }
  const base = dirname(resolve(file));
  const at = (p: string) => (isAbsolute(p) ? p : resolve(base, p));
  const config = parsed.data;
  return {
    ...config,
    file,
    state_dir: at(config.state_dir),
    ...(config.ssh.known_hosts ? { ssh: { ...config.ssh, known_hosts: at(config.ssh.known_hosts) } } : {}),
    jobs: config.jobs.map((job) => {
      if (job.kind === 'drift') return { ...job, playbook: at(job.playbook), inventory: at(job.inventory) };
      if (job.kind === 'probe') return { ...job, inventory: at(job.inventory) };
      if (job.kind === 'backup') return { ...job, backup_file: at(job.backup_file) };
      return job;
    }),
  };
}

// "jobs[1].schedule" or `job "drift": schedule`.
function describePath(path: Array<string | number>, doc: Document): string {
  if (path[0] === 'jobs' && typeof path[1] === 'number') {
    const jobName = doc.getIn(['jobs', path[1], 'name']);
    const head = typeof jobName === 'string' ? `job ${JSON.stringify(jobName)}` : `jobs[${path[1]}]`;
    const rest = path.slice(2).join('.');
    return rest ? `${head}: ${rest}` : head;
  }
  return path.join('.');
}

// The line of the deepest node of the path that exists (keys point at their key's line).
function lineOf(doc: Document, lines: LineCounter, path: Array<string | number>): number | undefined {
  for (let length = path.length; length >= 0; length--) {
    const prefix = path.slice(0, length);
    const parent = length === 0 ? doc.contents : doc.getIn(prefix.slice(0, -1), true);
    let node: unknown = length === 0 ? doc.contents : undefined;
    if (length > 0 && parent && typeof parent === 'object' && 'items' in parent) {
      const items = (parent as { items: unknown[] }).items;
      const last = prefix.at(-1);
      if (typeof last === 'number') node = items[last];
      else node = items.find((item) => (item as { key?: { value?: unknown } }).key?.value === last);
      if (node && typeof node === 'object' && 'key' in node) node = (node as { key: unknown }).key;
    }
    if (isNode(node) && node.range) return lines.linePos(node.range[0]).line;
  }
  return undefined;
}

// `daemon --check`: the file's jobs, one line each, with the next run after `now` (in UTC).
export function describeDaemonConfig(config: DaemonConfig, now: Date): string[] {
  return config.jobs.map((job) => {
    const next = new CronTime(job.schedule, job.timezone).getNextDateFrom(now, job.timezone).toUTC().toISO();
    return `${job.name} (${job.kind}) "${job.schedule}"${job.timezone ? ` ${job.timezone}` : ''}: next run ${next}`;
  });
}


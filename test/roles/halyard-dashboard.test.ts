import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parse } from 'yaml';
import { sdkObjectStore } from '../../src/aws/objects.js';
import { parseBackupConfig } from '../../src/backup/config.js';
import { runBackups, type BackupEnv } from '../../src/backup/fleet.js';
import { reportBackups } from '../../src/daemon/backup-job.js';
import { parseDaemonConfig } from '../../src/daemon/config.js';
import { awsServices, startDaemon } from '../../src/daemon/daemon.js';
import { memoryLogger } from '../../src/daemon/log.js';
import { loadInventory } from '../../src/inventory/index.js';
import type { SshPool } from '../../src/ssh/index.js';
import { halyardDaemonVars } from '../../roles/halyard-daemon/index.js';
import { HALYARD_SCRAPE, observabilityStackModel, renderedFiles } from '../../roles/observability-stack/index.js';
import { localSession } from '../backup/local-session.js';
import { useAwsEmulator } from '../support/aws-emulator/per-file.js';

// The halyard dashboard and alert rules the observability-stack role writes name only what the
// daemon really exports. The names come from a real scrape of a real daemon's /metrics after its
// jobs ran here: a probe round (this machine as the host, df and docker stubbed), a drift check (a
// check-mode run of a playbook on this machine, ansible_connection: local), and a backup of a
// directory to the emulator's S3 reported through the daemon's publisher (the backup job's own
// reportBackups; the job itself would reach its hosts over SSH). `promtool check metrics` lints
// that scrape; promtool comes from Debian's `prometheus` package (scripts/setup-machine.sh).

const aws = useAwsEmulator();
type Doc = Record<string, any>;

// ---------------------------------------------------------------------------------------------
// The Prometheus text exposition (0.0.4), as far as the daemon writes it.

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

function parseExposition(text: string): { types: Map<string, string>; helps: Set<string>; samples: Sample[] } {
  const types = new Map<string, string>();
  const helps = new Set<string>();
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const meta = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
    if (meta) {
      if (meta[1] === 'TYPE') types.set(meta[2]!, meta[3]!);
      else helps.add(meta[2]!);
      continue;
    }
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!sample) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    const body = sample[2] ?? '';
    const pair = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)/gy;
    let match: RegExpExecArray | null;
    while (pair.lastIndex < body.length && (match = pair.exec(body))) labels[match[1]!] = match[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    if (pair.lastIndex !== body.length) throw new Error(`bad labels in: ${line}`);
    samples.push({ name: sample[1]!, labels, value: Number(sample[3]) });
  }
  return { types, helps, samples };
}

// ---------------------------------------------------------------------------------------------
// PromQL, as far as naming goes: metric names, label matchers, grouping labels, functions.

// Every PromQL function and aggregation (Prometheus 2.x/3.x): an identifier followed by "(".
const PROMQL_FUNCTIONS = new Set(
  (
    'abs absent absent_over_time acos acosh asin asinh atan atanh avg_over_time ceil changes clamp clamp_max clamp_min cos cosh ' +
    'count_over_time day_of_month day_of_week day_of_year days_in_month deg delta deriv double_exponential_smoothing exp floor ' +
    'histogram_avg histogram_count histogram_fraction histogram_quantile histogram_stddev histogram_stdvar histogram_sum ' +
    'holt_winters hour idelta increase irate label_join label_replace last_over_time ln log10 log2 mad_over_time ' +
    'max_over_time min_over_time minute month pi predict_linear present_over_time quantile_over_time rad rate resets round ' +
    'scalar sgn sin sinh sort sort_by_label sort_by_label_desc sort_desc sqrt stddev_over_time stdvar_over_time sum_over_time ' +
    'tan tanh time timestamp vector year ' +
    'sum min max avg group stddev stdvar count count_values bottomk topk quantile limitk limit_ratio'
  ).split(' '),
);
// Keywords that are never metric names; the first ones take a list of labels in parentheses.
const LABEL_LIST_KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right']);
const KEYWORDS = new Set([...LABEL_LIST_KEYWORDS, 'bool', 'and', 'or', 'unless', 'atan2', 'offset', 'inf', 'nan']);

interface Matcher {
  label: string;
  op: string;
  value: string;
}
interface PromqlNames {
  metrics: Set<string>;
  selectors: Array<{ metric: string; matchers: Matcher[] }>;
  grouping: Set<string>;
  functions: Set<string>;
}

type Token = { kind: 'ident' | 'string' | 'number' | 'range' | 'var' | 'punct'; text: string };

function tokenize(expr: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < expr.length) {
    const rest = expr.slice(i);
    const c = expr[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (c === '"' || c === "'" || c === '`') {
      let j = i + 1;
      let value = '';
      while (j < expr.length && expr[j] !== c) {
        if (expr[j] === '\\' && c !== '`') j++;
        value += expr[j];
        j++;
      }
      if (j >= expr.length) throw new Error(`unterminated string in ${expr}`);
      tokens.push({ kind: 'string', text: value });
      i = j + 1;
    } else if (c === '[') {
      // A range or subquery: durations and Grafana's $__rate_interval, never names.
      const end = expr.indexOf(']', i);
      if (end < 0) throw new Error(`unterminated [ in ${expr}`);
      tokens.push({ kind: 'range', text: expr.slice(i, end + 1) });
      i = end + 1;
    } else if (c === '$') {
      const variable = /^\$(\{[^}]*\}|[A-Za-z0-9_]+)/.exec(rest);
      if (!variable) throw new Error(`bad variable in ${expr}`);
      tokens.push({ kind: 'var', text: variable[0] });
      i += variable[0].length;
    } else if (/[A-Za-z_:]/.test(c)) {
      const ident = /^[A-Za-z_:][A-Za-z0-9_:]*/.exec(rest)![0];
      tokens.push({ kind: 'ident', text: ident });
      i += ident.length;
    } else if (/[0-9.]/.test(c)) {
      // Numbers (0.95, 1e3, 0x1f) and durations after offset (5m, 1h30m).
      const number = /^(0x[0-9a-fA-F]+|[0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?(?:[smhdwy]|ms)*(?:[0-9]+(?:[smhdwy]|ms))*)/.exec(rest)![0];
      tokens.push({ kind: 'number', text: number });
      i += number.length;
    } else {
      const op = /^(==|!=|=~|!~|>=|<=)/.exec(rest)?.[0] ?? c;
      tokens.push({ kind: 'punct', text: op });
      i += op.length;
    }
  }
  return tokens;
}

function promqlNames(expr: string): PromqlNames {
  const tokens = tokenize(expr);
  const out: PromqlNames = { metrics: new Set(), selectors: [], grouping: new Set(), functions: new Set() };
  for (let k = 0; k < tokens.length; k++) {
    const token = tokens[k]!;
    const next = tokens[k + 1];
    if (token.kind === 'punct' && token.text === '{') throw new Error(`a selector without a metric name in ${expr}`);
    if (token.kind !== 'ident') continue;
    const word = token.text;
    if (LABEL_LIST_KEYWORDS.has(word.toLowerCase())) {
      if (next?.text === '(') {
        for (k += 2; k < tokens.length && tokens[k]!.text !== ')'; k++) {
          if (tokens[k]!.kind === 'ident') out.grouping.add(tokens[k]!.text);
          else if (tokens[k]!.text !== ',') throw new Error(`unexpected ${tokens[k]!.text} in a label list of ${expr}`);
        }
      }
      continue;
    }
    if (KEYWORDS.has(word.toLowerCase())) continue;
    // A function call, or an aggregation with its grouping first: `sum by (job) (...)`.
    if ((next?.kind === 'punct' && next.text === '(') || (next?.kind === 'ident' && ['by', 'without'].includes(next.text.toLowerCase()))) {
      out.functions.add(word);
      continue;
    }
    // A metric name: followed by {, [, an operator, ), whitespace or the end.
    const selector = { metric: word, matchers: [] as Matcher[] };
    out.metrics.add(word);
    out.selectors.push(selector);
    if (next?.text === '{') {
      for (k += 2; k < tokens.length && tokens[k]!.text !== '}'; k++) {
        if (tokens[k]!.text === ',') continue;
        const [label, op, value] = [tokens[k], tokens[k + 1], tokens[k + 2]];
        if (label?.kind !== 'ident' || op?.kind !== 'punct' || !['=', '!=', '=~', '!~'].includes(op.text) || value?.kind !== 'string') {
          throw new Error(`bad matcher in ${expr}`);
        }
        selector.matchers.push({ label: label.text, op: op.text, value: value.text });
        k += 2;
      }
    }
  }
  return out;
}

describe('the PromQL name parser', () => {
  test('finds metrics, matchers, grouping labels and functions; skips keywords, numbers, ranges and variables', () => {
    const names = promqlNames(
      'time() - max by (instance, job) (max_over_time(foo_seconds{a="x", b=~"$v"}[7d]) > 0) / on(job) group_left(c) bar_total offset 5m or vector(1e3) * 0.95 + sum(baz) without (d)',
    );
    expect([...names.metrics]).toEqual(['foo_seconds', 'bar_total', 'baz']);
    expect(names.selectors[0]?.matchers).toEqual([
      { label: 'a', op: '=', value: 'x' },
      { label: 'b', op: '=~', value: '$v' },
    ]);
    expect([...names.grouping].sort()).toEqual(['c', 'd', 'instance', 'job']);
    expect([...names.functions].sort()).toEqual(['max', 'max_over_time', 'sum', 'time', 'vector']);
    expect([...promqlNames('increase(x_total{job="a"}[$__rate_interval])').metrics]).toEqual(['x_total']);
    expect(() => promqlNames('{__name__="x"}')).toThrow(/without a metric name/);
  });
});

// ---------------------------------------------------------------------------------------------
// One real daemon, its jobs run once, /metrics scraped once.

let scrape = '';
let base = '';
const BUCKET = 'hy-dashboard-backups';

beforeAll(async () => {
  base = mkdtempSync(join(tmpdir(), 'hy-dashboard-'));
  const bin = join(base, 'bin');
  mkdirSync(bin);
  mkdirSync(join(base, 'home'));
  mkdirSync(join(base, 'data'));
  writeFileSync(join(base, 'data', 'notes.txt'), 'backed up by the test\n');
  // The probe's df and docker: 12 % used, Docker up, no containers.
  writeFileSync(join(bin, 'df'), "#!/bin/sh\necho 'Filesystem 1024-blocks Used Available Capacity Mounted on'\necho \"/dev/x 100 12 88 12% $2\"\n", { mode: 0o755 });
  writeFileSync(join(bin, 'docker'), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
  writeFileSync(join(base, 'inventory.yml'), 'all:\n  hosts:\n    web-1: { ansible_host: 10.0.0.1, ec2_instance_id: i-0web1 }\n');
  // The drift check converges nothing: hello.txt is missing in drift-target, so the host has drifted.
  writeFileSync(join(base, 'drift-hosts'), `[controller]\nctl ansible_connection=local target_dir=${join(base, 'drift-target')}\n`);
  writeFileSync(
    join(base, 'backup.yml'),
    `inventory: inventory.yml\nbucket: ${BUCKET}\nprefix: hb\ncompression: none\nvolumes:\n  - { name: data, kind: dir, path: ${join(base, 'data')} }\n`,
  );
  const playbook = resolve(import.meta.dirname, '../e2e/playbooks/local-file.ts');
  const config = parseDaemonConfig(
    [
      `aws: { endpoint: "${aws.url}" }`,
      'http: { port: 0, docker_bridge: false }',
      'state_dir: state',
      'jobs:',
      '  - { name: probes, kind: probe, schedule: "0 0 0 1 1 *", inventory: inventory.yml }',
      `  - { name: drift, kind: drift, schedule: "0 0 0 1 1 *", playbook: ${playbook}, inventory: drift-hosts }`,
      '  - { name: nightly, kind: backup, schedule: "0 0 0 1 1 *", backup_file: backup.yml }',
      '',
    ].join('\n'),
    join(base, 'daemon.yml'),
  );
  const env = { PATH: `${bin}:${process.env.PATH}` };
  const lockPaths = { rootDir: join(base, 'run-halyard'), userHome: join(base, 'home'), undoDir: join(base, 'undo') };
  // Probes get a local session; the drift check's host is local itself and only reads the pool's timeouts.
  const pool = (): SshPool => ({ session: async () => localSession('web-1', env), closeAll: async () => undefined, options: { commandTimeoutMs: 120_000 } }) as unknown as SshPool;
  const logger = memoryLogger();
  const daemon = await startDaemon(config, { services: { ...(await awsServices(config)), sshPool: pool, lockPaths }, logger });
  const failures = () => JSON.stringify(logger.records.filter((record) => record.level !== 'info'));
  try {
    expect(await daemon.scheduler.trigger('probes'), failures()).toBe('success');
    expect(await daemon.scheduler.trigger('drift'), failures()).toBe('success');
    // The backup job's work and report, with a local session for its SSH.
    aws.createBucket(BUCKET);
    const backupConfig = parseBackupConfig(
      `inventory: inventory.yml\nbucket: ${BUCKET}\nprefix: hb\ncompression: none\nvolumes:\n  - { name: data, kind: dir, path: ${join(base, 'data')} }\n`,
      join(base, 'backup.yml'),
    );
    const inventory = await loadInventory(join(base, 'inventory.yml'));
    const backupEnv: BackupEnv = {
      config: backupConfig,
      inventory,
      context: { config: backupConfig, store: sdkObjectStore({ bucket: BUCKET }), session: async () => localSession('web-1', env), lockPaths, warned: new Set() },
      close: async () => undefined,
    };
    const outcomes = await runBackups(backupEnv);
    expect(outcomes.map((outcome) => [outcome.volume, outcome.ok, outcome.error])).toEqual([['data', true, undefined]]);
    const nightly = daemon.publisher.forJob('nightly');
    expect(await reportBackups(outcomes, inventory.hosts, { metrics: nightly.metrics, namespace: config.cloudwatch_namespace, notifier: nightly.notifier })).toMatchObject({ ok: 1, failed: 0 });

    const response = await fetch(`${daemon.server.url}/metrics`);
    expect(response.status).toBe(200);
    scrape = await response.text();
  } finally {
    await daemon.stop();
  }
}, 60_000);

afterAll(() => {
  if (base) rmSync(base, { recursive: true, force: true });
});

// What the scrape says: sample names (what reaches Mimir), each one's labels, each label's values.
function exported() {
  const { samples } = parseExposition(scrape);
  const labels = new Map<string, Set<string>>();
  const values = new Map<string, Set<string>>();
  for (const sample of samples) {
    const own = labels.get(sample.name) ?? new Set<string>();
    for (const [label, value] of Object.entries(sample.labels)) {
      own.add(label);
      values.set(`${sample.name}/${label}`, (values.get(`${sample.name}/${label}`) ?? new Set()).add(value));
    }
    labels.set(sample.name, own);
  }
  return { names: new Set(labels.keys()), labels, values };
}

// The files the role writes on a host that runs the daemon (halyard_daemon_config), by path.
function roleFiles(): Record<string, string> {
  const model = observabilityStackModel({ name: 'obs-1', vars: { grafana_admin_password: 'g', postgres_password: 'p', halyard_daemon_config: { jobs: [] }, scrape_halyard_daemon: 'auto' } });
  return Object.fromEntries(renderedFiles(model).map((entry) => [entry.path, entry.content]));
}

// Every PromQL expression of the role's halyard dashboard and halyard alert rules, with where it is.
function roleQueries(): { where: string; expr: string; legend?: string; summary?: string }[] {
  const files = roleFiles();
  const dashboard = JSON.parse(files['grafana/dashboards/halyard.json'] ?? 'null') as Doc;
  const rules = parse(files['grafana/provisioning/alerting/rules.yml'] ?? '') as Doc;
  const queries: { where: string; expr: string; legend?: string; summary?: string }[] = [];
  for (const panel of dashboard.panels as Doc[]) {
    for (const target of panel.targets as Doc[]) queries.push({ where: `dashboard panel "${panel.title}" ${target.refId}`, expr: target.expr, legend: target.legendFormat });
  }
  const group = (rules.groups as Doc[]).find((g) => g.name === 'halyard');
  for (const rule of group?.rules as Doc[]) {
    const query = (rule.data as Doc[]).find((data) => data.datasourceUid === 'mimir');
    queries.push({ where: `alert rule "${rule.title}"`, expr: query?.model.expr, summary: rule.annotations.summary });
  }
  return queries;
}

describe("the halyard dashboard and alert rules against the daemon's real /metrics", () => {
  test('the scrape has every family the dashboard reads, with samples: jobs, backups, drift, probes, publishing, the process', () => {
    const { names } = exported();
    for (const name of [
      'halyard_job_runs_total',
      'halyard_job_duration_seconds_sum',
      'halyard_job_duration_seconds_count',
      'halyard_job_last_success_timestamp_seconds',
      'halyard_job_last_outcome',
      'halyard_backup_bytes',
      'halyard_backup_duration_seconds',
      'halyard_backup_changed_files',
      'halyard_backup_heartbeat',
      'halyard_metric_updated_timestamp_seconds',
      'halyard_docker_daemon_up',
      'halyard_disk_used_percent',
      'halyard_unhealthy_containers',
      'halyard_publish_failures_total',
      'process_resident_memory_bytes',
      'process_start_time_seconds',
    ]) {
      expect(names, name).toContain(name);
    }
    // The drift check found the missing file; the probe round saw nothing failing; the backup was published.
    expect(scrape).toContain('halyard_job_last_outcome{job="drift",field="drifted_hosts"} 1');
    expect(scrape).toContain('halyard_job_last_outcome{job="probes",field="failing_hosts"} 0');
    expect(scrape).toMatch(/^halyard_metric_updated_timestamp_seconds\{metric="backup_heartbeat",instance_id="i-0web1"\} \d+$/m);
    expect(scrape).toContain('halyard_publish_failures_total{target="cloudwatch"} 0');
  });

  test('promtool check metrics: no problem in the scrape', () => {
    const run = spawnSync('promtool', ['check', 'metrics'], { input: scrape, encoding: 'utf8' });
    if ((run.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') {
      throw new Error("promtool is not installed: apt-get install prometheus (Debian's package has promtool; scripts/setup-machine.sh installs it)");
    }
    expect(run.error).toBeUndefined();
    expect(`${run.stdout}${run.stderr}`.trim(), 'promtool check metrics').toBe('');
    expect(run.status).toBe(0);
  });

  test('every query names only metrics the daemon exports, with labels and label values it exports', () => {
    const { names, labels, values } = exported();
    const added = new Set<string>(HALYARD_SCRAPE.addedLabels);
    const queries = roleQueries();
    expect(queries.length).toBeGreaterThanOrEqual(18);
    const used = new Set<string>();
    for (const { where, expr, legend, summary } of queries) {
      const parsed = promqlNames(expr);
      expect(parsed.metrics.size, `${where}: ${expr}`).toBeGreaterThan(0);
      for (const fn of parsed.functions) expect(PROMQL_FUNCTIONS, `${where}: function ${fn}`).toContain(fn);
      const known = new Set<string>(added);
      for (const metric of parsed.metrics) {
        used.add(metric);
        expect(names, `${where}: metric ${metric} is not on the daemon's /metrics`).toContain(metric);
        for (const label of labels.get(metric) ?? []) known.add(label);
      }
      for (const { metric, matchers } of parsed.selectors) {
        for (const { label, op, value } of matchers) {
          const own = labels.get(metric) ?? new Set();
          if (label === 'job' && !own.has('job')) {
            // The daemon's series without a job label (process_*) get the scrape's job.
            expect([op, value], `${where}: ${metric}{job}`).toEqual(['=', HALYARD_SCRAPE.job]);
            continue;
          }
          expect(own.has(label) || added.has(label), `${where}: ${metric} has no label ${label}`).toBe(true);
          // A literal value must be one the daemon writes (a Grafana variable is the user's choice).
          if (op === '=' && !added.has(label)) expect(values.get(`${metric}/${label}`), `${where}: ${metric}{${label}="${value}"}`).toContain(value);
        }
      }
      for (const label of parsed.grouping) expect(known, `${where}: grouping label ${label}`).toContain(label);
      // Legends and alert summaries name labels the series have after the query.
      const shown = [...(legend ?? '').matchAll(/\{\{\s*(\w+)\s*\}\}/g), ...(summary ?? '').matchAll(/\$labels\.(\w+)/g)].map((m) => m[1]!);
      const after = parsed.grouping.size > 0 ? parsed.grouping : known;
      for (const label of shown) expect(after, `${where}: shows {{${label}}}`).toContain(label);
    }
    // The dashboard's variable: label_values(metric, label).
    const dashboard = JSON.parse(roleFiles()['grafana/dashboards/halyard.json'] ?? 'null') as Doc;
    for (const variable of dashboard.templating.list as Doc[]) {
      const [, metric, label] = /^label_values\((\w+), (\w+)\)$/.exec(variable.query) ?? [];
      expect(names, variable.query).toContain(metric);
      expect(labels.get(metric!)?.has(label!) || added.has(label!), variable.query).toBe(true);
    }
    // Jobs, backups, drift, probes, publish failures and the process: each read somewhere.
    for (const metric of ['halyard_job_last_success_timestamp_seconds', 'halyard_job_duration_seconds_sum', 'halyard_backup_bytes', 'halyard_metric_updated_timestamp_seconds', 'halyard_job_last_outcome', 'halyard_docker_daemon_up', 'halyard_publish_failures_total']) {
      expect(used, metric).toContain(metric);
    }
  });

  test('the collector scrapes the daemon on the port the halyard-daemon role gives it, keeping its job label', () => {
    const collector = parse(roleFiles()['otel-collector-config.yml'] ?? '') as Doc;
    const job = (collector.receivers.prometheus.config.scrape_configs as Doc[]).find((scrapeJob) => scrapeJob.job_name === HALYARD_SCRAPE.job);
    const port = halyardDaemonVars.parse({}).halyard_daemon_http_port;
    expect(job).toEqual({ job_name: 'halyard', scrape_interval: '15s', honor_labels: true, static_configs: [{ targets: [`host.docker.internal:${port}`], labels: { instance: 'obs-1' } }] });
    // honor_labels keeps the daemon's job label: its job names, as the queries use them.
    expect(exported().labels.get('halyard_job_runs_total')).toEqual(new Set(['job', 'result']));
    expect(exported().labels.get('process_resident_memory_bytes')).toEqual(new Set());
  });
});

import { DATASOURCE_UIDS, type StackModel } from '../model.js';
import { HALYARD_LOOKBACK, PSEUDO_FS, SERVER_SPANS } from './grafana-dashboards.js';
import { SPAN_METRICS } from './grafana-datasources.js';
import { MANAGED, renderYaml } from './yaml.js';

// One provisioned rule, before rendering.
export interface AlertRuleSpec {
  uid: string;
  title: string;
  expr: string;
  /** Threshold evaluator on the query's last value. */
  evaluator: { type: 'gt' | 'lt'; param: number };
  for: string;
  severity: 'critical' | 'warning';
  summary: string;
  noDataState: 'OK' | 'NoData' | 'Alerting';
  execErrState: 'Error' | 'Alerting' | 'OK';
}

// The guide's five alerts (its "Setting Up Alerts" list), with thresholds from the vars.
export function alertRuleSpecs(model: StackModel): AlertRuleSpec[] {
  const v = model.vars;
  // Tempo's span metrics (its metrics generator), by service.
  const { service } = SPAN_METRICS;
  const calls = `${SPAN_METRICS.calls}{${SERVER_SPANS}}`;
  const errors = `${SPAN_METRICS.calls}{${SERVER_SPANS}, status_code="STATUS_CODE_ERROR"}`;
  const fs = `fstype!~"${PSEUDO_FS}"`;
  return [
    {
      uid: 'halyard-high-error-rate',
      title: 'High error rate',
      expr: `sum by (${service}) (rate(${errors}[5m])) / sum by (${service}) (rate(${calls}[5m]))`,
      evaluator: { type: 'gt', param: v.alert_error_rate },
      for: '5m',
      severity: 'critical',
      summary: `More than ${Math.round(v.alert_error_rate * 10000) / 100}% of requests to {{ $labels.${service} }} fail.`,
      noDataState: 'OK', // no errors (or no traffic) at all
      execErrState: 'Error',
    },
    {
      uid: 'halyard-high-latency-p95',
      title: 'High latency (p95)',
      expr: `histogram_quantile(0.95, sum by (${service}, le) (rate(${SPAN_METRICS.latencyBucket}{${SERVER_SPANS}}[5m])))`,
      evaluator: { type: 'gt', param: v.alert_latency_p95_seconds },
      for: '5m',
      severity: 'warning',
      summary: `p95 latency of {{ $labels.${service} }} is above ${v.alert_latency_p95_seconds} s.`,
      noDataState: 'OK',
      execErrState: 'Error',
    },
    {
      uid: 'halyard-high-cpu',
      title: 'High CPU usage',
      expr: '100 * (1 - avg by (instance) (rate(node_cpu_seconds_total{mode="idle"}[5m])))',
      evaluator: { type: 'gt', param: v.alert_cpu_percent },
      for: '10m',
      severity: 'warning',
      summary: `CPU of {{ $labels.instance }} is above ${v.alert_cpu_percent}%.`,
      noDataState: 'NoData',
      execErrState: 'Error',
    },
    {
      uid: 'halyard-disk-full',
      title: 'Disk almost full',
      expr: `100 * (1 - node_filesystem_avail_bytes{${fs}} / node_filesystem_size_bytes{${fs}})`,
      evaluator: { type: 'gt', param: v.alert_disk_percent },
      for: '15m',
      severity: 'critical',
      summary: `{{ $labels.mountpoint }} on {{ $labels.instance }} is more than ${v.alert_disk_percent}% full.`,
      noDataState: 'NoData',
      execErrState: 'Error',
    },
    {
      uid: 'halyard-target-down',
      title: 'Container down',
      // up == 0: the collector could not scrape that service. No `up` at all means the collector
      // or Mimir is down, and a failing query means Mimir is: both alert too.
      expr: 'up',
      evaluator: { type: 'lt', param: 1 },
      for: '2m',
      severity: 'critical',
      summary: '{{ $labels.job }} ({{ $labels.instance }}) is down (up == 0).',
      noDataState: 'Alerting',
      execErrState: 'Alerting',
    },
  ];
}

// The halyard daemon's own alerts, from what it exports on /metrics (where the collector scrapes it;
// without those series every rule is OK: a daemon without that kind of job). A daemon that stops
// answering is the `up` rule's business ("Container down", job halyard).
export function halyardAlertRuleSpecs(model: StackModel): AlertRuleSpec[] {
  const hours = model.vars.alert_backup_age_hours;
  return [
    {
      uid: 'halyard-backup-overdue',
      title: 'Backup overdue',
      // The newest backup heartbeat Mimir saw in the lookback: a daemon restart (which forgets its
      // last values until the next backup) neither hides an old backup nor makes a fresh one old.
      expr: `time() - max by (instance, instance_id) (max_over_time(halyard_metric_updated_timestamp_seconds{metric="backup_heartbeat"}[${HALYARD_LOOKBACK}]))`,
      evaluator: { type: 'gt', param: hours * 3600 },
      for: '5m',
      severity: 'critical',
      summary: `No successful backup on {{ $labels.instance_id }} for more than ${hours} h (halyard daemon on {{ $labels.instance }}).`,
      noDataState: 'OK', // no backup job, or none in the lookback
      execErrState: 'Error',
    },
    {
      uid: 'halyard-drift',
      title: 'Drift detected',
      expr: 'max by (instance, job) (halyard_job_last_outcome{field="drifted_hosts"})',
      evaluator: { type: 'gt', param: 0 },
      for: '1m',
      severity: 'warning',
      summary: 'The drift check {{ $labels.job }} of the halyard daemon on {{ $labels.instance }} found hosts with pending changes (its SNS message and log name the tasks).',
      noDataState: 'OK',
      execErrState: 'Error',
    },
    {
      uid: 'halyard-probe-failing',
      title: 'Probe failing',
      expr: 'max by (instance, job) (halyard_job_last_outcome{field="failing_hosts"})',
      evaluator: { type: 'gt', param: 0 },
      // Two 5-minute rounds: one bad round is a blip.
      for: '10m',
      severity: 'critical',
      summary: 'The probe job {{ $labels.job }} of the halyard daemon on {{ $labels.instance }} sees hosts failing a check (disk, Docker, containers, health URLs or SSH).',
      noDataState: 'OK',
      execErrState: 'Error',
    },
  ];
}

// Grafana unified alerting rule: A = the PromQL query, B = last value, C = threshold (the condition).
function rule(spec: AlertRuleSpec) {
  const expression = { type: '__expr__', uid: '__expr__' };
  return {
    uid: spec.uid,
    title: spec.title,
    condition: 'C',
    data: [
      {
        refId: 'A',
        relativeTimeRange: { from: 600, to: 0 },
        datasourceUid: DATASOURCE_UIDS.mimir,
        model: {
          refId: 'A',
          datasource: { type: 'prometheus', uid: DATASOURCE_UIDS.mimir },
          expr: spec.expr,
          instant: true,
          range: false,
          intervalMs: 1000,
          maxDataPoints: 43200,
        },
      },
      {
        refId: 'B',
        datasourceUid: '__expr__',
        model: { refId: 'B', datasource: expression, type: 'reduce', expression: 'A', reducer: 'last', settings: { mode: 'dropNN' } },
      },
      {
        refId: 'C',
        datasourceUid: '__expr__',
        model: {
          refId: 'C',
          datasource: expression,
          type: 'threshold',
          expression: 'B',
          conditions: [{ evaluator: { type: spec.evaluator.type, params: [spec.evaluator.param] } }],
        },
      },
    ],
    noDataState: spec.noDataState,
    execErrState: spec.execErrState,
    for: spec.for,
    // Annotations are not expanded by Grafana's provisioning: {{ $labels.x }} stays a template.
    annotations: { summary: spec.summary },
    labels: { severity: spec.severity, stack: 'observability' },
    isPaused: false,
  };
}

// provisioning/alerting/rules.yml: the guide's five rules in one group and, where the collector
// scrapes the halyard daemon, its three in another; evaluated every minute.
export function grafanaAlertRules(model: StackModel): string {
  const config = {
    apiVersion: 1,
    groups: [
      { orgId: 1, name: 'observability-stack', folder: 'Observability', interval: '1m', rules: alertRuleSpecs(model).map(rule) },
      ...(model.halyardScrape ? [{ orgId: 1, name: 'halyard', folder: 'Observability', interval: '1m', rules: halyardAlertRuleSpecs(model).map(rule) }] : []),
    ],
  };
  return renderYaml(`${MANAGED}\nGrafana alert rules (unified alerting, file provisioning).`, config);
}

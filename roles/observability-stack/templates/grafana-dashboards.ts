import { DATASOURCE_UIDS, HALYARD_SCRAPE, type StackModel } from '../model.js';
import { GRAFANA_DASHBOARDS_MOUNT } from './compose.js';
import { SPAN_METRICS } from './grafana-datasources.js';
import { LOKI_SERVICE_LABEL } from './loki.js';
import { MANAGED, renderYaml } from './yaml.js';

const MIMIR = { type: 'prometheus', uid: DATASOURCE_UIDS.mimir } as const;
const LOKI = { type: 'loki', uid: DATASOURCE_UIDS.loki } as const;
const TEMPO = { type: 'tempo', uid: DATASOURCE_UIDS.tempo } as const;

// File systems that are not the host's disks.
export const PSEUDO_FS = 'tmpfs|overlay|squashfs|nsfs|ramfs|devtmpfs|fuse.lxcfs';

// Span metrics of server spans (requests the app answered), from Tempo's metrics generator.
export const SERVER_SPANS = 'span_kind="SPAN_KIND_SERVER"';

interface Target {
  expr: string;
  legend?: string;
}

// One time-series panel on a 24-column grid.
function timeseries(
  title: string,
  datasource: { type: string; uid: string },
  targets: Target[],
  grid: { x: number; y: number; w: number; h: number },
  unit: string,
  extra: { min?: number; max?: number; description?: string } = {},
) {
  return {
    type: 'timeseries',
    title,
    ...(extra.description ? { description: extra.description } : {}),
    datasource,
    gridPos: grid,
    fieldConfig: {
      defaults: { unit, ...(extra.min !== undefined ? { min: extra.min } : {}), ...(extra.max !== undefined ? { max: extra.max } : {}) },
      overrides: [],
    },
    options: { legend: { displayMode: 'list', placement: 'bottom', showLegend: true }, tooltip: { mode: 'multi', sort: 'desc' } },
    targets: targets.map((target, index) => ({
      refId: String.fromCharCode(65 + index),
      datasource,
      expr: target.expr,
      legendFormat: target.legend ?? '__auto',
      range: true,
    })),
  };
}

// One stat panel: the last value of each series of instant queries, colored by thresholds.
function stat(
  title: string,
  targets: Target[],
  grid: { x: number; y: number; w: number; h: number },
  unit: string,
  extra: { description?: string; thresholds?: Array<{ value: number | null; color: string }> } = {},
) {
  return {
    type: 'stat',
    title,
    ...(extra.description ? { description: extra.description } : {}),
    datasource: MIMIR,
    gridPos: grid,
    fieldConfig: {
      defaults: { unit, thresholds: { mode: 'absolute', steps: extra.thresholds ?? [{ value: null, color: 'blue' }] } },
      overrides: [],
    },
    options: {
      reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false },
      colorMode: 'background',
      graphMode: 'none',
      textMode: 'value_and_name',
      justifyMode: 'auto',
      orientation: 'auto',
    },
    targets: targets.map((target, index) => ({
      refId: String.fromCharCode(65 + index),
      datasource: MIMIR,
      expr: target.expr,
      legendFormat: target.legend ?? '__auto',
      instant: true,
      range: false,
    })),
  };
}

function variable(name: string, label: string, datasource: { type: string; uid: string }, query: string, current?: string) {
  return {
    name,
    label,
    type: 'query',
    datasource,
    query,
    definition: query,
    refresh: 2,
    includeAll: true,
    multi: true,
    allValue: '.+',
    sort: 1,
    current: current ? { selected: true, text: [current], value: [current] } : { selected: true, text: ['All'], value: ['$__all'] },
  };
}

function dashboard(uid: string, title: string, tags: string[], panels: unknown[], variables: unknown[]) {
  return {
    uid,
    title,
    tags: ['halyard', ...tags],
    description: MANAGED,
    editable: false,
    timezone: 'browser',
    schemaVersion: 39,
    version: 1,
    refresh: '30s',
    time: { from: 'now-6h', to: 'now' },
    templating: { list: variables },
    annotations: { list: [] },
    panels: panels.map((panel, index) => ({ id: index + 1, ...(panel as object) })),
  };
}

// Host metrics from node-exporter: CPU, memory, disk, network, and which scrape targets are up.
export function hostDashboard(_model: StackModel): string {
  const i = 'instance=~"$instance"';
  const fs = `${i}, fstype!~"${PSEUDO_FS}"`;
  const nic = `${i}, device!~"lo|veth.*|docker.*|br-.*"`;
  const panels = [
    timeseries(
      'CPU busy',
      MIMIR,
      [{ expr: `100 * (1 - avg by (instance) (rate(node_cpu_seconds_total{mode="idle", ${i}}[$__rate_interval])))`, legend: '{{instance}}' }],
      { x: 0, y: 0, w: 12, h: 8 },
      'percent',
      { min: 0, max: 100 },
    ),
    timeseries(
      'Memory used',
      MIMIR,
      [{ expr: `100 * (1 - node_memory_MemAvailable_bytes{${i}} / node_memory_MemTotal_bytes{${i}})`, legend: '{{instance}}' }],
      { x: 12, y: 0, w: 12, h: 8 },
      'percent',
      { min: 0, max: 100 },
    ),
    timeseries(
      'Disk used',
      MIMIR,
      [{ expr: `100 * (1 - node_filesystem_avail_bytes{${fs}} / node_filesystem_size_bytes{${fs}})`, legend: '{{instance}} {{mountpoint}}' }],
      { x: 0, y: 8, w: 12, h: 8 },
      'percent',
      { min: 0, max: 100 },
    ),
    timeseries(
      'Network I/O',
      MIMIR,
      [
        { expr: `sum by (instance, device) (rate(node_network_receive_bytes_total{${nic}}[$__rate_interval]))`, legend: '{{instance}} {{device}} in' },
        { expr: `-sum by (instance, device) (rate(node_network_transmit_bytes_total{${nic}}[$__rate_interval]))`, legend: '{{instance}} {{device}} out' },
      ],
      { x: 12, y: 8, w: 12, h: 8 },
      'Bps',
    ),
    timeseries(
      'Scrape targets up (1 = up)',
      MIMIR,
      [{ expr: 'up', legend: '{{job}} {{instance}}' }],
      { x: 0, y: 16, w: 24, h: 6 },
      'none',
      { min: 0, max: 1, description: 'up of every service the collector scrapes: 0 means the container is down' },
    ),
  ];
  const model = dashboard('halyard-host', 'Host metrics', ['node-exporter'], panels, [
    variable('instance', 'Host', MIMIR, 'label_values(node_cpu_seconds_total, instance)'),
  ]);
  return `${JSON.stringify(model, null, 2)}\n`;
}

// Logs from Loki: volume per service and the log lines, filterable.
export function logsDashboard(_model: StackModel): string {
  const label = LOKI_SERVICE_LABEL;
  const selector = `{${label}=~"$service"} |~ "$search"`;
  const panels = [
    timeseries(
      'Log volume',
      LOKI,
      [{ expr: `sum by (${label}) (count_over_time(${selector} [$__interval]))`, legend: `{{${label}}}` }],
      { x: 0, y: 0, w: 24, h: 6 },
      'short',
    ),
    {
      type: 'logs',
      title: 'Logs',
      datasource: LOKI,
      gridPos: { x: 0, y: 6, w: 24, h: 18 },
      options: { showTime: true, wrapLogMessage: true, sortOrder: 'Descending', enableLogDetails: true, dedupStrategy: 'none' },
      targets: [{ refId: 'A', datasource: LOKI, expr: selector, queryType: 'range' }],
    },
  ];
  const model = dashboard('halyard-logs', 'Logs', ['loki'], panels, [
    variable('service', 'Service', LOKI, `label_values(${label})`),
    { name: 'search', label: 'Search (regex)', type: 'textbox', query: '', current: { text: '', value: '' } },
  ]);
  return `${JSON.stringify(model, null, 2)}\n`;
}

// RED metrics of the app from Tempo's span metrics (request rate, error rate, p95 latency), and the
// service map Grafana draws from Tempo's service-graph metrics.
export function appRedDashboard(model: StackModel): string {
  const { calls, latencyBucket, service } = SPAN_METRICS;
  const s = `${service}=~"$service", ${SERVER_SPANS}`;
  const panels = [
    timeseries(
      'Request rate',
      MIMIR,
      [{ expr: `sum by (${service}) (rate(${calls}{${s}}[$__rate_interval]))`, legend: `{{${service}}}` }],
      { x: 0, y: 0, w: 8, h: 8 },
      'reqps',
    ),
    timeseries(
      'Error rate',
      MIMIR,
      [
        {
          expr:
            `100 * sum by (${service}) (rate(${calls}{${s}, status_code="STATUS_CODE_ERROR"}[$__rate_interval]))` +
            ` / sum by (${service}) (rate(${calls}{${s}}[$__rate_interval]))`,
          legend: `{{${service}}}`,
        },
      ],
      { x: 8, y: 0, w: 8, h: 8 },
      'percent',
      { min: 0 },
    ),
    timeseries(
      'Latency p95',
      MIMIR,
      [
        {
          expr: `histogram_quantile(0.95, sum by (${service}, le) (rate(${latencyBucket}{${s}}[$__rate_interval])))`,
          legend: `{{${service}}} p95`,
        },
      ],
      { x: 16, y: 0, w: 8, h: 8 },
      's',
      { min: 0 },
    ),
    timeseries(
      'Requests by route',
      MIMIR,
      [{ expr: `sum by (span_name) (rate(${calls}{${s}}[$__rate_interval]))`, legend: '{{span_name}}' }],
      { x: 0, y: 8, w: 24, h: 8 },
      'reqps',
    ),
    {
      type: 'nodeGraph',
      title: 'Service map',
      description: "Calls between services, from Tempo's service-graph metrics in Mimir (the Tempo data source's serviceMap)",
      datasource: TEMPO,
      gridPos: { x: 0, y: 16, w: 24, h: 12 },
      options: {},
      targets: [{ refId: 'A', datasource: TEMPO, queryType: 'serviceMap' }],
    },
  ];
  const dash = dashboard('halyard-app-red', 'Application (RED)', ['app', 'red'], panels, [
    variable('service', 'Service', MIMIR, `label_values(${calls}, ${service})`, model.vars.app_service_name),
  ]);
  return `${JSON.stringify(dash, null, 2)}\n`;
}

// How far back "last success" looks in Mimir: the daemon's own values start again at each restart
// (a new release, a reboot), Mimir keeps what it said before. Also the backup alert's window.
export const HALYARD_LOOKBACK = '7d';

// The halyard daemon watched by the stack it deploys (scrape_halyard_daemon), from the metrics it
// exports on /metrics: each job's last success, duration and runs; backups per host (instance_id):
// age, size, duration; drift and probe results of the last runs; probe values per host; publish
// failures; the daemon's memory and uptime. `instance` is the stack's host (the collector's label).
export function halyardDashboard(model: StackModel): string {
  const i = 'instance=~"$instance"';
  const daemon = `job="${HALYARD_SCRAPE.job}", ${i}`;
  const backupAge = model.vars.alert_backup_age_hours * 3600;
  const panels = [
    stat(
      'Since the last success, per job',
      [
        {
          expr: `time() - max by (instance, job) (max_over_time(halyard_job_last_success_timestamp_seconds{${i}}[${HALYARD_LOOKBACK}]) > 0)`,
          legend: '{{job}}',
        },
      ],
      { x: 0, y: 0, w: 10, h: 6 },
      's',
      { description: `Age of each job's last successful run: the newest success Mimir saw in ${HALYARD_LOOKBACK} (the daemon forgets at a restart).` },
    ),
    stat(
      'Since the last backup, per host',
      [
        {
          expr: `time() - max by (instance, instance_id) (max_over_time(halyard_metric_updated_timestamp_seconds{metric="backup_heartbeat", ${i}}[${HALYARD_LOOKBACK}]))`,
          legend: '{{instance_id}}',
        },
      ],
      { x: 10, y: 0, w: 10, h: 6 },
      's',
      {
        description: `When a backup job last backed up a volume of the host (its BackupHeartbeat); red past alert_backup_age_hours (${model.vars.alert_backup_age_hours} h).`,
        thresholds: [
          { value: null, color: 'green' },
          { value: backupAge, color: 'red' },
        ],
      },
    ),
    stat(
      'Daemon uptime',
      [{ expr: `time() - process_start_time_seconds{${daemon}}`, legend: '{{instance}}' }],
      { x: 20, y: 0, w: 4, h: 6 },
      's',
      { description: "A restart starts the daemon's own counters and last values again (Mimir keeps the old ones)" },
    ),
    timeseries(
      'Job duration (mean per run since the daemon started)',
      MIMIR,
      [{ expr: `halyard_job_duration_seconds_sum{${i}} / halyard_job_duration_seconds_count{${i}}`, legend: '{{job}}' }],
      { x: 0, y: 6, w: 12, h: 8 },
      's',
      { min: 0 },
    ),
    timeseries(
      'Job runs in the last hour, by result',
      MIMIR,
      [{ expr: `sum by (instance, job, result) (increase(halyard_job_runs_total{${i}}[1h]))`, legend: '{{job}} {{result}}' }],
      { x: 12, y: 6, w: 12, h: 8 },
      'short',
      { min: 0 },
    ),
    timeseries(
      'Backup size (last backup, per host)',
      MIMIR,
      [{ expr: `max by (instance, instance_id) (halyard_backup_bytes{${i}})`, legend: '{{instance_id}}' }],
      { x: 0, y: 14, w: 8, h: 8 },
      'bytes',
      { min: 0, description: "BackupBytes of the host's last backed-up volume" },
    ),
    timeseries(
      'Backup duration (last backup, per host)',
      MIMIR,
      [{ expr: `max by (instance, instance_id) (halyard_backup_duration_seconds{${i}})`, legend: '{{instance_id}}' }],
      { x: 8, y: 14, w: 8, h: 8 },
      's',
      { min: 0 },
    ),
    timeseries(
      'Backup: files changed while read (last backup, per host)',
      MIMIR,
      [{ expr: `max by (instance, instance_id) (halyard_backup_changed_files{${i}})`, legend: '{{instance_id}}' }],
      { x: 16, y: 14, w: 8, h: 8 },
      'short',
      { min: 0, description: 'BackupChangedFiles: files tar saw change as it read them. Above 0 the copy was taken while its data was written, and those files may be torn: stop what writes there for a consistent copy (stop:, service: or the halyard.backup.stop=true label).' },
    ),
    timeseries(
      'Drift: hosts with pending changes (last check)',
      MIMIR,
      [
        { expr: `max by (instance, job) (halyard_job_last_outcome{field="drifted_hosts", ${i}})`, legend: '{{job}} drifted' },
        { expr: `max by (instance, job) (halyard_job_last_outcome{field="hosts", ${i}})`, legend: '{{job}} hosts' },
      ],
      { x: 0, y: 22, w: 8, h: 8 },
      'short',
      { min: 0, description: "The last drift check's result: the hosts it found drifted (SNS says which) and the hosts of its inventory" },
    ),
    timeseries(
      'Probes: hosts failing a check (last round)',
      MIMIR,
      [{ expr: `max by (instance, job) (halyard_job_last_outcome{field="failing_hosts", ${i}})`, legend: '{{job}}' }],
      { x: 8, y: 22, w: 8, h: 8 },
      'short',
      { min: 0, description: 'Hosts with a failing check (disk, Docker, containers, health URLs, SSH) in the last probe round' },
    ),
    timeseries(
      'Probes per host: Docker up, unhealthy containers',
      MIMIR,
      [
        { expr: `min by (instance, instance_id) (halyard_docker_daemon_up{${i}})`, legend: '{{instance_id}} docker up' },
        { expr: `max by (instance, instance_id) (halyard_unhealthy_containers{${i}})`, legend: '{{instance_id}} unhealthy containers' },
      ],
      { x: 16, y: 22, w: 8, h: 8 },
      'short',
      { min: 0 },
    ),
    timeseries(
      'Probes per host: disk used',
      MIMIR,
      [{ expr: `max by (instance, instance_id) (halyard_disk_used_percent{${i}})`, legend: '{{instance_id}}' }],
      { x: 0, y: 30, w: 8, h: 8 },
      'percent',
      { min: 0, max: 100 },
    ),
    timeseries(
      'Publish failures in the last hour (CloudWatch, SNS)',
      MIMIR,
      [{ expr: `sum by (instance, target) (increase(halyard_publish_failures_total{${i}}[1h]))`, legend: '{{target}}' }],
      { x: 8, y: 30, w: 8, h: 8 },
      'short',
      { min: 0, description: 'Failed publishes never fail a job; the values stay on /metrics' },
    ),
    timeseries(
      'Daemon memory (RSS)',
      MIMIR,
      [{ expr: `process_resident_memory_bytes{${daemon}}`, legend: '{{instance}}' }],
      { x: 16, y: 30, w: 8, h: 8 },
      'bytes',
      { min: 0 },
    ),
  ];
  const dash = dashboard('halyard', 'halyard', ['daemon'], panels, [variable('instance', 'Host', MIMIR, 'label_values(halyard_job_runs_total, instance)')]);
  return `${JSON.stringify(dash, null, 2)}\n`;
}

// Dashboard JSON files by file name (under install_dir/grafana/dashboards); the halyard one where
// the collector scrapes the daemon.
export function dashboardFiles(model: StackModel): Record<string, string> {
  return {
    'host.json': hostDashboard(model),
    'logs.json': logsDashboard(model),
    'app-red.json': appRedDashboard(model),
    ...(model.halyardScrape ? { 'halyard.json': halyardDashboard(model) } : {}),
  };
}

// provisioning/dashboards/dashboards.yml: loads the dashboard JSON files into the "Observability" folder.
export function grafanaDashboardProvider(_model: StackModel): string {
  const config = {
    apiVersion: 1,
    providers: [
      {
        name: 'observability-stack',
        orgId: 1,
        folder: 'Observability',
        type: 'file',
        disableDeletion: true,
        allowUiUpdates: false,
        updateIntervalSeconds: 60,
        options: { path: GRAFANA_DASHBOARDS_MOUNT, foldersFromFilesStructure: false },
      },
    ],
  };
  return renderYaml(`${MANAGED}\nGrafana dashboards provider: the JSON files in ${GRAFANA_DASHBOARDS_MOUNT}.`, config);
}

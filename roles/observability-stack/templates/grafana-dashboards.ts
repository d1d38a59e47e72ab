import { DATASOURCE_UIDS, type StackModel } from '../model.js';
import { GRAFANA_DASHBOARDS_MOUNT } from './compose.js';
import { MANAGED, renderYaml } from './yaml.js';

const MIMIR = { type: 'prometheus', uid: DATASOURCE_UIDS.mimir } as const;
const LOKI = { type: 'loki', uid: DATASOURCE_UIDS.loki } as const;

// File systems that are not the host's disks.
export const PSEUDO_FS = 'tmpfs|overlay|squashfs|nsfs|ramfs|devtmpfs|fuse.lxcfs';

// Span metrics of server spans (requests the app answered), from the collector's spanmetrics connector.
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

// Logs from Loki: volume per job and the log lines, filterable.
export function logsDashboard(_model: StackModel): string {
  const selector = '{job=~"$job"} |~ "$search"';
  const panels = [
    timeseries(
      'Log volume',
      LOKI,
      [{ expr: `sum by (job) (count_over_time(${selector} [$__interval]))`, legend: '{{job}}' }],
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
    variable('job', 'Service', LOKI, 'label_values(job)'),
    { name: 'search', label: 'Search (regex)', type: 'textbox', query: '', current: { text: '', value: '' } },
  ]);
  return `${JSON.stringify(model, null, 2)}\n`;
}

// RED metrics of the app from the collector's span metrics: request rate, error rate, p95 latency.
export function appRedDashboard(model: StackModel): string {
  const s = `service_name=~"$service", ${SERVER_SPANS}`;
  const panels = [
    timeseries(
      'Request rate',
      MIMIR,
      [{ expr: `sum by (service_name) (rate(traces_span_metrics_calls_total{${s}}[$__rate_interval]))`, legend: '{{service_name}}' }],
      { x: 0, y: 0, w: 8, h: 8 },
      'reqps',
    ),
    timeseries(
      'Error rate',
      MIMIR,
      [
        {
          expr:
            `100 * sum by (service_name) (rate(traces_span_metrics_calls_total{${s}, status_code="STATUS_CODE_ERROR"}[$__rate_interval]))` +
            ` / sum by (service_name) (rate(traces_span_metrics_calls_total{${s}}[$__rate_interval]))`,
          legend: '{{service_name}}',
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
          expr: `histogram_quantile(0.95, sum by (service_name, le) (rate(traces_span_metrics_duration_seconds_bucket{${s}}[$__rate_interval])))`,
          legend: '{{service_name}} p95',
        },
      ],
      { x: 16, y: 0, w: 8, h: 8 },
      's',
      { min: 0 },
    ),
    timeseries(
      'Requests by route',
      MIMIR,
      [{ expr: `sum by (span_name) (rate(traces_span_metrics_calls_total{${s}}[$__rate_interval]))`, legend: '{{span_name}}' }],
      { x: 0, y: 8, w: 24, h: 8 },
      'reqps',
    ),
  ];
  const dash = dashboard('halyard-app-red', 'Application (RED)', ['app', 'red'], panels, [
    variable('service', 'Service', MIMIR, 'label_values(traces_span_metrics_calls_total, service_name)', model.vars.app_service_name),
  ]);
  return `${JSON.stringify(dash, null, 2)}\n`;
}

// Dashboard JSON files by file name (under install_dir/grafana/dashboards).
export function dashboardFiles(model: StackModel): Record<string, string> {
  return {
    'host.json': hostDashboard(model),
    'logs.json': logsDashboard(model),
    'app-red.json': appRedDashboard(model),
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

import { HALYARD_SCRAPE, INTERNAL_PORTS, type StackModel } from '../model.js';
import { MANAGED, renderYaml } from './yaml.js';

// A Prometheus scrape job of the collector's prometheus receiver.
function scrapeJob(name: string, target: string, extra: Record<string, unknown> = {}) {
  return { job_name: name, scrape_interval: '15s', ...extra, static_configs: [{ targets: [target] }] };
}

// The halyard daemon on the host. honor_labels: its series keep the daemon's `job` label (the name
// of the daemon's job) instead of becoming exported_job; `instance` names the stack's host, as for
// node-exporter (the target's address is the same on every host).
function halyardScrapeJob(model: StackModel, target: string) {
  return {
    job_name: HALYARD_SCRAPE.job,
    scrape_interval: '15s',
    honor_labels: true,
    static_configs: [{ targets: [target], labels: { instance: model.hostname } }],
  };
}

// Loki's native OTLP endpoint: the otlphttp exporter appends /v1/logs (Loki serves /otlp/v1/logs).
export const LOKI_OTLP_ENDPOINT = `http://loki:${INTERNAL_PORTS.loki}/otlp`;

// The exporter names of the pipelines, for the tests and the README.
export const EXPORTERS = { logs: 'otlphttp/loki', traces: 'otlp/tempo', metrics: 'prometheusremotewrite' } as const;

// otel-collector-config.yml: the guide's pipelines (OTLP in; logs to Loki's native OTLP endpoint,
// traces to Tempo, metrics and node-exporter scrapes to Mimir), scrapes of every service's /metrics
// (their `up` series feeds the container-down alert), a memory limiter, the health_check extension
// (13133) and the collector's own metrics (8888); and, where the host runs it, the halyard daemon's
// /metrics (jobs, backups, drift, probes), reached through the host gateway. Span metrics and
// service graphs come from Tempo's metrics generator (tempo.ts), so the collector has no connector.
// Components used are in the contrib image the role pins (README "Upstream versions"); the
// deprecated `loki` exporter is not used (removed from collector-contrib in 0.131.0).
export function otelCollectorConfig(model: StackModel): string {
  const v = model.vars;
  const scrapes = [
    {
      job_name: 'node-exporter',
      scrape_interval: '15s',
      // node-exporter runs in the host's network namespace; it listens on the network's gateway too.
      static_configs: [{ targets: [`${v.network_gateway}:${v.node_exporter_port}`], labels: { instance: model.hostname } }],
    },
    scrapeJob('otel-collector', `127.0.0.1:${INTERNAL_PORTS.collectorMetrics}`),
    scrapeJob('loki', `loki:${INTERNAL_PORTS.loki}`),
    scrapeJob('tempo', `tempo:${INTERNAL_PORTS.tempo}`),
    scrapeJob('mimir', `mimir:${INTERNAL_PORTS.mimir}`),
    scrapeJob('grafana', `grafana:${INTERNAL_PORTS.grafana}`),
    ...(v.app_metrics_path ? [scrapeJob('app', `app:${v.app_port}`, { metrics_path: v.app_metrics_path })] : []),
    ...(model.halyardScrape ? [halyardScrapeJob(model, model.halyardScrape.target)] : []),
  ];
  const processors = ['memory_limiter', 'batch'];
  const config = {
    extensions: {
      health_check: { endpoint: `0.0.0.0:${INTERNAL_PORTS.collectorHealth}` },
    },
    receivers: {
      otlp: {
        protocols: {
          grpc: { endpoint: `0.0.0.0:${INTERNAL_PORTS.otlpGrpc}` },
          http: { endpoint: `0.0.0.0:${INTERNAL_PORTS.otlpHttp}` },
        },
      },
      prometheus: { config: { scrape_configs: scrapes } },
    },
    processors: {
      memory_limiter: { check_interval: '1s', limit_percentage: 80, spike_limit_percentage: 20 },
      batch: { timeout: '10s' },
    },
    exporters: {
      // OTLP/HTTP to Loki: resource attributes become labels or structured metadata per loki.ts.
      [EXPORTERS.logs]: { endpoint: LOKI_OTLP_ENDPOINT },
      [EXPORTERS.traces]: { endpoint: `tempo:${INTERNAL_PORTS.tempoOtlpGrpc}`, tls: { insecure: true } },
      [EXPORTERS.metrics]: { endpoint: `http://mimir:${INTERNAL_PORTS.mimir}/api/v1/push` },
    },
    service: {
      extensions: ['health_check'],
      telemetry: {
        metrics: {
          level: 'normal',
          readers: [{ pull: { exporter: { prometheus: { host: '0.0.0.0', port: INTERNAL_PORTS.collectorMetrics } } } }],
        },
      },
      pipelines: {
        logs: { receivers: ['otlp'], processors, exporters: [EXPORTERS.logs] },
        traces: { receivers: ['otlp'], processors, exporters: [EXPORTERS.traces] },
        metrics: { receivers: ['otlp', 'prometheus'], processors, exporters: [EXPORTERS.metrics] },
      },
    },
  };
  return renderYaml(`${MANAGED}\nOpenTelemetry Collector: OTLP in; logs -> Loki (OTLP), traces -> Tempo, metrics -> Mimir.`, config);
}

// The stack's configs checked against the upstream schemas of the releases the role pins.
//
// What this can and cannot prove, said plainly: no Loki, Tempo, Mimir, Grafana or collector binary
// runs here (no registry is reachable, Debian packages none of them, and the lab's e2e runs busybox
// stand-ins), so no service is asked whether it accepts these files. Instead every key path each
// file uses must be one the upstream release documents, read from its source at the pinned tag
// (the allow-lists below name where), and the pieces that must agree with each other (the OTLP
// endpoint and Loki's limits, Tempo's remote write and Mimir's push URL, the metric and label
// names the dashboards query and what Tempo's metrics generator and Loki's OTLP endpoint produce)
// are checked to agree. A misspelt or moved key fails here; a value a service rejects at run time
// for other reasons would not.
import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { parse } from 'yaml';
import { observabilityStackModel, SERVICES } from '../../roles/observability-stack/index.js';
import { INTERNAL_PORTS } from '../../roles/observability-stack/model.js';
import { alertRuleSpecs } from '../../roles/observability-stack/templates/grafana-alerting.js';
import { dashboardFiles } from '../../roles/observability-stack/templates/grafana-dashboards.js';
import { grafanaDatasources, SPAN_METRICS } from '../../roles/observability-stack/templates/grafana-datasources.js';
import { LOKI_INDEX_ATTRIBUTES, LOKI_SERVICE_LABEL, lokiConfig } from '../../roles/observability-stack/templates/loki.js';
import { MIMIR_MAX_EXEMPLARS, mimirConfig } from '../../roles/observability-stack/templates/mimir.js';
import { EXPORTERS, LOKI_OTLP_ENDPOINT, otelCollectorConfig } from '../../roles/observability-stack/templates/otel-collector.js';
import { MIMIR_REMOTE_WRITE, TEMPO_DATA, TEMPO_GENERATOR_PROCESSORS, tempoConfig } from '../../roles/observability-stack/templates/tempo.js';

type Doc = Record<string, any>;

const SECRETS = { grafana_admin_password: 'g-secret', postgres_password: 'p-secret' };
const S3 = { backend: 's3', bucket: 'acme-telemetry', region: 'eu-west-1', endpoint: 'minio.internal:9000' };
// Var sets that reach every branch of the templates.
const VARIANTS: Record<string, Record<string, unknown>> = {
  defaults: {},
  's3 everywhere, halyard daemon scraped, no app metrics': {
    loki_storage: S3,
    tempo_storage: { ...S3, endpoint: undefined },
    mimir_storage: S3,
    halyard_daemon_config: { jobs: [] },
    scrape_halyard_daemon: 'auto',
    app_metrics_path: '',
  },
  'tls off, custom retention': { tls_enabled: false, loki_retention: '168h', tempo_retention: '48h', mimir_retention: '720h' },
};
const modelOf = (vars: Record<string, unknown> = {}) => observabilityStackModel({ name: 'obs-1', vars: { ...SECRETS, ...vars } });

// The releases the configs were read against: the role's default images, and the upstream source
// each allow-list was taken from (tags of the upstream repositories). README "Upstream versions"
// says the same to users.
const READ_AGAINST = {
  'otel-collector': {
    image: 'otel/opentelemetry-collector-contrib:0.131.0',
    source:
      'open-telemetry/opentelemetry-collector v0.131.0: exporter/otlphttpexporter/README.md, internal/memorylimiter/config.go, processor/batchprocessor/config.go, ' +
      'service/telemetry/internal/migration/v0.3.0.go (metrics readers); collector-contrib 0.131.0 (the first release without the loki exporter): ' +
      'receiver/prometheusreceiver, exporter/prometheusremotewriteexporter, extension/healthcheckextension',
  },
  loki: {
    image: 'grafana/loki:3.3.2',
    source:
      'grafana/loki v3.3.2: pkg/loghttp/push/otlp_config.go (otlp_config, index_label), pkg/validation/limits.go, pkg/loki/modules.go (/otlp/v1/logs), ' +
      'docs/sources/send-data/otel/_index.md, docs/sources/shared/configuration.md',
  },
  tempo: {
    image: 'grafana/tempo:2.6.1',
    source:
      'grafana/tempo v2.6.1: modules/generator/{config.go,storage/config.go,registry/config.go}, modules/generator/processor/{spanmetrics,servicegraphs}, ' +
      'modules/overrides/config.go (overrides.defaults.metrics_generator.processors), cmd/tempo/app/modules.go (the single binary runs the generator), ' +
      'example/docker-compose/shared/tempo.yaml',
  },
  mimir: { image: 'grafana/mimir:2.14.2', source: 'grafana/mimir 2.14: pkg/util/validation/limits.go (max_global_exemplars_per_user), docs configuration-parameters' },
  grafana: { image: 'grafana/grafana:11.4.0', source: 'Grafana 11.4 data source provisioning: Loki derivedFields matcherType label, Tempo tracesToLogsV2 customQuery, serviceMap' },
} as const;

// Key paths each file may use, from the sources above: `[]` is a list item, `*` a key the user
// names (labels, component and pipeline ids are reduced to their type, e.g. otlphttp/loki -> otlphttp).
const ALLOWED: Record<'otel-collector' | 'loki' | 'tempo' | 'mimir', string[]> = {
  'otel-collector': [
    'extensions.health_check.endpoint',
    'receivers.otlp.protocols.grpc.endpoint',
    'receivers.otlp.protocols.http.endpoint',
    // The prometheus receiver embeds Prometheus's scrape_config.
    'receivers.prometheus.config.scrape_configs[].job_name',
    'receivers.prometheus.config.scrape_configs[].scrape_interval',
    'receivers.prometheus.config.scrape_configs[].honor_labels',
    'receivers.prometheus.config.scrape_configs[].metrics_path',
    'receivers.prometheus.config.scrape_configs[].static_configs[].targets[]',
    'receivers.prometheus.config.scrape_configs[].static_configs[].labels.*',
    'processors.memory_limiter.check_interval',
    'processors.memory_limiter.limit_percentage',
    'processors.memory_limiter.spike_limit_percentage',
    'processors.batch.timeout',
    'exporters.otlphttp.endpoint',
    'exporters.otlp.endpoint',
    'exporters.otlp.tls.insecure',
    'exporters.prometheusremotewrite.endpoint',
    'service.extensions[]',
    'service.telemetry.metrics.level',
    'service.telemetry.metrics.readers[].pull.exporter.prometheus.host',
    'service.telemetry.metrics.readers[].pull.exporter.prometheus.port',
    'service.pipelines.*.receivers[]',
    'service.pipelines.*.processors[]',
    'service.pipelines.*.exporters[]',
  ],
  loki: [
    'auth_enabled',
    'server.http_listen_port',
    'server.grpc_listen_port',
    'server.log_level',
    'common.instance_addr',
    'common.path_prefix',
    'common.replication_factor',
    'common.ring.kvstore.store',
    'common.storage.filesystem.chunks_directory',
    'common.storage.filesystem.rules_directory',
    'common.storage.s3.bucketnames',
    'common.storage.s3.region',
    'common.storage.s3.endpoint',
    'common.storage.s3.s3forcepathstyle',
    'schema_config.configs[].from',
    'schema_config.configs[].store',
    'schema_config.configs[].object_store',
    'schema_config.configs[].schema',
    'schema_config.configs[].index.prefix',
    'schema_config.configs[].index.period',
    'limits_config.retention_period',
    'limits_config.allow_structured_metadata',
    'limits_config.volume_enabled',
    'limits_config.otlp_config.resource_attributes.attributes_config[].action',
    'limits_config.otlp_config.resource_attributes.attributes_config[].attributes[]',
    'compactor.working_directory',
    'compactor.compaction_interval',
    'compactor.retention_enabled',
    'compactor.retention_delete_delay',
    'compactor.delete_request_store',
    'analytics.reporting_enabled',
  ],
  tempo: [
    'stream_over_http_enabled',
    'server.http_listen_port',
    'server.log_level',
    'distributor.receivers.otlp.protocols.grpc.endpoint',
    'ingester.max_block_duration',
    'metrics_generator.registry.external_labels.*',
    'metrics_generator.storage.path',
    'metrics_generator.storage.remote_write[].url',
    'metrics_generator.storage.remote_write[].send_exemplars',
    'metrics_generator.storage.remote_write_add_org_id_header',
    'compactor.compaction.block_retention',
    'storage.trace.backend',
    'storage.trace.local.path',
    'storage.trace.wal.path',
    'storage.trace.s3.bucket',
    'storage.trace.s3.region',
    'storage.trace.s3.endpoint',
    'storage.trace.s3.forcepathstyle',
    'overrides.defaults.metrics_generator.processors[]',
    'usage_report.reporting_enabled',
  ],
  mimir: [
    'multitenancy_enabled',
    'server.http_listen_port',
    'server.log_level',
    'common.storage.backend',
    'common.storage.filesystem.dir',
    'common.storage.s3.bucket_name',
    'common.storage.s3.region',
    'common.storage.s3.endpoint',
    'common.storage.s3.bucket_lookup_type',
    'blocks_storage.backend',
    'blocks_storage.storage_prefix',
    'blocks_storage.filesystem.dir',
    'blocks_storage.tsdb.dir',
    'blocks_storage.bucket_store.sync_dir',
    'ruler_storage.backend',
    'ruler_storage.storage_prefix',
    'ruler_storage.filesystem.dir',
    'alertmanager_storage.backend',
    'alertmanager_storage.storage_prefix',
    'alertmanager_storage.filesystem.dir',
    'compactor.data_dir',
    'compactor.sharding_ring.kvstore.store',
    'distributor.ring.instance_addr',
    'distributor.ring.kvstore.store',
    'ingester.ring.instance_addr',
    'ingester.ring.kvstore.store',
    'ingester.ring.replication_factor',
    'store_gateway.sharding_ring.replication_factor',
    'ruler.rule_path',
    'alertmanager.data_dir',
    'activity_tracker.filepath',
    'limits.compactor_blocks_retention_period',
    'limits.max_global_exemplars_per_user',
    'usage_stats.enabled',
  ],
};

// Collector sections whose keys are component ids (`type[/name]`); pipelines are ids too.
const COMPONENT_SECTIONS = new Set(['receivers', 'processors', 'exporters', 'extensions', 'connectors']);

// Every leaf of a parsed document as a key path; `generic` maps a path's parts to their pattern.
function keyPaths(value: unknown, parts: string[] = [], generic: (parts: string[]) => string[] = (p) => p): string[] {
  if (Array.isArray(value)) return value.flatMap((item) => keyPaths(item, [...parts, '[]'], generic));
  if (value !== null && typeof value === 'object') return Object.entries(value).flatMap(([key, item]) => keyPaths(item, [...parts, key], generic));
  return [generic(parts).join('.').replace(/\.\[\]/g, '[]')];
}

const USER_NAMED_KEYS = new Set(['labels', 'external_labels']);
function genericParts(parts: string[], collector: boolean): string[] {
  return parts.map((part, index) => {
    const parent = parts[index - 1];
    if (parent !== undefined && USER_NAMED_KEYS.has(parent)) return '*';
    if (collector && index === 1 && parent !== undefined && COMPONENT_SECTIONS.has(parent)) return part.split('/')[0] ?? part;
    if (collector && parent === 'pipelines' && parts[index - 2] === 'service') return '*';
    return part;
  });
}

const RENDER = {
  'otel-collector': otelCollectorConfig,
  loki: lokiConfig,
  tempo: tempoConfig,
  mimir: mimirConfig,
} as const;

describe('every key each config uses is one its pinned upstream release documents', () => {
  for (const [file, render] of Object.entries(RENDER) as [keyof typeof RENDER, (typeof RENDER)[keyof typeof RENDER]][]) {
    test.each(Object.entries(VARIANTS))(`${file}: %s`, (_name, vars) => {
      const doc = parse(render(modelOf(vars))) as Doc;
      const used = keyPaths(doc, [], (parts) => genericParts(parts, file === 'otel-collector'));
      expect(used.length).toBeGreaterThan(15);
      const unknown = used.filter((path) => !ALLOWED[file].includes(path));
      expect(unknown, `${file} keys not in ${READ_AGAINST[file].source}`).toEqual([]);
    });
  }

  test('a key outside the allow-list is caught (the check is not vacuous)', () => {
    const doc = parse(tempoConfig(modelOf())) as Doc;
    doc.metrics_generator.storage.remote_writes = doc.metrics_generator.storage.remote_write;
    doc.overrides.metrics_generator_processors = ['span-metrics'];
    const used = keyPaths(doc, [], (parts) => genericParts(parts, false));
    expect(used.filter((path) => !ALLOWED.tempo.includes(path))).toEqual([
      'metrics_generator.storage.remote_writes[].url',
      'metrics_generator.storage.remote_writes[].send_exemplars',
      'overrides.metrics_generator_processors[]',
    ]);
  });

  test('the role pins exactly the releases these allow-lists were read against, and its README says which', () => {
    const images = modelOf().images;
    for (const [service, read] of Object.entries(READ_AGAINST)) expect(images[service as keyof typeof images], service).toBe(read.image);
    const readme = readFileSync(new URL('../../roles/observability-stack/README.md', import.meta.url), 'utf8');
    const section = readme.slice(readme.indexOf('## Upstream versions'));
    expect(section.length, 'README has an "Upstream versions" section').toBeGreaterThan(100);
    for (const service of SERVICES) expect(section, `README names ${images[service]}`).toContain(`\`${images[service]}\``);
  });
});

describe('collector: logs to Loki over OTLP/HTTP, traces to Tempo, metrics to Mimir', () => {
  const doc = parse(otelCollectorConfig(modelOf())) as Doc;

  test('pipelines logs, traces and metrics, each with an exporter of a type the contrib image ships; no loki exporter', () => {
    const pipelines = doc.service.pipelines as Record<string, Doc>;
    expect(Object.keys(pipelines).sort()).toEqual(['logs', 'metrics', 'traces']);
    expect(Object.fromEntries(Object.entries(pipelines).map(([name, pipeline]) => [name, pipeline.exporters]))).toEqual({
      logs: [EXPORTERS.logs],
      traces: [EXPORTERS.traces],
      metrics: [EXPORTERS.metrics],
    });
    const types = Object.keys(doc.exporters).map((id) => id.split('/')[0]);
    expect(types.sort()).toEqual(['otlp', 'otlphttp', 'prometheusremotewrite']);
    expect(JSON.stringify(doc)).not.toMatch(/"loki"\s*:|lokiexporter|\/loki\/api\/v1\/push/);
  });

  test("the logs exporter's base URL is Loki's OTLP endpoint: compose service loki, its port, /otlp (otlphttp appends /v1/logs)", () => {
    expect(doc.exporters[EXPORTERS.logs]).toEqual({ endpoint: LOKI_OTLP_ENDPOINT });
    expect(LOKI_OTLP_ENDPOINT).toBe(`http://loki:${INTERNAL_PORTS.loki}/otlp`);
    expect(`${new URL(LOKI_OTLP_ENDPOINT).pathname}/v1/logs`).toBe('/otlp/v1/logs');
  });
});

describe("Loki: the limits its OTLP endpoint needs, and the labels the dashboards query", () => {
  test.each(Object.entries(VARIANTS))('structured metadata allowed, tsdb + schema v13 in every period (%s)', (_name, vars) => {
    const doc = parse(lokiConfig(modelOf(vars))) as Doc;
    expect(doc.limits_config.allow_structured_metadata).toBe(true);
    for (const period of doc.schema_config.configs as Doc[]) expect(period).toMatchObject({ store: 'tsdb', schema: 'v13' });
  });

  test('service.name and the other resource attributes the dashboards and links select on stay index labels', () => {
    const doc = parse(lokiConfig(modelOf())) as Doc;
    expect(doc.limits_config.otlp_config).toEqual({
      resource_attributes: { attributes_config: [{ action: 'index_label', attributes: [...LOKI_INDEX_ATTRIBUTES] }] },
    });
    // ignore_defaults stays unset: Loki's own default index list applies before this one.
    expect(doc.limits_config.otlp_config.resource_attributes.ignore_defaults).toBeUndefined();
    // Loki writes an attribute as a label with its dots as underscores.
    const labels = LOKI_INDEX_ATTRIBUTES.map((attribute) => attribute.replace(/\./g, '_'));
    expect(labels).toContain(LOKI_SERVICE_LABEL);
    // Every Loki selector of the dashboards and the trace-to-logs link uses only those labels.
    const lokiExprs = Object.values(dashboardFiles(modelOf()))
      .flatMap((text) => (JSON.parse(text).panels as Doc[]).filter((panel) => panel.datasource.uid === 'loki'))
      .flatMap((panel) => (panel.targets as Doc[]).map((target) => target.expr as string));
    expect(lokiExprs.length).toBeGreaterThan(0);
    for (const expr of lokiExprs) for (const [, label] of expr.matchAll(/\{(\w+)=~?"/g)) expect(labels, expr).toContain(label);
    const tempo = (parse(grafanaDatasources(modelOf())).datasources as Doc[]).find((source) => source.uid === 'tempo');
    for (const tag of tempo?.jsonData.tracesToLogsV2.tags as Doc[]) expect(labels).toContain(tag.value);
  });
});

describe("Tempo: the metrics generator writes service graphs and span metrics to Mimir", () => {
  test.each(Object.entries(VARIANTS))('both processors on for every tenant, remote write to Mimir, WAL in the data dir (%s)', (_name, vars) => {
    const doc = parse(tempoConfig(modelOf(vars))) as Doc;
    expect(doc.overrides.defaults.metrics_generator.processors).toEqual(['service-graphs', 'span-metrics']);
    expect([...TEMPO_GENERATOR_PROCESSORS]).toEqual(['service-graphs', 'span-metrics']);
    expect(doc.metrics_generator.storage.remote_write).toEqual([{ url: MIMIR_REMOTE_WRITE, send_exemplars: true }]);
    // Mimir runs without multitenancy: no tenant header.
    expect(doc.metrics_generator.storage.remote_write_add_org_id_header).toBe(false);
    expect(doc.metrics_generator.storage.path.startsWith(`${TEMPO_DATA}/`)).toBe(true);
  });

  test("the remote write URL is Mimir's push endpoint (compose service mimir, its port), and Mimir keeps the exemplars sent", () => {
    expect(MIMIR_REMOTE_WRITE).toBe(`http://mimir:${INTERNAL_PORTS.mimir}/api/v1/push`);
    const mimir = parse(mimirConfig(modelOf())) as Doc;
    expect(mimir.multitenancy_enabled).toBe(false);
    expect(mimir.limits.max_global_exemplars_per_user).toBe(MIMIR_MAX_EXEMPLARS);
    expect(MIMIR_MAX_EXEMPLARS).toBeGreaterThan(0);
    // The collector writes its metrics to the same endpoint.
    expect((parse(otelCollectorConfig(modelOf())) as Doc).exporters.prometheusremotewrite.endpoint).toBe(MIMIR_REMOTE_WRITE);
  });

  test("the dashboards, alerts and Tempo links query the names Tempo's generator writes (traces_spanmetrics_*, label service)", () => {
    // Tempo 2.6.1 modules/generator/processor/spanmetrics/spanmetrics.go: traces_spanmetrics_calls_total and the
    // histogram traces_spanmetrics_latency (Prometheus: _bucket), intrinsic dimension "service".
    expect(SPAN_METRICS).toEqual({ calls: 'traces_spanmetrics_calls_total', latencyBucket: 'traces_spanmetrics_latency_bucket', service: 'service' });
    const red = (JSON.parse(dashboardFiles(modelOf())['app-red.json'] ?? '{}').panels as Doc[]).filter((panel) => panel.datasource.uid === 'mimir');
    const exprs = [...red.flatMap((panel) => (panel.targets as Doc[]).map((target) => target.expr as string)), ...alertRuleSpecs(modelOf()).slice(0, 2).map((rule) => rule.expr)];
    for (const expr of exprs) {
      const metrics = [...expr.matchAll(/\b(traces_[a-z_]+)\{/g)].map((match) => match[1]);
      expect(metrics.length, expr).toBeGreaterThan(0);
      for (const metric of metrics) expect([SPAN_METRICS.calls, SPAN_METRICS.latencyBucket], expr).toContain(metric);
      expect(expr, expr).not.toContain('service_name');
    }
    // Grafana draws the service map from traces_service_graph_* through the Tempo data source's serviceMap.
    const tempo = (parse(grafanaDatasources(modelOf())).datasources as Doc[]).find((source) => source.uid === 'tempo');
    expect(tempo?.jsonData.serviceMap).toEqual({ datasourceUid: 'mimir' });
  });
});

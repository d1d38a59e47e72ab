import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { parse } from 'yaml';
import { describeRoleVars, type Host, type HostContext, type ResourceInstance, type TaskList } from 'halyard';
import { isSecretText, type SecretText } from '../../src/core/template.js';
import { contextFor } from '../support/host-context.js';
import {
  observabilityStack,
  observabilityStackModel,
  observabilityStackVars,
  renderedFiles,
  REQUIRED_SECRET_VARS,
  restartHandler,
  SERVICES,
} from '../../roles/observability-stack/index.js';
import { CONFIG_FILES, composeFile } from '../../roles/observability-stack/templates/compose.js';
import { envFile } from '../../roles/observability-stack/templates/env.js';
import { halyardDaemonVars } from '../../roles/halyard-daemon/index.js';
import { grafanaAlertRules } from '../../roles/observability-stack/templates/grafana-alerting.js';
import { dashboardFiles, grafanaDashboardProvider } from '../../roles/observability-stack/templates/grafana-dashboards.js';
import { grafanaDatasources } from '../../roles/observability-stack/templates/grafana-datasources.js';
import { lokiConfig } from '../../roles/observability-stack/templates/loki.js';
import { mimirConfig } from '../../roles/observability-stack/templates/mimir.js';
import { nginxConfig } from '../../roles/observability-stack/templates/nginx.js';
import { otelCollectorConfig } from '../../roles/observability-stack/templates/otel-collector.js';
import { tempoConfig } from '../../roles/observability-stack/templates/tempo.js';
import { DOCUMENTED_ROLES, withVarTable } from '../../scripts/role-docs.js';

// Known secret values: any of them in a rendered file other than .env is a leak.
const GRAFANA_PW = 'grafana-Secret-7f3a9';
const POSTGRES_PW = 'pg-Secret-c41d/+@%';
const SECRETS = { grafana_admin_password: GRAFANA_PW, postgres_password: POSTGRES_PW };

type Doc = Record<string, any>;

const modelOf = (vars: Record<string, unknown> = {}, name = 'obs-1') => observabilityStackModel({ name, vars: { ...SECRETS, ...vars } });
const yamlOf = (text: string): Doc => parse(text) as Doc;
const composeOf = (vars: Record<string, unknown> = {}): Doc => yamlOf(composeFile(modelOf(vars)));
const s3 = { backend: 's3', bucket: 'acme-telemetry', region: 'eu-west-1' };
// A host that runs the halyard daemon (its role's var): the collector scrapes it.
// A host running the daemon, with the scrape on where the daemon runs (it is off by default until
// the daemon can listen where the collector's container reaches it).
const DAEMON = { halyard_daemon_config: { jobs: [] }, scrape_halyard_daemon: 'auto' };

// A HostContext for the role (Debian facts), as the engine builds it.
function hostContext(name: string, vars: Record<string, unknown>): HostContext {
  const host: Host = { name, address: '10.0.0.7', port: 22, user: 'admin', privateKeyFile: undefined, become: true, becomePassword: undefined, groups: ['all'], vars };
  return contextFor(host);
}

// The role's tasks for one host, flattened as the engine runs them.
const tasksOf = (vars: Record<string, unknown>, name = 'obs-1') => flatten(observabilityStack.tasks(hostContext(name, vars)));

function flatten(list: TaskList): ResourceInstance[] {
  const out: ResourceInstance[] = [];
  for (const entry of list) {
    if (!entry) continue;
    if (Array.isArray(entry)) out.push(...flatten(entry as TaskList));
    else out.push(entry as ResourceInstance);
  }
  return out;
}

// Every string value of a parsed document, with its path.
function strings(value: unknown, path = ''): [string, string][] {
  if (typeof value === 'string') return [[path, value]];
  if (Array.isArray(value)) return value.flatMap((item, index) => strings(item, `${path}[${index}]`));
  if (value && typeof value === 'object') return Object.entries(value).flatMap(([key, item]) => strings(item, path ? `${path}.${key}` : key));
  return [];
}

describe('otel-collector-config.yml', () => {
  const config = yamlOf(otelCollectorConfig(modelOf()));

  test("has the guide's pipelines: logs -> Loki over OTLP/HTTP, traces -> otlp/tempo, metrics (otlp + prometheus) -> prometheusremotewrite", () => {
    const pipelines = config.service.pipelines;
    expect(Object.keys(pipelines).sort()).toEqual(['logs', 'metrics', 'traces']);
    expect(pipelines.logs).toMatchObject({ receivers: ['otlp'], exporters: ['otlphttp/loki'] });
    expect(pipelines.traces).toMatchObject({ receivers: ['otlp'], exporters: ['otlp/tempo'] });
    expect(pipelines.metrics).toMatchObject({ receivers: ['otlp', 'prometheus'], exporters: ['prometheusremotewrite'] });
    // Span metrics and service graphs come from Tempo's metrics generator: no connector here.
    expect(config.connectors).toBeUndefined();
    for (const pipeline of Object.values<Doc>(pipelines)) expect(pipeline.processors).toContain('batch');
    expect(config.processors.batch.timeout).toBe('10s');
  });

  test('exports to the services by their compose names and ports', () => {
    expect(config.receivers.otlp.protocols.grpc.endpoint).toBe('0.0.0.0:4317');
    // Loki's native OTLP endpoint (otlphttp appends /v1/logs); the deprecated loki exporter is gone.
    expect(config.exporters['otlphttp/loki']).toEqual({ endpoint: 'http://loki:3100/otlp' });
    expect(config.exporters.loki).toBeUndefined();
    expect(config.exporters['otlp/tempo']).toEqual({ endpoint: 'tempo:4317', tls: { insecure: true } });
    expect(config.exporters.prometheusremotewrite.endpoint).toBe('http://mimir:9009/api/v1/push');
  });

  test('every component a pipeline names is defined (receiver, processor, exporter or connector)', () => {
    for (const [name, pipeline] of Object.entries<Doc>(config.service.pipelines)) {
      for (const receiver of pipeline.receivers) expect(config.receivers[receiver] ?? config.connectors?.[receiver], `${name} receiver ${receiver}`).toBeDefined();
      for (const processor of pipeline.processors) expect(config.processors[processor], `${name} processor ${processor}`).toBeDefined();
      for (const exporter of pipeline.exporters) expect(config.exporters[exporter] ?? config.connectors?.[exporter], `${name} exporter ${exporter}`).toBeDefined();
    }
    for (const extension of config.service.extensions) expect(config.extensions[extension]).toBeDefined();
  });

  test('scrapes node-exporter on the network gateway, and every service for its up series; health on 13133, metrics on 8888', () => {
    const jobs = config.receivers.prometheus.config.scrape_configs as Doc[];
    const node = jobs.find((job) => job.job_name === 'node-exporter');
    expect(node?.static_configs).toEqual([{ targets: ['172.28.0.1:9100'], labels: { instance: 'obs-1' } }]);
    expect(jobs.map((job) => job.job_name)).toEqual(['node-exporter', 'otel-collector', 'loki', 'tempo', 'mimir', 'grafana', 'app']);
    expect(config.extensions.health_check.endpoint).toBe('0.0.0.0:13133');
    expect(config.service.telemetry.metrics.readers[0].pull.exporter.prometheus).toEqual({ host: '0.0.0.0', port: 8888 });
    const withoutApp = yamlOf(otelCollectorConfig(modelOf({ app_metrics_path: '' })));
    expect((withoutApp.receivers.prometheus.config.scrape_configs as Doc[]).map((job) => job.job_name)).not.toContain('app');
  });

  test('scrapes the halyard daemon where the host runs it (halyard_daemon_config), through the host gateway, keeping its job label', () => {
    const jobsOf = (vars: Record<string, unknown>) => (yamlOf(otelCollectorConfig(modelOf(vars))).receivers.prometheus.config.scrape_configs as Doc[]);
    const halyardOf = (vars: Record<string, unknown>) => jobsOf(vars).find((job) => job.job_name === 'halyard');
    const daemon = DAEMON;
    expect(halyardOf(daemon)).toEqual({
      job_name: 'halyard',
      scrape_interval: '15s',
      honor_labels: true,
      static_configs: [{ targets: ['host.docker.internal:9464'], labels: { instance: 'obs-1' } }],
    });
    expect(jobsOf(daemon).at(-1)?.job_name).toBe('halyard');
    // The daemon's port: the halyard-daemon role's var of the same name, with the same default.
    expect(halyardDaemonVars.parse({}).halyard_daemon_http_port).toBe(9464);
    expect(halyardOf({ ...daemon, halyard_daemon_http_port: 9470 })?.static_configs[0].targets).toEqual(['host.docker.internal:9470']);
    // auto (default): no daemon var, no scrape; true and false force it.
    expect(halyardOf({})).toBeUndefined();
    expect(halyardOf({ ...daemon, scrape_halyard_daemon: false })).toBeUndefined();
    expect(halyardOf({ scrape_halyard_daemon: true })?.static_configs[0].targets).toEqual(['host.docker.internal:9464']);
    expect(() => modelOf({ scrape_halyard_daemon: 'sometimes' })).toThrow(/scrape_halyard_daemon/);
  });
});

describe('tempo-config.yml', () => {
  test('OTLP gRPC receiver, port 3200, local blocks with retention', () => {
    const config = yamlOf(tempoConfig(modelOf({ tempo_retention: '48h' })));
    expect(config.server.http_listen_port).toBe(3200);
    expect(config.distributor.receivers.otlp.protocols.grpc.endpoint).toBe('0.0.0.0:4317');
    expect(config.storage.trace).toMatchObject({ backend: 'local', local: { path: '/var/tempo/blocks' }, wal: { path: '/var/tempo/wal' } });
    expect(config.compactor.compaction.block_retention).toBe('48h');
  });

  test('S3 backend: bucket, region, the regional endpoint, no keys', () => {
    const text = tempoConfig(modelOf({ tempo_storage: s3 }));
    const trace = yamlOf(text).storage.trace;
    expect(trace.backend).toBe('s3');
    expect(trace.s3).toEqual({ bucket: 'acme-telemetry', region: 'eu-west-1', endpoint: 's3.eu-west-1.amazonaws.com', forcepathstyle: false });
    expect(trace.local).toBeUndefined();
    expect(text).not.toMatch(/access_key|secret_key/i);
    const custom = yamlOf(tempoConfig(modelOf({ tempo_storage: { ...s3, endpoint: 'minio.internal:9000' } }))).storage.trace.s3;
    expect(custom).toMatchObject({ endpoint: 'minio.internal:9000', forcepathstyle: true });
  });
});

describe('loki-config.yml', () => {
  test('single binary, TSDB schema v13 on the filesystem, retention by the compactor', () => {
    const config = yamlOf(lokiConfig(modelOf({ loki_retention: '168h' })));
    expect(config.auth_enabled).toBe(false);
    expect(config.server.http_listen_port).toBe(3100);
    expect(config.schema_config.configs).toEqual([
      { from: '2024-01-01', store: 'tsdb', object_store: 'filesystem', schema: 'v13', index: { prefix: 'index_', period: '24h' } },
    ]);
    expect(config.common.storage.filesystem).toEqual({ chunks_directory: '/loki/chunks', rules_directory: '/loki/rules' });
    expect(config.common.ring.kvstore.store).toBe('inmemory');
    expect(config.limits_config.retention_period).toBe('168h');
    expect(config.compactor).toMatchObject({ retention_enabled: true, delete_request_store: 'filesystem' });
  });

  test('S3 backend switches the object store, the schema and the delete store', () => {
    const text = lokiConfig(modelOf({ loki_storage: s3 }));
    const config = yamlOf(text);
    expect(config.common.storage).toEqual({
      s3: { bucketnames: 'acme-telemetry', region: 'eu-west-1', endpoint: 's3.eu-west-1.amazonaws.com', s3forcepathstyle: false },
    });
    expect(config.schema_config.configs[0]).toMatchObject({ store: 'tsdb', object_store: 's3', schema: 'v13' });
    expect(config.compactor.delete_request_store).toBe('s3');
    expect(text).not.toMatch(/access_key|secret_access/i);
  });
});

describe('mimir-config.yml', () => {
  test('monolithic, no multitenancy, filesystem blocks storage, every path under /var/mimir', () => {
    const config = yamlOf(mimirConfig(modelOf({ mimir_retention: '720h' })));
    expect(config.multitenancy_enabled).toBe(false);
    expect(config.server.http_listen_port).toBe(9009);
    expect(config.blocks_storage).toMatchObject({ backend: 'filesystem', filesystem: { dir: '/var/mimir/blocks' }, tsdb: { dir: '/var/mimir/tsdb' } });
    expect(config.compactor.data_dir).toBe('/var/mimir/compactor');
    expect(config.ingester.ring).toMatchObject({ kvstore: { store: 'inmemory' }, replication_factor: 1 });
    expect(config.limits.compactor_blocks_retention_period).toBe('720h');
    const paths = strings(config).filter(([, value]) => value.startsWith('/'));
    expect(paths.length).toBeGreaterThan(5);
    for (const [where, value] of paths) expect(value, where).toMatch(/^\/var\/mimir(\/|$)/);
  });

  test('S3 backend: one bucket with blocks/ruler/alertmanager prefixes, no keys', () => {
    const text = mimirConfig(modelOf({ mimir_storage: s3 }));
    const config = yamlOf(text);
    expect(config.common.storage).toEqual({ backend: 's3', s3: { bucket_name: 'acme-telemetry', region: 'eu-west-1', endpoint: 's3.eu-west-1.amazonaws.com' } });
    expect(config.blocks_storage.storage_prefix).toBe('blocks');
    expect(config.blocks_storage.backend).toBeUndefined();
    expect(config.ruler_storage.storage_prefix).toBe('ruler');
    expect(config.alertmanager_storage.storage_prefix).toBe('alertmanager');
    expect(text).not.toMatch(/access_key|secret_access/i);
  });
});

describe('nginx.conf', () => {
  test('TLS on (default): 80 answers /healthz and redirects the rest to 443; both locations on 443 with the cert paths', () => {
    const conf = nginxConfig(modelOf());
    const [plain, tls] = conf.split(/\n    server \{\n/).slice(1);
    expect(plain).toContain('listen 80 default_server;');
    expect(plain).toContain('return 301 https://$host$request_uri;');
    expect(plain).toContain('location = /healthz');
    expect(plain).not.toContain('proxy_pass');
    expect(tls).toContain('listen 443 ssl default_server;');
    expect(tls).toContain('ssl_certificate /opt/observability/certs/tls.crt;');
    expect(tls).toContain('ssl_certificate_key /opt/observability/certs/tls.key;');
    expect(tls).toMatch(/location \/ \{\n\s+set \$app_upstream http:\/\/app:8000;\n\s+proxy_pass \$app_upstream;/);
    expect(tls).toMatch(/location \/grafana\/ \{\n\s+set \$grafana_upstream http:\/\/grafana:3000;\n\s+proxy_pass \$grafana_upstream;/);
    expect(conf).toContain('server_name obs-1 _;');
    // Braces balance (a cheap syntax check; images.test.ts runs nginx -t on it).
    expect(conf.split('{').length).toBe(conf.split('}').length);
  });

  test('cert paths from the vars, HSTS only with a real certificate, a non-default https port in the redirect', () => {
    const conf = nginxConfig(
      modelOf({ tls_cert_path: '/etc/letsencrypt/live/obs/fullchain.pem', tls_key_path: '/etc/letsencrypt/live/obs/privkey.pem', https_port: 8443 }),
    );
    expect(conf).toContain('ssl_certificate /etc/letsencrypt/live/obs/fullchain.pem;');
    expect(conf).toContain('ssl_certificate_key /etc/letsencrypt/live/obs/privkey.pem;');
    expect(conf).toContain('Strict-Transport-Security');
    expect(conf).toContain('return 301 https://$host:8443$request_uri;');
    expect(nginxConfig(modelOf())).not.toContain('Strict-Transport-Security');
  });

  test('TLS off: one server on 80 with both locations, no ssl directives', () => {
    const conf = nginxConfig(modelOf({ tls_enabled: false }));
    expect(conf).not.toMatch(/ssl|443|return 301 https/);
    expect(conf).toContain('location / {');
    expect(conf).toContain('location /grafana/ {');
  });
});

describe('docker-compose.yml', () => {
  const compose = composeOf();

  test('has the nine services of the guide, each with an image, the restart policy and a healthcheck', () => {
    expect(Object.keys(compose.services).sort()).toEqual([...SERVICES].sort());
    expect(SERVICES).toHaveLength(9);
    for (const [name, service] of Object.entries<Doc>(compose.services)) {
      expect(service.image, name).toMatch(/\S/);
      expect(service.restart, name).toBe('unless-stopped');
      expect(Array.isArray(service.healthcheck?.test), name).toBe(true);
    }
    expect(composeOf({ restart_policy: 'always' }).services.loki.restart).toBe('always');
  });

  test('healthchecks use what each upstream image has; Mimir (distroless) and the collector (scratch) have none inside', () => {
    const tests = Object.fromEntries(Object.entries<Doc>(compose.services).map(([name, service]) => [name, service.healthcheck.test as string[]]));
    expect(tests.loki).toEqual(['CMD', 'wget', '-q', '-O', '/dev/null', 'http://127.0.0.1:3100/ready']);
    expect(tests.tempo?.at(-1)).toBe('http://127.0.0.1:3200/ready');
    expect(tests.grafana?.at(-1)).toBe('http://127.0.0.1:3000/api/health');
    expect(tests['node-exporter']?.at(-1)).toBe('http://127.0.0.1:9100/metrics');
    expect(tests.nginx?.slice(0, 2)).toEqual(['CMD', 'curl']);
    expect(tests.postgres?.slice(0, 2)).toEqual(['CMD', 'pg_isready']);
    expect(tests.app?.slice(0, 2)).toEqual(['CMD', 'python3']);
    expect(tests.mimir).toEqual(['NONE']);
    expect(tests['otel-collector']).toEqual(['NONE']);
    const override = ['CMD', 'wget', '-q', '-O', '/dev/null', 'http://127.0.0.1:9009/ready'];
    const custom = composeOf({ healthchecks: { mimir: override } }).services.mimir.healthcheck;
    expect(custom).toMatchObject({ test: override, interval: '15s', retries: 5 });
    // The app waits for Postgres to be healthy: its first check comes one interval after the start.
    expect(compose.services.postgres.healthcheck).toMatchObject({ interval: '5s', start_period: '10s' });
  });

  test('limits as deploy.resources.limits and as compose v1 mem_limit/cpus, with equal values', () => {
    for (const [name, service] of Object.entries<Doc>(compose.services)) {
      const limits = service.deploy.resources.limits;
      expect(Number(limits.cpus), name).toBe(service.cpus);
      expect(limits.memory, name).toBe(service.mem_limit);
      expect(service.mem_limit, name).toMatch(/^\d+[kmg]$/);
    }
    expect(compose.services.mimir).toMatchObject({ mem_limit: '768m', cpus: 1 });
    const custom = composeOf({ resources: { loki: { cpus: 2, memory: '1g' } } }).services;
    expect(custom.loki).toMatchObject({ mem_limit: '1g', cpus: 2, deploy: { resources: { limits: { cpus: '2', memory: '1g' } } } });
    expect(custom.tempo.mem_limit).toBe('384m');
  });

  test('only nginx binds beyond 127.0.0.1 by default; published_services opens others', () => {
    const bindings = (doc: Doc) =>
      Object.entries<Doc>(doc.services).flatMap(([name, service]) => ((service.ports ?? []) as string[]).map((port) => [name, port] as const));
    for (const [name, port] of bindings(compose)) {
      if (name === 'nginx') expect(port).toMatch(/^0\.0\.0\.0:(80:80|443:443)$/);
      else expect(port, name).toMatch(/^127\.0\.0\.1:\d+:\d+$/);
    }
    expect(compose.services.nginx.ports).toEqual(['0.0.0.0:80:80', '0.0.0.0:443:443']);
    expect(compose.services.grafana.ports).toEqual(['127.0.0.1:3000:3000']);
    const opened = composeOf({ published_services: ['nginx', 'grafana'], grafana_port: 3001 });
    expect(opened.services.grafana.ports).toEqual(['0.0.0.0:3001:3000']);
    expect(opened.services.loki.ports).toEqual(['127.0.0.1:3100:3100']);
    expect(composeOf({ tls_enabled: false }).services.nginx.ports).toEqual(['0.0.0.0:80:80']);
  });

  test('node-exporter: host network and PID namespace, listening on loopback and the gateway only', () => {
    const node = compose.services['node-exporter'];
    expect(node).toMatchObject({ network_mode: 'host', pid: 'host', volumes: ['/:/host:ro,rslave'] });
    expect(node.ports).toBeUndefined();
    expect(node.command).toEqual(['--path.rootfs=/host', '--web.listen-address=127.0.0.1:9100', '--web.listen-address=172.28.0.1:9100']);
    expect(compose.networks.default.ipam.config).toEqual([{ subnet: '172.28.0.0/24', gateway: '172.28.0.1' }]);
    expect(composeOf({ published_services: ['node-exporter', 'nginx'] }).services['node-exporter'].command).toEqual([
      '--path.rootfs=/host',
      '--web.listen-address=0.0.0.0:9100',
    ]);
  });

  test('the collector resolves host.docker.internal to the host gateway only where it scrapes the halyard daemon', () => {
    expect(compose.services['otel-collector'].extra_hosts).toBeUndefined();
    const scraping = composeOf(DAEMON);
    expect(scraping.services['otel-collector'].extra_hosts).toEqual(['host.docker.internal:host-gateway']);
    for (const [name, service] of Object.entries<Doc>(scraping.services)) if (name !== 'otel-collector') expect(service.extra_hosts, name).toBeUndefined();
    // Nothing else of the file changes: compose recreates the collector alone.
    const { 'otel-collector': collector, ...others } = scraping.services;
    const { 'otel-collector': before, ...othersBefore } = compose.services;
    expect(others).toEqual(othersBefore);
    expect({ ...collector, extra_hosts: undefined }).toEqual({ ...before, extra_hosts: undefined });
  });

  test('mounts the configs the role writes, read-only, and the data directories; Loki/Tempo/Mimir run as 10001', () => {
    const written = new Set(renderedFiles(modelOf()).map((entry) => `/opt/observability/${entry.path}`));
    for (const spec of Object.values(CONFIG_FILES)) {
      const volumes = compose.services[spec.service].volumes as string[];
      expect(volumes).toContain(`/opt/observability/${spec.file}:${spec.mount}:ro`);
      expect(written.has(`/opt/observability/${spec.file}`)).toBe(true);
    }
    expect(compose.services.loki.volumes).toContain('/opt/observability/loki-data:/loki');
    expect(compose.services.tempo.volumes).toContain('/opt/observability/tempo-data:/var/tempo');
    expect(compose.services.mimir.volumes).toContain('/opt/observability/mimir-data:/var/mimir');
    expect(compose.services.grafana.volumes).toEqual([
      '/opt/observability/grafana-data:/var/lib/grafana',
      '/opt/observability/grafana/provisioning:/etc/grafana/provisioning:ro',
      '/opt/observability/grafana/dashboards:/etc/grafana/dashboards:ro',
    ]);
    for (const name of ['loki', 'tempo', 'mimir']) expect(compose.services[name].user).toBe('10001:10001');
    expect(compose.services.nginx.volumes).toContain('/opt/observability/certs:/opt/observability/certs:ro');
  });

  test('postgres data: a bind mount by default, the named volume pg_data on request', () => {
    expect(compose.services.postgres.volumes).toEqual(['/opt/observability/postgres-data:/var/lib/postgresql/data']);
    expect(compose.services.postgres.environment.PGDATA).toBe('/var/lib/postgresql/data/pgdata');
    expect(compose.volumes).toBeUndefined();
    const volume = composeOf({ postgres_storage: 'volume' });
    expect(volume.services.postgres.volumes).toEqual(['pg_data:/var/lib/postgresql/data']);
    expect(volume.volumes).toEqual({ pg_data: {} });
  });

  test('secrets come from .env by ${VAR} references, every one of them defined there', () => {
    const text = composeFile(modelOf());
    const refs = [...text.matchAll(/\$\{([A-Z_]+):\?/g)].map((match) => match[1]);
    expect(refs.sort()).toEqual(['DATABASE_URL', 'GRAFANA_ADMIN_PASSWORD', 'POSTGRES_PASSWORD']);
    const env = envFile(modelOf()).reveal();
    for (const name of refs) expect(env).toMatch(new RegExp(`^${name}='`, 'm'));
    expect(compose.services.grafana.environment.GF_SECURITY_ADMIN_PASSWORD).toMatch(/^\$\{GRAFANA_ADMIN_PASSWORD:\?/);
    expect(compose.services.grafana.environment.GF_SERVER_ROOT_URL).toBe('https://obs-1/grafana/');
    expect(compose.services.grafana.environment.GF_SERVER_SERVE_FROM_SUB_PATH).toBe('true');
  });

  test('app: image, env map (with $ kept literal), port and the collector endpoint; images overrides win', () => {
    const doc = composeOf({ app_image: 'acme/tracker:2.1', app_env: { LOG_LEVEL: 'debug', PRICE: '5$' }, app_port: 8080 });
    expect(doc.services.app.image).toBe('acme/tracker:2.1');
    expect(doc.services.app.environment).toMatchObject({ LOG_LEVEL: 'debug', PRICE: '5$$', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://otel-collector:4317' });
    expect(doc.services.app.ports).toEqual(['127.0.0.1:8080:8080']);
    const overridden = composeOf({ images: { loki: 'mirror.local/loki:3.3.2' }, loki_image: 'grafana/loki:3.0.0' });
    expect(overridden.services.loki.image).toBe('mirror.local/loki:3.3.2');
    expect(overridden.services.tempo.image).toBe('grafana/tempo:2.6.1');
  });

  test('every string that looks like host:port is quoted, so YAML 1.1 readers (compose v1) never see a number', () => {
    const text = composeFile(modelOf());
    expect(text).not.toMatch(/^\s*-\s+[0-9.]+:\d+(:\d+)?\s*$/m);
    expect(text).not.toMatch(/&a\d|\*a\d/);
  });
});

describe('Grafana provisioning', () => {
  test('datasources: Mimir (/prometheus), Loki, Tempo with fixed uids; Tempo links traces to Loki and Mimir', () => {
    const text = grafanaDatasources(modelOf());
    const sources = yamlOf(text).datasources as Doc[];
    const byUid = Object.fromEntries(sources.map((source) => [source.uid, source]));
    expect(Object.keys(byUid).sort()).toEqual(['loki', 'mimir', 'tempo']);
    expect(byUid.mimir).toMatchObject({ type: 'prometheus', url: 'http://mimir:9009/prometheus', isDefault: true });
    expect(byUid.loki).toMatchObject({ type: 'loki', url: 'http://loki:3100' });
    expect(byUid.tempo).toMatchObject({ type: 'tempo', url: 'http://tempo:3200' });
    // Trace -> logs: the service's stream (service.name is the label service_name), then the span's
    // trace id, which Loki's OTLP endpoint keeps as structured metadata trace_id.
    expect(byUid.tempo.jsonData.tracesToLogsV2).toMatchObject({
      datasourceUid: 'loki',
      tags: [{ key: 'service.name', value: 'service_name' }],
      customQuery: true,
      query: '{$${__tags}} | trace_id="$${__trace.traceId}"',
    });
    expect(byUid.tempo.jsonData.tracesToMetrics.datasourceUid).toBe('mimir');
    expect(byUid.tempo.jsonData.tracesToMetrics.tags).toEqual([{ key: 'service.name', value: 'service' }]);
    expect(byUid.tempo.jsonData.tracesToMetrics.queries.map((query: Doc) => query.query)).toEqual([
      'sum(rate(traces_spanmetrics_calls_total{$$__tags}[5m]))',
      'sum(rate(traces_spanmetrics_calls_total{$$__tags, status_code="STATUS_CODE_ERROR"}[5m]))',
      'histogram_quantile(0.95, sum by (le) (rate(traces_spanmetrics_latency_bucket{$$__tags}[5m])))',
    ]);
    expect(byUid.tempo.jsonData.serviceMap).toEqual({ datasourceUid: 'mimir' });
    // Log -> trace: the structured metadata trace_id of each record, not a regex over the line.
    expect(byUid.loki.jsonData.derivedFields).toEqual([{ name: 'TraceID', matcherType: 'label', matcherRegex: 'trace_id', url: '$${__value.raw}', datasourceUid: 'tempo' }]);
    // Grafana expands $VAR in provisioning files: every literal $ must be written $$.
    for (const [where, value] of strings(yamlOf(text))) expect(value.replace(/\$\$/g, ''), where).not.toContain('$');
  });

  test('dashboards: the provider points at the mounted JSON; each JSON parses and uses only the fixed datasource uids', () => {
    const provider = yamlOf(grafanaDashboardProvider(modelOf())).providers[0];
    expect(provider).toMatchObject({ type: 'file', options: { path: '/etc/grafana/dashboards' } });
    expect(Object.keys(dashboardFiles(modelOf())).sort()).toEqual(['app-red.json', 'host.json', 'logs.json']);
    const files = dashboardFiles(modelOf(DAEMON));
    expect(Object.keys(files).sort()).toEqual(['app-red.json', 'halyard.json', 'host.json', 'logs.json']);
    const uids = new Set<string>();
    for (const [name, text] of Object.entries(files)) {
      const dash = JSON.parse(text) as Doc;
      expect(dash.uid, name).toMatch(/^halyard(-|$)/);
      expect(dash.panels.length, name).toBeGreaterThan(0);
      for (const panel of dash.panels as Doc[]) {
        uids.add(panel.datasource.uid);
        for (const target of panel.targets as Doc[]) expect(target.datasource.uid, `${name} ${panel.title}`).toBe(panel.datasource.uid);
      }
    }
    expect([...uids].sort()).toEqual(['loki', 'mimir', 'tempo']);
  });

  test('host dashboard: CPU, memory, disk and network from node-exporter; logs from Loki; RED of the app', () => {
    const files = dashboardFiles(modelOf());
    const exprs = (name: string) =>
      (JSON.parse(files[name] ?? '{}').panels as Doc[]).map((panel) => [panel.title as string, (panel.targets as Doc[]).map((target) => target.expr as string).join(' ')]);
    const host = Object.fromEntries(exprs('host.json'));
    expect(host['CPU busy']).toContain('node_cpu_seconds_total');
    expect(host['Memory used']).toContain('node_memory_MemAvailable_bytes');
    expect(host['Disk used']).toContain('node_filesystem_avail_bytes');
    expect(host['Network I/O']).toContain('node_network_receive_bytes_total');
    // Logs by service_name: the label Loki's OTLP endpoint makes of the resource attribute service.name.
    const logs = JSON.parse(files['logs.json'] ?? '{}') as Doc;
    expect((logs.panels as Doc[]).some((panel) => panel.type === 'logs' && panel.datasource.uid === 'loki')).toBe(true);
    expect(Object.fromEntries(exprs('logs.json'))).toEqual({
      'Log volume': 'sum by (service_name) (count_over_time({service_name=~"$service"} |~ "$search" [$__interval]))',
      Logs: '{service_name=~"$service"} |~ "$search"',
    });
    expect(logs.templating.list[0]).toMatchObject({ name: 'service', query: 'label_values(service_name)', datasource: { uid: 'loki' } });
    // RED from Tempo's span metrics (service label), and the service map from its service graphs.
    const red = Object.fromEntries(exprs('app-red.json'));
    expect(red['Request rate']).toBe('sum by (service) (rate(traces_spanmetrics_calls_total{service=~"$service", span_kind="SPAN_KIND_SERVER"}[$__rate_interval]))');
    expect(red['Error rate']).toContain('status_code="STATUS_CODE_ERROR"');
    expect(red['Latency p95']).toMatch(/^histogram_quantile\(0\.95, sum by \(service, le\) \(rate\(traces_spanmetrics_latency_bucket\{/);
    const map = (JSON.parse(files['app-red.json'] ?? '{}').panels as Doc[]).find((panel) => panel.title === 'Service map');
    expect(map).toMatchObject({ type: 'nodeGraph', datasource: { type: 'tempo', uid: 'tempo' }, targets: [{ queryType: 'serviceMap', datasource: { uid: 'tempo' } }] });
  });

  test('alert rules: the five rules of the guide with their thresholds, a for-duration and labels', () => {
    const doc = yamlOf(grafanaAlertRules(modelOf()));
    expect(doc.apiVersion).toBe(1);
    const rules = doc.groups[0].rules as Doc[];
    const summary = rules.map((rule) => {
      const query = (rule.data as Doc[]).find((data) => data.refId === 'A');
      const threshold = (rule.data as Doc[]).find((data) => data.refId === rule.condition);
      return {
        title: rule.title,
        expr: query?.model.expr as string,
        op: threshold?.model.conditions[0].evaluator.type,
        value: threshold?.model.conditions[0].evaluator.params[0],
      };
    });
    expect(summary.map(({ title, op, value }) => [title, op, value])).toEqual([
      ['High error rate', 'gt', 0.05],
      ['High latency (p95)', 'gt', 1],
      ['High CPU usage', 'gt', 80],
      ['Disk almost full', 'gt', 85],
      ['Container down', 'lt', 1],
    ]);
    expect(summary[0]?.expr).toContain('STATUS_CODE_ERROR');
    expect(summary[1]?.expr).toContain('histogram_quantile(0.95');
    expect(summary[2]?.expr).toContain('node_cpu_seconds_total');
    expect(summary[3]?.expr).toContain('node_filesystem_avail_bytes');
    expect(summary[4]?.expr).toBe('up');
    for (const rule of rules) {
      expect(rule.for, rule.title).toMatch(/^\d+m$/);
      expect(rule.labels.severity, rule.title).toMatch(/^(critical|warning)$/);
      expect(rule.uid, rule.title).toMatch(/^halyard-/);
      expect(rule.data[0].datasourceUid, rule.title).toBe('mimir');
      expect((rule.data as Doc[]).map((data) => data.refId)).toContain(rule.condition);
    }
    const tuned = yamlOf(grafanaAlertRules(modelOf({ alert_error_rate: 0.1, alert_cpu_percent: 90 }))).groups[0].rules as Doc[];
    expect(tuned[0]?.data[2].model.conditions[0].evaluator.params).toEqual([0.1]);
    expect(tuned[2]?.data[2].model.conditions[0].evaluator.params).toEqual([90]);
  });

  // Their metric names, labels and values are checked against a real daemon's /metrics in
  // test/roles/halyard-dashboard.test.ts (a local test: it starts the daemon and promtool).
  test('the halyard dashboard (uid halyard, Mimir): jobs, backups, drift, probes, publish failures, the daemon process', () => {
    const dash = JSON.parse(dashboardFiles(modelOf(DAEMON))['halyard.json'] ?? '{}') as Doc;
    expect(dash).toMatchObject({ uid: 'halyard', title: 'halyard', editable: false });
    expect(dash.templating.list).toMatchObject([{ name: 'instance', query: 'label_values(halyard_job_runs_total, instance)', datasource: { uid: 'mimir' } }]);
    const panels = Object.fromEntries((dash.panels as Doc[]).map((panel) => [panel.title as string, panel]));
    const exprs = (title: string) => ((panels[title]?.targets ?? []) as Doc[]).map((target) => target.expr as string).join(' ');
    expect(Object.keys(panels)).toEqual([
      'Since the last success, per job',
      'Since the last backup, per host',
      'Daemon uptime',
      'Job duration (mean per run since the daemon started)',
      'Job runs in the last hour, by result',
      'Backup size (last backup, per host)',
      'Backup duration (last backup, per host)',
      'Backup: files changed while read (last backup, per host)',
      'Drift: hosts with pending changes (last check)',
      'Probes: hosts failing a check (last round)',
      'Probes per host: Docker up, unhealthy containers',
      'Probes per host: disk used',
      'Publish failures in the last hour (CloudWatch, SNS)',
      'Daemon memory (RSS)',
    ]);
    for (const panel of dash.panels as Doc[]) {
      expect(panel.datasource.uid, panel.title).toBe('mimir');
      for (const target of panel.targets as Doc[]) {
        expect(target.datasource.uid, panel.title).toBe('mimir');
        expect(target.expr, panel.title).toContain('instance=~"$instance"');
      }
      // Panels tile the 24-column grid without overlapping.
      for (const other of dash.panels as Doc[]) {
        if (other === panel) continue;
        const [a, b] = [panel.gridPos, other.gridPos];
        const overlap = a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
        expect(overlap, `${panel.title} / ${other.title}`).toBe(false);
      }
      expect(panel.gridPos.x + panel.gridPos.w, panel.title).toBeLessThanOrEqual(24);
    }
    expect(exprs('Since the last success, per job')).toMatch(/^time\(\) - max by \(instance, job\) \(max_over_time\(halyard_job_last_success_timestamp_seconds\{.*\}\[7d\]\) > 0\)$/);
    expect(exprs('Since the last backup, per host')).toContain('halyard_metric_updated_timestamp_seconds{metric="backup_heartbeat"');
    expect(panels['Since the last backup, per host']?.fieldConfig.defaults.thresholds.steps).toEqual([
      { value: null, color: 'green' },
      { value: 26 * 3600, color: 'red' },
    ]);
    expect(exprs('Job duration (mean per run since the daemon started)')).toMatch(/halyard_job_duration_seconds_sum\{.*\} \/ halyard_job_duration_seconds_count\{/);
    expect(exprs('Backup size (last backup, per host)')).toContain('halyard_backup_bytes{');
    expect(exprs('Backup: files changed while read (last backup, per host)')).toContain('halyard_backup_changed_files{');
    expect(exprs('Drift: hosts with pending changes (last check)')).toContain('halyard_job_last_outcome{field="drifted_hosts"');
    expect(exprs('Probes: hosts failing a check (last round)')).toContain('halyard_job_last_outcome{field="failing_hosts"');
    expect(exprs('Publish failures in the last hour (CloudWatch, SNS)')).toContain('increase(halyard_publish_failures_total{');
    expect(exprs('Daemon memory (RSS)')).toBe('process_resident_memory_bytes{job="halyard", instance=~"$instance"}');
    // Stat panels ask for one instant value; time series for a range.
    for (const panel of dash.panels as Doc[]) {
      for (const target of panel.targets as Doc[]) expect([panel.type, target.instant ?? false, target.range], panel.title).toEqual(panel.type === 'stat' ? ['stat', true, false] : ['timeseries', false, true]);
    }
    // Only where the collector scrapes a daemon (scrape_halyard_daemon).
    expect(dashboardFiles(modelOf())['halyard.json']).toBeUndefined();
    expect(dashboardFiles(modelOf({ scrape_halyard_daemon: true }))['halyard.json']).toBe(dashboardFiles(modelOf(DAEMON))['halyard.json']);
    expect(dashboardFiles(modelOf({ ...DAEMON, scrape_halyard_daemon: false }))['halyard.json']).toBeUndefined();
  });

  test('the halyard alert rules, a group of their own: backup older than 26 h, drift detected, a probe failing; no data is OK', () => {
    expect((yamlOf(grafanaAlertRules(modelOf())).groups as Doc[]).map((group) => group.name)).toEqual(['observability-stack']);
    const groups = yamlOf(grafanaAlertRules(modelOf(DAEMON))).groups as Doc[];
    expect(groups.map((group) => [group.name, group.folder, group.interval, (group.rules as Doc[]).length])).toEqual([
      ['observability-stack', 'Observability', '1m', 5],
      ['halyard', 'Observability', '1m', 3],
    ]);
    const rules = (groups[1]?.rules ?? []) as Doc[];
    const summary = rules.map((rule) => {
      const query = (rule.data as Doc[]).find((data) => data.refId === 'A');
      const threshold = (rule.data as Doc[]).find((data) => data.refId === rule.condition);
      return [rule.uid, rule.title, query?.model.expr, threshold?.model.conditions[0].evaluator.type, threshold?.model.conditions[0].evaluator.params[0], rule.for, rule.noDataState, rule.labels.severity];
    });
    expect(summary).toEqual([
      [
        'halyard-backup-overdue',
        'Backup overdue',
        'time() - max by (instance, instance_id) (max_over_time(halyard_metric_updated_timestamp_seconds{metric="backup_heartbeat"}[7d]))',
        'gt',
        93600,
        '5m',
        'OK',
        'critical',
      ],
      ['halyard-drift', 'Drift detected', 'max by (instance, job) (halyard_job_last_outcome{field="drifted_hosts"})', 'gt', 0, '1m', 'OK', 'warning'],
      ['halyard-probe-failing', 'Probe failing', 'max by (instance, job) (halyard_job_last_outcome{field="failing_hosts"})', 'gt', 0, '10m', 'OK', 'critical'],
    ]);
    for (const rule of rules) {
      expect(rule.data[0]).toMatchObject({ datasourceUid: 'mimir', model: { instant: true } });
      expect(rule.annotations.summary, rule.title).toMatch(/\{\{ \$labels\.instance \}\}/);
    }
    const tuned = yamlOf(grafanaAlertRules(modelOf({ ...DAEMON, alert_backup_age_hours: 50 }))).groups[1].rules as Doc[];
    expect(tuned[0]?.data[2].model.conditions[0].evaluator.params).toEqual([50 * 3600]);
    expect(tuned[0]?.annotations.summary).toContain('more than 50 h');
  });
});

describe('vars', () => {
  test('every var has a type, a description, and a default unless it is a required secret', () => {
    const docs = describeRoleVars(observabilityStackVars);
    expect(docs.length).toBeGreaterThan(40);
    for (const doc of docs) {
      expect(doc.type, doc.name).toMatch(/\w/);
      expect(doc.description?.trim(), doc.name).toBeTruthy();
      if ((REQUIRED_SECRET_VARS as readonly string[]).includes(doc.name)) expect(doc.default, doc.name).toBeUndefined();
      else expect(doc.default, doc.name).not.toBeUndefined();
    }
    expect(docs.filter((doc) => doc.default === undefined).map((doc) => doc.name).sort()).toEqual([...REQUIRED_SECRET_VARS].sort());
  });

  test('the real upstream images are the defaults', () => {
    const images = modelOf().images;
    expect(images).toEqual({
      'otel-collector': 'otel/opentelemetry-collector-contrib:0.131.0',
      tempo: 'grafana/tempo:2.6.1',
      loki: 'grafana/loki:3.3.2',
      mimir: 'grafana/mimir:2.14.2',
      grafana: 'grafana/grafana:11.4.0',
      'node-exporter': 'prom/node-exporter:v1.8.2',
      nginx: 'nginx:1.27.3',
      postgres: 'postgres:16.6',
      app: 'task-tracker:1.0.0',
    });
  });

  test('every image is pinned to a release: a version tag or a digest, never latest or untagged', () => {
    const pinned = ['grafana/grafana:11.5.2', 'registry.local:5000/team/app:2024.10.1', 'halyard-standin-loki:4f2a9c1b7e3d', `grafana/loki@sha256:${'a'.repeat(64)}`];
    for (const ref of pinned) expect(modelOf({ grafana_image: ref, images: { loki: ref } }).images.grafana, ref).toBe(ref);
    const unpinned: [string, RegExp][] = [
      ['grafana/grafana', /pin a release: add a tag/],
      ['grafana/grafana:latest', /':latest' moves/],
      ['registry.local:5000/grafana', /pin a release: add a tag/],
      ['grafana/grafana:11.4.0 --privileged', /expected an image reference/],
      ['-v/:/host', /expected an image reference/],
    ];
    for (const [ref, reason] of unpinned) {
      expect(() => modelOf({ grafana_image: ref }), ref).toThrow(/var grafana_image/);
      expect(() => modelOf({ grafana_image: ref }), ref).toThrow(reason);
      expect(() => modelOf({ images: { app: ref } }), ref).toThrow(/var images/);
    }
  });

  test("bumping one service's image tag changes that service alone in docker-compose.yml (compose recreates only it)", () => {
    const base = composeOf();
    for (const service of SERVICES) {
      const bumped = composeOf({ [`${service.replace('-', '_')}_image`]: `registry.local/bumped/${service}:9.9.9` });
      for (const other of SERVICES) {
        if (other === service) expect(bumped.services[other], other).toEqual({ ...base.services[other], image: `registry.local/bumped/${service}:9.9.9` });
        else expect(bumped.services[other], `${service} bumped, ${other} changed`).toEqual(base.services[other]);
      }
      expect({ ...bumped, services: undefined }).toEqual({ ...base, services: undefined });
    }
    // The same through the images overrides (how the tests ship stand-ins).
    const overridden = composeOf({ images: { grafana: 'halyard-standin-grafana:bumped' } });
    for (const other of SERVICES) if (other !== 'grafana') expect(overridden.services[other], other).toEqual(base.services[other]);
  });

  test('missing secrets and bad values fail with the var name', () => {
    expect(() => observabilityStackModel({ name: 'h', vars: { postgres_password: 'x' } })).toThrow(/grafana_admin_password/);
    expect(() => modelOf({ loki_storage: { backend: 's3', bucket: 'Bad_Bucket', region: 'eu-west-1' } })).toThrow(/loki_storage/);
    expect(() => modelOf({ published_services: ['ssh'] })).toThrow(/published_services/);
    expect(() => modelOf({ loki_retention: '31d' })).toThrow(/loki_retention/);
    expect(() => modelOf({ tls_cert_path: '/etc/ssl/a.pem' })).toThrow(/tls_key_path/);
    expect(() => modelOf({}, 'bad host name')).toThrow(/public_hostname/);
  });

  test('the README var table is the one generated from the schema (npm run docs:roles)', () => {
    for (const role of DOCUMENTED_ROLES) {
      const readme = readFileSync(role.readme, 'utf8');
      expect(withVarTable(readme, role.schema, role.readme), `${role.readme} is stale: run npm run docs:roles`).toBe(readme);
    }
  });
});

describe('secrets', () => {
  test('known secret values appear in no rendered file but .env, and .env is a secret template', () => {
    for (const vars of [{}, { tls_enabled: false, loki_storage: s3, tempo_storage: s3, mimir_storage: s3, postgres_storage: 'volume' }]) {
      const model = modelOf(vars);
      for (const entry of renderedFiles(model)) {
        for (const secret of [GRAFANA_PW, POSTGRES_PW, encodeURIComponent(POSTGRES_PW)]) expect(entry.content, entry.path).not.toContain(secret);
      }
    }
    const env = envFile(modelOf());
    expect(env.hasSecrets).toBe(true);
    expect(env.reveal()).toContain(`GRAFANA_ADMIN_PASSWORD='${GRAFANA_PW}'`);
    expect(env.reveal()).toContain(`POSTGRES_PASSWORD='${POSTGRES_PW}'`);
    expect(env.reveal()).toContain(`DATABASE_URL='postgresql://app:${encodeURIComponent(POSTGRES_PW)}@postgres:5432/app'`);
    expect(env.masked()).not.toContain(GRAFANA_PW);
    expect(env.masked()).not.toContain('Secret-');
  });

  test('no task but .env (and the compose project, hashing what .env will hold) carries a secret; .env is 0600 root', () => {
    const tasks = tasksOf(SECRETS);
    const files = tasks.filter((task) => task.type.kind === 'file');
    for (const task of files) {
      const desired = task.desired as { path: string; content: unknown; mode: string; owner: string };
      if (desired.path.endsWith('/.env')) {
        expect(isSecretText(desired.content)).toBe(true);
        expect(desired).toMatchObject({ mode: '0600', owner: 'root', group: 'root' });
      } else {
        expect(typeof desired.content, desired.path).toBe('string');
        expect(desired.content as string).not.toContain(GRAFANA_PW);
        expect(desired.content as string).not.toContain(POSTGRES_PW);
        expect(desired).toMatchObject({ mode: '0644', owner: 'root', group: 'root' });
      }
    }
    expect(JSON.stringify(tasks.map((task) => task.desired))).not.toContain(GRAFANA_PW);
    // Secret values travel only as secret templates: in the .env file task, and in what the
    // compose project stages to hash (inputs.envFile), both masked in JSON, logs and diffs.
    const holdsSecret = (value: unknown): boolean =>
      isSecretText(value) ? value.hasSecrets : Array.isArray(value) ? value.some(holdsSecret) : value !== null && typeof value === 'object' && !Buffer.isBuffer(value) ? Object.values(value).some(holdsSecret) : false;
    expect(tasks.filter((task) => holdsSecret(task.desired)).map((task) => task.name)).toEqual(['file /opt/observability/.env', 'compose project observability-stack']);
  });

  test('a secret .env cannot carry fails, naming the var and not the value', () => {
    const run = () => observabilityStack.tasks(hostContext('obs-1', { ...SECRETS, postgres_password: "it's-a-secret" }));
    expect(run).toThrow(/postgres_password.*quote/);
    try {
      run();
    } catch (error) {
      expect(String(error)).not.toContain("it's-a-secret");
    }
  });
});

describe('tasks and handlers', () => {
  const tasks = tasksOf(SECRETS);
  const handlers = observabilityStack.handlers(hostContext('obs-1', SECRETS));
  const dirs = Object.fromEntries(
    tasks.filter((task) => task.type.kind === 'directory').map((task) => {
      const desired = task.desired as { path: string; owner: unknown; group: unknown; mode: string };
      return [desired.path.replace('/opt/observability', '') || '/', `${String(desired.owner)}:${String(desired.group)} ${desired.mode}`];
    }),
  );

  test('data directories with the owners the images expect, 0750; certs root 0750', () => {
    expect(dirs).toMatchObject({
      '/loki-data': '10001:10001 0750',
      '/tempo-data': '10001:10001 0750',
      '/mimir-data': '10001:10001 0750',
      '/grafana-data': '472:472 0750',
      '/postgres-data': '999:999 0750',
      '/certs': 'root:root 0750',
      '/': 'root:root 0755',
    });
    const volume = tasksOf({ ...SECRETS, postgres_storage: 'volume', tls_cert_path: '/c.pem', tls_key_path: '/k.pem' });
    const paths = volume.filter((task) => task.type.kind === 'directory').map((task) => (task.desired as { path: string }).path);
    expect(paths).not.toContain('/opt/observability/postgres-data');
    expect(paths).not.toContain('/opt/observability/certs');
    expect(volume.some((task) => task.type.kind === 'command')).toBe(false);
  });

  test('each config file notifies the restart of the service that mounts it; every notified handler exists', () => {
    const notify = Object.fromEntries(
      tasks.filter((task) => task.type.kind === 'file').map((task) => [(task.desired as { path: string }).path.replace('/opt/observability/', ''), task.notify]),
    );
    expect(notify).toMatchObject({
      'otel-collector-config.yml': ['restart otel-collector'],
      'tempo-config.yml': ['restart tempo'],
      'loki-config.yml': ['restart loki'],
      'mimir-config.yml': ['restart mimir'],
      'nginx.conf': ['restart nginx'],
      'grafana/provisioning/datasources/datasources.yml': ['restart grafana'],
      'grafana/provisioning/alerting/rules.yml': ['restart grafana'],
      'grafana/dashboards/host.json': ['restart grafana'],
      'docker-compose.yml': [],
      '.env': [],
    });
    const notified = new Set(tasks.flatMap((task) => task.notify));
    for (const name of notified) expect(Object.keys(handlers)).toContain(name);
    for (const [name, handler] of Object.entries(handlers)) {
      const [restart, health] = flatten([handler]);
      expect(restart?.type.kind).toBe('compose-restart');
      expect(restart?.desired).toEqual({ dir: '/opt/observability', project: 'observability-stack', services: [name.replace('restart ', '')], together: true });
      expect(health?.type.kind).toBe('http-health');
      expect(health?.desired).toMatchObject({ together: true });
    }
    // Every handler has the same two steps, so any of them notified next to each other run as one.
    const all = Object.values(handlers).map((handler) => flatten([handler]));
    const joined = all.reduce((group, steps) => group.map((step, index) => ({ ...step, desired: step.type.combine!(step.desired, steps[index]!.desired)! })));
    expect((joined[0]?.desired as { services: string[] }).services).toEqual(['loki', 'tempo', 'mimir', 'otel-collector', 'grafana', 'nginx']);
    expect((joined[1]?.desired as { checks: Array<{ service: string }> }).checks.map((check) => check.service)).toEqual(['loki', 'tempo', 'mimir', 'otel-collector', 'grafana', 'nginx']);
    expect(restartHandler('loki')).toBe('restart loki');
  });

  test('on a host with the halyard daemon: the same tasks plus its dashboard (notifying grafana), rendered the same each time', () => {
    const withDaemon = tasksOf({ ...SECRETS, ...DAEMON });
    const files = (list: ResourceInstance[]) => list.filter((task) => task.type.kind === 'file').map((task) => (task.desired as { path: string }).path);
    expect(files(withDaemon)).toEqual([...files(tasks).slice(0, -2), '/opt/observability/grafana/dashboards/halyard.json', ...files(tasks).slice(-2)]);
    const dashboard = withDaemon.find((task) => (task.desired as { path?: string }).path === '/opt/observability/grafana/dashboards/halyard.json');
    expect(dashboard?.notify).toEqual(['restart grafana']);
    expect(JSON.stringify(tasksOf({ ...SECRETS, ...DAEMON }).map((task) => task.desired))).toBe(JSON.stringify(withDaemon.map((task) => task.desired)));
    // Only the files that carry the scrape differ from a host without the daemon.
    const content = (list: ResourceInstance[]) => Object.fromEntries(list.filter((task) => task.type.kind === 'file').map((task) => [(task.desired as { path: string }).path, String((task.desired as { content: unknown }).content)]));
    const [before, after] = [content(tasks), content(withDaemon)];
    const differing = Object.keys(after).filter((path) => before[path] !== after[path]).map((path) => path.replace('/opt/observability/', ''));
    expect(differing.sort()).toEqual(['docker-compose.yml', 'grafana/dashboards/halyard.json', 'grafana/provisioning/alerting/rules.yml', 'otel-collector-config.yml'].sort());
  });

  test('the role: named observability-stack, needs root, a bad var fails naming the role', () => {
    expect(observabilityStack).toMatchObject({ name: 'observability-stack', become: true, tags: [], facts: [] });
    expect(() => observabilityStack.tasks(hostContext('obs-1', { ...SECRETS, loki_retention: '31d' }))).toThrow(/^role observability-stack: var loki_retention: /);
    expect(() => observabilityStack.handlers(hostContext('obs-1', { postgres_password: 'x' }))).toThrow(/role observability-stack: var grafana_admin_password/);
  });

  test('a self-signed pair once (creates), notifying nginx; then compose up and the health wait, last', () => {
    const cert = tasks.find((task) => task.type.kind === 'command');
    const desired = cert?.desired as { command: unknown; creates: string };
    expect(desired.creates).toBe('/opt/observability/certs/tls.crt');
    // An sh`...` script: every path and name in it quoted.
    expect(String(desired.command)).toBe(
      [
        'umask 077',
        "openssl req -x509 -newkey rsa:2048 -sha256 -nodes -days 825 -subj '/CN=obs-1' -addext 'subjectAltName=DNS:obs-1'" +
          ' -keyout /opt/observability/certs/tls.key.tmp -out /opt/observability/certs/tls.crt.tmp 2>&1',
        'chmod 0644 /opt/observability/certs/tls.crt.tmp',
        'mv -f /opt/observability/certs/tls.key.tmp /opt/observability/certs/tls.key',
        'mv -f /opt/observability/certs/tls.crt.tmp /opt/observability/certs/tls.crt',
      ].join(' && '),
    );
    expect(cert?.notify).toEqual(['restart nginx']);
    expect(tasks.at(-2)?.type.kind).toBe('compose-project');
    const compose = tasks.at(-2)?.desired as { inputs: { composeFile: string; envFile: SecretText } };
    expect(compose).toEqual({
      dir: '/opt/observability',
      project: 'observability-stack',
      // A service `up` (re)creates or starts needs no restart afterwards.
      restartHandlers: Object.fromEntries(['loki', 'tempo', 'mimir', 'otel-collector', 'grafana', 'nginx'].map((s) => [s, `restart ${s}`])),
      inputs: { composeFile: expect.any(String), envFile: expect.anything() },
    });
    // The hashes come from exactly what the file tasks write (check mode predicts apply's up).
    const written = (path: string) => (tasks.find((task) => (task.desired as { path?: string }).path === `/opt/observability/${path}`)?.desired as { content: unknown }).content;
    expect(compose.inputs.composeFile).toBe(written('docker-compose.yml'));
    expect(compose.inputs.envFile.reveal()).toBe((written('.env') as SecretText).reveal());
    const health = tasks.at(-1);
    expect(health?.type.kind).toBe('http-health');
    expect(health?.desired).toEqual({
      dir: '/opt/observability',
      project: 'observability-stack',
      timeoutSeconds: 300,
      checks: [
        { service: 'loki', url: 'http://127.0.0.1:3100/ready' },
        { service: 'tempo', url: 'http://127.0.0.1:3200/ready' },
        { service: 'mimir', url: 'http://127.0.0.1:9009/ready' },
        { service: 'otel-collector', url: 'http://127.0.0.1:13133/' },
        { service: 'grafana', url: 'http://127.0.0.1:3000/api/health' },
        { service: 'nginx', url: 'http://127.0.0.1:80/healthz' },
      ],
    });
  });
});

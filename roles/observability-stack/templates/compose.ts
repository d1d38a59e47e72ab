import { HOST_GATEWAY_NAME, INTERNAL_PORTS, type StackModel } from '../model.js';
import { SERVICES, type ServiceName } from '../vars.js';
import { LOKI_DATA } from './loki.js';
import { MIMIR_DATA } from './mimir.js';
import { NGINX_HEALTH_PATH } from './nginx.js';
import { TEMPO_DATA } from './tempo.js';
import { MANAGED, renderYaml } from './yaml.js';

// Where each config file lives on the host (relative to install_dir) and where its service mounts it.
export const CONFIG_FILES = {
  otelCollector: { file: 'otel-collector-config.yml', mount: '/etc/otel-collector-config.yml', service: 'otel-collector' },
  tempo: { file: 'tempo-config.yml', mount: '/etc/tempo.yml', service: 'tempo' },
  loki: { file: 'loki-config.yml', mount: '/etc/loki/config.yml', service: 'loki' },
  mimir: { file: 'mimir-config.yml', mount: '/etc/mimir.yml', service: 'mimir' },
  nginx: { file: 'nginx.conf', mount: '/etc/nginx/nginx.conf', service: 'nginx' },
} as const satisfies Record<string, { file: string; mount: string; service: ServiceName }>;

// Grafana's provisioning and dashboards, mounted read-only.
export const GRAFANA_PROVISIONING_MOUNT = '/etc/grafana/provisioning';
export const GRAFANA_DASHBOARDS_MOUNT = '/etc/grafana/dashboards';

// A healthcheck test of compose: exec form ('CMD', argv...) or 'NONE'.
export type HealthTest = readonly string[];

const wget = (url: string): HealthTest => ['CMD', 'wget', '-q', '-O', '/dev/null', url];

// Healthchecks that run with what each default upstream image contains: busybox wget in Loki
// (distroless debug variant), Tempo, Grafana (Alpine) and node-exporter (busybox); curl in nginx
// (Debian); pg_isready in postgres; python3 in the app. grafana/mimir is distroless (no shell, no
// client) and the collector image is FROM scratch: nothing inside can make a request, so their
// container healthchecks are off ('NONE') and the role waits on their HTTP health endpoints
// from outside instead. Override per service with the `healthchecks` var.
export function defaultHealthTests(model: StackModel): Record<ServiceName, HealthTest> {
  const v = model.vars;
  return {
    'otel-collector': ['NONE'],
    tempo: wget(`http://127.0.0.1:${INTERNAL_PORTS.tempo}/ready`),
    loki: wget(`http://127.0.0.1:${INTERNAL_PORTS.loki}/ready`),
    mimir: ['NONE'],
    grafana: wget(`http://127.0.0.1:${INTERNAL_PORTS.grafana}/api/health`),
    'node-exporter': wget(`http://127.0.0.1:${v.node_exporter_port}/metrics`),
    nginx: ['CMD', 'curl', '-fsS', '-o', '/dev/null', `http://127.0.0.1:${INTERNAL_PORTS.nginxHttp}${NGINX_HEALTH_PATH}`],
    postgres: ['CMD', 'pg_isready', '-q', '-h', '127.0.0.1', '-U', v.postgres_user, '-d', v.postgres_db],
    app: [
      'CMD',
      'python3',
      '-c',
      `import urllib.request; urllib.request.urlopen('http://127.0.0.1:${v.app_port}${v.app_health_path}', timeout=4)`,
    ],
  };
}

// The healthcheck test in force for a service: the var's override, else the default.
export function healthTest(model: StackModel, service: ServiceName): HealthTest {
  return model.vars.healthchecks[service] ?? defaultHealthTests(model)[service];
}

// Escapes `$` for compose, which would otherwise interpolate it from the environment.
function composeLiteral(value: string): string {
  return value.replace(/\$/g, () => '$$');
}

// docker-compose.yml: the nine services of the guide. Every host port binds to 127.0.0.1 unless the
// service is in published_services (nginx by default); limits are given both as deploy.resources
// (compose v2) and as mem_limit/cpus (compose v1 honours only these); secrets come from .env by
// ${VAR} interpolation, so this file holds none and each service sees only its own.
export function composeFile(model: StackModel): string {
  const v = model.vars;
  const dir = model.dir;
  const cfg = (key: keyof typeof CONFIG_FILES) => `${dir}/${CONFIG_FILES[key].file}:${CONFIG_FILES[key].mount}:ro`;
  const publish = (service: ServiceName, hostPort: number, containerPort: number) => `${model.bind[service]}:${hostPort}:${containerPort}`;

  // The app waits for Postgres to be healthy, and Docker runs the first check one interval after
  // the start (Debian 12's engine has no start_interval): 5 s instead of 15 s starts the stack
  // 10 s sooner; pg_isready every 5 s costs nothing.
  const healthInterval = (service: ServiceName) => (service === 'postgres' ? '5s' : '15s');

  const common = (service: ServiceName) => {
    const limits = v.resources[service];
    const test = healthTest(model, service);
    return {
      image: model.images[service],
      restart: v.restart_policy,
      healthcheck:
        test[0] === 'NONE'
          ? { test: ['NONE'] }
          : { test: [...test], interval: healthInterval(service), timeout: '5s', retries: 5, start_period: service === 'postgres' || service === 'nginx' ? '10s' : '60s' },
      mem_limit: limits.memory,
      cpus: limits.cpus,
      deploy: { resources: { limits: { cpus: String(limits.cpus), memory: limits.memory } } },
      logging: { driver: 'json-file', options: { 'max-size': '10m', 'max-file': '3' } },
    };
  };

  // node-exporter listens on loopback and on the network's gateway (where the collector scrapes it),
  // or on every address when published.
  const exporterBind = model.bind['node-exporter'];
  const nodeExporterListen = (
    exporterBind === '0.0.0.0' ? [exporterBind] : [...new Set(['127.0.0.1', v.network_gateway, exporterBind])]
  ).map((address) => `${address}:${v.node_exporter_port}`);

  const scheme = v.tls_enabled ? 'https' : 'http';
  const publicPort = v.tls_enabled ? (v.https_port === 443 ? '' : `:${v.https_port}`) : v.http_port === 80 ? '' : `:${v.http_port}`;

  const nginxVolumes = [cfg('nginx')];
  if (v.tls_enabled) {
    if (model.tls.selfSigned) nginxVolumes.push(`${dir}/certs:${dir}/certs:ro`);
    else nginxVolumes.push(`${model.tls.certPath}:${model.tls.certPath}:ro`, `${model.tls.keyPath}:${model.tls.keyPath}:ro`);
  }

  const services: Record<ServiceName, Record<string, unknown>> = {
    'otel-collector': {
      ...common('otel-collector'),
      command: [`--config=${CONFIG_FILES.otelCollector.mount}`],
      volumes: [cfg('otelCollector')],
      // The halyard daemon listens on the host: the collector reaches it through the bridge's gateway.
      ...(model.halyardScrape ? { extra_hosts: [`${HOST_GATEWAY_NAME}:host-gateway`] } : {}),
      ports: [
        publish('otel-collector', v.otlp_grpc_port, INTERNAL_PORTS.otlpGrpc),
        publish('otel-collector', v.otlp_http_port, INTERNAL_PORTS.otlpHttp),
        publish('otel-collector', v.collector_metrics_port, INTERNAL_PORTS.collectorMetrics),
        publish('otel-collector', v.collector_health_port, INTERNAL_PORTS.collectorHealth),
      ],
      depends_on: { loki: { condition: 'service_started' }, tempo: { condition: 'service_started' }, mimir: { condition: 'service_started' } },
    },
    tempo: {
      ...common('tempo'),
      user: '10001:10001',
      command: [`-config.file=${CONFIG_FILES.tempo.mount}`],
      volumes: [cfg('tempo'), `${dir}/tempo-data:${TEMPO_DATA}`],
      ports: [publish('tempo', v.tempo_port, INTERNAL_PORTS.tempo)],
    },
    loki: {
      ...common('loki'),
      user: '10001:10001',
      command: [`-config.file=${CONFIG_FILES.loki.mount}`],
      volumes: [cfg('loki'), `${dir}/loki-data:${LOKI_DATA}`],
      ports: [publish('loki', v.loki_port, INTERNAL_PORTS.loki)],
    },
    mimir: {
      ...common('mimir'),
      user: '10001:10001',
      command: [`-config.file=${CONFIG_FILES.mimir.mount}`],
      volumes: [cfg('mimir'), `${dir}/mimir-data:${MIMIR_DATA}`],
      ports: [publish('mimir', v.mimir_port, INTERNAL_PORTS.mimir)],
    },
    grafana: {
      ...common('grafana'),
      environment: {
        GF_SECURITY_ADMIN_USER: v.grafana_admin_user,
        GF_SECURITY_ADMIN_PASSWORD: '${GRAFANA_ADMIN_PASSWORD:?GRAFANA_ADMIN_PASSWORD must be set in .env}',
        GF_SERVER_DOMAIN: model.hostname,
        GF_SERVER_ROOT_URL: `${scheme}://${model.hostname}${publicPort}/grafana/`,
        GF_SERVER_SERVE_FROM_SUB_PATH: 'true',
        GF_USERS_ALLOW_SIGN_UP: 'false',
        GF_AUTH_ANONYMOUS_ENABLED: 'false',
        GF_ANALYTICS_REPORTING_ENABLED: 'false',
        GF_ANALYTICS_CHECK_FOR_UPDATES: 'false',
        GF_PATHS_PROVISIONING: GRAFANA_PROVISIONING_MOUNT,
      },
      volumes: [
        `${dir}/grafana-data:/var/lib/grafana`,
        `${dir}/grafana/provisioning:${GRAFANA_PROVISIONING_MOUNT}:ro`,
        `${dir}/grafana/dashboards:${GRAFANA_DASHBOARDS_MOUNT}:ro`,
      ],
      ports: [publish('grafana', v.grafana_port, INTERNAL_PORTS.grafana)],
      depends_on: { loki: { condition: 'service_started' }, tempo: { condition: 'service_started' }, mimir: { condition: 'service_started' } },
    },
    'node-exporter': {
      ...common('node-exporter'),
      // The host's own network and processes: network I/O of the host, not of a container.
      network_mode: 'host',
      pid: 'host',
      command: ['--path.rootfs=/host', ...nodeExporterListen.map((address) => `--web.listen-address=${address}`)],
      volumes: ['/:/host:ro,rslave'],
    },
    nginx: {
      ...common('nginx'),
      volumes: nginxVolumes,
      ports: [
        publish('nginx', v.http_port, INTERNAL_PORTS.nginxHttp),
        ...(v.tls_enabled ? [publish('nginx', v.https_port, INTERNAL_PORTS.nginxHttps)] : []),
      ],
      depends_on: { app: { condition: 'service_started' }, grafana: { condition: 'service_started' } },
    },
    postgres: {
      ...common('postgres'),
      environment: {
        POSTGRES_USER: v.postgres_user,
        POSTGRES_DB: v.postgres_db,
        POSTGRES_PASSWORD: '${POSTGRES_PASSWORD:?POSTGRES_PASSWORD must be set in .env}',
        // A subdirectory: the image's entrypoint chmods PGDATA to 0700, the mount point stays as the role set it.
        PGDATA: '/var/lib/postgresql/data/pgdata',
      },
      volumes: [v.postgres_storage === 'bind' ? `${dir}/postgres-data:/var/lib/postgresql/data` : 'pg_data:/var/lib/postgresql/data'],
      ports: [publish('postgres', v.postgres_port, INTERNAL_PORTS.postgres)],
    },
    app: {
      ...common('app'),
      environment: {
        OTEL_SERVICE_NAME: v.app_service_name,
        OTEL_EXPORTER_OTLP_ENDPOINT: `http://otel-collector:${INTERNAL_PORTS.otlpGrpc}`,
        OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc',
        DATABASE_URL: '${DATABASE_URL:?DATABASE_URL must be set in .env}',
        ...Object.fromEntries(Object.entries(v.app_env).map(([name, value]) => [name, composeLiteral(value)])),
      },
      ports: [publish('app', v.app_port, v.app_port)],
      depends_on: { postgres: { condition: 'service_healthy' }, 'otel-collector': { condition: 'service_started' } },
    },
  };

  const ordered = Object.fromEntries(SERVICES.map((service) => [service, services[service]]));
  const compose: Record<string, unknown> = {
    services: ordered,
    networks: { default: { ipam: { config: [{ subnet: v.network_subnet, gateway: v.network_gateway }] } } },
  };
  if (v.postgres_storage === 'volume') compose.volumes = { pg_data: {} };
  return renderYaml(
    `${MANAGED}\nThe observability stack of the deployment guide. Secrets are read from .env (mode 0600).\nProject: ${model.project} (docker compose -p ${model.project}, also COMPOSE_PROJECT_NAME in .env).`,
    compose,
  );
}

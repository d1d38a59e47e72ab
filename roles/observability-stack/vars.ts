import { secretVar, z } from 'halyard';

// The nine services of the deployment guide, by their docker-compose service names.
export const SERVICES = ['otel-collector', 'tempo', 'loki', 'mimir', 'grafana', 'node-exporter', 'nginx', 'postgres', 'app'] as const;

// One compose service name.
export type ServiceName = (typeof SERVICES)[number];

const serviceName = z.enum(SERVICES);

const port = (value: number, what: string) => z.number().int().min(1).max(65535).default(value).describe(what);

// Durations in hours ('744h'): a form Loki, Tempo (Go durations) and Mimir all accept.
const hours = (value: string, what: string) =>
  z.string().regex(/^[1-9][0-9]*h$/, 'expected whole hours, e.g. 744h').default(value).describe(what);

// A Docker image reference: [registry[:port]/]path[:tag][@sha256:digest] (the tag is group 1).
const IMAGE_REFERENCE =
  /^(?:[A-Za-z0-9.-]+(?::[0-9]+)?\/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::([A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?(?:@sha256:[a-f0-9]{64})?$/;

// Why a reference is not pinned to one release, or undefined when it is: a tag other than
// `latest`, or a digest. An untagged reference means :latest, which moves, and so would
// recreate a service on a host whenever the registry's latest changes.
export function unpinnedImageReason(ref: string): string | undefined {
  const match = IMAGE_REFERENCE.exec(ref);
  if (!match) return 'expected an image reference such as grafana/grafana:11.4.0';
  if (ref.includes('@sha256:')) return undefined;
  const tag = match[1];
  if (tag === undefined) return 'pin a release: add a tag (grafana/grafana:11.4.0) or a digest (@sha256:...); without one Docker takes :latest, which moves';
  if (tag === 'latest') return "pin a release: ':latest' moves; name a version tag (grafana/grafana:11.4.0) or a digest";
  return undefined;
}

// An image reference pinned to a release (a version tag or a digest), as every service's image is.
export const pinnedImage = z.string().check((ctx) => {
  const reason = unpinnedImageReason(ctx.value);
  if (reason !== undefined) ctx.issues.push({ code: 'custom', message: reason, input: ctx.value });
});

const imageRef = (value: string, what: string) => pinnedImage.default(value).describe(what);

// An absolute host path that is safe to write into nginx.conf and compose volume specs.
const hostPath = z.string().regex(/^(\/[A-Za-z0-9._@+-]+)+$/, 'expected an absolute path of plain characters (no spaces, quotes, ; or :)');

// Where Loki, Tempo or Mimir keep their data: the host's disk, or an S3 bucket reached with the instance role.
const storage = z
  .discriminatedUnion('backend', [
    z.strictObject({ backend: z.literal('local') }),
    z.strictObject({
      backend: z.literal('s3'),
      bucket: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'expected an S3 bucket name'),
      region: z.string().regex(/^[a-z0-9-]+$/, 'expected an AWS region such as eu-west-1'),
      /** host[:port] of an S3-compatible endpoint; default s3.<region>.amazonaws.com. */
      endpoint: z
        .string()
        .regex(/^[A-Za-z0-9.-]+(:[0-9]+)?$/, 'expected host or host:port, without a scheme')
        .optional(),
    }),
  ])
  .default({ backend: 'local' });

// What one stored backend is configured as, after defaults.
export type StorageConfig = z.output<typeof storage>;

// Limits per service (docker cpus, memory with a k/m/g suffix), sized so the whole stack fits a t3.medium (2 vCPU, 4 GiB).
export const DEFAULT_RESOURCES: Record<ServiceName, { cpus: number; memory: string }> = {
  'otel-collector': { cpus: 0.5, memory: '256m' },
  tempo: { cpus: 0.5, memory: '384m' },
  loki: { cpus: 0.5, memory: '384m' },
  mimir: { cpus: 1, memory: '768m' },
  grafana: { cpus: 0.5, memory: '384m' },
  'node-exporter': { cpus: 0.2, memory: '64m' },
  nginx: { cpus: 0.25, memory: '64m' },
  postgres: { cpus: 0.5, memory: '384m' },
  app: { cpus: 1, memory: '512m' },
};

const limit = (service: ServiceName) =>
  z
    .strictObject({
      cpus: z.number().positive().max(64),
      memory: z.string().regex(/^[1-9][0-9]*[kmg]$/, 'expected a size such as 512m or 2g'),
    })
    .default(DEFAULT_RESOURCES[service]);

const resources = z
  .strictObject(Object.fromEntries(SERVICES.map((service) => [service, limit(service)])) as { [K in ServiceName]: ReturnType<typeof limit> })
  .default(DEFAULT_RESOURCES);

// The role's vars (inventory names, snake_case): each typed, defaulted (secrets excepted) and described.
export const observabilityStackVars = z.object({
  install_dir: hostPath.default('/opt/observability').describe('Directory holding the compose project, its configs and data directories'),
  project_name: z
    .string()
    .regex(/^[a-z0-9][a-z0-9_-]*$/, 'expected a compose project name')
    .default('observability-stack')
    .describe('docker compose project name (prefix of containers and volumes)'),
  public_hostname: z
    .string()
    .regex(/^[A-Za-z0-9.:-]*$/, 'expected a DNS name or an IP address')
    .default('')
    .describe("Name users browse to (Grafana's root URL, nginx server_name, self-signed cert); empty: the inventory host name"),

  // Ports (host side). Every port binds to 127.0.0.1 unless its service is in published_services.
  http_port: port(80, 'nginx HTTP port on the host'),
  https_port: port(443, 'nginx HTTPS port on the host (when tls_enabled)'),
  grafana_port: port(3000, 'Grafana port on the host'),
  loki_port: port(3100, 'Loki HTTP port on the host'),
  tempo_port: port(3200, 'Tempo HTTP port on the host'),
  mimir_port: port(9009, 'Mimir HTTP port on the host'),
  otlp_grpc_port: port(4317, 'OTLP gRPC port of the collector on the host'),
  otlp_http_port: port(4318, 'OTLP HTTP port of the collector on the host'),
  collector_metrics_port: port(8888, "The collector's own Prometheus metrics port on the host"),
  collector_health_port: port(13133, "The collector's health_check port on the host"),
  node_exporter_port: port(9100, 'node-exporter port (host network: it listens on the host itself)'),
  postgres_port: port(5432, 'Postgres port on the host'),
  app_port: port(8000, 'Port the app listens on in its container, and its port on the host'),
  published_services: z
    .array(serviceName)
    .default(['nginx'])
    .describe('Services whose ports bind to public_bind_address; all others bind to 127.0.0.1 only'),
  public_bind_address: z
    .string()
    .regex(/^[0-9]{1,3}(\.[0-9]{1,3}){3}$/, 'expected an IPv4 address')
    .default('0.0.0.0')
    .describe('Address the ports of published_services bind to'),
  network_subnet: z
    .string()
    .regex(/^[0-9.]+\/[0-9]+$/, 'expected an IPv4 CIDR')
    .default('172.28.0.0/24')
    .describe("Subnet of the project's bridge network"),
  network_gateway: z
    .string()
    .regex(/^[0-9.]+$/, 'expected an IPv4 address')
    .default('172.28.0.1')
    .describe('Gateway of that network: the host address node-exporter also listens on for the collector'),

  // Images: the real upstream images by default, each pinned to the release its config was read
  // against (README "Upstream versions"). Bumping one recreates that service alone.
  otel_collector_image: imageRef(
    'otel/opentelemetry-collector-contrib:0.131.0',
    'Image of the OpenTelemetry Collector (contrib), pinned to a version tag or digest',
  ),
  tempo_image: imageRef('grafana/tempo:2.6.1', 'Image of Grafana Tempo, pinned to a version tag or digest'),
  loki_image: imageRef('grafana/loki:3.3.2', 'Image of Grafana Loki, pinned to a version tag or digest (3.5.8 and later have no busybox: set healthchecks.loki)'),
  mimir_image: imageRef('grafana/mimir:2.14.2', 'Image of Grafana Mimir, pinned to a version tag or digest'),
  grafana_image: imageRef('grafana/grafana:11.4.0', 'Image of Grafana, pinned to a version tag or digest'),
  node_exporter_image: imageRef('prom/node-exporter:v1.8.2', 'Image of the Prometheus node-exporter, pinned to a version tag or digest'),
  nginx_image: imageRef('nginx:1.27.3', 'Image of nginx, pinned to a version tag or digest'),
  postgres_image: imageRef('postgres:16.6', 'Image of Postgres (official image: uid 999), pinned to a version tag or digest'),
  app_image: imageRef('task-tracker:1.0.0', 'Image of the application (the FastAPI task-tracker), pinned to a version tag or digest'),
  ship_images: z
    .array(serviceName)
    .default([])
    .describe("Services whose image is shipped from the controller's Docker (docker save | docker load) instead of pulled by the host"),
  images: z
    .partialRecord(serviceName, pinnedImage)
    .default({})
    .describe('Image overrides by service name, each pinned to a version tag or digest; win over the *_image vars (air-gapped mirrors, test stand-ins)'),

  // The application.
  app_service_name: z
    .string()
    .regex(/^[A-Za-z0-9._-]+$/, 'expected a service name')
    .default('task-tracker')
    .describe('OTEL_SERVICE_NAME of the app: its service.name in traces, the service_name label of its logs in Loki, the service label of its span metrics'),
  app_env: z
    .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an environment variable name'), z.string())
    .default({})
    .describe('Extra non-secret environment of the app container'),
  app_health_path: z
    .string()
    .regex(/^\/[A-Za-z0-9._~/-]*$/, 'expected a URL path')
    .default('/health')
    .describe("Path of the app's health endpoint (its container healthcheck)"),
  app_metrics_path: z
    .string()
    .regex(/^(\/[A-Za-z0-9._~/-]*)?$/, 'expected a URL path or empty')
    .default('/metrics')
    .describe("Path of the app's Prometheus metrics, scraped by the collector (up == 0 alert); empty: not scraped"),

  // Postgres.
  postgres_user: z.string().regex(/^[a-z_][a-z0-9_]*$/, 'expected a Postgres role name').default('app').describe('Postgres user the app connects as'),
  postgres_db: z.string().regex(/^[a-z_][a-z0-9_]*$/, 'expected a database name').default('app').describe('Postgres database of the app'),
  postgres_storage: z
    .enum(['bind', 'volume'])
    .default('bind')
    .describe('Postgres data: bind (install_dir/postgres-data, 999:999) or volume (named volume pg_data)'),
  postgres_password: secretVar('postgres_password').describe('Postgres password (secret): only in .env (mode 0600)'),

  // Grafana.
  grafana_admin_user: z.string().regex(/^[A-Za-z0-9._@-]+$/, 'expected a user name').default('admin').describe('Grafana admin user'),
  grafana_admin_password: secretVar('grafana_admin_password').describe(
    'Grafana admin password (secret): only in .env; applied when Grafana first creates its database',
  ),

  // Retention.
  loki_retention: hours('744h', 'How long Loki keeps logs (compactor retention)'),
  tempo_retention: hours('336h', 'How long Tempo keeps traces (compactor block_retention)'),
  mimir_retention: hours('2160h', 'How long Mimir keeps metrics (compactor_blocks_retention_period)'),

  // Storage.
  loki_storage: storage.describe("Loki's object store: {backend: local} or {backend: s3, bucket, region, endpoint?} (instance-role credentials)"),
  tempo_storage: storage.describe("Tempo's trace store: {backend: local} or {backend: s3, bucket, region, endpoint?} (instance-role credentials)"),
  mimir_storage: storage.describe("Mimir's blocks store: {backend: local} or {backend: s3, bucket, region, endpoint?} (instance-role credentials)"),

  // Containers.
  restart_policy: z
    .enum(['no', 'always', 'on-failure', 'unless-stopped'])
    .default('unless-stopped')
    .describe('Restart policy of every service'),
  resources: resources.describe('Limits per service, {cpus, memory}; applied as deploy.resources.limits and as mem_limit/cpus'),
  healthchecks: z
    .partialRecord(serviceName, z.array(z.string()).min(1))
    .default({})
    .describe('Healthcheck test overrides by service, e.g. {mimir: [CMD, wget, -q, -O, /dev/null, http://127.0.0.1:9009/ready]}'),
  health_timeout_seconds: z.number().int().positive().default(300).describe('How long the role waits for every service to answer its health endpoint'),

  // TLS.
  tls_enabled: z.boolean().default(true).describe('Serve HTTPS on https_port; HTTP on http_port then redirects to it'),
  tls_cert_path: z
    .union([z.literal(''), hostPath])
    .default('')
    .describe('Certificate (chain) on the host; empty: a self-signed pair is generated at install_dir/certs'),
  tls_key_path: z.union([z.literal(''), hostPath]).default('').describe('Private key on the host, with tls_cert_path'),
  tls_self_signed_days: z.number().int().positive().default(825).describe('Validity of a generated self-signed certificate'),

  // Alerts.
  alert_error_rate: z.number().positive().max(1).default(0.05).describe('Alert when the share of failing server requests exceeds this (0.05 = 5%)'),
  alert_latency_p95_seconds: z.number().positive().default(1).describe('Alert when p95 server latency exceeds this many seconds'),
  alert_cpu_percent: z.number().positive().max(100).default(80).describe('Alert when host CPU use exceeds this percentage'),
  alert_disk_percent: z.number().positive().max(100).default(85).describe('Alert when a host file system is fuller than this percentage'),
  alert_backup_age_hours: z
    .number()
    .int()
    .positive()
    .default(26)
    .describe("Alert when a host's last successful backup by the halyard daemon is older than this many hours"),

  // The halyard daemon (roles/halyard-daemon) on this host, watched by the stack it deploys.
  scrape_halyard_daemon: z
    .union([z.literal('auto'), z.boolean()])
    .default('auto')
    .describe(
      "Scrape the halyard daemon's /metrics on this host into Mimir (collector job halyard, at host.docker.internal, which is the Docker bridge's address where the daemon also listens: its http.docker_bridge, auto by default): auto = only when the host has a halyard_daemon_config var (the hosts the halyard-daemon role installs the daemon on); true or false force it. The halyard dashboard and alert rules come with it",
    ),
  halyard_daemon_http_port: port(9464, "Port of the halyard daemon's /metrics on the host: the halyard-daemon role's var of the same name, so one value sets both"),
});

// The role's vars after defaults.
export type ObservabilityStackVars = z.output<typeof observabilityStackVars>;

// Vars that have no default: the secrets a play must supply.
export const REQUIRED_SECRET_VARS = ['postgres_password', 'grafana_admin_password'] as const;

import { isIP } from 'node:net';
import type { Secret } from 'halyard';
import { SERVICES, type ObservabilityStackVars, type ServiceName, type StorageConfig } from './vars.js';

// Ports the services listen on inside the compose network: the images' defaults, as in the guide.
// The *_port vars only choose the host side of each binding.
export const INTERNAL_PORTS = {
  otlpGrpc: 4317,
  otlpHttp: 4318,
  collectorMetrics: 8888,
  collectorHealth: 13133,
  tempo: 3200,
  tempoOtlpGrpc: 4317,
  loki: 3100,
  mimir: 9009,
  grafana: 3000,
  postgres: 5432,
  nginxHttp: 80,
  nginxHttps: 443,
} as const;

// Fixed datasource uids: dashboards, alert rules and the Tempo links refer to them.
export const DATASOURCE_UIDS = { mimir: 'mimir', loki: 'loki', tempo: 'tempo' } as const;

// The name the collector reaches the host by: compose maps it to the host's Docker bridge address
// (extra_hosts `host.docker.internal:host-gateway`), where a process on the host can answer it.
export const HOST_GATEWAY_NAME = 'host.docker.internal';

// The collector's scrape job of the halyard daemon. Its series keep the daemon's own `job` label (the
// daemon's job names: honor_labels); the daemon's series without one (process_*) get job="halyard",
// and every series gets `instance` = the stack's host name (the daemon's own labels have none).
export const HALYARD_SCRAPE = { job: 'halyard', addedLabels: ['instance'] } as const;

// Owner and mode of every directory the role lays down, relative to install_dir.
export interface DirSpec {
  path: string;
  owner: number | string;
  group: number | string;
  mode: string;
}

// Everything the templates need, resolved once from the vars and the host: pure data, no I/O.
export interface StackModel {
  vars: ObservabilityStackVars;
  dir: string;
  project: string;
  hostname: string;
  images: Record<ServiceName, string>;
  /** Address each service's host ports bind to. */
  bind: Record<ServiceName, string>;
  tls: { enabled: boolean; certPath: string; keyPath: string; selfSigned: boolean };
  postgresPassword: Secret;
  grafanaAdminPassword: Secret;
  /** The halyard daemon's /metrics the collector scrapes (host:port), when it does (scrape_halyard_daemon). */
  halyardScrape: { target: string } | undefined;
}

// Whether the host gets the halyard daemon: the halyard-daemon role's own test (the var present).
export function hostRunsHalyardDaemon(hostVars: Readonly<Record<string, unknown>>): boolean {
  return hostVars['halyard_daemon_config'] !== undefined;
}

// Resolves the vars of one host into the model the templates render; `hostVars` (all the host's
// vars) say whether the host runs the halyard daemon (scrape_halyard_daemon: auto).
export function stackModel(vars: ObservabilityStackVars, hostName: string, hostVars: Readonly<Record<string, unknown>> = {}): StackModel {
  const dir = vars.install_dir;
  const images = Object.fromEntries(
    SERVICES.map((service) => [service, vars.images[service] ?? vars[`${service.replace('-', '_')}_image` as keyof ObservabilityStackVars]]),
  ) as Record<ServiceName, string>;
  const bind = Object.fromEntries(
    SERVICES.map((service) => [service, vars.published_services.includes(service) ? vars.public_bind_address : '127.0.0.1']),
  ) as Record<ServiceName, string>;
  const selfSigned = vars.tls_enabled && vars.tls_cert_path === '';
  if ((vars.tls_cert_path === '') !== (vars.tls_key_path === '')) {
    throw new Error('role observability-stack: set both tls_cert_path and tls_key_path, or neither (a self-signed pair is then generated)');
  }
  const scrapesHalyard = vars.scrape_halyard_daemon === 'auto' ? hostRunsHalyardDaemon(hostVars) : vars.scrape_halyard_daemon;
  const hostname = vars.public_hostname || hostName;
  if (!/^[A-Za-z0-9.:-]+$/.test(hostname)) {
    throw new Error(`role observability-stack: var public_hostname: the host name ${JSON.stringify(hostname)} is no DNS name or address; set public_hostname`);
  }
  return {
    vars,
    dir,
    project: vars.project_name,
    hostname,
    images,
    bind,
    tls: {
      enabled: vars.tls_enabled,
      certPath: selfSigned ? `${dir}/certs/tls.crt` : vars.tls_cert_path,
      keyPath: selfSigned ? `${dir}/certs/tls.key` : vars.tls_key_path,
      selfSigned,
    },
    postgresPassword: vars.postgres_password,
    grafanaAdminPassword: vars.grafana_admin_password,
    halyardScrape: scrapesHalyard ? { target: `${HOST_GATEWAY_NAME}:${vars.halyard_daemon_http_port}` } : undefined,
  };
}

// The data directories with the uid:gid each image runs as (Loki, Tempo, Mimir 10001; Grafana 472; Postgres 999).
export function dataDirs(model: StackModel): DirSpec[] {
  const dirs: DirSpec[] = [
    { path: 'loki-data', owner: 10001, group: 10001, mode: '0750' },
    { path: 'tempo-data', owner: 10001, group: 10001, mode: '0750' },
    { path: 'mimir-data', owner: 10001, group: 10001, mode: '0750' },
    { path: 'grafana-data', owner: 472, group: 472, mode: '0750' },
  ];
  if (model.vars.postgres_storage === 'bind') dirs.push({ path: 'postgres-data', owner: 999, group: 999, mode: '0750' });
  return dirs;
}

// Directories of configs: world-readable (the services run as non-root users), owned by root.
export function configDirs(model: StackModel): DirSpec[] {
  const dirs: DirSpec[] = [
    { path: 'grafana', owner: 'root', group: 'root', mode: '0755' },
    { path: 'grafana/provisioning', owner: 'root', group: 'root', mode: '0755' },
    { path: 'grafana/provisioning/datasources', owner: 'root', group: 'root', mode: '0755' },
    { path: 'grafana/provisioning/dashboards', owner: 'root', group: 'root', mode: '0755' },
    { path: 'grafana/provisioning/alerting', owner: 'root', group: 'root', mode: '0755' },
    { path: 'grafana/dashboards', owner: 'root', group: 'root', mode: '0755' },
  ];
  if (model.tls.selfSigned) dirs.push({ path: 'certs', owner: 'root', group: 'root', mode: '0750' });
  return dirs;
}

// The S3 endpoint of a backend: the given one, else the region's AWS endpoint.
export function s3Endpoint(storage: Extract<StorageConfig, { backend: 's3' }>): string {
  return storage.endpoint ?? `s3.${storage.region}.amazonaws.com`;
}

// The subjectAltName entry for a host name or address.
export function subjectAltName(hostname: string): string {
  return isIP(hostname) ? `IP:${hostname}` : `DNS:${hostname}`;
}

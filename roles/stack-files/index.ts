import { defineRole, directory, file, packages, secretVar, template, z, type TaskList } from 'halyard';
import { composeFile, lokiConfig, mimirConfig, nginxConfig, otelCollectorConfig, tempoConfig } from './configs.js';

// The role's vars: every var typed, defaulted and described (inventory names, snake_case).
export const stackFilesVars = z.object({
  install_dir: z.string().default('/opt/observability').describe('Directory holding the compose project and its data'),
  grafana_password: secretVar('grafana_password').describe('Grafana admin password (secret), written to .env'),
  postgres_password: secretVar('postgres_password').describe('Postgres superuser password (secret), written to .env'),
  api_image: z.string().default('task-tracker:1.0.0').describe('Image of the FastAPI app'),
  api_upstream: z.string().default('api:8000').describe('host:port nginx proxies / to'),
  otlp_grpc_port: z.number().int().default(4317).describe('OTLP gRPC port of the collector'),
  loki_port: z.number().int().default(3100).describe('Loki HTTP port'),
  tempo_port: z.number().int().default(3200).describe('Tempo HTTP port'),
  mimir_port: z.number().int().default(9009).describe('Mimir HTTP port'),
  grafana_port: z.number().int().default(3000).describe('Grafana HTTP port (bound to loopback)'),
  node_exporter_port: z.number().int().default(9100).describe('node-exporter port (bound to loopback)'),
});

// Typed vars after defaults.
export type StackFilesVars = z.output<typeof stackFilesVars>;

/** Data directories and the uid:gid each image runs as (Loki, Mimir, Tempo: 10001; Grafana: 472). */
const DATA_DIRS = [
  { name: 'loki-data', owner: 10001, group: 10001 },
  { name: 'mimir-data', owner: 10001, group: 10001 },
  { name: 'tempo-data', owner: 10001, group: 10001 },
  { name: 'grafana-data', owner: 472, group: 472 },
] as const;

// Lays down the guide's files: packages, install dir, data dirs with the images' owners, configs, .env.
export const stackFiles = defineRole({
  name: 'stack-files',
  vars: stackFilesVars,
  become: true,
  tasks: (_host, vars) => stackFilesTasks(vars),
});

function stackFilesTasks(v: StackFilesVars): TaskList {
  const dir = v.install_dir;
  const ports = {
    apiUpstream: v.api_upstream,
    otlpGrpcPort: v.otlp_grpc_port,
    lokiPort: v.loki_port,
    tempoPort: v.tempo_port,
    mimirPort: v.mimir_port,
    grafanaPort: v.grafana_port,
    nodeExporterPort: v.node_exporter_port,
  };
  const images = {
    otelCollector: 'otel/opentelemetry-collector-contrib:0.131.0',
    tempo: 'grafana/tempo:2.6.1',
    loki: 'grafana/loki:3.3.2',
    mimir: 'grafana/mimir:2.14.2',
    grafana: 'grafana/grafana:11.4.0',
    nodeExporter: 'prom/node-exporter:v1.8.2',
    postgres: 'postgres:16',
    nginx: 'nginx:1.27',
    api: v.api_image,
  };
  const config = (name: string, content: string) => file({ path: `${dir}/${name}`, content, owner: 'root', group: 'root', mode: '0644' });
  return [
    packages({ names: ['curl', 'ca-certificates'] }),
    directory({ path: dir, owner: 'root', group: 'root', mode: '0755' }),
    DATA_DIRS.map((data) => directory({ path: `${dir}/${data.name}`, owner: data.owner, group: data.group, mode: '0750' })),
    config('docker-compose.yml', composeFile(ports, images)),
    config('otel-collector-config.yml', otelCollectorConfig(ports)),
    config('tempo-config.yml', tempoConfig(ports)),
    config('loki-config.yml', lokiConfig(ports)),
    config('mimir-config.yml', mimirConfig(ports)),
    config('nginx.conf', nginxConfig(ports)),
    file({
      path: `${dir}/.env`,
      content: template`GF_SECURITY_ADMIN_PASSWORD=${v.grafana_password}\nPOSTGRES_PASSWORD=${v.postgres_password}\n`,
      owner: 'root',
      group: 'root',
      mode: '0600',
    }),
  ];
}

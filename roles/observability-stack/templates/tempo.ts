import { INTERNAL_PORTS, s3Endpoint, type StackModel } from '../model.js';
import { MANAGED, renderYaml } from './yaml.js';

// Where Tempo keeps its WAL and (local backend) blocks: the tempo-data directory, owned 10001.
export const TEMPO_DATA = '/var/tempo';

// Mimir's remote-write endpoint, where Tempo's metrics generator sends what it derives from spans.
export const MIMIR_REMOTE_WRITE = `http://mimir:${INTERNAL_PORTS.mimir}/api/v1/push`;

// The metrics generator's processors: service graphs (traces_service_graph_*, Grafana's service
// map) and span metrics (traces_spanmetrics_*, the RED dashboard and alerts).
export const TEMPO_GENERATOR_PROCESSORS = ['service-graphs', 'span-metrics'] as const;

// tempo-config.yml: the guide's single binary (OTLP gRPC in), local or S3 blocks, with retention;
// its metrics generator (part of the single binary) remote-writes service-graph and span metrics
// to Mimir, enabled for every tenant through overrides.defaults.
export function tempoConfig(model: StackModel): string {
  const v = model.vars;
  const storage = v.tempo_storage;
  const trace =
    storage.backend === 's3'
      ? {
          backend: 's3',
          // No keys: the AWS SDK chain finds the instance role's credentials.
          s3: { bucket: storage.bucket, region: storage.region, endpoint: s3Endpoint(storage), forcepathstyle: storage.endpoint !== undefined },
          wal: { path: `${TEMPO_DATA}/wal` },
        }
      : { backend: 'local', local: { path: `${TEMPO_DATA}/blocks` }, wal: { path: `${TEMPO_DATA}/wal` } };
  const config = {
    stream_over_http_enabled: true,
    server: { http_listen_port: INTERNAL_PORTS.tempo, log_level: 'info' },
    distributor: {
      receivers: { otlp: { protocols: { grpc: { endpoint: `0.0.0.0:${INTERNAL_PORTS.tempoOtlpGrpc}` } } } },
    },
    ingester: { max_block_duration: '5m' },
    metrics_generator: {
      registry: { external_labels: { source: 'tempo' } },
      storage: {
        path: `${TEMPO_DATA}/generator/wal`,
        // Mimir runs without multitenancy: no X-Scope-OrgID header.
        remote_write: [{ url: MIMIR_REMOTE_WRITE, send_exemplars: true }],
        remote_write_add_org_id_header: false,
      },
    },
    compactor: { compaction: { block_retention: v.tempo_retention } },
    storage: { trace },
    overrides: { defaults: { metrics_generator: { processors: [...TEMPO_GENERATOR_PROCESSORS] } } },
    usage_report: { reporting_enabled: false },
  };
  return renderYaml(
    `${MANAGED}\nGrafana Tempo (single binary): OTLP gRPC from the collector; ${storage.backend} trace storage; service-graph and span metrics to Mimir.`,
    config,
  );
}

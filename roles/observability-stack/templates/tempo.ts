import { INTERNAL_PORTS, s3Endpoint, type StackModel } from '../model.js';
import { MANAGED, renderYaml } from './yaml.js';

// Where Tempo keeps its WAL and (local backend) blocks: the tempo-data directory, owned 10001.
export const TEMPO_DATA = '/var/tempo';

// tempo-config.yml: the guide's single binary (OTLP gRPC in), local or S3 blocks, with retention.
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
    compactor: { compaction: { block_retention: v.tempo_retention } },
    storage: { trace },
    usage_report: { reporting_enabled: false },
  };
  return renderYaml(`${MANAGED}\nGrafana Tempo (single binary): OTLP gRPC from the collector; ${storage.backend} trace storage.`, config);
}

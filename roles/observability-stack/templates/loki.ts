import { INTERNAL_PORTS, s3Endpoint, type StackModel } from '../model.js';
import { MANAGED, renderYaml } from './yaml.js';

// Loki's path prefix inside its container: the loki-data directory, owned 10001.
export const LOKI_DATA = '/loki';

// loki-config.yml: the guide's single binary with TSDB schema v13, filesystem or S3 chunks, retention by the compactor.
export function lokiConfig(model: StackModel): string {
  const v = model.vars;
  const storage = v.loki_storage;
  const objectStore = storage.backend === 's3' ? 's3' : 'filesystem';
  const commonStorage =
    storage.backend === 's3'
      ? // No keys: the AWS SDK chain finds the instance role's credentials.
        { s3: { bucketnames: storage.bucket, region: storage.region, endpoint: s3Endpoint(storage), s3forcepathstyle: storage.endpoint !== undefined } }
      : { filesystem: { chunks_directory: `${LOKI_DATA}/chunks`, rules_directory: `${LOKI_DATA}/rules` } };
  const config = {
    auth_enabled: false,
    server: { http_listen_port: INTERNAL_PORTS.loki, grpc_listen_port: 9096, log_level: 'info' },
    common: {
      instance_addr: '127.0.0.1',
      path_prefix: LOKI_DATA,
      storage: commonStorage,
      replication_factor: 1,
      ring: { kvstore: { store: 'inmemory' } },
    },
    schema_config: {
      configs: [{ from: '2024-01-01', store: 'tsdb', object_store: objectStore, schema: 'v13', index: { prefix: 'index_', period: '24h' } }],
    },
    limits_config: { retention_period: v.loki_retention, allow_structured_metadata: true, volume_enabled: true },
    compactor: {
      working_directory: `${LOKI_DATA}/compactor`,
      compaction_interval: '10m',
      retention_enabled: true,
      retention_delete_delay: '2h',
      delete_request_store: objectStore,
    },
    analytics: { reporting_enabled: false },
  };
  return renderYaml(`${MANAGED}\nGrafana Loki (single binary): TSDB schema v13 on ${objectStore}; retention ${v.loki_retention}.`, config);
}

import { INTERNAL_PORTS, s3Endpoint, type StackModel } from '../model.js';
import { MANAGED, renderYaml } from './yaml.js';

// Mimir's data directory inside its container: the mimir-data directory, owned 10001.
export const MIMIR_DATA = '/var/mimir';

// Exemplars Mimir keeps in memory for the (single, anonymous) tenant: Grafana links them to traces.
export const MIMIR_MAX_EXEMPLARS = 100_000;

// mimir-config.yml: the guide's monolithic Mimir (no multitenancy, in-memory rings), blocks storage
// on the filesystem or S3, retention by the compactor. Every working path sits under /var/mimir so
// Mimir runs as uid 10001 without writing anywhere else.
export function mimirConfig(model: StackModel): string {
  const v = model.vars;
  const storage = v.mimir_storage;
  const ring = { instance_addr: '127.0.0.1', kvstore: { store: 'inmemory' } };
  const buckets =
    storage.backend === 's3'
      ? {
          common: {
            storage: {
              backend: 's3',
              // No keys: the AWS SDK chain finds the instance role's credentials.
              s3: {
                bucket_name: storage.bucket,
                region: storage.region,
                endpoint: s3Endpoint(storage),
                ...(storage.endpoint !== undefined ? { bucket_lookup_type: 'path' } : {}),
              },
            },
          },
          blocks_storage: {
            storage_prefix: 'blocks',
            tsdb: { dir: `${MIMIR_DATA}/tsdb` },
            bucket_store: { sync_dir: `${MIMIR_DATA}/tsdb-sync` },
          },
          ruler_storage: { storage_prefix: 'ruler' },
          alertmanager_storage: { storage_prefix: 'alertmanager' },
        }
      : {
          common: { storage: { backend: 'filesystem', filesystem: { dir: MIMIR_DATA } } },
          blocks_storage: {
            backend: 'filesystem',
            filesystem: { dir: `${MIMIR_DATA}/blocks` },
            tsdb: { dir: `${MIMIR_DATA}/tsdb` },
            bucket_store: { sync_dir: `${MIMIR_DATA}/tsdb-sync` },
          },
          ruler_storage: { backend: 'filesystem', filesystem: { dir: `${MIMIR_DATA}/ruler-storage` } },
          alertmanager_storage: { backend: 'filesystem', filesystem: { dir: `${MIMIR_DATA}/alertmanager-storage` } },
        };
  const config = {
    multitenancy_enabled: false,
    server: { http_listen_port: INTERNAL_PORTS.mimir, log_level: 'warn' },
    ...buckets,
    compactor: { data_dir: `${MIMIR_DATA}/compactor`, sharding_ring: { kvstore: { store: 'inmemory' } } },
    distributor: { ring },
    ingester: { ring: { ...ring, replication_factor: 1 } },
    store_gateway: { sharding_ring: { replication_factor: 1 } },
    ruler: { rule_path: `${MIMIR_DATA}/ruler` },
    alertmanager: { data_dir: `${MIMIR_DATA}/alertmanager` },
    activity_tracker: { filepath: `${MIMIR_DATA}/metrics-activity.log` },
    // Exemplars (trace ids on Tempo's span metrics) are dropped unless a tenant may keep some.
    limits: { compactor_blocks_retention_period: v.mimir_retention, max_global_exemplars_per_user: MIMIR_MAX_EXEMPLARS },
    usage_stats: { enabled: false },
  };
  return renderYaml(`${MANAGED}\nGrafana Mimir (monolithic): ${storage.backend === 's3' ? 'S3' : 'filesystem'} blocks storage; retention ${v.mimir_retention}.`, config);
}

import { INTERNAL_PORTS, s3Endpoint, type StackModel } from '../model.js';
import { MANAGED, renderYaml } from './yaml.js';

// Loki's path prefix inside its container: the loki-data directory, owned 10001.
export const LOKI_DATA = '/loki';

// OTLP resource attributes Loki keeps as index labels (dots become underscores: service.name ->
// service_name), which the Logs dashboard and Tempo's trace-to-logs link select on. Loki's default
// list (distributor.otlp_config.default_resource_attributes_as_index_labels, left as it is) holds
// them too; naming them here keeps them labels should that default change. Every other resource,
// scope and log attribute, and the trace_id/span_id of each record, is structured metadata.
export const LOKI_INDEX_ATTRIBUTES = ['service.name', 'service.namespace', 'deployment.environment', 'deployment.environment.name'] as const;

// The label Loki makes of service.name: what the Logs dashboard and Tempo's trace-to-logs select on.
export const LOKI_SERVICE_LABEL = 'service_name';

// loki-config.yml: the guide's single binary with TSDB schema v13, filesystem or S3 chunks, retention
// by the compactor; it takes the collector's logs on its native OTLP endpoint (/otlp/v1/logs), which
// needs structured metadata (allowed here; it needs the tsdb store and schema v13, as configured).
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
    limits_config: {
      retention_period: v.loki_retention,
      allow_structured_metadata: true,
      volume_enabled: true,
      otlp_config: { resource_attributes: { attributes_config: [{ action: 'index_label', attributes: [...LOKI_INDEX_ATTRIBUTES] }] } },
    },
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

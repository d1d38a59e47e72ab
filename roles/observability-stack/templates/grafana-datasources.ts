import { DATASOURCE_UIDS, INTERNAL_PORTS, type StackModel } from '../model.js';
import { LOKI_SERVICE_LABEL } from './loki.js';
import { MANAGED, renderYaml } from './yaml.js';

// Grafana expands $VAR in provisioning files; a literal $ (Grafana's own ${__...} macros) is written $$.
export function grafanaLiteral(value: string): string {
  return value.replace(/\$/g, () => '$$');
}

// Tempo's span metrics (metrics generator, tempo.ts) as Mimir has them: a counter of calls and a
// latency histogram in seconds, labelled service, span_name, span_kind and status_code.
export const SPAN_METRICS = { calls: 'traces_spanmetrics_calls_total', latencyBucket: 'traces_spanmetrics_latency_bucket', service: 'service' } as const;

// provisioning/datasources/datasources.yml: Mimir (Prometheus API under /prometheus), Loki and
// Tempo with fixed uids; Tempo links traces to logs (Loki, by service_name and the trace_id each
// OTLP record carries as structured metadata), to metrics (Tempo's span metrics in Mimir) and draws
// its service map from the service-graph metrics Tempo writes to Mimir; Loki links the trace_id of
// a log record back to Tempo, Mimir links exemplars to Tempo.
export function grafanaDatasources(_model: StackModel): string {
  const { mimir, loki, tempo } = DATASOURCE_UIDS;
  const config = {
    apiVersion: 1,
    prune: true,
    datasources: [
      {
        name: 'Mimir',
        type: 'prometheus',
        uid: mimir,
        access: 'proxy',
        url: `http://mimir:${INTERNAL_PORTS.mimir}/prometheus`,
        isDefault: true,
        editable: false,
        jsonData: {
          httpMethod: 'POST',
          prometheusType: 'Mimir',
          timeInterval: '15s',
          exemplarTraceIdDestinations: [{ name: 'trace_id', datasourceUid: tempo }],
        },
      },
      {
        name: 'Loki',
        type: 'loki',
        uid: loki,
        access: 'proxy',
        url: `http://loki:${INTERNAL_PORTS.loki}`,
        editable: false,
        jsonData: {
          maxLines: 1000,
          derivedFields: [
            // OTLP records keep their trace id as structured metadata trace_id (not in the line).
            { name: 'TraceID', matcherType: 'label', matcherRegex: 'trace_id', url: grafanaLiteral('${__value.raw}'), datasourceUid: tempo },
          ],
        },
      },
      {
        name: 'Tempo',
        type: 'tempo',
        uid: tempo,
        access: 'proxy',
        url: `http://tempo:${INTERNAL_PORTS.tempo}`,
        editable: false,
        jsonData: {
          tracesToLogsV2: {
            datasourceUid: loki,
            spanStartTimeShift: '-5m',
            spanEndTimeShift: '5m',
            // Loki's OTLP endpoint indexes service.name as service_name; the trace id is structured metadata.
            tags: [{ key: 'service.name', value: LOKI_SERVICE_LABEL }],
            filterByTraceID: false,
            filterBySpanID: false,
            customQuery: true,
            query: grafanaLiteral('{${__tags}} | trace_id="${__trace.traceId}"'),
          },
          tracesToMetrics: {
            datasourceUid: mimir,
            spanStartTimeShift: '-5m',
            spanEndTimeShift: '5m',
            tags: [{ key: 'service.name', value: SPAN_METRICS.service }],
            queries: [
              { name: 'Request rate', query: grafanaLiteral(`sum(rate(${SPAN_METRICS.calls}{$__tags}[5m]))`) },
              {
                name: 'Error rate',
                query: grafanaLiteral(`sum(rate(${SPAN_METRICS.calls}{$__tags, status_code="STATUS_CODE_ERROR"}[5m]))`),
              },
              {
                name: 'p95 latency',
                query: grafanaLiteral(`histogram_quantile(0.95, sum by (le) (rate(${SPAN_METRICS.latencyBucket}{$__tags}[5m])))`),
              },
            ],
          },
          // Service graph from traces_service_graph_* (Tempo's metrics generator) in Mimir.
          serviceMap: { datasourceUid: mimir },
          nodeGraph: { enabled: true },
          lokiSearch: { datasourceUid: loki },
          search: { hide: false },
        },
      },
    ],
  };
  return renderYaml(`${MANAGED}\nGrafana data sources: Mimir, Loki, Tempo (fixed uids, linked to each other).`, config);
}

import { DATASOURCE_UIDS, INTERNAL_PORTS, type StackModel } from '../model.js';
import { MANAGED, renderYaml } from './yaml.js';

// Grafana expands $VAR in provisioning files; a literal $ (Grafana's own ${__...} macros) is written $$.
export function grafanaLiteral(value: string): string {
  return value.replace(/\$/g, () => '$$');
}

// provisioning/datasources/datasources.yml: Mimir (Prometheus API under /prometheus), Loki and
// Tempo with fixed uids; Tempo links traces to logs (Loki) and to metrics (Mimir span metrics),
// Loki links trace ids in log lines back to Tempo, Mimir links exemplars to Tempo.
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
            // The collector's loki exporter writes OTLP log records as JSON with a "traceid" field.
            { name: 'TraceID', matcherRegex: '"traceid":"(\\w+)"', url: grafanaLiteral('${__value.raw}'), datasourceUid: tempo },
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
            filterByTraceID: true,
            filterBySpanID: false,
            // The loki exporter labels streams with job = service.name.
            tags: [{ key: 'service.name', value: 'job' }],
          },
          tracesToMetrics: {
            datasourceUid: mimir,
            spanStartTimeShift: '-5m',
            spanEndTimeShift: '5m',
            tags: [{ key: 'service.name', value: 'service_name' }],
            queries: [
              { name: 'Request rate', query: grafanaLiteral('sum(rate(traces_span_metrics_calls_total{$__tags}[5m]))') },
              {
                name: 'Error rate',
                query: grafanaLiteral('sum(rate(traces_span_metrics_calls_total{$__tags, status_code="STATUS_CODE_ERROR"}[5m]))'),
              },
              {
                name: 'p95 latency',
                query: grafanaLiteral('histogram_quantile(0.95, sum by (le) (rate(traces_span_metrics_duration_seconds_bucket{$__tags}[5m])))'),
              },
            ],
          },
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

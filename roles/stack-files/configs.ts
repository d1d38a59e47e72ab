// The six config files of the deployment guide, as typed templates (the guide's text, parameterized).

// Ports and names the configs refer to; defaults are the guide's.
export interface StackConfigVars {
  apiUpstream: string;
  otlpGrpcPort: number;
  lokiPort: number;
  tempoPort: number;
  mimirPort: number;
  grafanaPort: number;
  nodeExporterPort: number;
}

// otel-collector-config.yml: OTLP in; logs to Loki, traces to Tempo, metrics (and node-exporter scrapes) to Mimir.
export function otelCollectorConfig(v: StackConfigVars): string {
  return `receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 0.0.0.0:${v.otlpGrpcPort}
  prometheus:
    config:
      scrape_configs:
        - job_name: 'node-exporter'
          static_configs:
            - targets: ['node-exporter:${v.nodeExporterPort}']

processors:
  batch:
    timeout: 10s

exporters:
  # Loki's own OTLP endpoint (the collector's loki exporter is gone from contrib since 2025).
  otlphttp/loki:
    endpoint: http://loki:${v.lokiPort}/otlp
  otlp/tempo:
    endpoint: tempo:4317
    tls:
      insecure: true
  prometheusremotewrite:
    endpoint: http://mimir:${v.mimirPort}/api/v1/push

service:
  pipelines:
    logs:
      receivers: [otlp]
      processors: [batch]
      exporters: [otlphttp/loki]
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [otlp/tempo]
    metrics:
      receivers: [otlp, prometheus]
      processors: [batch]
      exporters: [prometheusremotewrite]
`;
}

// tempo-config.yml: OTLP gRPC in, local block storage.
export function tempoConfig(v: StackConfigVars): string {
  return `server:
  http_listen_port: ${v.tempoPort}

distributor:
  receivers:
    otlp:
      protocols:
        grpc:
          endpoint: 0.0.0.0:4317

storage:
  trace:
    backend: local
    local:
      path: /tmp/tempo/blocks
`;
}

// loki-config.yml: single-binary Loki on the filesystem, TSDB schema v13.
export function lokiConfig(v: StackConfigVars): string {
  return `auth_enabled: false

server:
  http_listen_port: ${v.lokiPort}

common:
  path_prefix: /loki
  storage:
    filesystem:
      chunks_directory: /loki/chunks
      rules_directory: /loki/rules
  replication_factor: 1
  ring:
    kvstore:
      store: inmemory

schema_config:
  configs:
    - from: 2024-01-01
      store: tsdb
      object_store: filesystem
      schema: v13
      index:
        prefix: index_
        period: 24h
`;
}

// mimir-config.yml: monolithic Mimir on the filesystem.
export function mimirConfig(v: StackConfigVars): string {
  return `multitenancy_enabled: false

server:
  http_listen_port: ${v.mimirPort}

common:
  storage:
    backend: filesystem
    filesystem:
      dir: /var/mimir

blocks_storage:
  backend: filesystem
  filesystem:
    dir: /var/mimir/blocks

compactor:
  data_dir: /var/mimir/compactor

ingester:
  ring:
    kvstore:
      store: inmemory
`;
}

// nginx.conf: / to the app, /grafana/ to Grafana.
export function nginxConfig(v: StackConfigVars): string {
  return `events {
    worker_connections 1024;
}

http {
    upstream grafana {
        server grafana:${v.grafanaPort};
    }

    upstream api {
        server ${v.apiUpstream};
    }

    server {
        listen 80;
        server_name _;

        location / {
            proxy_pass http://api;
            proxy_set_header Host $host;
            proxy_set_header X-Real-IP $remote_addr;
        }

        location /grafana/ {
            proxy_pass http://grafana/;
            proxy_set_header Host $host;
        }
    }
}
`;
}

// Image tags of the stack (the real upstream images users get).
export interface StackImages {
  otelCollector: string;
  tempo: string;
  loki: string;
  mimir: string;
  grafana: string;
  nodeExporter: string;
  postgres: string;
  nginx: string;
  api: string;
}

// docker-compose.yml: every service of the guide; only nginx is published beyond loopback.
export function composeFile(v: StackConfigVars, images: StackImages): string {
  return `name: observability
services:
  otel-collector:
    image: ${images.otelCollector}
    command: ["--config=/etc/otel-collector-config.yml"]
    volumes:
      - ./otel-collector-config.yml:/etc/otel-collector-config.yml:ro
    ports:
      - "127.0.0.1:${v.otlpGrpcPort}:${v.otlpGrpcPort}"
      - "127.0.0.1:8888:8888"
    restart: unless-stopped
  tempo:
    image: ${images.tempo}
    command: ["-config.file=/etc/tempo.yml"]
    volumes:
      - ./tempo-config.yml:/etc/tempo.yml:ro
      - ./tempo-data:/tmp/tempo
    ports:
      - "127.0.0.1:${v.tempoPort}:${v.tempoPort}"
    restart: unless-stopped
  loki:
    image: ${images.loki}
    command: ["-config.file=/etc/loki/config.yml"]
    volumes:
      - ./loki-config.yml:/etc/loki/config.yml:ro
      - ./loki-data:/loki
    ports:
      - "127.0.0.1:${v.lokiPort}:${v.lokiPort}"
    restart: unless-stopped
  mimir:
    image: ${images.mimir}
    command: ["-config.file=/etc/mimir.yml"]
    volumes:
      - ./mimir-config.yml:/etc/mimir.yml:ro
      - ./mimir-data:/var/mimir
    ports:
      - "127.0.0.1:${v.mimirPort}:${v.mimirPort}"
    restart: unless-stopped
  grafana:
    image: ${images.grafana}
    env_file: .env
    environment:
      GF_SERVER_ROOT_URL: "%(protocol)s://%(domain)s/grafana/"
      GF_SERVER_SERVE_FROM_SUB_PATH: "true"
    volumes:
      - ./grafana-data:/var/lib/grafana
    ports:
      - "127.0.0.1:${v.grafanaPort}:3000"
    restart: unless-stopped
  node-exporter:
    image: ${images.nodeExporter}
    command: ["--path.rootfs=/host"]
    volumes:
      - /:/host:ro,rslave
    ports:
      - "127.0.0.1:${v.nodeExporterPort}:9100"
    restart: unless-stopped
  postgres:
    image: ${images.postgres}
    env_file: .env
    volumes:
      - pg_data:/var/lib/postgresql/data
    restart: unless-stopped
  api:
    image: ${images.api}
    env_file: .env
    environment:
      OTEL_EXPORTER_OTLP_ENDPOINT: http://otel-collector:${v.otlpGrpcPort}
    restart: unless-stopped
  nginx:
    image: ${images.nginx}
    volumes:
      - ./nginx.conf:/etc/nginx/nginx.conf:ro
    ports:
      - "80:80"
    depends_on: [api, grafana]
    restart: unless-stopped
volumes:
  pg_data:
`;
}

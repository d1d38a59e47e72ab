import { INTERNAL_PORTS, type StackModel } from '../model.js';
import { MANAGED } from './yaml.js';

// The location every health check of nginx uses; answered on plain HTTP, never redirected.
export const NGINX_HEALTH_PATH = '/healthz';

// nginx.conf: `/` to the app, `/grafana/` to Grafana served from that sub-path (with Grafana Live's
// websocket), TLS termination with the certificate paths of the vars, and port 80 redirecting to
// 443 when TLS is on. Upstreams are resolved through Docker's DNS at request time, so nginx starts
// (and keeps working) while the app or Grafana is being recreated.
export function nginxConfig(model: StackModel): string {
  const v = model.vars;
  const routes = `        location / {
            set $app_upstream http://app:${v.app_port};
            proxy_pass $app_upstream;
        }

        location = /grafana {
            return 301 /grafana/;
        }

        location /grafana/ {
            set $grafana_upstream http://grafana:${INTERNAL_PORTS.grafana};
            proxy_pass $grafana_upstream;
        }

        location /grafana/api/live/ {
            set $grafana_upstream http://grafana:${INTERNAL_PORTS.grafana};
            proxy_http_version 1.1;
            # proxy_set_header here replaces the inherited ones: all of them are repeated.
            proxy_set_header Host $host;
            proxy_set_header X-Real-IP $remote_addr;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_pass $grafana_upstream;
        }`;
  const health = `        location = ${NGINX_HEALTH_PATH} {
            access_log off;
            default_type text/plain;
            return 200 "ok\\n";
        }`;
  const plain = v.tls_enabled
    ? `    server {
        listen ${INTERNAL_PORTS.nginxHttp} default_server;
        server_name ${model.hostname} _;

${health}

        location / {
            return 301 https://$host${v.https_port === 443 ? '' : `:${v.https_port}`}$request_uri;
        }
    }

    server {
        listen ${INTERNAL_PORTS.nginxHttps} ssl default_server;
        server_name ${model.hostname} _;

        ssl_certificate ${model.tls.certPath};
        ssl_certificate_key ${model.tls.keyPath};
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_prefer_server_ciphers off;
        ssl_session_cache shared:TLS:10m;
        ssl_session_timeout 1d;
${model.tls.selfSigned ? '' : '        add_header Strict-Transport-Security "max-age=31536000" always;\n'}
${health}

${routes}
    }`
    : `    server {
        listen ${INTERNAL_PORTS.nginxHttp} default_server;
        server_name ${model.hostname} _;

${health}

${routes}
    }`;
  return `# ${MANAGED}
# nginx: / -> app, /grafana/ -> Grafana${v.tls_enabled ? '; TLS on 443, 80 redirects to it' : ''}.
worker_processes auto;
pid /var/run/nginx.pid;
error_log /dev/stderr warn;

events {
    worker_connections 1024;
}

http {
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log /dev/stdout;
    sendfile on;
    keepalive_timeout 65;
    server_tokens off;
    client_max_body_size 16m;

    # Docker's embedded DNS: names are looked up again when containers are recreated.
    resolver 127.0.0.11 valid=10s ipv6=off;

    map $http_upgrade $connection_upgrade {
        default upgrade;
        '' close;
    }

    proxy_set_header Host $host;
    proxy_set_header X-Real-IP $remote_addr;
    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    proxy_set_header X-Forwarded-Proto $scheme;
    proxy_read_timeout 60s;

${plain}
}
`;
}

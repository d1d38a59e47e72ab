import {
  command,
  composeProject,
  composeRestart,
  defineRole,
  directory,
  dockerImage,
  file,
  httpHealth,
  localImageIds,
  packages,
  roleVars,
  sh,
  type HostContext,
  type ResourceInstance,
  type SecretText,
  type TaskList,
} from 'halyard';
import { configDirs, dataDirs, INTERNAL_PORTS, stackModel, subjectAltName, type StackModel } from './model.js';
import { CONFIG_FILES, composeFile } from './templates/compose.js';
import { envFile } from './templates/env.js';
import { grafanaAlertRules } from './templates/grafana-alerting.js';
import { dashboardFiles, grafanaDashboardProvider } from './templates/grafana-dashboards.js';
import { grafanaDatasources } from './templates/grafana-datasources.js';
import { lokiConfig } from './templates/loki.js';
import { mimirConfig } from './templates/mimir.js';
import { NGINX_HEALTH_PATH, nginxConfig } from './templates/nginx.js';
import { otelCollectorConfig } from './templates/otel-collector.js';
import { tempoConfig } from './templates/tempo.js';
import { observabilityStackVars, type ObservabilityStackVars, type ServiceName } from './vars.js';

export { observabilityStackVars, REQUIRED_SECRET_VARS, SERVICES, type ObservabilityStackVars, type ServiceName } from './vars.js';
export { HALYARD_SCRAPE, HOST_GATEWAY_NAME, stackModel, type StackModel } from './model.js';

/** The name of the handler that restarts one service (notified by the files it mounts). */
export const restartHandler = (service: ServiceName): string => `restart ${service}`;

/** Services that mount files the role writes, in the order their handlers run. */
export const RESTARTABLE: readonly ServiceName[] = ['loki', 'tempo', 'mimir', 'otel-collector', 'grafana', 'nginx'];

// What the role reads of the host: its inventory name (default public_hostname) and its vars.
type HostInput = Pick<HostContext, 'name' | 'vars'>;

// The role's vars of one host, validated, and the model the templates render.
export function observabilityStackModel(host: HostInput): StackModel {
  const vars: ObservabilityStackVars = roleVars('observability-stack', observabilityStackVars, host.vars);
  return stackModel(vars, host.name, host.vars);
}

// Every file the role lays down, by path relative to install_dir, with the service it restarts
// (none: docker compose itself picks the change up). `.env` is not here: it holds the secrets.
export function renderedFiles(model: StackModel): { path: string; content: string; restarts?: ServiceName }[] {
  return [
    { path: CONFIG_FILES.otelCollector.file, content: otelCollectorConfig(model), restarts: 'otel-collector' },
    { path: CONFIG_FILES.tempo.file, content: tempoConfig(model), restarts: 'tempo' },
    { path: CONFIG_FILES.loki.file, content: lokiConfig(model), restarts: 'loki' },
    { path: CONFIG_FILES.mimir.file, content: mimirConfig(model), restarts: 'mimir' },
    { path: CONFIG_FILES.nginx.file, content: nginxConfig(model), restarts: 'nginx' },
    { path: 'grafana/provisioning/datasources/datasources.yml', content: grafanaDatasources(model), restarts: 'grafana' },
    { path: 'grafana/provisioning/dashboards/dashboards.yml', content: grafanaDashboardProvider(model), restarts: 'grafana' },
    { path: 'grafana/provisioning/alerting/rules.yml', content: grafanaAlertRules(model), restarts: 'grafana' },
    ...Object.entries(dashboardFiles(model)).map(([name, content]) => ({ path: `grafana/dashboards/${name}`, content, restarts: 'grafana' as const })),
    { path: 'docker-compose.yml', content: composeFile(model) },
  ];
}

// What docker compose reads for the project's config hashes, exactly as the role writes it:
// docker-compose.yml and .env (a secret template). The compose project task hashes these.
export function composeInputs(model: StackModel): { composeFile: string; envFile: SecretText } {
  return { composeFile: composeFile(model), envFile: envFile(model) };
}

// The health endpoint of each service the role waits for, curled from the host through its published port.
export function healthChecks(model: StackModel): { service: ServiceName; url: string }[] {
  const v = model.vars;
  const at = (service: ServiceName, port: number, path: string) => {
    const bind = model.bind[service];
    return { service, url: `http://${bind === '0.0.0.0' ? '127.0.0.1' : bind}:${port}${path}` };
  };
  return [
    at('loki', v.loki_port, '/ready'),
    at('tempo', v.tempo_port, '/ready'),
    at('mimir', v.mimir_port, '/ready'),
    at('otel-collector', v.collector_health_port, '/'),
    at('grafana', v.grafana_port, '/api/health'),
    at('nginx', v.http_port, NGINX_HEALTH_PATH),
  ];
}

// The self-signed pair, made on the host once (creates: the certificate, written last).
function selfSignedCertificate(model: StackModel): ResourceInstance {
  const { certPath, keyPath } = model.tls;
  const [keyTemp, certTemp] = [`${keyPath}.tmp`, `${certPath}.tmp`];
  const subject = `/CN=${model.hostname}`;
  const altNames = `subjectAltName=${subjectAltName(model.hostname)}`;
  const days = model.vars.tls_self_signed_days;
  const script = sh.join(
    [
      sh`umask 077`,
      sh`openssl req -x509 -newkey rsa:2048 -sha256 -nodes -days ${days} -subj ${subject} -addext ${altNames} -keyout ${keyTemp} -out ${certTemp} 2>&1`,
      sh`chmod 0644 ${certTemp}`,
      sh`mv -f ${keyTemp} ${keyPath}`,
      sh`mv -f ${certTemp} ${certPath}`,
    ],
    sh` && `,
  );
  return command({ command: script, creates: certPath }, { name: `self-signed certificate for ${model.hostname}`, notify: restartHandler('nginx') });
}

// The observability stack on one host: directories with the owners the images expect, every
// config (0644 root), Grafana provisioning, .env (0600, the only file with secrets), TLS, images
// shipped when asked, then the compose project up and every service answering its health endpoint.
// Its handlers, one per service that mounts files of the role: restart it, then wait for its health.
// Those notified together restart in one compose call and wait for their health once (`together`).
export const observabilityStack = defineRole({
  name: 'observability-stack',
  vars: observabilityStackVars,
  become: true,
  tasks: (host, vars) => stackTasks(stackModel(vars, host.name, host.vars)),
  handlers: (host, vars) => stackHandlers(stackModel(vars, host.name, host.vars)),
});

function stackTasks(model: StackModel): TaskList {
  const v = model.vars;
  const dir = model.dir;
  const root = { owner: 'root', group: 'root' } as const;
  // One load per image, even when several services share it; the compose project expects these IDs.
  const refs = [...new Set(v.ship_images.map((service) => model.images[service]))];
  const ids = localImageIds(refs);
  const shipped = refs.map((ref) => ({ ref, id: ids[ref]! }));
  return [
    packages({ names: ['curl', 'ca-certificates', ...(model.tls.selfSigned ? ['openssl'] : [])] }),
    directory({ path: dir, ...root, mode: '0755' }),
    configDirs(model).map((spec) => directory({ path: `${dir}/${spec.path}`, owner: spec.owner, group: spec.group, mode: spec.mode })),
    dataDirs(model).map((spec) => directory({ path: `${dir}/${spec.path}`, owner: spec.owner, group: spec.group, mode: spec.mode })),
    renderedFiles(model).map((entry) =>
      file(
        { path: `${dir}/${entry.path}`, content: entry.content, ...root, mode: '0644' },
        entry.restarts ? { notify: restartHandler(entry.restarts) } : {},
      ),
    ),
    file({ path: `${dir}/.env`, content: envFile(model), ...root, mode: '0600' }),
    model.tls.selfSigned && selfSignedCertificate(model),
    shipped.map((image) => dockerImage(image)),
    // A service that `up` creates, recreates or starts already reads the new files: no restart after it.
    // Its config hashes come from the compose file and .env the tasks above write (`inputs`), so
    // --check predicts what apply's `up` does after they restored a hand-edited file; with the
    // shipped IDs (`expectImages`), the recreates a new image under the same tag brings too.
    composeProject({
      dir,
      project: model.project,
      restartHandlers: Object.fromEntries(RESTARTABLE.map((service) => [service, restartHandler(service)])),
      inputs: composeInputs(model),
      ...(shipped.length > 0 ? { expectImages: Object.fromEntries(shipped.map((image) => [image.ref, image.id])) } : {}),
    }),
    httpHealth({ dir, project: model.project, checks: healthChecks(model), timeoutSeconds: v.health_timeout_seconds }),
  ];
}

function stackHandlers(model: StackModel): Record<string, TaskList> {
  const checks = healthChecks(model);
  return Object.fromEntries(
    RESTARTABLE.map((service) => {
      const own = checks.filter((check) => check.service === service);
      return [
        restartHandler(service),
        [
          composeRestart({ dir: model.dir, project: model.project, services: [service], together: true }),
          own.length > 0 && httpHealth({ dir: model.dir, project: model.project, checks: own, timeoutSeconds: model.vars.health_timeout_seconds, together: true }),
        ],
      ];
    }),
  );
}

// Ports inside the compose network, for playbooks that talk to the services directly.
export { INTERNAL_PORTS };

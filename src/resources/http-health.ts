import { sh, type ShellScript } from '../core/shell.js';
import {
  chooseComposeTool,
  composeCommand,
  curlCommand,
  dockerFact,
  healthyStatus,
  httpHealthFact,
  type ComposeCommandChoice,
  type DockerInfo,
  type HealthAnswer,
  type HealthCheck,
} from '../facts/docker.js';
import { COMPOSE_SERVICE_NAME, checkComposeTarget, sameComposeTarget } from './compose-project.js';
import { PlanError, type Plan, type ResourceType } from './types.js';

// HTTP endpoints of a compose project answer 2xx/3xx from the host; else wait for them, and fail with each bad service's logs.
export interface HttpHealthDesired {
  /** The compose project's directory (for `compose logs` on failure). */
  dir: string;
  project: string;
  /** One URL per check, curled from the host (e.g. http://127.0.0.1:3100/ready). */
  checks: HealthCheck[];
  /** How long to wait for every check to pass; default 120. */
  timeoutSeconds?: number;
  /** Compose file inside dir; default 'docker-compose.yml'. */
  file?: string;
  /** Compose command for the logs; 'auto' (default) as compose-project. */
  command?: ComposeCommandChoice;
  /**
   * As a handler: waited for in one round with the checks of the handlers notified next to it that
   * say `together` for the same project and timeout (default false: one wait after the other).
   */
  together?: boolean;
}

/** Seconds to wait by default. */
export const HEALTH_TIMEOUT_SECONDS = 120;
/** Lines of `compose logs` shown per unhealthy service. */
export const HEALTH_LOG_LINES = 20;

const URL_PATTERN = /^https?:\/\/[^\s]+$/;

// The http-health resource kind: noop when every URL answers 2xx/3xx in the probe; else a polling step.
export const httpHealthResource: ResourceType<HttpHealthDesired> = {
  kind: 'http-health',
  describe: (desired) => `http health of ${desired.project}${Array.isArray(desired.checks) ? ` (${[...new Set(desired.checks.map((check) => check.service))].join(', ')})` : ''}`,
  facts: (desired) => {
    checkHttpHealthDesired(desired);
    return { health: httpHealthFact(desired.project, desired.checks), docker: dockerFact };
  },
  // Waiting changes nothing on the host.
  invalidates: () => [],
  combine: (first, next) =>
    first.together === true &&
    next.together === true &&
    sameComposeTarget(first, next) &&
    (first.timeoutSeconds ?? HEALTH_TIMEOUT_SECONDS) === (next.timeoutSeconds ?? HEALTH_TIMEOUT_SECONDS) &&
    Array.isArray(first.checks) &&
    Array.isArray(next.checks)
      ? { ...first, checks: [...first.checks, ...next.checks.filter((check) => !first.checks.some((seen) => seen.service === check.service && seen.url === check.url))] }
      : undefined,
  plan(desired, facts): Plan {
    checkHttpHealthDesired(desired);
    const answers = facts.health as HealthAnswer[];
    const bad = answers.filter((answer) => !healthyStatus(answer.status));
    if (bad.length === 0) {
      return { action: 'noop', reason: `every check answers: ${answers.map((answer) => `${answer.service} ${answer.status}`).join(', ')}` };
    }
    const info = facts.docker as DockerInfo;
    const wanted = desired.command ?? 'auto';
    const tool = chooseComposeTool(info, wanted) ?? (wanted === 'v1' ? 'v1' : 'v2');
    const timeout = desired.timeoutSeconds ?? HEALTH_TIMEOUT_SECONDS;
    const services = [...new Set(desired.checks.map((check) => check.service))];
    return {
      action: 'change',
      changes: bad.map((answer) => `wait for ${answer.service}: ${describeAnswer(answer)} from ${answer.url}`),
      steps: [
        {
          label: `wait up to ${timeout} s for ${services.join(', ')}`,
          script: healthWaitScript(desired, composeCommand(tool)),
          // The summary, then the log tail of every service (20 lines each).
          failureOutputLines: 4 + desired.checks.length + services.length * (HEALTH_LOG_LINES + 2),
        },
      ],
    };
  },
};

// "HTTP 503" or "no answer (curl: (7) Failed to connect ...)".
export function describeAnswer(answer: { status: number; error?: string }): string {
  if (answer.status === 0) return `no answer (${answer.error ?? 'no answer'})`;
  return `HTTP ${answer.status}`;
}

// Polls every URL until all answer 2xx/3xx or the timeout; then names each failing service, its last answer and its logs.
export function healthWaitScript(desired: HttpHealthDesired, compose: ShellScript): string {
  const timeout = desired.timeoutSeconds ?? HEALTH_TIMEOUT_SECONDS;
  const checks = desired.checks;
  const curls = checks.map((check, index) => sh`  ${answerVariable(index)}=$(${curlCommand(check.url)} 2>&1)`);
  const allOk = sh.join(checks.map((_check, index) => sh`hy_ok "$${answerVariable(index)}"`), sh` && `);
  const services = [...new Set(checks.map((check) => check.service))];
  const lines = [
    // The status is always the last 3 characters curl prints ("000" when nothing answered).
    sh`hy_ok() { case "$1" in *[23][0-9][0-9]) return 0 ;; *) return 1 ;; esac; }`,
    sh`hy_why() { c=$(printf '%s' "$1" | tail -c 3); case "$c" in 000|*[!0-9]*) e=$(printf '%s' "$1" | sed '$ s/000$//' | tr '\\n' ' ' | sed 's/ *$//'); printf 'no answer (%s)' "\${e:-no answer}" ;; *) printf 'HTTP %s' "$c" ;; esac; }`,
    sh`hy_deadline=$(( $(date +%s) + ${timeout} ))`,
    // Pauses between two rounds of checks: 0.25, 0.5 and 1 s, then 2 s. A service restarted by a
    // handler mostly answers within a second, and a fixed 2 s pause cost each restart handler about
    // 1.5 s of nothing. Hosts have GNU sleep (coreutils), which takes fractions.
    sh`hy_pause=0.25`,
    sh`while :; do`,
    ...curls,
    sh`  if ${allOk}; then exit 0; fi`,
    sh`  if [ "$(date +%s)" -ge "$hy_deadline" ]; then break; fi`,
    sh`  sleep "$hy_pause"`,
    sh`  case $hy_pause in 0.25) hy_pause=0.5 ;; 0.5) hy_pause=1 ;; *) hy_pause=2 ;; esac`,
    sh`done`,
    sh`echo ${`health checks of project ${desired.project} still failing after ${timeout} s:`}`,
    ...checks.map((check, index) => sh`if ! hy_ok "$${answerVariable(index)}"; then printf '  %s %s: %s\\n' ${check.service} ${check.url} "$(hy_why "$${answerVariable(index)}")"; fi`),
    ...services.map((service) => {
      const failing = sh.join(
        checks.flatMap((check, index) => (check.service === service ? [sh`! hy_ok "$${answerVariable(index)}"`] : [])),
        sh` || `,
      );
      const logs = sh`${compose} -p ${desired.project} -f ${desired.file ?? 'docker-compose.yml'} logs --no-color --tail ${HEALTH_LOG_LINES} ${service}`;
      return sh`if ${failing}; then echo ${`--- ${service}: ${logs.text.replace(/'/g, '')}`}; (cd -- ${desired.dir} && ${logs}) 2>&1 | tail -n ${HEALTH_LOG_LINES + 1}; fi`;
    }),
    sh`exit 1`,
  ];
  return sh.lines(lines).text;
}

// The shell variable holding the answer of check `index` (r0, r1, ...): a name, built from an integer.
function answerVariable(index: number): ShellScript {
  if (!Number.isInteger(index) || index < 0) throw new Error(`no answer variable for check ${index}`);
  return sh.trusted(`r${index}`);
}

function checkHttpHealthDesired(desired: HttpHealthDesired): void {
  checkComposeTarget(desired, 'http health');
  if (!Array.isArray(desired.checks) || desired.checks.length === 0) throw new PlanError('http health: checks must be a non-empty list');
  for (const check of desired.checks) {
    if (typeof check?.service !== 'string' || !COMPOSE_SERVICE_NAME.test(check.service)) throw new PlanError(`http health: invalid service name ${JSON.stringify(check?.service)}`);
    if (typeof check.url !== 'string' || !URL_PATTERN.test(check.url)) throw new PlanError(`http health: ${check.service}: url must be http:// or https:// without spaces, got ${JSON.stringify(check.url)}`);
  }
  const timeout = desired.timeoutSeconds;
  if (timeout !== undefined && (!Number.isInteger(timeout) || timeout < 0 || timeout > 3600)) {
    throw new PlanError(`http health: timeoutSeconds must be an integer from 0 to 3600, got ${JSON.stringify(timeout)}`);
  }
}

import { sh } from '../core/shell.js';
import { chooseComposeTool, composeCommand, composeWords, dockerFact, projectFactPatterns, type ComposeCommandChoice, type DockerInfo } from '../facts/docker.js';
import { COMPOSE_SERVICE_NAME, checkComposeTarget, sameComposeTarget } from './compose-project.js';
import { PlanError, type Plan, type ResourceType } from './types.js';

// Services of a compose project restarted, always (a handler: a service restarts when a file it mounts changed).
export interface ComposeRestartDesired {
  dir: string;
  project: string;
  services: string[];
  /** Compose file inside dir; default 'docker-compose.yml'. */
  file?: string;
  /** 'auto' (default): `docker compose` when the v2 plugin is installed, else `docker-compose`. */
  command?: ComposeCommandChoice;
  /**
   * As a handler: restarted in one call with the services of the handlers notified next to it that
   * say `together` for the same project (default false: one restart after the other, as Ansible).
   */
  together?: boolean;
}

// The compose-restart resource kind.
export const composeRestartResource: ResourceType<ComposeRestartDesired> = {
  kind: 'compose-restart',
  describe: (desired) => `restart ${desired.project} ${Array.isArray(desired.services) ? desired.services.join(', ') : ''}`.trimEnd(),
  facts: (desired) => {
    checkComposeRestartDesired(desired);
    return { docker: dockerFact };
  },
  invalidates: (desired) => projectFactPatterns(desired.project),
  combine: (first, next) =>
    first.together === true && next.together === true && sameComposeTarget(first, next) && Array.isArray(first.services) && Array.isArray(next.services)
      ? { ...first, services: [...new Set([...first.services, ...next.services])] }
      : undefined,
  plan(desired, facts): Plan {
    checkComposeRestartDesired(desired);
    const info = facts.docker as DockerInfo;
    const wanted = desired.command ?? 'auto';
    // Without the wanted command the step fails with the shell's own "not found", which names it.
    const tool = chooseComposeTool(info, wanted) ?? (wanted === 'v1' ? 'v1' : 'v2');
    const services = [...new Set(desired.services)];
    const script = sh`cd -- ${desired.dir} && ${composeCommand(tool)} -p ${desired.project} -f ${desired.file ?? 'docker-compose.yml'} restart ${services}`.text;
    return {
      action: 'change',
      changes: [`restart ${services.join(', ')} of project ${desired.project}`],
      steps: [{ label: `${composeWords(tool)} restart ${services.join(' ')}`, script }],
    };
  },
};

function checkComposeRestartDesired(desired: ComposeRestartDesired): void {
  checkComposeTarget(desired, 'compose restart');
  if (!Array.isArray(desired.services) || desired.services.length === 0) throw new PlanError('compose restart: services must be a non-empty list');
  for (const service of desired.services) {
    if (typeof service !== 'string' || !COMPOSE_SERVICE_NAME.test(service)) throw new PlanError(`compose restart: invalid service name ${JSON.stringify(service)}`);
  }
}

import { sh } from '../core/shell.js';
import {
  composeCommand,
  composeProjectFact,
  composeWords,
  projectFactPatterns,
  type ComposeCommandChoice,
  type ComposeContainer,
  type ComposeProjectState,
  type ComposeTool,
} from '../facts/docker.js';
import type { ComposeInputs } from '../facts/compose-inputs.js';
import { isSecret } from '../core/secret.js';
import { isSecretText } from '../core/template.js';
import { isImageId, isImageRef } from './docker-image.js';
import { checkAbsolutePath } from './ownership.js';
import { PlanError, type Plan, type ResourceType } from './types.js';

// A compose project that is up: every service has a running container made from its current config.
export interface ComposeProjectDesired {
  /** Directory holding the compose file; compose runs there (relative paths, .env). */
  dir: string;
  /** Project name (-p): lowercase letters, digits, '-' and '_', as compose v1 and v2 both keep it. */
  project: string;
  /** Compose file inside dir; default 'docker-compose.yml'. */
  file?: string;
  /** 'auto' (default): the v2 plugin (`docker compose`) when installed, else `docker-compose` (v1). */
  command?: ComposeCommandChoice;
  /**
   * Restart handler per service: when `up` creates, recreates or starts a service, that service
   * already runs with the current files, so its pending restart handler is dropped.
   */
  restartHandlers?: Record<string, string>;
  /**
   * The compose file and .env as the tasks before this one write them. The expected config hashes
   * are then computed from these (staged in a private temporary directory on the host) instead of
   * from the files on the host now: check mode, which writes nothing, predicts exactly what `up`
   * will do after those tasks ran (a hand-edited .env restored recreates nothing). Give the same
   * content the file tasks write; without it, the host's files are read as they are.
   */
  inputs?: ComposeInputs;
  /**
   * Image reference -> the image ID the tasks before this one put under it: the `ref` and `id` of
   * each dockerImage task of the run (keys spelled as the compose file names the images). Every
   * service whose container runs another ID is recreated by `up` once the image is loaded; with
   * this, the plan says so before the load too, so check mode predicts that recreate (with the
   * same change text as apply) instead of seeing the old image still on the host.
   */
  expectImages?: Record<string, string>;
}

/** Project names compose v1 and v2 leave unchanged (v1 strips, v2 rejects anything else). */
export const COMPOSE_PROJECT_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;
/** A compose file name inside the project directory (no path, no option). */
const COMPOSE_FILE_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;
/** Service names as compose accepts them. */
export const COMPOSE_SERVICE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/** Container states `up -d` leaves alone (a restarting or unhealthy container is the health check's business). */
const UP_STATES = new Set(['running', 'restarting', 'paused']);

// The compose-project resource kind: `up -d --remove-orphans` only when a service is missing, stopped or changed.
export const composeProjectResource: ResourceType<ComposeProjectDesired> = {
  kind: 'compose-project',
  describe: (desired) => `compose project ${desired.project}`,
  facts: (desired) => {
    checkComposeProjectDesired(desired);
    return { project: composeProjectFact(target(desired)) };
  },
  // Containers of the project changed (their health too); `up` may pull or build images.
  invalidates: (desired) => [...projectFactPatterns(desired.project), 'docker-image:*'],
  plan(desired, facts): Plan {
    checkComposeProjectDesired(desired);
    const state = withExpectedImages(facts.project as ComposeProjectState, desired.expectImages);
    const where = `${desired.dir}/${desired.file ?? 'docker-compose.yml'}`;
    const fallback: ComposeTool = desired.command === 'v1' ? 'v1' : 'v2';
    if (state.tool === 'none') {
      const wanted = desired.command === 'v1' ? 'docker-compose' : desired.command === 'v2' ? 'docker compose (v2 plugin)' : 'docker compose or docker-compose';
      return upPlan(desired, fallback, [`start project ${desired.project}: ${wanted} is not installed on the host yet`], allHandlers(desired));
    }
    if (!state.fileFound) return upPlan(desired, state.tool, [`start project ${desired.project}: ${where} is not on the host yet`], allHandlers(desired));
    if (state.error !== undefined) return upPlan(desired, state.tool, [`bring up project ${desired.project}: cannot read its state (${state.error})`], []);

    const changes = projectDrift(state, where);
    if (changes.length === 0) {
      const services = Object.keys(state.expected).sort();
      return { action: 'noop', reason: `project ${desired.project}: ${services.length} service(s) up with their current config (${services.join(', ')})` };
    }
    const satisfied = driftedServices(state).flatMap((service) => desired.restartHandlers?.[service] ?? []);
    return upPlan(desired, state.tool, changes, satisfied);
  },
};

// Services `up -d` will create, recreate or start: missing, config or image changed, not running.
export function driftedServices(state: ComposeProjectState): string[] {
  const services = new Set<string>();
  for (const service of Object.keys(state.expected)) {
    const containers = state.containers.filter((container) => container.service === service);
    if (containers.length === 0) services.add(service);
    for (const container of containers) {
      const imageMoved = container.image !== undefined && state.images[container.image] !== undefined && state.images[container.image] !== container.imageId;
      if (container.configHash !== state.expected[service] || imageMoved || !UP_STATES.has(container.state)) services.add(service);
    }
  }
  return [...services].sort();
}

// The project as `up` will find it once the run's image loads are done: each expected reference
// names its expected ID. In apply the host has it already (a no-op); in check mode it does not yet.
export function withExpectedImages(state: ComposeProjectState, expectImages: Record<string, string> | undefined): ComposeProjectState {
  if (expectImages === undefined || Object.keys(expectImages).length === 0) return state;
  return { ...state, images: { ...state.images, ...expectImages } };
}

function allHandlers(desired: ComposeProjectDesired): string[] {
  return Object.values(desired.restartHandlers ?? {});
}

// Which services differ from what the current files produce: missing, stopped, config or image changed, orphans.
export function projectDrift(state: ComposeProjectState, where: string): string[] {
  const changes: string[] = [];
  const byService = new Map<string, ComposeContainer[]>();
  for (const container of state.containers) byService.set(container.service, [...(byService.get(container.service) ?? []), container]);
  for (const [service, hash] of Object.entries(state.expected).sort(([a], [b]) => a.localeCompare(b))) {
    const containers = byService.get(service) ?? [];
    if (containers.length === 0) {
      changes.push(`${service}: no container`);
      continue;
    }
    for (const container of containers) {
      const image = container.image === undefined ? undefined : state.images[container.image];
      // The image first: compose v1's config hash covers the image ID, so once an expected image is
      // loaded (apply) the hash differs too, while check mode, before the load, sees the old hash.
      // No hash values in the text: a check run and the apply after it may hash the same files
      // differently, and must report the same change.
      if (image !== undefined && image !== container.imageId) {
        changes.push(`${service}: image ${container.image ?? ''} changed to ${shortId(image)} (${container.name} runs ${shortId(container.imageId ?? '')})`);
      } else if (container.configHash !== hash) changes.push(`${service}: config changed since ${container.name} was created${container.configHash ? '' : ' (it has no config hash)'}`);
      else if (!UP_STATES.has(container.state)) changes.push(`${service}: ${container.name} is ${container.state} (${withoutAge(container.status)})`);
    }
  }
  for (const [service, containers] of byService) {
    if (state.expected[service] !== undefined) continue;
    for (const container of containers) changes.push(`orphan ${container.name}: service ${service} is not in ${where}`);
  }
  return changes;
}

// `cd DIR && <compose> -p P -f FILE up -d --remove-orphans`.
export function composeUpScript(desired: ComposeProjectDesired, tool: ComposeTool): string {
  return sh`cd -- ${desired.dir} && ${composeCommand(tool)} -p ${desired.project} -f ${desired.file ?? 'docker-compose.yml'} up -d --remove-orphans`.text;
}

// Docker's status without its relative time ("Exited (143) 5 seconds ago" -> "Exited (143)"), so a
// check run and the apply after it describe the same container the same way.
export function withoutAge(status: string): string {
  return status.replace(/\s+(?:Less than a second|About an? \w+|\d+ \w+) ago$/i, '');
}

function upPlan(desired: ComposeProjectDesired, tool: ComposeTool, changes: string[], satisfies: string[]): Plan {
  return {
    action: 'change',
    changes,
    ...(satisfies.length > 0 ? { satisfies } : {}),
    steps: [{ label: `${composeWords(tool)} up -d (project ${desired.project})`, script: composeUpScript(desired, tool) }],
  };
}

function target(desired: ComposeProjectDesired) {
  return {
    dir: desired.dir,
    project: desired.project,
    file: desired.file ?? 'docker-compose.yml',
    command: desired.command ?? 'auto',
    ...(desired.inputs !== undefined ? { inputs: desired.inputs } : {}),
    ...(desired.expectImages !== undefined && Object.keys(desired.expectImages).length > 0 ? { containerImages: true } : {}),
  };
}

/** True when two resources name the same compose project in the same folder, file and command. */
export function sameComposeTarget(a: { dir: string; project: string; file?: string; command?: ComposeCommandChoice }, b: typeof a): boolean {
  return a.dir === b.dir && a.project === b.project && (a.file ?? 'docker-compose.yml') === (b.file ?? 'docker-compose.yml') && (a.command ?? 'auto') === (b.command ?? 'auto');
}

// Checks what every compose resource shares: an absolute dir, a project name both compose versions keep, a plain file name.
export function checkComposeTarget(desired: { dir: string; project: string; file?: string; command?: ComposeCommandChoice }, kind: string): void {
  if (typeof desired.project !== 'string' || !COMPOSE_PROJECT_NAME.test(desired.project)) {
    throw new PlanError(`${kind}: invalid project name ${JSON.stringify(desired.project)} (lowercase letters, digits, '-' and '_', starting with a letter or digit)`);
  }
  checkAbsolutePath(desired.dir, kind);
  if (desired.file !== undefined && (typeof desired.file !== 'string' || !COMPOSE_FILE_NAME.test(desired.file))) {
    throw new PlanError(`${kind}: file must be a file name inside dir, got ${JSON.stringify(desired.file)}`);
  }
  if (desired.command !== undefined && !['auto', 'v2', 'v1'].includes(desired.command)) {
    throw new PlanError(`${kind}: command must be 'auto', 'v2' or 'v1', got ${JSON.stringify(desired.command)}`);
  }
}

function checkComposeProjectDesired(desired: ComposeProjectDesired): void {
  checkComposeTarget(desired, 'compose project');
  checkExpectImages(desired.expectImages);
  const inputs = desired.inputs;
  if (inputs === undefined) return;
  const isContent = (value: unknown) => typeof value === 'string' || Buffer.isBuffer(value) || isSecret(value) || isSecretText(value);
  if (typeof inputs !== 'object' || inputs === null || !isContent(inputs.composeFile)) {
    throw new PlanError('compose project: inputs.composeFile must be the content of the compose file (text, bytes or a secret template)');
  }
  if (inputs.envFile !== undefined && !isContent(inputs.envFile)) {
    throw new PlanError('compose project: inputs.envFile must be the content of the .env file (text, bytes or a secret template), or absent');
  }
}

function checkExpectImages(expectImages: unknown): void {
  if (expectImages === undefined) return;
  if (typeof expectImages !== 'object' || expectImages === null || Array.isArray(expectImages)) {
    throw new PlanError('compose project: expectImages must map image references to image IDs, e.g. { "app:1.4": localImageId("app:1.4") }');
  }
  for (const [ref, id] of Object.entries(expectImages)) {
    if (!isImageRef(ref)) throw new PlanError(`compose project: expectImages has an invalid image reference ${JSON.stringify(ref)}`);
    if (!isImageId(id)) throw new PlanError(`compose project: expectImages[${JSON.stringify(ref)}] must be an image ID like sha256:<64 hex> (localImageId(ref)), got ${JSON.stringify(id)}`);
  }
}

function shortId(id: string): string {
  return id.replace(/^sha256:/, '').slice(0, 12);
}

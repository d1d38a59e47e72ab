import { PlaybookError } from '../core/errors.js';
import type { ResourceInstance, ResourceType } from '../resources/types.js';
import { PLAYBOOK_BRAND, type ControllerStep, type Play, type Playbook } from './types.js';

// Options every task takes beside its resource's own data.
export interface TaskOptions {
  /** Name shown in progress and recap; defaults to the resource's description. */
  name?: string;
  /** Handler name(s) to run once after this host's tasks when this task changed something. */
  notify?: string | string[];
}

// Wraps a resource kind's desired state as a task (a ResourceInstance) with name and notify.
export function task<D>(type: ResourceType<D>, desired: D, options: TaskOptions = {}): ResourceInstance<D> {
  const notify = options.notify === undefined ? [] : Array.isArray(options.notify) ? options.notify : [options.notify];
  let name = options.name;
  if (name === undefined) {
    try {
      name = type.describe(desired);
    } catch {
      name = type.kind;
    }
  }
  return { type: type as ResourceType<unknown> as ResourceType<D>, desired, name, notify };
}

// The default export of a playbook file: one play or several, checked for shape up front.
export function definePlaybook(
  input: (Play & { afterHosts?: ControllerStep[] }) | Play[] | { name: string; plays: Play[]; afterHosts?: ControllerStep[] },
): Playbook {
  const plays = Array.isArray(input) ? input : 'plays' in input ? input.plays : [input];
  const afterHosts = Array.isArray(input) ? [] : input.afterHosts ?? [];
  const name = !Array.isArray(input) && 'name' in input ? input.name : plays[0]?.name ?? 'playbook';
  if (plays.length === 0) throw new PlaybookError('E_PLAYBOOK_EMPTY', 'a playbook needs at least one play');
  for (const play of plays) {
    if (typeof play?.tasks !== 'function') {
      throw new PlaybookError('E_PLAYBOOK_SHAPE', `play "${play?.name ?? '?'}" needs a tasks(host) function`);
    }
  }
  const playbook = { name, plays, afterHosts } as Playbook;
  Object.defineProperty(playbook, PLAYBOOK_BRAND, { value: true });
  return playbook;
}

// Whether a module's default export came from definePlaybook (works across module copies).
export function isPlaybook(value: unknown): value is Playbook {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[PLAYBOOK_BRAND] === true;
}

import { isCustomFact } from '../facts/host-facts.js';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PlaybookError } from '../core/errors.js';
import { halyardRootOf } from '../core/package-root.js';
import { argumentProblem } from '../resources/schemas.js';
import type { ResourceInstance, ResourceType } from '../resources/types.js';
import { isRole } from './role.js';
import { originalPosition } from './source-maps.js';
import { PLAYBOOK_BRAND, type ControllerStep, type Play, type Playbook } from './types.js';

// Options every task takes beside its resource's own data.
export interface TaskOptions {
  /** Name shown in progress and recap; defaults to the resource's description. */
  name?: string;
  /** Handler name(s) to run once after this host's tasks when this task changed something. */
  notify?: string | string[];
  /** Tag(s) `--tags` and `--skip-tags` select by (Ansible's; `always` and `never` as there). */
  tags?: string | string[];
}

// Wraps a resource kind's desired state as a task (a ResourceInstance) with name and notify.
// Its arguments are checked against the resource's schema here, when the playbook makes the task:
// a wrong type fails the run before any host is touched, naming the line that made the task.
export function task<D>(type: ResourceType<D>, desired: D, options: TaskOptions = {}): ResourceInstance<D> {
  const problem = argumentProblem(type.kind, desired);
  if (problem !== undefined) {
    const where = callerLocation();
    throw new PlaybookError('E_TASK_ARGUMENTS', `${where ? `${where}: ` : ''}${type.kind}: ${problem}`);
  }
  const notify = options.notify === undefined ? [] : Array.isArray(options.notify) ? options.notify : [options.notify];
  let name = options.name;
  if (name === undefined) {
    try {
      name = type.describe(desired);
    } catch {
      name = type.kind;
    }
  }
  const tags = options.tags === undefined ? [] : Array.isArray(options.tags) ? options.tags : [options.tags];
  return { type: type as ResourceType<unknown> as ResourceType<D>, desired, name, notify, ...(tags.length > 0 ? { tags } : {}) };
}

// halyard's own files: frames there are not where a user made a task.
const HALYARD_ROOT = halyardRootOf(import.meta.url);
const INTERNAL_DIRS = ['src', 'dist', 'node_modules'].map((dir) => `${resolve(HALYARD_ROOT, dir)}/`);

// `file:line` of the first stack frame outside halyard and Node: the role or playbook line.
export function callerLocation(stack = new Error().stack ?? ''): string | undefined {
  for (const line of stack.split('\n').slice(1)) {
    const match = /\(?((?:file:\/\/)?\/[^()]*?):(\d+):(\d+)\)?\s*$/.exec(line.trim());
    if (!match?.[1]) continue;
    // A frame in a playbook's bundle: the file and line it was bundled from.
    const original = originalPosition(match[1], Number(match[2]), Number(match[3]));
    if (original === null) continue;
    if (original !== undefined) return `${original.file}:${original.line}`;
    const file = match[1].startsWith('file://') ? fileURLToPath(match[1]) : match[1];
    if (INTERNAL_DIRS.some((dir) => file.startsWith(dir)) || file.includes('/node_modules/')) continue;
    return `${file}:${match[2]}`;
  }
  return undefined;
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
    const roles = play?.roles ?? [];
    if (!Array.isArray(roles) || roles.some((role) => !isRole(role))) {
      throw new PlaybookError('E_PLAYBOOK_SHAPE', `play "${play?.name ?? '?'}": roles must be a list of roles made with defineRole`);
    }
    if (play?.tasks !== undefined ? typeof play.tasks !== 'function' : roles.length === 0) {
      throw new PlaybookError('E_PLAYBOOK_SHAPE', `play "${play?.name ?? '?'}" needs roles or a tasks(host) function`);
    }
    if (play.facts !== undefined && (!Array.isArray(play.facts) || play.facts.some((fact) => !isCustomFact(fact)))) {
      throw new PlaybookError('E_PLAYBOOK_SHAPE', `play "${play.name}": facts must be a list of custom facts made with defineHostFact`);
    }
    checkBecomeKeywords(play);
  }
  const playbook = { name, plays, afterHosts } as Playbook;
  Object.defineProperty(playbook, PLAYBOOK_BRAND, { value: true });
  return playbook;
}

// Whether a module's default export came from definePlaybook (works across module copies).
export function isPlaybook(value: unknown): value is Playbook {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[PLAYBOOK_BRAND] === true;
}

// A play's become keywords as halyard can honour them; anything else is refused, never ignored.
function checkBecomeKeywords(play: Play): void {
  const where = `play "${play.name}"`;
  const keywords = play as Play & Record<string, unknown>;
  for (const ansibleName of ['become_user', 'become_method', 'become_flags', 'become_exe']) {
    if (ansibleName in keywords) throw new PlaybookError('E_PLAYBOOK_SHAPE', `${where}: write ${ansibleName.replace(/_(\w)/g, (_, c: string) => c.toUpperCase())}, not ${ansibleName}`);
  }
  if (play.become !== undefined && typeof play.become !== 'boolean') throw new PlaybookError('E_PLAYBOOK_SHAPE', `${where}: become must be true or false, got ${JSON.stringify(play.become)}`);
  if (play.becomeUser !== undefined && play.becomeUser !== 'root') throw new PlaybookError('E_PLAYBOOK_SHAPE', `${where}: becomeUser ${JSON.stringify(play.becomeUser)}: halyard becomes root only`);
  if (play.becomeMethod !== undefined && play.becomeMethod !== 'sudo') throw new PlaybookError('E_PLAYBOOK_SHAPE', `${where}: becomeMethod ${JSON.stringify(play.becomeMethod)}: halyard becomes root with sudo only`);
  playBecome(play);
}

// What a play's keywords say about become: the play's own, else its roles' (a host's tasks run in
// one session, so a play and its roles that say different things are refused); undefined: nothing.
export function playBecome(play: Play): boolean | undefined {
  const said = [
    ...(play.become === undefined ? [] : [{ who: `play "${play.name}"`, become: play.become }]),
    ...(play.roles ?? []).filter((role) => role.become !== undefined).map((role) => ({ who: `role ${role.name}`, become: role.become! })),
  ];
  const first = said[0];
  const other = said.find((entry) => entry.become !== first?.become);
  if (first && other) {
    const [yes, no] = first.become ? [first, other] : [other, first];
    throw new PlaybookError('E_PLAYBOOK_BECOME', `${yes.who} says become: true and ${no.who} says become: false; a host's tasks run in one session, as root or not`);
  }
  return first?.become;
}

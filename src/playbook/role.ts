import { z } from 'zod';
import { PlaybookError } from '../core/errors.js';
import { isCustomFact, type CustomFact } from '../facts/host-facts.js';
import type { ResourceInstance } from '../resources/types.js';
import { roleVars } from './role-vars.js';
import type { HostContext, TaskList } from './types.js';

// What a role is made of, as a role's author writes it: its typed vars (zod, with defaults; -e
// text is read as the numbers and booleans they ask for), its tasks, the handlers those tasks
// notify, and whether it needs root. Tasks and handlers receive the vars already checked.
export interface RoleSpec<S extends z.ZodObject = z.ZodObject> {
  name: string;
  vars?: S;
  /** The role needs root (Ansible's role `become`): its play's hosts run with sudo. */
  become?: boolean;
  /** Tags every task of the role carries (beside its own), for --tags/--skip-tags. */
  tags?: string[];
  /** Custom facts (defineHostFact) the role's tasks read with `host.fact(...)`, gathered with the host facts. */
  facts?: readonly CustomFact<unknown>[];
  tasks(host: HostContext, vars: z.output<S>): TaskList;
  handlers?(host: HostContext, vars: z.output<S>): Record<string, ResourceInstance | TaskList>;
}

// A role as a play uses it: `roles: [docker, stack]` brings their tasks (before the play's own)
// and their handlers, with no wiring in the playbook.
export interface Role {
  readonly name: string;
  readonly become: boolean | undefined;
  readonly tags: readonly string[];
  readonly facts: readonly CustomFact<unknown>[];
  tasks(host: HostContext): TaskList;
  handlers(host: HostContext): Record<string, ResourceInstance | TaskList>;
  readonly [ROLE_BRAND]: true;
}

// Brand that tells a role from any other object across module copies.
export const ROLE_BRAND = Symbol.for('halyard.role');

// Makes a role from its parts; a role without vars gets an empty object.
export function defineRole<S extends z.ZodObject = z.ZodObject<Record<string, never>>>(spec: RoleSpec<S>): Role {
  if (typeof spec?.name !== 'string' || spec.name.trim() === '') throw new PlaybookError('E_ROLE_SHAPE', 'a role needs a name');
  if (typeof spec.tasks !== 'function') throw new PlaybookError('E_ROLE_SHAPE', `role ${spec.name} needs a tasks(host, vars) function`);
  if (spec.become !== undefined && typeof spec.become !== 'boolean') throw new PlaybookError('E_ROLE_SHAPE', `role ${spec.name}: become must be true or false, got ${JSON.stringify(spec.become)}`);
  const facts = spec.facts ?? [];
  const notFact = facts.find((fact) => !isCustomFact(fact));
  if (notFact !== undefined) throw new PlaybookError('E_ROLE_SHAPE', `role ${spec.name}: facts must come from defineHostFact(), got ${typeof notFact}`);
  const schema = (spec.vars ?? z.object({})) as S;
  const varsOf = (host: HostContext): z.output<S> => roleVars(spec.name, schema, host.vars);
  return {
    name: spec.name,
    become: spec.become,
    tags: spec.tags ?? [],
    facts,
    tasks: (host) => spec.tasks(host, varsOf(host)),
    handlers: (host) => spec.handlers?.(host, varsOf(host)) ?? {},
    [ROLE_BRAND]: true,
  };
}

// Whether a value came from defineRole (works across module copies).
export function isRole(value: unknown): value is Role {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[ROLE_BRAND] === true;
}

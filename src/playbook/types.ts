import type { CustomFact, HostFacts } from '../facts/host-facts.js';
import type { Host } from '../inventory/types.js';
import type { ResourceInstance } from '../resources/types.js';
import type { Role } from './role.js';

// What a play's task function sees of the host it is planning for.
export interface HostContext {
  name: string;
  groups: readonly string[];
  /** Merged inventory and extra vars; secret-looking values are Secret. */
  vars: Readonly<Record<string, unknown>>;
  host: Host;
  /**
   * The host's facts (distribution, family, version, codename, arch, package manager, init system,
   * CPUs, memory, addresses), gathered in the run's first request. Reading them is free on a host
   * seen before (the controller keeps its last facts; tasks are built again only if what was read
   * changed) and costs one more request, never one more exec, on a new host.
   */
  readonly facts: HostFacts;
  /** A custom fact's value (defineHostFact); the play or one of its roles must list it in `facts`. */
  fact<T>(probe: CustomFact<T>): T;
}

// Nested arrays and false/undefined entries let roles compose with `...` and `cond && task`.
export type TaskList = ReadonlyArray<ResourceInstance | TaskList | false | null | undefined>;

// A play: which hosts, the tasks for each host, and the handlers tasks may notify.
export interface Play {
  name: string;
  /** Host pattern (as --limit) inside the inventory; default 'all'. */
  hosts?: string;
  /** Defaults for the hosts' vars (inventory and -e override them); may hold awsSecret() references. */
  vars?: Record<string, unknown>;
  /**
   * Run this play's hosts as root through sudo (Ansible's play keyword): above -b and ansible.cfg,
   * below the inventory's ansible_become / halyard_become, as in Ansible. A host's plays run in one
   * session, so plays that target one host must agree.
   */
  become?: boolean;
  /** Whom to become: root only (halyard's sessions are root or the login user). */
  becomeUser?: 'root';
  /** How to become: sudo only. */
  becomeMethod?: 'sudo';
  /** Tags every task of the play carries (beside its own and its role's), for --tags/--skip-tags. */
  tags?: string[];
  /** Roles (defineRole) whose tasks run first, in order, and whose handlers the play gets. */
  roles?: readonly Role[];
  /** Custom facts (defineHostFact) the play's tasks read with `host.fact(...)`, gathered with the host facts. */
  facts?: readonly CustomFact<unknown>[];
  /** The play's own tasks, after its roles'; a play needs roles, tasks or both. */
  tasks?(host: HostContext): TaskList;
  /** Handlers by name (beside the roles' own; a name here replaces a role's), run once per host after its tasks, in declaration order. */
  handlers?(host: HostContext): Record<string, ResourceInstance | TaskList>;
}

// What a controller step sees: the run's mode, the inventory's `all` vars with -e applied, a logger.
export interface ControllerContext {
  check: boolean;
  vars: Readonly<Record<string, unknown>>;
  log(line: string): void;
}

// A step run once on the controller after the hosts (AWS reconciliation such as `monitor apply`).
export interface ControllerStep {
  name: string;
  /** Resolves with whether it changed (or, in check mode, would change) something; throws on failure. */
  run(context: ControllerContext): Promise<{ changed: boolean; skipped?: string }>;
}

// A playbook file's default export.
export interface Playbook {
  name: string;
  plays: Play[];
  /** Controller steps run after every host finished, in order. */
  afterHosts: ControllerStep[];
}

// Brand checked by the loader so a wrong default export gives a clear error.
export const PLAYBOOK_BRAND = Symbol.for('halyard.playbook');

// Flattens a TaskList, dropping false/null/undefined entries.
export function flattenTasks(list: TaskList): ResourceInstance[] {
  const out: ResourceInstance[] = [];
  for (const entry of list) {
    if (!entry) continue;
    if (Array.isArray(entry)) out.push(...flattenTasks(entry as TaskList));
    else out.push(entry as ResourceInstance);
  }
  return out;
}

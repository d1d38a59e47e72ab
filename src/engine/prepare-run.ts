import { dirname, resolve } from 'node:path';
import { PlaybookError, isPlaybookError } from '../core/errors.js';
import { Redactor } from '../core/secret.js';
import { checkDistinctEndpoints } from '../inventory/endpoints.js';
import { becomeFromVars, type ConnectionDefaults } from '../inventory/connection-vars.js';
import type { VaultKeyring } from '../vault/keyring.js';
import { loadInventory, selectHosts, type Host } from '../inventory/index.js';
import { inSlice, type HostSlice } from '../inventory/slice.js';
import { loadPlaybook } from '../playbook/load.js';
import { playBecome } from '../playbook/define.js';
import { ALL_TAGS, taskSelected, type TagSelection } from '../playbook/tags.js';
import { flattenTasks, type HostContext, type Playbook } from '../playbook/types.js';
import { nearestWord } from '../inventory/suggest.js';
import { FLUSH_HANDLERS_KIND, type ResourceInstance } from '../resources/types.js';
import { fetchHostSecrets } from './resolve-secrets.js';
import type { CustomFact } from '../facts/host-facts.js';
import { FactsNotGathered, hostContext, sameReads, type FactReads, type GatheredFacts } from '../playbook/host-context.js';
import type { FactsCache } from './facts-cache.js';
import type { HostWork, HostWorkSource } from './work.js';

// What `halyard apply` and the daemon's drift job share: a loaded inventory and playbook, the
// hosts the playbook targets, a redactor knowing every secret, and each host's work.

type Inventory = Awaited<ReturnType<typeof loadInventory>>;

export interface PreparedRun {
  inventory: Inventory;
  playbook: Playbook;
  /** Hosts that at least one play targets (in the slice, with --slice), in inventory order. */
  hosts: Host[];
  /** Each play's hosts (by name, in inventory order), as --list-hosts shows them. */
  playHosts: string[][];
  redactor: Redactor;
  /** Each host's work: built already unless it reads facts the controller has not seen yet. */
  workFor(host: Host): HostWorkSource;
}

export interface PrepareOptions {
  extraVars?: Record<string, unknown>;
  limit?: string;
  /** --slice: only the targeted hosts whose name falls in this slice (after --limit and play patterns). */
  slice?: HostSlice;
  /** --tags/--skip-tags (default: every task). */
  tags?: TagSelection;
  /** Below every var: ansible.cfg's remote_user, private_key_file and become. */
  connectionDefaults?: ConnectionDefaults;
  /** The run's vault passwords. */
  vault?: VaultKeyring;
  /** Where hosts' last facts are kept, so tasks reading facts are built before connecting (none: built after). */
  factsCache?: FactsCache;
  /** Called with the inventory's hosts (after --limit) once they are read, before the playbook loads. */
  afterInventory?(hosts: readonly Host[]): void;
}

export async function preparePlaybookRun(playbookPath: string, inventoryPaths: string | readonly string[], options: PrepareOptions = {}): Promise<PreparedRun> {
  // group_vars/ and host_vars/ beside the playbook apply too, after the inventories' own (Ansible).
  const inventory = await loadInventory(inventoryPaths, {
    extraVars: options.extraVars ?? {},
    playDir: dirname(resolve(playbookPath)),
    ...(options.limit ? { limit: options.limit } : {}),
    ...(options.connectionDefaults ? { connectionDefaults: options.connectionDefaults } : {}),
    ...(options.vault ? { vault: options.vault } : {}),
  });
  options.afterInventory?.(inventory.hosts);
  const playbook = await loadPlaybook(playbookPath);
  const tags = options.tags ?? ALL_TAGS;
  // Each play's host pattern is matched once, not once per host.
  const selected = playbook.plays.map((play) => new Set(selectHosts(inventory, play.hosts ?? 'all').map((host) => host.name)));
  // Checked over the whole selection: two names for one machine in two slices would run it twice at once.
  checkDistinctEndpoints(
    inventory.hosts.filter((host) => selected.some((names) => names.has(host.name))),
    typeof inventoryPaths === 'string' ? inventoryPaths : inventoryPaths.join(', '),
  );
  const slice = options.slice;
  const targets = slice === undefined ? selected : selected.map((names) => new Set([...names].filter((name) => inSlice(name, slice))));
  const hosts = inventory.hosts.filter((host) => targets.some((names) => names.has(host.name)));
  applyPlayDefaults(playbook, inventory, targets);
  applyPlayBecome(playbook, hosts, targets);
  // Secrets Manager references (`!aws_secret`, awsSecret()) become Secrets, each fetched once per run;
  // the SDK is loaded only when a reference exists.
  await fetchHostSecrets(hosts, 'vars');
  const redactor = redactorForHosts(inventory.hosts);
  // Every host's tasks are made now, before anything connects: a task with bad arguments (or a
  // role var of the wrong type) is a playbook error that fails the whole run once, exit 65, and no
  // host has been touched. Other errors (a local file not built yet) stay that host's failure.
  const work = new Map<string, { work: HostWorkSource } | { error: unknown }>();
  const sourceFor = (host: Host) => workSourceOf(playbook, targets, host, tags, options.factsCache);
  for (const host of hosts) {
    try {
      work.set(host.name, { work: sourceFor(host) });
    } catch (error) {
      // Its message may quote a task's name, which may hold a var's value: masked like output.
      if (isPlaybookError(error)) throw new PlaybookError(error.code, redactor.redact(error.message), { cause: error });
      work.set(host.name, { error });
    }
  }
  return {
    inventory,
    playbook,
    hosts,
    playHosts: targets.map((names) => hosts.filter((host) => names.has(host.name)).map((host) => host.name)),
    redactor,
    workFor: (host) => {
      const made = work.get(host.name);
      if (made === undefined) return sourceFor(host);
      if ('error' in made) throw made.error;
      return made.work;
    },
  };
}

// A redactor that knows every secret in these hosts' vars and their sudo passwords (all of the
// inventory's hosts, not only the targeted ones: output may quote any of them).
export function redactorForHosts(hosts: readonly Host[]): Redactor {
  const redactor = new Redactor();
  for (const host of hosts) {
    redactor.addAll(host.vars);
    if (host.becomePassword) redactor.add(host.becomePassword);
  }
  return redactor;
}

// Play vars are defaults: inventory and -e vars override them (a play may name secrets with awsSecret()).
function applyPlayDefaults(playbook: Playbook, inventory: Inventory, targets: Set<string>[]): void {
  playbook.plays.forEach((play, index) => {
    if (!play.vars) return;
    for (const host of inventory.hosts) if (targets[index]?.has(host.name)) host.vars = { ...play.vars, ...host.vars };
  });
}

// A play's `become` for hosts whose vars do not say (inventory and -e beat play keywords, which
// beat -b and ansible.cfg, as in Ansible). A host's plays share one session: they must agree.
function applyPlayBecome(playbook: Playbook, hosts: Host[], targets: Set<string>[]): void {
  // What each play's keywords (and its roles') say, once per play rather than once per host.
  const keywords = playbook.plays.map((play) => playBecome(play));
  for (const host of hosts) {
    // Vars include the plays' own `vars` (defaults below the inventory's), read again here.
    const fromVars = becomeFromVars(host.vars);
    if (fromVars !== undefined) {
      host.become = fromVars;
      continue;
    }
    let chosen: { play: string; become: boolean } | undefined;
    playbook.plays.forEach((play, index) => {
      if (!targets[index]?.has(host.name)) return;
      const become = keywords[index] ?? host.become;
      if (chosen && chosen.become !== become) {
        throw new PlaybookError(
          'E_PLAYBOOK_BECOME',
          `plays "${chosen.play}" and "${play.name}" both target ${host.name}, one with become and one without; halyard runs a host's plays in one session (set become on both, or ansible_become for the host)`,
        );
      }
      chosen ??= { play: play.name, become };
    });
    if (chosen) host.become = chosen.become;
  }
}

// A host's work before and after its facts are known: built now from the facts cached from its
// last run (or from none, when its tasks read no facts), built again from the gathered facts
// when it could not be built now or a fact it read has changed.
function workSourceOf(playbook: Playbook, targets: Set<string>[], host: Host, tags: TagSelection, cache: FactsCache | undefined): HostWorkSource {
  const customFacts = declaredFacts(playbook, targets, host);
  const declared = new Set(customFacts.map((fact) => fact.name));
  const cached = cache?.read(host);
  const reads: FactReads = new Set();
  let initial: HostWork | undefined;
  try {
    initial = workOf(playbook, targets, hostContext(host, cached, declared, reads), tags);
  } catch (error) {
    if (!(error instanceof FactsNotGathered)) throw error;
  }
  return {
    initial,
    customFacts,
    withFacts(gathered: GatheredFacts): HostWork {
      if (cache && (cached === undefined || JSON.stringify(cached) !== JSON.stringify(gathered))) cache.write(host, gathered);
      if (initial && (reads.size === 0 || (cached !== undefined && sameReads(reads, cached, gathered)))) return initial;
      return workOf(playbook, targets, hostContext(host, gathered, declared, new Set()), tags);
    },
  };
}

// The custom facts of the plays that target a host and of their roles, one per name.
function declaredFacts(playbook: Playbook, targets: Set<string>[], host: Host): CustomFact<unknown>[] {
  const byName = new Map<string, CustomFact<unknown>>();
  for (const [index, play] of playbook.plays.entries()) {
    if (!targets[index]?.has(host.name)) continue;
    for (const fact of [...(play.facts ?? []), ...(play.roles ?? []).flatMap((role) => role.facts)]) {
      const known = byName.get(fact.name);
      if (known !== undefined && known !== fact && known.script !== fact.script) {
        throw new PlaybookError('E_FACT_NAME', `two custom facts are named "${fact.name}" with different commands; give one another name`);
      }
      byName.set(fact.name, known ?? fact);
    }
  }
  return [...byName.values()];
}

// A host's tasks and handlers from every play that targets it (plays in order, one run per host).
function workOf(playbook: Playbook, targets: Set<string>[], context: HostContext, tags: TagSelection): HostWork {
  const host = context.host;
  const tasks: ResourceInstance[] = [];
  const handlers = new Map<string, ResourceInstance[]>();
  for (const [index, play] of playbook.plays.entries()) {
    if (!targets[index]?.has(host.name)) continue;
    const playTags = play.tags ?? [];
    for (const role of play.roles ?? []) tasks.push(...selected(flattenTasks(role.tasks(context)), [...playTags, ...role.tags], tags));
    if (play.tasks) tasks.push(...selected(flattenTasks(play.tasks(context)), playTags, tags));
    const declared = [...(play.roles ?? []).map((role) => role.handlers(context)), play.handlers?.(context) ?? {}];
    for (const [name, value] of declared.flatMap((handlerSet) => Object.entries(handlerSet))) {
      handlers.set(name, flattenTasks(Array.isArray(value) ? value : [value as ResourceInstance]));
    }
  }
  checkNotifications(tasks, handlers);
  return { tasks, handlers };
}

// The tasks --tags/--skip-tags keep, each with its role's and play's tags added; flushHandlers()
// markers always stay (they run nothing themselves).
function selected(tasks: ResourceInstance[], inherited: readonly string[], selection: TagSelection): ResourceInstance[] {
  return tasks.filter((task) => {
    if (task.type.kind === FLUSH_HANDLERS_KIND) return true;
    return taskSelected([...new Set([...inherited, ...(task.tags ?? [])])], selection);
  });
}

// Every notify names a handler the host's plays have: a misspelt name fails the run before any
// host is touched, naming the task and the closest handler names.
function checkNotifications(tasks: readonly ResourceInstance[], handlers: ReadonlyMap<string, ResourceInstance[]>): void {
  const all = [...tasks, ...[...handlers.values()].flat()];
  for (const task of all) {
    for (const name of task.notify) {
      if (handlers.has(name)) continue;
      const known = [...handlers.keys()];
      const nearest = nearestWord(name, known);
      const hint = nearest ? ` (did you mean "${nearest}"?)` : known.length > 0 ? ` (handlers: ${known.map((handler) => `"${handler}"`).join(', ')})` : ' (the play has no handlers)';
      throw new PlaybookError('E_UNKNOWN_HANDLER', `task "${task.name}" notifies "${name}", which is no handler${hint}`);
    }
  }
}

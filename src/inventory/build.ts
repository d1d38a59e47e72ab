import { InventoryError } from '../core/errors.js';
import { resolveConnection, type ConnectionDefaults } from './connection-vars.js';
import { assertNoCycles, groupDepths, parentsOf, withAncestors } from './group-graph.js';
import type { RawInventory, VarsBlock } from './raw-inventory.js';
import { markSecretVars } from './secrets.js';
import type { Group, Host, Inventory } from './types.js';
import { VarsFolder } from './vars-files.js';
import { mergeVarLayers, precedenceOrder } from './vars.js';

/** Ansible's implicit group of hosts that belong to no group but `all`. */
export const UNGROUPED = 'ungrouped';

// Options that come from the command line rather than the inventory file.
export interface BuildOptions {
  extraVars?: Record<string, unknown>;
  /** Folders whose group_vars/ and host_vars/ apply, one per `-i`, in order (sources.ts). */
  varsDirs?: readonly string[];
  /** The playbook's folder (for `inventory list`, as ansible-inventory: the working directory). */
  playDir?: string;
  /** Below every var: ansible.cfg's remote_user, private_key_file and become. */
  connectionDefaults?: ConnectionDefaults;
  /** Keep where each of this host's vars came from (`inventory vars HOST`). */
  explainHost?: string;
}

// One layer of a host's vars, lowest first: what it is, and the block (with its file and lines).
export interface VarLayer {
  layer: string;
  block: VarsBlock;
}

/** Set in a group's inventory vars, it orders groups of equal depth; it is not a var (as Ansible). */
const GROUP_PRIORITY = 'ansible_group_priority';

// Turns what a reader found into Hosts: checks the group graph, applies precedence, wraps secrets.
export function buildInventory(raw: RawInventory, options: BuildOptions = {}): Inventory {
  assertNoCycles(raw.groups, raw.file);
  if (raw.hosts.size === 0) {
    throw new InventoryError('E_INVENTORY_EMPTY', 'the inventory defines no hosts (add hosts under all.hosts or a group)', {
      file: raw.file,
    });
  }

  const directGroups = new Map<string, Set<string>>();
  for (const hostName of raw.hosts.keys()) directGroups.set(hostName, new Set());
  for (const group of raw.groups.values()) {
    for (const hostName of group.hosts) directGroups.get(hostName)?.add(group.name);
  }
  // As Ansible's reconcile_inventory: a host in no group but `all` joins `ungrouped`; one named in
  // `[ungrouped]` (or `ungrouped: hosts:`) that is also in another group leaves it.
  for (const [hostName, groups] of directGroups) {
    if ([...groups].every((name) => name === 'all')) {
      raw.addChild('all', UNGROUPED, undefined);
      raw.addHost(UNGROUPED, hostName, undefined);
      groups.add(UNGROUPED);
    } else if (groups.has(UNGROUPED) && [...groups].some((name) => name !== 'all' && name !== UNGROUPED)) {
      raw.removeHost(UNGROUPED, hostName);
      groups.delete(UNGROUPED);
    }
  }

  // Checked like any vars block; this also collects halyard_secret_vars given with -e.
  const extraBlock = raw.varsBlock(options.extraVars ?? {}, {
    file: undefined,
    lineOf: () => undefined,
    context: 'extra vars (-e)',
  });

  const parents = parentsOf(raw.groups);
  const depths = groupDepths(raw.groups);
  const inventoryGroupVars = new Map<string, Record<string, unknown>>();
  const priorities = new Map<string, number>();
  for (const group of raw.groups.values()) {
    const vars = mergeVarLayers(group.varsBlocks.map((block) => block.values));
    if (GROUP_PRIORITY in vars) {
      priorities.set(group.name, groupPriority(vars[GROUP_PRIORITY], group.name, raw.file));
      delete vars[GROUP_PRIORITY];
    }
    inventoryGroupVars.set(group.name, vars);
  }
  // Ansible's order (vars/manager.py): inventory folders first, in -i order, then the playbook's.
  const folders = [...(options.varsDirs ?? []), ...(options.playDir === undefined ? [] : [options.playDir])].map((dir) => new VarsFolder(dir, raw));
  const inventoryFolders = folders.slice(0, options.varsDirs?.length ?? 0);
  const playFolders = folders.slice(options.varsDirs?.length ?? 0);
  const blocks = (kind: 'group_vars' | 'host_vars', from: VarsFolder[], name: string) => from.flatMap((folder) => folder.blocksOf(kind, name));
  const fileVars = (kind: 'group_vars' | 'host_vars', from: VarsFolder[], name: string) => blocks(kind, from, name).map((block) => block.values);
  // Read before any host is built: a vars file may name more secret vars (halyard_secret_vars).
  for (const group of raw.groups.keys()) fileVars('group_vars', folders, group);
  for (const host of raw.hosts.keys()) fileVars('host_vars', folders, host);
  const secretNames = raw.secretVarNames;

  // Hosts with the same direct groups share their groups' order and layers (a 400k-host inventory
  // has a handful of such sets): computed once per set, then each host adds its own layers.
  const shared = new Map<string, { groups: readonly string[]; layers: VarLayer[]; merged: Record<string, unknown> }>();
  const groupShare = (direct: ReadonlySet<string>) => {
    const key = [...direct].join('\0');
    let share = shared.get(key);
    if (share) return share;
    const memberOf = new Set<string>();
    for (const groupName of direct) withAncestors(groupName, parents, memberOf);
    memberOf.add('all');
    // Shared by every host in these groups, so frozen.
    const groups = Object.freeze(precedenceOrder(memberOf, depths, priorities));
    const others = groups.filter((name) => name !== 'all');
    // Lowest first (ansible-core 2.14 VARIABLE_PRECEDENCE, inventory part): `all` then the other
    // groups from the inventory; group_vars/all beside each source, then beside the playbook;
    // the other groups' group_vars, source by source, then the playbook's. The host's own layers
    // follow (hostLayers).
    const layers: VarLayer[] = [
      ...(raw.groups.get('all')?.varsBlocks ?? []).map((block) => ({ layer: 'inventory group all', block })),
      ...others.flatMap((name) => (raw.groups.get(name)?.varsBlocks ?? []).map((block) => ({ layer: `inventory group ${name}`, block }))),
      ...blocks('group_vars', inventoryFolders, 'all').map((block) => ({ layer: 'group_vars/all', block })),
      ...blocks('group_vars', playFolders, 'all').map((block) => ({ layer: "playbook's group_vars/all", block })),
      ...inventoryFolders.flatMap((folder) => others.flatMap((name) => blocks('group_vars', [folder], name).map((block) => ({ layer: `group_vars/${name}`, block })))),
      ...playFolders.flatMap((folder) => others.flatMap((name) => blocks('group_vars', [folder], name).map((block) => ({ layer: `playbook's group_vars/${name}`, block })))),
    ];
    // ansible_group_priority set in an inventory orders groups; it is not a var.
    const merged = mergeVarLayers(layers.map(({ layer, block }) => (layer.startsWith('inventory group ') && GROUP_PRIORITY in block.values ? withoutKey(block.values, GROUP_PRIORITY) : block.values)));
    share = { groups, layers, merged };
    shared.set(key, share);
    return share;
  };
  // Above the groups: the host's inventory vars, host_vars beside each source, then the
  // playbook's; -e last.
  const hostLayers = (name: string, rawBlocks: readonly VarsBlock[]): VarLayer[] => [
    ...rawBlocks.map((block) => ({ layer: 'inventory host vars', block })),
    ...blocks('host_vars', inventoryFolders, name).map((block) => ({ layer: `host_vars/${name}`, block })),
    ...blocks('host_vars', playFolders, name).map((block) => ({ layer: `playbook's host_vars/${name}`, block })),
    { layer: 'extra vars (-e)', block: extraBlock },
  ];

  const hosts: Host[] = [];
  let origins: VarLayer[] | undefined;
  const noGroups = new Set<string>();
  for (const rawHost of raw.hosts.values()) {
    const share = groupShare(directGroups.get(rawHost.name) ?? noGroups);
    const own = hostLayers(rawHost.name, rawHost.varsBlocks);
    const merged = mergeVarLayers([share.merged, ...own.map(({ block }) => block.values)]);
    if (options.explainHost === rawHost.name) origins = [...share.layers, ...own];
    const vars = markSecretVars(merged, secretNames);
    hosts.push({ name: rawHost.name, ...resolveConnection(rawHost.name, vars, options.connectionDefaults), groups: share.groups, vars });
  }

  const plainGroupVars = new Map<string, Record<string, unknown>>();
  for (const [name, vars] of inventoryGroupVars) plainGroupVars.set(name, mergeVarLayers([vars, ...fileVars('group_vars', folders, name)]));
  const groups = new Map<string, Group>();
  for (const group of raw.groups.values()) {
    groups.set(group.name, {
      name: group.name,
      hosts: [...group.hosts],
      children: group.children.map((edge) => edge.name),
      vars: markSecretVars(plainGroupVars.get(group.name) ?? {}, secretNames),
    });
  }
  return { source: raw.file, hosts, groups, ...(origins ? { origins } : {}) };
}

function withoutKey(values: Record<string, unknown>, key: string): Record<string, unknown> {
  const { [key]: _dropped, ...rest } = values;
  return rest;
}

// ansible_group_priority as Ansible reads it: int(value).
function groupPriority(value: unknown, group: string, file: string): number {
  const number = typeof value === 'number' ? value : typeof value === 'string' && /^\s*[+-]?\d+\s*$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isInteger(number)) throw new InventoryError('E_INVENTORY_TYPE', `${GROUP_PRIORITY} of group ${JSON.stringify(group)} must be an integer, got ${JSON.stringify(value)}`, { file });
  return number;
}

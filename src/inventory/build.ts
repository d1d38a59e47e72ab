import { InventoryError } from '../core/errors.js';
import { resolveConnection } from './connection-vars.js';
import { assertNoCycles, groupDepths, parentsOf, withAncestors } from './group-graph.js';
import type { RawInventory } from './raw-inventory.js';
import { markSecretVars } from './secrets.js';
import type { Group, Host, Inventory } from './types.js';
import { mergeVarLayers, precedenceOrder } from './vars.js';

/** Ansible's implicit group of hosts that belong to no group but `all`. */
export const UNGROUPED = 'ungrouped';

// Options that come from the command line rather than the inventory file.
export interface BuildOptions {
  extraVars?: Record<string, unknown>;
}

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
  for (const [hostName, groups] of directGroups) {
    if ([...groups].every((name) => name === 'all')) {
      raw.addChild('all', UNGROUPED, undefined);
      raw.addHost(UNGROUPED, hostName, undefined);
      groups.add(UNGROUPED);
    }
  }

  // Checked like any vars block; this also collects halyard_secret_vars given with -e.
  const extraVars = raw.varsBlock(options.extraVars ?? {}, {
    file: undefined,
    lineOf: () => undefined,
    context: 'extra vars (-e)',
  }).values;

  const parents = parentsOf(raw.groups);
  const depths = groupDepths(raw.groups);
  const secretNames = raw.secretVarNames;
  const plainGroupVars = new Map<string, Record<string, unknown>>();
  for (const group of raw.groups.values()) {
    plainGroupVars.set(group.name, mergeVarLayers(group.varsBlocks.map((block) => block.values)));
  }

  const hosts: Host[] = [];
  for (const rawHost of raw.hosts.values()) {
    const memberOf = new Set<string>();
    for (const groupName of directGroups.get(rawHost.name) ?? []) withAncestors(groupName, parents, memberOf);
    memberOf.add('all');
    const groups = precedenceOrder(memberOf, depths);
    const merged = mergeVarLayers([
      ...groups.map((name) => plainGroupVars.get(name) ?? {}),
      ...rawHost.varsBlocks.map((block) => block.values),
      extraVars,
    ]);
    const vars = markSecretVars(merged, secretNames);
    hosts.push({ name: rawHost.name, ...resolveConnection(rawHost.name, vars), groups, vars });
  }

  const groups = new Map<string, Group>();
  for (const group of raw.groups.values()) {
    groups.set(group.name, {
      name: group.name,
      hosts: [...group.hosts],
      children: group.children.map((edge) => edge.name),
      vars: markSecretVars(plainGroupVars.get(group.name) ?? {}, secretNames),
    });
  }
  return { source: raw.file, hosts, groups };
}

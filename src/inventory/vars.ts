/*
 * Vars precedence, lowest to highest. Each level replaces the keys of the levels below it at the
 * top level only (Ansible's default hash_behaviour=replace: a dict var is replaced, not merged).
 *
 *   1. `all` group vars
 *   2. other group vars, parents before children: a group's depth is the longest chain of
 *      `children:` from `all` (top-level groups are 1), deeper wins; among groups of the same
 *      depth, alphabetical order of the group name, the later name wins (as Ansible)
 *   3. host vars (every entry that names the host, in file order, the later entry wins)
 *   4. extra vars (`-e key=value`, `-e @file.yml`, `-e '{"json":1}'`), later `-e` wins
 *
 * A group written in several places in one file is one group; its vars blocks merge in file order.
 * Connection settings are then read from the merged vars, where halyard's name beats Ansible's
 * whatever level each came from: halyard_host > ansible_host > ansible_ssh_host (same for port,
 * user, key file, become, become password); see connection-vars.ts.
 */
import { compareCodePoints } from './group-graph.js';
import { setOwn } from './own-property.js';

// Orders a host's groups from lowest to highest var precedence, as Ansible's sort_groups: `all`,
// then by depth, then by ansible_group_priority (default 1), then by name.
export function precedenceOrder(groupNames: Iterable<string>, depths: ReadonlyMap<string, number>, priorities: ReadonlyMap<string, number> = new Map()): string[] {
  return [...groupNames].sort((a, b) => {
    const byDepth = (depths.get(a) ?? 1) - (depths.get(b) ?? 1);
    if (byDepth !== 0) return byDepth;
    const byPriority = (priorities.get(a) ?? 1) - (priorities.get(b) ?? 1);
    return byPriority !== 0 ? byPriority : compareCodePoints(a, b);
  });
}

// Merges var layers given lowest precedence first; a later layer replaces whole top-level keys.
export function mergeVarLayers(layers: Iterable<Readonly<Record<string, unknown>>>): Record<string, unknown> {
  const merged: Record<string, unknown> = {};
  for (const layer of layers) {
    for (const [name, value] of Object.entries(layer)) setOwn(merged, name, value);
  }
  return merged;
}

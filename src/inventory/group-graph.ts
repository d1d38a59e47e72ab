import { InventoryError } from '../core/errors.js';
import type { RawGroup } from './raw-inventory.js';

// Rejects `children:` loops (a -> b -> a), naming the loop and the line that closes it.
export function assertNoCycles(groups: ReadonlyMap<string, RawGroup>, file: string): void {
  const state = new Map<string, 'visiting' | 'done'>();
  const path: string[] = [];

  const visit = (name: string): void => {
    state.set(name, 'visiting');
    path.push(name);
    for (const edge of groups.get(name)?.children ?? []) {
      const childState = state.get(edge.name);
      if (childState === 'visiting') {
        const loop = [...path.slice(path.indexOf(edge.name)), edge.name];
        throw new InventoryError('E_INVENTORY_CYCLE', `group children form a cycle: ${loop.join(' -> ')}`, {
          file,
          line: edge.line,
        });
      }
      if (childState === undefined) visit(edge.name);
    }
    path.pop();
    state.set(name, 'done');
  };

  // Start from `all` so the reported loop reads top-down, then cover groups `all` cannot reach.
  visit('all');
  for (const name of [...groups.keys()].sort(compareCodePoints)) {
    if (!state.has(name)) visit(name);
  }
}

// Each group's parents, from the children edges.
export function parentsOf(groups: ReadonlyMap<string, RawGroup>): Map<string, string[]> {
  const parents = new Map<string, string[]>();
  for (const name of groups.keys()) parents.set(name, []);
  for (const group of groups.values()) {
    for (const edge of group.children) parents.get(edge.name)?.push(group.name);
  }
  return parents;
}

// Depth as Ansible computes it: `all` is 0, a child is one deeper than its deepest parent.
export function groupDepths(groups: ReadonlyMap<string, RawGroup>): Map<string, number> {
  const parents = parentsOf(groups);
  const depths = new Map<string, number>();
  const depthOf = (name: string): number => {
    const known = depths.get(name);
    if (known !== undefined) return known;
    const ofParents = (parents.get(name) ?? []).map(depthOf);
    const depth = name === 'all' ? 0 : ofParents.length === 0 ? 1 : Math.max(...ofParents) + 1;
    depths.set(name, depth);
    return depth;
  };
  for (const name of groups.keys()) depthOf(name);
  return depths;
}

// Every group a host belongs to through `groupName`: the group itself and all its ancestors.
export function withAncestors(groupName: string, parents: ReadonlyMap<string, string[]>, into: Set<string>): void {
  if (into.has(groupName)) return;
  into.add(groupName);
  for (const parent of parents.get(groupName) ?? []) withAncestors(parent, parents, into);
}

// Every group below `groupName` (itself included), for "hosts of a group" in --limit.
export function withDescendants(groupName: string, childrenOf: (name: string) => readonly string[], into: Set<string>): void {
  if (into.has(groupName)) return;
  into.add(groupName);
  for (const child of childrenOf(groupName)) withDescendants(child, childrenOf, into);
}

// Plain code-point order, as Python sorts group names (no locale surprises).
export function compareCodePoints(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

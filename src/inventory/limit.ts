import { InventoryError, UsageError } from '../core/errors.js';
import { withDescendants } from './group-graph.js';
import { didYouMean } from './suggest.js';
import type { Host, Inventory } from './types.js';

// One term of a `--limit` list: a plain pattern adds hosts, `&` keeps only shared ones, `!` removes.
export interface LimitTerm {
  operator: 'union' | 'intersection' | 'exclusion';
  pattern: string;
}

const GLOB_CHARS = /[*?[]/;

// Splits `--limit` as Ansible does: on commas, and on colons outside [...] (so `web:&db:!web3`).
export function parseLimit(text: string): LimitTerm[] {
  const terms: LimitTerm[] = [];
  for (const piece of splitOutsideBrackets(text)) {
    const trimmed = piece.trim();
    if (trimmed === '') continue;
    if (trimmed.startsWith('!')) terms.push({ operator: 'exclusion', pattern: trimmed.slice(1) });
    else if (trimmed.startsWith('&')) terms.push({ operator: 'intersection', pattern: trimmed.slice(1) });
    else terms.push({ operator: 'union', pattern: trimmed });
  }
  if (terms.length === 0) throw new UsageError('--limit needs at least one host or group pattern');
  for (const term of terms) {
    if (term.pattern === '') throw new UsageError(`--limit: "${term.operator === 'exclusion' ? '!' : '&'}" must be followed by a pattern`);
  }
  return terms;
}

function splitOutsideBrackets(text: string): string[] {
  const pieces: string[] = [];
  let current = '';
  let depth = 0;
  for (const char of text) {
    if (char === '[') depth++;
    if (char === ']') depth = Math.max(0, depth - 1);
    // A regex term (~...) may contain colons; only commas end it.
    const regexTerm = current.trimStart().startsWith('~');
    if (char === ',' || (char === ':' && depth === 0 && !regexTerm)) {
      pieces.push(current);
      current = '';
      continue;
    }
    current += char;
  }
  pieces.push(current);
  return pieces;
}

// The hosts `--limit` selects, in inventory order: unions first, then `&` intersections, then `!`.
// A pattern that matches nothing is an error, glob or not: a typo must not run against zero hosts.
export function selectHosts(inventory: Inventory, limit: string): Host[] {
  const terms = parseLimit(limit);
  const unions = terms.filter((term) => term.operator === 'union');
  let selected = new Set<string>();
  if (unions.length === 0) for (const host of inventory.hosts) selected.add(host.name);
  for (const term of unions) for (const name of matchPattern(inventory, term.pattern)) selected.add(name);
  for (const term of terms.filter((t) => t.operator === 'intersection')) {
    const keep = matchPattern(inventory, term.pattern);
    selected = new Set([...selected].filter((name) => keep.has(name)));
  }
  for (const term of terms.filter((t) => t.operator === 'exclusion')) {
    for (const name of matchPattern(inventory, term.pattern)) selected.delete(name);
  }
  const hosts = inventory.hosts.filter((host) => selected.has(host.name));
  if (hosts.length === 0) {
    throw new InventoryError('E_LIMIT_EMPTY', `--limit ${JSON.stringify(limit)} leaves no hosts`);
  }
  return hosts;
}

// The inventory narrowed to the hosts `--limit` selects; groups keep only selected members.
export function applyLimit(inventory: Inventory, limit: string): Inventory {
  const hosts = selectHosts(inventory, limit);
  const kept = new Set(hosts.map((host) => host.name));
  const groups = new Map(
    [...inventory.groups].map(([name, group]) => [name, { ...group, hosts: group.hosts.filter((host) => kept.has(host)) }]),
  );
  return { ...inventory, hosts, groups };
}

// Host names one pattern means: `all`/`*`, a group (with its descendants), a host, a glob, or `~regex`.
function matchPattern(inventory: Inventory, pattern: string): Set<string> {
  const matched = new Set<string>();
  const hostNames = inventory.hosts.map((host) => host.name);
  if (pattern === 'all' || pattern === '*') return new Set(hostNames);

  let test: (name: string) => boolean;
  if (pattern.startsWith('~')) {
    let regex: RegExp;
    try {
      regex = new RegExp(pattern.slice(1));
    } catch (error) {
      throw new UsageError(`--limit: invalid regular expression ${JSON.stringify(pattern)}: ${(error as Error).message}`);
    }
    test = (name) => regex.test(name);
  } else if (GLOB_CHARS.test(pattern)) {
    const regex = globToRegExp(pattern);
    test = (name) => regex.test(name);
  } else {
    test = (name) => name === pattern;
  }

  const groupNames = new Set<string>();
  const childrenOf = (name: string): readonly string[] => inventory.groups.get(name)?.children ?? [];
  for (const groupName of inventory.groups.keys()) if (test(groupName)) withDescendants(groupName, childrenOf, groupNames);
  for (const groupName of groupNames) for (const host of inventory.groups.get(groupName)?.hosts ?? []) matched.add(host);
  for (const name of hostNames) if (test(name)) matched.add(name);

  if (matched.size === 0) {
    const exact = !pattern.startsWith('~') && !GLOB_CHARS.test(pattern);
    const known = [...inventory.groups.keys(), ...hostNames];
    const message = exact
      ? `--limit: no host or group named ${JSON.stringify(pattern)}${didYouMean(pattern, known)}`
      : `--limit: pattern ${JSON.stringify(pattern)} matches no host or group`;
    throw new InventoryError('E_LIMIT_UNKNOWN', message);
  }
  return matched;
}

// fnmatch-style glob: `*` any run, `?` one character, `[abc]`/`[!abc]` a class; whole-name match.
export function globToRegExp(glob: string): RegExp {
  let source = '';
  for (let index = 0; index < glob.length; index++) {
    const char = glob[index] ?? '';
    if (char === '*') source += '.*';
    else if (char === '?') source += '.';
    else if (char === '[') {
      const close = glob.indexOf(']', index + 2);
      if (close < 0) {
        source += '\\[';
        continue;
      }
      let body = glob.slice(index + 1, close);
      if (body.startsWith('!')) body = `^${body.slice(1)}`;
      source += `[${body.replace(/\\/g, '\\\\')}]`;
      index = close;
    } else source += char.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  return new RegExp(`^${source}$`);
}

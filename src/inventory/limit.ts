import { InventoryError, UsageError } from '../core/errors.js';
import { didYouMean } from './suggest.js';
import type { Host, Inventory } from './types.js';

// One term of a `--limit` list: a plain pattern adds hosts, `&` keeps only shared ones, `!` removes.
export interface LimitTerm {
  operator: 'union' | 'intersection' | 'exclusion';
  pattern: string;
}

const GLOB_CHARS = /[*?[]/;

// Splits `--limit` as Ansible does (inventory/manager.py split_host_pattern): on commas when there
// is one; else a whole address stays one pattern (`fe80::1`, `host:22`); else on colons outside
// [...] (so `web:&db:!web3`).
export function parseLimit(text: string): LimitTerm[] {
  const terms: LimitTerm[] = [];
  for (const piece of splitHostPattern(text)) {
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

// An address parse_address accepts whole: [v6]:port, name:port, or a bare IPv6 address.
const WHOLE_ADDRESS = [/^\[[^\]]+\]:\d+$/, /^(?:[^:[\]]|\[[^\]]*\])+:\d+$/, /^[0-9A-Fa-f]*:[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*$/];

function splitHostPattern(text: string): string[] {
  if (text.includes(',')) return text.split(',');
  const trimmed = text.trim();
  if (WHOLE_ADDRESS.some((pattern) => pattern.test(trimmed))) return [trimmed];
  return trimmed.match(/(?:[^\s:[\]]|\[[^\]]*\])+/g) ?? [];
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

// Ansible's subscripts: web[0], web[-1], web[0:2] (inclusive), web[1:] (to the end).
const SUBSCRIPT = /^(.+)\[(?:(-?[0-9]+)|([0-9]+)([:-])([0-9]*))\]$/;

// Host names one pattern means, as Ansible's _match_one_pattern: the name of a host is that host
// alone; else the groups the pattern matches (glob, or `~regex` matched from the start of the
// name), each with its descendants' hosts; host names too when no group matched or the pattern
// is a regex or a glob; then a subscript picks from that list.
function matchPattern(inventory: Inventory, written: string): Set<string> {
  const subscript = written.startsWith('~') ? null : SUBSCRIPT.exec(written);
  const pattern = subscript ? subscript[1]! : written;
  const ordered = matchOrdered(inventory, pattern);
  let picked = ordered;
  if (subscript) {
    const [, , single, start, , end] = subscript;
    if (single !== undefined) {
      const index = Number(single);
      const host = index < 0 ? ordered[ordered.length + index] : ordered[index];
      picked = host === undefined ? [] : [host];
    } else {
      const from = Number(start);
      const to = end === '' || end === undefined ? ordered.length : Number(end) === 0 ? from + 1 : Number(end) + 1;
      picked = ordered.slice(from, to);
    }
    if (picked.length === 0) throw new InventoryError('E_LIMIT_UNKNOWN', `--limit: ${JSON.stringify(written)}: no host at that position (${ordered.length} matched ${JSON.stringify(pattern)})`);
  }
  if (picked.length === 0) {
    const exact = !pattern.startsWith('~') && !GLOB_CHARS.test(pattern);
    const known = [...inventory.groups.keys(), ...inventory.hosts.map((host) => host.name)];
    const message = exact
      ? `--limit: no host or group named ${JSON.stringify(pattern)}${didYouMean(pattern, known)}`
      : `--limit: pattern ${JSON.stringify(pattern)} matches no host or group`;
    throw new InventoryError('E_LIMIT_UNKNOWN', message);
  }
  return new Set(picked);
}

function matchOrdered(inventory: Inventory, pattern: string): string[] {
  const hostNames = inventory.hosts.map((host) => host.name);
  if (!pattern.startsWith('~') && hostNames.includes(pattern)) return [pattern];
  let test: (name: string) => boolean;
  if (pattern.startsWith('~')) {
    let regex: RegExp;
    try {
      regex = new RegExp(`^(?:${pattern.slice(1)})`);
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
  const ordered: string[] = [];
  let groupMatched = false;
  for (const group of inventory.groups.values()) {
    if (!test(group.name)) continue;
    groupMatched = true;
    ordered.push(...hostsOfGroup(inventory, group.name));
  }
  if (!groupMatched || pattern.startsWith('~') || /[.?*[]/.test(pattern)) ordered.push(...hostNames.filter(test));
  return ordered;
}

// A group's hosts in Ansible's order (Group.get_hosts): the group's own, then its children's, level
// by level, each once.
function hostsOfGroup(inventory: Inventory, name: string): string[] {
  const seenGroups = new Set<string>([name]);
  const seenHosts = new Set<string>();
  const out: string[] = [];
  let level = [name];
  while (level.length > 0) {
    const next: string[] = [];
    for (const groupName of level) {
      for (const host of inventory.groups.get(groupName)?.hosts ?? []) {
        if (!seenHosts.has(host)) {
          seenHosts.add(host);
          out.push(host);
        }
      }
      for (const child of inventory.groups.get(groupName)?.children ?? []) {
        if (!seenGroups.has(child)) {
          seenGroups.add(child);
          next.push(child);
        }
      }
    }
    level = next;
  }
  return out;
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

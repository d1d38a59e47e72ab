import { SECRET_MASK, isSecret } from '../core/secret.js';
import { setOwn } from './own-property.js';
import type { Group, Host, Inventory } from './types.js';

// Output of `halyard inventory list`: plain text for people, JSON for scripts; secrets always masked.
export function formatInventory(inventory: Inventory, options: { json: boolean }): string {
  return options.json ? formatJson(inventory) : formatPlain(inventory);
}

// Sorts names the way people read them: web2 before web10.
export function compareNatural(a: string, b: string): number {
  const chunksA = a.match(/\d+|\D+/g) ?? [];
  const chunksB = b.match(/\d+|\D+/g) ?? [];
  for (let index = 0; index < Math.min(chunksA.length, chunksB.length); index++) {
    const left = chunksA[index] ?? '';
    const right = chunksB[index] ?? '';
    if (left === right) continue;
    const bothNumbers = /^\d/.test(left) && /^\d/.test(right);
    if (bothNumbers && Number(left) !== Number(right)) return Number(left) - Number(right);
    return left < right ? -1 : 1;
  }
  return chunksA.length - chunksB.length || (a < b ? -1 : a > b ? 1 : 0);
}

function sortedHosts(inventory: Inventory): Host[] {
  return [...inventory.hosts].sort((a, b) => compareNatural(a.name, b.name));
}

// `all` first (it is the root), then every other group by name.
function sortedGroups(inventory: Inventory): Group[] {
  return [...inventory.groups.values()].sort((a, b) =>
    a.name === 'all' ? -1 : b.name === 'all' ? 1 : compareNatural(a.name, b.name),
  );
}

function sortedVars(vars: Record<string, unknown>): Record<string, unknown> {
  const sorted: Record<string, unknown> = {};
  for (const name of Object.keys(vars).sort(compareNatural)) setOwn(sorted, name, vars[name]);
  return sorted;
}

function formatJson(inventory: Inventory): string {
  const document = {
    source: inventory.source,
    hosts: sortedHosts(inventory).map((host) => ({
      name: host.name,
      address: host.address,
      port: host.port,
      user: host.user ?? null,
      privateKeyFile: host.privateKeyFile ?? null,
      become: host.become,
      becomePassword: host.becomePassword ?? host.becomePasswordRef ?? null,
      groups: host.groups,
      vars: sortedVars(host.vars),
    })),
    groups: sortedGroups(inventory).map((group) => ({
      name: group.name,
      hosts: [...group.hosts].sort(compareNatural),
      children: [...group.children].sort(compareNatural),
      vars: sortedVars(group.vars),
    })),
  };
  // Secret.toJSON prints the mask, wherever a secret sits in the tree.
  return `${JSON.stringify(document, null, 2)}\n`;
}

function formatPlain(inventory: Inventory): string {
  const lines: string[] = [`inventory: ${inventory.source}`];
  const hosts = sortedHosts(inventory);
  lines.push(`hosts (${hosts.length}):`);
  for (const host of hosts) {
    lines.push(`  ${host.name}`);
    lines.push(`    address: ${formatAddress(host.address, host.port)}`);
    lines.push(`    user: ${host.user ?? '(ssh default)'}`);
    if (host.privateKeyFile !== undefined) lines.push(`    key file: ${host.privateKeyFile}`);
    const password = host.becomePassword ? SECRET_MASK : host.becomePasswordRef ? `!aws_secret ${host.becomePasswordRef.toString()}` : undefined;
    lines.push(`    become: ${host.become ? 'yes' : 'no'}${password ? ` (password ${password})` : ''}`);
    lines.push(`    groups: ${host.groups.join(', ')}`);
    lines.push(...formatVars(host.vars, '    '));
  }
  const groups = sortedGroups(inventory);
  lines.push(`groups (${groups.length}):`);
  for (const group of groups) {
    lines.push(`  ${group.name}`);
    lines.push(`    hosts: ${listOrNone([...group.hosts].sort(compareNatural))}`);
    lines.push(`    children: ${listOrNone([...group.children].sort(compareNatural))}`);
    lines.push(...formatVars(group.vars, '    '));
  }
  return `${lines.join('\n')}\n`;
}

function formatAddress(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

function listOrNone(names: string[]): string {
  return names.length === 0 ? '-' : names.join(', ');
}

function formatVars(vars: Record<string, unknown>, indent: string): string[] {
  const names = Object.keys(vars).sort(compareNatural);
  if (names.length === 0) return [`${indent}vars: -`];
  return [`${indent}vars:`, ...names.map((name) => `${indent}  ${name}: ${formatValue(vars[name])}`)];
}

// One line per value: plain strings as they are, anything else (or odd strings) as JSON.
function formatValue(value: unknown): string {
  if (isSecret(value)) return SECRET_MASK;
  if (
    typeof value === 'string' &&
    /^[^\s"'{}[\],#&*!|>%@`-][^\n\r]*$/.test(value) &&
    value.trimEnd() === value &&
    !/^(?:true|false|yes|no|on|off|null|~|[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?(?:e[-+]?[0-9]+)?)$/i.test(value) // reads as another type
  ) {
    return value;
  }
  return JSON.stringify(value) ?? String(value);
}

// `inventory vars HOST [VAR]`: each var's final value and where it was set, then what it overrode,
// lowest precedence last (secrets masked, as everywhere).
export function formatVarOrigins(inventory: Inventory, host: string, only?: string): string {
  const origins = inventory.origins ?? [];
  const final = inventory.hosts.find((entry) => entry.name === host)?.vars ?? {};
  const names = only === undefined ? Object.keys(final).sort() : [only];
  const lines: string[] = [];
  for (const name of names) {
    const sets = origins.filter(({ block }) => Object.prototype.hasOwnProperty.call(block.values, name)).reverse();
    if (sets.length === 0) {
      lines.push(`${name}: not set for ${host}`);
      continue;
    }
    const where = ({ layer, block }: (typeof sets)[number]) => {
      const line = block.location.lineOf(name);
      const file = block.location.file;
      return file === undefined ? layer : `${file}${line ? `:${line}` : ''} (${layer})`;
    };
    // A var that ends up secret (by its name, a tag or vault) is masked in every layer it was set in.
    const secret = isSecret(final[name]);
    const show = (value: unknown) => (secret ? SECRET_MASK : showValue(value));
    lines.push(`${name} = ${show(final[name])}    from ${where(sets[0]!)}`);
    for (const earlier of sets.slice(1)) lines.push(`    overrides ${show(earlier.block.values[name])}    from ${where(earlier)}`);
  }
  return lines.join('\n');
}

function showValue(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

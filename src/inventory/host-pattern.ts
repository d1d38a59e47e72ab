import { InventoryError } from '../core/errors.js';

// One inventory host key after `name:port` and `[01:03]` ranges are taken apart.
export interface HostPattern {
  names: string[];
  /** Port written after the name (`db1:2222`), which Ansible treats as ansible_port. */
  port: number | undefined;
}

/** Most hosts one range may expand to; more is almost surely a typo like [1:100000]. */
export const MAX_RANGE_HOSTS = 10_000;

const RANGE = /\[([A-Za-z0-9]*):([A-Za-z0-9]*)(?::([0-9]*))?\]/;
const LETTERS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';

// Reads a host key as Ansible does: optional `:port` suffix, then `web[01:03].example.com` ranges.
export function parseHostPattern(key: string, where: { file: string; line: number | undefined }): HostPattern {
  if (key.trim() === '') {
    throw new InventoryError('E_INVENTORY_ADDRESS', 'empty host name', where);
  }
  if (/\s/.test(key)) {
    throw new InventoryError('E_INVENTORY_ADDRESS', `host name ${JSON.stringify(key)} contains whitespace`, where);
  }
  const { name, port } = splitPort(key, where);
  const names = expandRanges(name, where);
  if (names.length > MAX_RANGE_HOSTS) {
    throw new InventoryError(
      'E_INVENTORY_RANGE',
      `host range ${JSON.stringify(key)} expands to ${names.length} hosts (at most ${MAX_RANGE_HOSTS})`,
      where,
    );
  }
  return { names, port };
}

/** `[anything]:port`, as Ansible's bracketed_hostport. */
const BRACKETED_HOST_PORT = /^\[(.+)\]:([0-9]+)$/;
/** `name:port` where the name holds no colon outside `[...]`, as Ansible's hostport. */
const HOST_PORT = /^((?:[^:[\]]|\[[^\]]*\])*):([0-9]+)$/;
const NUMERIC_RANGE = String.raw`\[[0-9]+:[0-9]+(?::[0-9]+)?\]`;
const ALPHANUMERIC_RANGE = String.raw`\[(?:[a-z]:[a-z]|[0-9]+:[0-9]+)(?::[0-9]+)?\]`;
const IPV4_PART = String.raw`(?:[01]?[0-9]{1,2}|2[0-4][0-9]|25[0-5]|${NUMERIC_RANGE})`;
/** Ansible's ipv4 pattern: four parts, each 0-255 or a numeric range. */
const IPV4_PATTERN = new RegExp(String.raw`^(?:${IPV4_PART}\.){3}${IPV4_PART}$`);
const LABEL = String.raw`(?:[\p{L}\p{N}_]|${ALPHANUMERIC_RANGE})(?:[\p{L}\p{N}_-]|${ALPHANUMERIC_RANGE})*(?<![_-])`;
/** Ansible's hostname pattern: dot-separated labels of word characters and `-`, with ranges. */
const HOSTNAME_PATTERN = new RegExp(String.raw`^${LABEL}(?:\.${LABEL})*$`, 'iu');

// Ansible's parse_address: `[address]:port` (the only way to give an IPv6 address a port), else
// `name:port` where the name may hold `[x:y]` ranges but no other colon. A port splits off only
// when what is left is an IPv4 address or a host name (a ranged one too); anything else, such as
// `user@host:2222`, is a host name as written, without a port.
function splitPort(key: string, where: { file: string; line: number | undefined }): { name: string; port?: number } {
  const bracketed = BRACKETED_HOST_PORT.exec(key);
  if (bracketed) return { name: bracketed[1]!, port: checkedPort(bracketed[2]!, key, where) };
  const match = HOST_PORT.exec(key);
  if (!match || !(IPV4_PATTERN.test(match[1]!) || HOSTNAME_PATTERN.test(match[1]!))) return { name: key };
  return { name: match[1]!, port: checkedPort(match[2]!, key, where) };
}

function checkedPort(text: string, key: string, where: { file: string; line: number | undefined }): number {
  const port = Number(text);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new InventoryError('E_INVENTORY_PORT', `port ${text} in host ${JSON.stringify(key)} is out of range 1-65535`, where);
  }
  return port;
}

function expandRanges(name: string, where: { file: string; line: number | undefined }): string[] {
  const match = RANGE.exec(name);
  if (!match) return [name];
  const head = name.slice(0, match.index);
  const tail = name.slice(match.index + match[0].length);
  const values = rangeValues(match[1] ?? '', match[2] ?? '', match[3], match[0], where);
  const tails = expandRanges(tail, where);
  const names: string[] = [];
  for (const value of values) {
    for (const rest of tails) {
      names.push(`${head}${value}${rest}`);
      if (names.length > MAX_RANGE_HOSTS) return names;
    }
  }
  return names;
}

function rangeValues(
  begin: string,
  end: string,
  stepText: string | undefined,
  written: string,
  where: { file: string; line: number | undefined },
): string[] {
  const bad = (why: string): InventoryError =>
    new InventoryError('E_INVENTORY_RANGE', `host range ${written} ${why}`, where);
  const step = stepText === undefined || stepText === '' ? 1 : Number(stepText);
  if (!Number.isInteger(step) || step < 1) throw bad('needs a positive step');
  if (end === '') throw bad('needs an end value');
  const start = begin === '' ? '0' : begin;

  if (/^[A-Za-z]$/.test(start) && /^[A-Za-z]$/.test(end)) {
    const from = LETTERS.indexOf(start);
    const to = LETTERS.indexOf(end);
    if (from > to) throw bad('runs backwards');
    const letters: string[] = [];
    for (let index = from; index <= to; index += step) letters.push(LETTERS[index] ?? '');
    return letters;
  }
  if (!/^[0-9]+$/.test(start) || !/^[0-9]+$/.test(end)) {
    throw bad('must be numbers ([01:10]) or single letters ([a:f])');
  }
  const padded = start.length > 1 && start.startsWith('0');
  if (padded && start.length !== end.length) throw bad('needs begin and end of the same width');
  const from = Number(start);
  const to = Number(end);
  if (from > to) throw bad('runs backwards');
  if ((to - from) / step + 1 > MAX_RANGE_HOSTS) {
    throw bad(`expands to more than ${MAX_RANGE_HOSTS} hosts`);
  }
  const numbers: string[] = [];
  for (let value = from; value <= to; value += step) {
    numbers.push(padded ? String(value).padStart(start.length, '0') : String(value));
  }
  return numbers;
}

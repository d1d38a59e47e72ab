import { plainScalarResolver } from './yaml-source.js';
import type { YamlTree, YamlTreeEntry, YamlTreeNode } from './yaml-tree.js';

// Large inventories are plain block YAML: `name:` lines, `key: value` lines and one-line flow
// mappings `{ansible_host: 10.0.0.1, ansible_port: 22}`. The yaml library keeps a CST, tokens and
// a node per scalar, and reads 50 MB (400k hosts) in minutes and gigabytes; this reader scans such
// text line by line into a YamlTree in linear time. It declines (returns undefined) at the first
// thing outside that subset (anchors, tags, block scalars, sequences in block form, escapes,
// multi-line scalars, duplicate keys, anything malformed), and the caller reads the file with the
// yaml library instead, which also describes any error. Scalars are typed by the library's own
// schema (plainScalarResolver), so both readers give the same values; a differential test holds
// them to it (test/inventory/yaml-fast.test.ts).
export function readPlainBlockYaml(text: string, file: string): YamlTree | undefined {
  try {
    return { file, root: new PlainBlockScanner(text).scan() };
  } catch (error) {
    if (error === DECLINE) return undefined;
    throw error;
  }
}

const DECLINE = Symbol('not plain block YAML');

function decline(): never {
  throw DECLINE;
}

class FastScalar implements YamlTreeNode {
  constructor(
    readonly line: number,
    readonly scalar: unknown,
  ) {}
  get kind(): 'scalar' {
    return 'scalar';
  }
  entries(): Iterable<YamlTreeEntry> {
    return [];
  }
  toJS(): unknown {
    return this.scalar;
  }
}

// A list written on one line: its items are plain values.
class FastSeq implements YamlTreeNode {
  constructor(
    readonly line: number,
    readonly items: unknown[],
  ) {}
  get kind(): 'seq' {
    return 'seq';
  }
  get scalar(): undefined {
    return undefined;
  }
  entries(): Iterable<YamlTreeEntry> {
    return [];
  }
  toJS(): unknown {
    return [...this.items];
  }
}

// A mapping kept as parallel arrays, scalar values as plain values: 500k host entries cost about
// a hundred bytes each, not a node per key and value. Entries are made when asked for. Once a
// one-line mapping is complete (seal), its key list is shared with every mapping of the same keys
// and its values trimmed to length.
class FastMap implements YamlTreeNode {
  keys: string[] = [];
  values: unknown[] = [];
  /** Each key's line; undefined while every key is on the map's first line (a flow mapping). */
  lines: number[] | undefined;
  #set: Set<string> | undefined;
  constructor(readonly line: number) {}

  get kind(): 'map' {
    return 'map';
  }

  get scalar(): undefined {
    return undefined;
  }

  *entries(): Iterable<YamlTreeEntry> {
    for (let index = 0; index < this.keys.length; index += 1) {
      const line = this.lines?.[index] ?? this.line;
      const value = this.values[index];
      yield {
        key: new FastScalar(line, this.keys[index]),
        line,
        value: value instanceof FastMap || value instanceof FastSeq ? value : value === null ? null : new FastScalar(line, value),
      };
    }
  }

  toJS(): unknown {
    const out: Record<string, unknown> = {};
    for (let index = 0; index < this.keys.length; index += 1) {
      const value = this.values[index];
      out[this.keys[index]!] = value instanceof FastMap || value instanceof FastSeq ? value.toJS() : value;
    }
    return out;
  }

  // Adds a pair; a key written twice is left to the yaml library, which reports it.
  add(key: string, line: number, value: unknown): void {
    if (this.keys.length < 16 ? this.keys.includes(key) : this.#keySet().has(key)) decline();
    if (line !== this.line && this.lines === undefined) this.lines = this.keys.map(() => this.line);
    this.lines?.push(line);
    this.keys.push(key);
    this.values.push(value);
    this.#set?.add(key);
  }

  seal(sharedKeys: Map<string, string[]>): void {
    const signature = this.keys.join('\0');
    const shared = sharedKeys.get(signature);
    if (shared) this.keys = shared;
    else if (sharedKeys.size < 1000) sharedKeys.set(signature, (this.keys = this.keys.slice()));
    this.values = this.values.slice();
    this.#set = undefined;
  }

  #keySet(): Set<string> {
    return (this.#set ??= new Set(this.keys));
  }
}

// Characters that may not start a plain scalar here (YAML indicators; `?` and `:` are declined
// too, although YAML allows them before a non-space; `-` is read when a non-space follows).
const INDICATOR = new Set([...'-?:,[]{}#&*!|>\'"%@`']);

// Whether a plain scalar may start at `at`: not an indicator, except `-` before a non-space (-1).
function startsPlain(line: string, at: number): boolean {
  const first = line[at]!;
  if (first === '-') return at + 1 < line.length && line[at + 1] !== ' ' && line[at + 1] !== ',' && line[at + 1] !== ']' && line[at + 1] !== '}';
  return !INDICATOR.has(first);
}
// Texts the schema may read as something other than a string are resolved once each.
const RESOLVE_CACHE_LIMIT = 50_000;

class PlainBlockScanner {
  readonly #text: string;
  readonly #resolve = plainScalarResolver();
  readonly #keyCache = new Map<string, { value: unknown } | undefined>();
  readonly #valueCache = new Map<string, { value: unknown } | undefined>();
  /** Key lists of one-line mappings, shared by every mapping with the same keys. */
  readonly #sharedKeys = new Map<string, string[]>();
  /** Open block mappings, outermost first, with their indentation. */
  readonly #open: Array<{ indent: number; map: FastMap }> = [];
  /** A `key:` with nothing after it, waiting for a nested mapping on the next lines. */
  #pending: { indent: number; map: FastMap; key: string; line: number } | undefined;

  constructor(text: string) {
    this.#text = text;
  }

  scan(): YamlTreeNode | null {
    const text = this.#text;
    if (text.charCodeAt(0) === 0xfeff) decline();
    let root: FastMap | undefined;
    let lineNumber = 0;
    for (let start = 0; start < text.length; ) {
      let end = text.indexOf('\n', start);
      if (end < 0) end = text.length;
      lineNumber += 1;
      const line = text.charCodeAt(end - 1) === 13 ? text.slice(start, end - 1) : text.slice(start, end);
      start = end + 1;
      let indent = 0;
      while (line.charCodeAt(indent) === 32) indent += 1;
      if (indent === line.length || line[indent] === '#') continue;
      if (line[indent] === '\t' || line.includes('\r')) decline();
      if (indent === 0 && (line.startsWith('---') || line.startsWith('...') || line[0] === '%')) decline();
      const map = root === undefined ? (root = this.#openRoot(indent, lineNumber)) : this.#mapAt(indent, lineNumber);
      this.#entry(map, line, indent, lineNumber);
    }
    if (this.#pending) this.#settle(null);
    return root ?? null;
  }

  #openRoot(indent: number, line: number): FastMap {
    const map = new FastMap(line);
    this.#open.push({ indent, map });
    return map;
  }

  // The open mapping a line at `indent` belongs to: a pending key's new child, or an enclosing one.
  #mapAt(indent: number, line: number): FastMap {
    const pending = this.#pending;
    if (pending && indent > pending.indent) {
      const child = new FastMap(line);
      this.#settle(child);
      this.#open.push({ indent, map: child });
      return child;
    }
    if (pending) this.#settle(null);
    while (this.#open.length > 0 && indent < this.#open.at(-1)!.indent) this.#open.pop();
    const top = this.#open.at(-1);
    if (!top || top.indent !== indent) decline();
    return top.map;
  }

  #settle(value: FastMap | null): void {
    const pending = this.#pending!;
    this.#pending = undefined;
    pending.map.add(pending.key, pending.line, value);
  }

  // One `key: value` or `key:` line.
  #entry(map: FastMap, line: string, indent: number, lineNumber: number): void {
    const { key, next } = this.#key(line, indent);
    const valueAt = skipSpaces(line, next);
    if (valueAt === line.length || line[valueAt] === '#') {
      this.#pending = { indent, map, key, line: lineNumber };
      return;
    }
    const { value, end } = this.#value(line, valueAt, lineNumber, false);
    if (!restIsComment(line, end)) decline();
    map.add(key, lineNumber, value);
  }

  // A block mapping key and the position after its `:`.
  #key(line: string, at: number): { key: string; next: number } {
    let text: string;
    let next: number;
    const first = line[at]!;
    if (first === "'" || first === '"') {
      ({ text, end: next } = quoted(line, at));
      if (line[next] !== ':' || (next + 1 < line.length && line[next + 1] !== ' ')) decline();
    } else {
      if (INDICATOR.has(first)) decline();
      next = line.indexOf(':', at);
      while (next >= 0 && next + 1 < line.length && line[next + 1] !== ' ') next = line.indexOf(':', next + 1);
      if (next < 0) decline();
      text = line.slice(at, next).trimEnd();
      if (text.includes(' #')) decline();
      const resolved = this.#plain(text, true);
      if (typeof resolved !== 'string') decline();
      text = resolved;
    }
    if (text === '__proto__' || text === '<<') decline();
    return { key: text, next: next + 1 };
  }

  // A value starting at `at`: quoted, a one-line flow mapping or list, or a plain scalar.
  #value(line: string, at: number, lineNumber: number, inFlow: boolean): { value: unknown; end: number } {
    const first = line[at]!;
    if (first === "'" || first === '"') {
      const { text, end } = quoted(line, at);
      return { value: text, end };
    }
    if (!inFlow && first === '{') return this.#flowMap(line, at, lineNumber);
    if (!inFlow && first === '[') return this.#flowSeq(line, at, lineNumber);
    if (!startsPlain(line, at)) decline();
    let end: number;
    if (inFlow) {
      end = at;
      while (end < line.length && line[end] !== ',' && line[end] !== '}' && line[end] !== ']') end += 1;
    } else {
      end = line.indexOf(' #', at);
      if (end < 0) end = line.length;
    }
    const text = line.slice(at, end).trimEnd();
    if (text.includes(': ') || text.endsWith(':') || text.includes(' #') || (inFlow && /[[{]/.test(text))) decline();
    return { value: this.#plain(text, false), end };
  }

  // `{a: 1, b: x}` on one line, values scalars.
  #flowMap(line: string, at: number, lineNumber: number): { value: FastMap; end: number } {
    const map = new FastMap(lineNumber);
    let at2 = skipSpaces(line, at + 1);
    while (line[at2] !== '}') {
      if (at2 >= line.length) decline();
      let keyText: string;
      let afterKey: number;
      if (line[at2] === "'" || line[at2] === '"') {
        ({ text: keyText, end: afterKey } = quoted(line, at2));
      } else {
        if (INDICATOR.has(line[at2]!)) decline();
        afterKey = at2;
        while (afterKey < line.length && !(line[afterKey] === ':' && /[\s,}]/.test(line[afterKey + 1] ?? ' ')) && line[afterKey] !== ',' && line[afterKey] !== '}') afterKey += 1;
        const written = line.slice(at2, afterKey).trimEnd();
        if (written.includes(' #') || /[[\]{]/.test(written)) decline();
        const resolved = this.#plain(written, true);
        if (typeof resolved !== 'string') decline();
        keyText = resolved;
      }
      if (keyText === '__proto__' || keyText === '<<') decline();
      let value: unknown = null;
      let after = skipSpaces(line, afterKey);
      if (line[after] === ':') {
        const valueAt = skipSpaces(line, after + 1);
        if (line[valueAt] !== ',' && line[valueAt] !== '}') {
          const read = this.#value(line, valueAt, lineNumber, true);
          value = read.value;
          after = skipSpaces(line, read.end);
        } else {
          after = valueAt;
        }
      }
      map.add(keyText, lineNumber, value);
      if (line[after] === ',') at2 = skipSpaces(line, after + 1);
      else if (line[after] === '}') at2 = after;
      else decline();
    }
    map.seal(this.#sharedKeys);
    return { value: map, end: at2 + 1 };
  }

  // `[a, 'b', 3]` on one line, items scalars.
  #flowSeq(line: string, at: number, lineNumber: number): { value: FastSeq; end: number } {
    const items: unknown[] = [];
    let at2 = skipSpaces(line, at + 1);
    while (line[at2] !== ']') {
      if (at2 >= line.length) decline();
      const read = this.#value(line, at2, lineNumber, true);
      items.push(read.value);
      const after = skipSpaces(line, read.end);
      if (line[after] === ',') at2 = skipSpaces(line, after + 1);
      else if (line[after] === ']') at2 = after;
      else decline();
    }
    return { value: new FastSeq(lineNumber, items), end: at2 + 1 };
  }

  // A plain scalar's value in halyard's schema (yaml 1.1 as PyYAML reads it).
  #plain(text: string, atKey: boolean): unknown {
    if (text === '') return null;
    const cache = atKey ? this.#keyCache : this.#valueCache;
    let resolved = cache.get(text);
    if (resolved === undefined && !cache.has(text)) {
      resolved = this.#resolve(text, atKey);
      if (cache.size >= RESOLVE_CACHE_LIMIT) cache.clear();
      cache.set(text, resolved);
    }
    if (resolved === undefined) decline();
    return resolved.value;
  }
}

function skipSpaces(line: string, at: number): number {
  while (line[at] === ' ') at += 1;
  return at;
}

// Nothing but spaces and a comment (after at least one space) from `at` on.
function restIsComment(line: string, at: number): boolean {
  const next = skipSpaces(line, at);
  return next === line.length || (line[next] === '#' && next > at);
}

// A quoted scalar on one line: '' in single quotes; double quotes without escapes.
function quoted(line: string, at: number): { text: string; end: number } {
  const quote = line[at]!;
  let text = '';
  let from = at + 1;
  for (;;) {
    const close = line.indexOf(quote, from);
    if (close < 0) decline();
    const chunk = line.slice(from, close);
    if (quote === '"' && chunk.includes('\\')) decline();
    text += chunk;
    if (quote === "'" && line[close + 1] === "'") {
      text += "'";
      from = close + 2;
      continue;
    }
    return { text, end: close + 1 };
  }
}

import { isAlias, isMap, isPair, isScalar, isSeq, type Node, type Pair, type YAMLMap } from 'yaml';
import { InventoryError } from '../core/errors.js';
import { describeType } from './connection-vars.js';
import { parseHostPattern } from './host-pattern.js';
import { RawInventory, SECRET_VARS_DIRECTIVE, type VarsBlock } from './raw-inventory.js';
import { didYouMean } from './suggest.js';
import { assertUniqueKeys, type YamlSource } from './yaml-source.js';

/** Keys a group mapping may hold, as in Ansible's YAML inventory. */
export const GROUP_KEYS = ['hosts', 'vars', 'children'] as const;

// Reads Ansible's YAML inventory shape (`all:` with hosts/vars/children, other top-level groups).
// `into` gathers several sources (`-i A -i B`) in one inventory, as Ansible does.
export function readAnsibleYaml(source: YamlSource, into?: RawInventory): RawInventory {
  return new AnsibleYamlReader(source, into).read();
}

class AnsibleYamlReader {
  readonly #source: YamlSource;
  readonly #raw: RawInventory;

  constructor(source: YamlSource, into?: RawInventory) {
    this.#source = source;
    this.#raw = into ?? new RawInventory(source.file);
  }

  read(): RawInventory {
    const top = this.#deref(this.#source.doc.contents);
    if (top === null || (isScalar(top) && top.value === null)) return this.#raw; // empty: reported later
    if (!isMap(top)) {
      throw this.#error('E_INVENTORY_TYPE', `the top level must be a mapping of groups (like "all:"), got ${this.#kind(top)}`, top);
    }
    for (const { name, pair } of this.#entries(top, 'E_INVENTORY_DUPLICATE_KEY', 'group')) {
      if (name === SECRET_VARS_DIRECTIVE) {
        // Validates and records the names; the directive itself is not a var.
        this.#raw.varsBlock(
          { [name]: this.#toJS(pair.value as Node | null) },
          { file: this.#source.file, lineOf: () => this.#line(pair) },
        );
        continue;
      }
      this.#checkGroupName(name, pair);
      // Top-level groups other than `all` are children of `all`, as in Ansible.
      if (name !== 'all') this.#raw.addChild('all', name, this.#line(pair));
      this.#readGroup(name, pair);
    }
    return this.#raw;
  }

  #readGroup(name: string, groupPair: Pair): void {
    this.#raw.group(name, this.#line(groupPair));
    const body = this.#deref(groupPair.value as Node | null);
    if (body === null || (isScalar(body) && body.value === null)) return;
    if (!isMap(body)) {
      throw this.#error(
        'E_INVENTORY_TYPE',
        `group ${JSON.stringify(name)} must be a mapping with hosts, vars or children, got ${this.#kind(body)}`,
        body,
      );
    }
    for (const { name: key, pair } of this.#entries(body, 'E_INVENTORY_DUPLICATE_KEY', 'key')) {
      if (key === 'hosts') this.#readHosts(name, pair);
      else if (key === 'vars') this.#readGroupVars(name, pair);
      else if (key === 'children') this.#readChildren(name, pair);
      else {
        throw this.#error(
          'E_INVENTORY_UNKNOWN_KEY',
          `unknown key ${JSON.stringify(key)} in group ${JSON.stringify(name)} (expected hosts, vars or children)${didYouMean(key, GROUP_KEYS)}`,
          pair,
        );
      }
    }
  }

  #readHosts(groupName: string, hostsPair: Pair): void {
    const hosts = this.#deref(hostsPair.value as Node | null);
    if (hosts === null || (isScalar(hosts) && hosts.value === null)) return;
    if (!isMap(hosts)) {
      const hint = isSeq(hosts) ? ' (write each host as "name:" on its own line)' : '';
      throw this.#error(
        'E_INVENTORY_TYPE',
        `hosts of group ${JSON.stringify(groupName)} must be a mapping of host names, got ${this.#kind(hosts)}${hint}`,
        hosts,
      );
    }
    for (const { name: key, pair } of this.#entries(hosts, 'E_INVENTORY_DUPLICATE_HOST', 'host')) {
      const line = this.#line(pair);
      const pattern = parseHostPattern(key, { file: this.#source.file, line });
      const value = this.#deref(pair.value as Node | null);
      let vars: Record<string, unknown> = {};
      let lineOf: (name: string) => number | undefined = () => line;
      if (value !== null && !(isScalar(value) && value.value === null)) {
        if (!isMap(value)) {
          throw this.#error(
            'E_INVENTORY_TYPE',
            `host ${JSON.stringify(key)} must have a mapping of host vars or nothing, got ${this.#kind(value)}`,
            value,
          );
        }
        ({ vars, lineOf } = this.#readVarsMap(value, line));
      }
      if (pattern.port !== undefined) vars = { ansible_port: pattern.port, ...vars };
      const block: VarsBlock = this.#raw.varsBlock(vars, { file: this.#source.file, lineOf });
      for (const hostName of pattern.names) this.#raw.addHost(groupName, hostName, line, block);
    }
  }

  #readGroupVars(groupName: string, varsPair: Pair): void {
    const value = this.#deref(varsPair.value as Node | null);
    if (value === null || (isScalar(value) && value.value === null)) return;
    if (!isMap(value)) {
      throw this.#error(
        'E_INVENTORY_TYPE',
        `vars of group ${JSON.stringify(groupName)} must be a mapping of var names to values, got ${this.#kind(value)}`,
        value,
      );
    }
    const { vars, lineOf } = this.#readVarsMap(value, this.#line(varsPair));
    this.#raw.addGroupVars(groupName, this.#raw.varsBlock(vars, { file: this.#source.file, lineOf }));
  }

  #readChildren(groupName: string, childrenPair: Pair): void {
    const value = this.#deref(childrenPair.value as Node | null);
    if (value === null || (isScalar(value) && value.value === null)) return;
    if (!isMap(value)) {
      const hint = isSeq(value) ? ' (write each child group as "name:" on its own line)' : '';
      throw this.#error(
        'E_INVENTORY_TYPE',
        `children of group ${JSON.stringify(groupName)} must be a mapping of group names, got ${this.#kind(value)}${hint}`,
        value,
      );
    }
    for (const { name: childName, pair } of this.#entries(value, 'E_INVENTORY_DUPLICATE_KEY', 'group')) {
      this.#checkGroupName(childName, pair);
      this.#raw.addChild(groupName, childName, this.#line(pair));
      this.#readGroup(childName, pair);
    }
  }

  // A vars mapping as plain values (aliases and `<<` merges resolved) plus each key's line.
  #readVarsMap(map: YAMLMap, fallbackLine: number | undefined) {
    const lines = new Map<string, number | undefined>();
    for (const { name, pair } of this.#entries(map, 'E_INVENTORY_DUPLICATE_KEY', 'var')) {
      lines.set(name, this.#line(pair));
    }
    const vars = this.#toJS(map) as Record<string, unknown>;
    return { vars, lineOf: (name: string) => lines.get(name) ?? fallbackLine };
  }

  // Walks a mapping's pairs with string keys, rejecting a key written twice.
  *#entries(map: YAMLMap, duplicateCode: string, what: string): Generator<{ name: string; pair: Pair }> {
    const seen = new Map<string, number | undefined>();
    for (const pair of map.items as Pair[]) {
      const keyNode = this.#deref(pair.key as Node | null);
      if (keyNode !== null && !isScalar(keyNode)) {
        throw this.#error('E_INVENTORY_TYPE', `a ${what} name must be a plain value, got ${this.#kind(keyNode)}`, pair);
      }
      const keyValue = keyNode === null ? null : keyNode.value;
      if (keyValue !== null && typeof keyValue === 'object') {
        throw this.#error('E_INVENTORY_TYPE', `a ${what} name must be a plain value, got ${describeType(keyValue)}`, pair);
      }
      const name = keyValue === null || keyValue === undefined ? '' : String(keyValue);
      if (name === '<<' && what === 'var') continue; // merge key, resolved by toJS
      const line = this.#line(pair);
      if (seen.has(name)) {
        const first = seen.get(name);
        throw new InventoryError(
          duplicateCode,
          `${what} ${JSON.stringify(name)} is written twice in the same mapping${first ? ` (first at line ${first})` : ''}`,
          { file: this.#source.file, line },
        );
      }
      seen.set(name, line);
      yield { name, pair };
    }
  }

  #checkGroupName(name: string, pair: Pair): void {
    if (name.trim() === '' || /\s/.test(name)) {
      throw this.#error('E_INVENTORY_GROUP_NAME', `group name ${JSON.stringify(name)} must be non-empty and without whitespace`, pair);
    }
  }

  #deref(node: Node | null | undefined): Node | null {
    if (node === null || node === undefined) return null;
    if (isAlias(node)) return (node.resolve(this.#source.doc) as Node | undefined) ?? null;
    return node;
  }

  #toJS(node: Node | null): unknown {
    if (node === null) return null;
    assertUniqueKeys(node, this.#source, 'E_INVENTORY_DUPLICATE_KEY');
    return node.toJS(this.#source.doc, { maxAliasCount: 1000 });
  }

  #kind(node: Node): string {
    if (isMap(node)) return 'a mapping';
    if (isSeq(node)) return 'a list';
    if (isScalar(node)) return describeType(node.value);
    return 'something else';
  }

  #line(where: Pair | Node): number | undefined {
    if (isPair(where)) {
      return this.#source.lineOf((where.key as Node | null) ?? (where.value as Node | null));
    }
    return this.#source.lineOf(where);
  }

  #error(code: string, message: string, where: Pair | Node): InventoryError {
    return new InventoryError(code, message, { file: this.#source.file, line: this.#line(where) });
  }
}

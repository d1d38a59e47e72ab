import { InventoryError } from '../core/errors.js';
import { describeType } from './connection-vars.js';
import { parseHostPattern } from './host-pattern.js';
import { RawInventory, SECRET_VARS_DIRECTIVE, type VarsBlock } from './raw-inventory.js';
import { didYouMean } from './suggest.js';
import type { YamlTree, YamlTreeEntry, YamlTreeNode } from './yaml-tree.js';

/** Keys a group mapping may hold, as in Ansible's YAML inventory. */
export const GROUP_KEYS = ['hosts', 'vars', 'children'] as const;

// Reads Ansible's YAML inventory shape (`all:` with hosts/vars/children, other top-level groups).
// `into` gathers several sources (`-i A -i B`) in one inventory, as Ansible does.
// `fullTree` is the yaml library's reading of a file the plain-block reader read: a file the rules
// refuse is read again with it, so the error is the one the full parser's positions give.
export function readAnsibleYaml(tree: YamlTree, into?: RawInventory, fullTree?: () => YamlTree): RawInventory {
  try {
    return new AnsibleYamlReader(tree, into).read();
  } catch (error) {
    if (!fullTree || !(error instanceof InventoryError)) throw error;
    new AnsibleYamlReader(fullTree(), new RawInventory(tree.file)).read();
    throw error;
  }
}

class AnsibleYamlReader {
  readonly #tree: YamlTree;
  readonly #raw: RawInventory;

  constructor(tree: YamlTree, into?: RawInventory) {
    this.#tree = tree;
    this.#raw = into ?? new RawInventory(tree.file);
  }

  read(): RawInventory {
    const top = this.#tree.root;
    if (!hasValue(top)) return this.#raw; // empty: reported later
    if (top.kind !== 'map') {
      throw this.#error('E_INVENTORY_TYPE', `the top level must be a mapping of groups (like "all:"), got ${this.#kind(top)}`, top);
    }
    for (const { name, pair } of this.#entries(top, 'E_INVENTORY_DUPLICATE_KEY', 'group')) {
      if (name === SECRET_VARS_DIRECTIVE) {
        // Validates and records the names; the directive itself is not a var.
        this.#raw.varsBlock({ [name]: this.#toJS(pair.value) }, { file: this.#tree.file, lineOf: () => pair.line });
        continue;
      }
      this.#checkGroupName(name, pair);
      // Top-level groups other than `all` are children of `all`, as in Ansible.
      if (name !== 'all') this.#raw.addChild('all', name, pair.line);
      this.#readGroup(name, pair);
    }
    return this.#raw;
  }

  #readGroup(name: string, groupPair: YamlTreeEntry): void {
    this.#raw.group(name, groupPair.line);
    const body = groupPair.value;
    if (!hasValue(body)) return;
    if (body.kind !== 'map') {
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

  #readHosts(groupName: string, hostsPair: YamlTreeEntry): void {
    const hosts = hostsPair.value;
    if (!hasValue(hosts)) return;
    if (hosts.kind !== 'map') {
      const hint = hosts.kind === 'seq' ? ' (write each host as "name:" on its own line)' : '';
      throw this.#error(
        'E_INVENTORY_TYPE',
        `hosts of group ${JSON.stringify(groupName)} must be a mapping of host names, got ${this.#kind(hosts)}${hint}`,
        hosts,
      );
    }
    for (const { name: key, pair } of this.#entries(hosts, 'E_INVENTORY_DUPLICATE_HOST', 'host')) {
      const line = pair.line;
      const pattern = parseHostPattern(key, { file: this.#tree.file, line });
      const value = pair.value;
      let vars: Record<string, unknown> = {};
      let lineOf: (name: string) => number | undefined = () => line;
      if (hasValue(value)) {
        if (value.kind !== 'map') {
          throw this.#error(
            'E_INVENTORY_TYPE',
            `host ${JSON.stringify(key)} must have a mapping of host vars or nothing, got ${this.#kind(value)}`,
            value,
          );
        }
        ({ vars, lineOf } = this.#readVarsMap(value, line));
      }
      const block: VarsBlock = this.#raw.varsBlock(vars, { file: this.#tree.file, lineOf });
      const portVars = pattern.port === undefined ? undefined : this.#raw.varsBlock({ ansible_port: pattern.port }, { file: this.#tree.file, lineOf: () => line });
      for (const hostName of pattern.names) this.#raw.addHost(groupName, hostName, line, block, portVars);
    }
  }

  #readGroupVars(groupName: string, varsPair: YamlTreeEntry): void {
    const value = varsPair.value;
    if (!hasValue(value)) return;
    if (value.kind !== 'map') {
      throw this.#error(
        'E_INVENTORY_TYPE',
        `vars of group ${JSON.stringify(groupName)} must be a mapping of var names to values, got ${this.#kind(value)}`,
        value,
      );
    }
    const { vars, lineOf } = this.#readVarsMap(value, varsPair.line);
    this.#raw.addGroupVars(groupName, this.#raw.varsBlock(vars, { file: this.#tree.file, lineOf }));
  }

  #readChildren(groupName: string, childrenPair: YamlTreeEntry): void {
    const value = childrenPair.value;
    if (!hasValue(value)) return;
    if (value.kind !== 'map') {
      const hint = value.kind === 'seq' ? ' (write each child group as "name:" on its own line)' : '';
      throw this.#error(
        'E_INVENTORY_TYPE',
        `children of group ${JSON.stringify(groupName)} must be a mapping of group names, got ${this.#kind(value)}${hint}`,
        value,
      );
    }
    for (const { name: childName, pair } of this.#entries(value, 'E_INVENTORY_DUPLICATE_KEY', 'group')) {
      this.#checkGroupName(childName, pair);
      this.#raw.addChild(groupName, childName, pair.line);
      this.#readGroup(childName, pair);
    }
  }

  // A vars mapping as plain values (aliases and `<<` merges resolved) plus each key's line.
  // A mapping written on one line (`h1: {ansible_host: ...}`, most hosts of a large inventory)
  // keeps one line for all its keys rather than a table.
  #readVarsMap(map: YamlTreeNode, fallbackLine: number | undefined) {
    const lines = new Map<string, number | undefined>();
    let oneLine = true;
    for (const { name, pair } of this.#entries(map, 'E_INVENTORY_DUPLICATE_KEY', 'var')) {
      lines.set(name, pair.line);
      oneLine &&= pair.line === map.line;
    }
    const vars = this.#toJS(map) as Record<string, unknown>;
    return { vars, lineOf: oneLine ? constantLine(map.line ?? fallbackLine) : lineTable(lines, fallbackLine) };
  }

  // Walks a mapping's pairs with string keys, rejecting a key written twice.
  *#entries(map: YamlTreeNode, duplicateCode: string, what: string): Generator<{ name: string; pair: YamlTreeEntry }> {
    const seen = new Map<string, number | undefined>();
    for (const pair of map.entries()) {
      const keyNode = pair.key;
      if (keyNode !== null && keyNode.kind !== 'scalar') {
        throw this.#error('E_INVENTORY_TYPE', `a ${what} name must be a plain value, got ${this.#kind(keyNode)}`, pair);
      }
      const keyValue = keyNode === null ? null : keyNode.scalar;
      if (keyValue !== null && typeof keyValue === 'object') {
        throw this.#error('E_INVENTORY_TYPE', `a ${what} name must be a plain value, got ${describeType(keyValue)}`, pair);
      }
      const name = keyValue === null || keyValue === undefined ? '' : String(keyValue);
      if (name === '<<' && what === 'var') continue; // merge key, resolved by toJS
      const line = pair.line;
      if (seen.has(name)) {
        const first = seen.get(name);
        throw new InventoryError(
          duplicateCode,
          `${what} ${JSON.stringify(name)} is written twice in the same mapping${first ? ` (first at line ${first})` : ''}`,
          { file: this.#tree.file, line },
        );
      }
      seen.set(name, line);
      yield { name, pair };
    }
  }

  #checkGroupName(name: string, pair: YamlTreeEntry): void {
    if (name.trim() === '' || /\s/.test(name)) {
      throw this.#error('E_INVENTORY_GROUP_NAME', `group name ${JSON.stringify(name)} must be non-empty and without whitespace`, pair);
    }
  }

  #toJS(node: YamlTreeNode | null): unknown {
    return node === null ? null : node.toJS('E_INVENTORY_DUPLICATE_KEY');
  }

  #kind(node: YamlTreeNode): string {
    if (node.kind === 'map') return 'a mapping';
    if (node.kind === 'seq') return 'a list';
    if (node.kind === 'scalar') return describeType(node.scalar);
    return 'something else';
  }

  #error(code: string, message: string, where: YamlTreeEntry | YamlTreeNode): InventoryError {
    return new InventoryError(code, message, { file: this.#tree.file, line: where.line });
  }
}

// A value other than nothing: a missing node and a null scalar (`hosts:` with nothing after it) are empty.
function hasValue(node: YamlTreeNode | null): node is YamlTreeNode {
  return node !== null && !(node.kind === 'scalar' && node.scalar === null);
}

// Where each var of a block was written. Made outside the reader's methods, so a closure holds
// only what it answers with (400k of them stay alive with the inventory).
function constantLine(line: number | undefined): (name: string) => number | undefined {
  return () => line;
}

function lineTable(lines: Map<string, number | undefined>, fallbackLine: number | undefined): (name: string) => number | undefined {
  return (name) => lines.get(name) ?? fallbackLine;
}

import { isAlias, isMap, isScalar, isSeq, type Node, type Pair } from 'yaml';
import { assertUniqueKeys, type YamlSource } from './yaml-source.js';

// One node of a parsed YAML file as the inventory reader sees it: what kind it is, where it was
// written, its pairs when it is a mapping, and its plain value. Two parsers produce it: the yaml
// library's Document (every file) and the plain-block reader (large inventories, yaml-fast.ts).
export interface YamlTreeNode {
  readonly kind: 'map' | 'seq' | 'scalar' | 'other';
  /** 1-based line where the node starts, undefined when unknown. */
  readonly line: number | undefined;
  /** A scalar's value (undefined for other kinds). */
  readonly scalar: unknown;
  /** A mapping's pairs in file order (aliases resolved); empty for other kinds. */
  entries(): Iterable<YamlTreeEntry>;
  /**
   * The node as plain values: aliases and `<<` merges resolved, a key written twice in any nested
   * mapping refused; `code` is the error code for that refusal.
   */
  toJS(code: string): unknown;
}

// One pair of a mapping: its key node, the key's line, and its value node (null when absent).
export interface YamlTreeEntry {
  key: YamlTreeNode | null;
  line: number | undefined;
  value: YamlTreeNode | null;
}

// A YAML file read into nodes; `root` is null for an empty document.
export interface YamlTree {
  file: string;
  root: YamlTreeNode | null;
}

// The yaml library's Document seen as a YamlTree.
export function documentTree(source: YamlSource): YamlTree {
  return { file: source.file, root: wrap(source, source.doc.contents as Node | null) };
}

function wrap(source: YamlSource, node: Node | null | undefined): YamlTreeNode | null {
  if (node === null || node === undefined) return null;
  if (isAlias(node)) return wrap(source, node.resolve(source.doc) as Node | undefined);
  return new DocumentNode(source, node);
}

class DocumentNode implements YamlTreeNode {
  readonly kind: YamlTreeNode['kind'];
  readonly #source: YamlSource;
  readonly #node: Node;

  constructor(source: YamlSource, node: Node) {
    this.#source = source;
    this.#node = node;
    this.kind = isMap(node) ? 'map' : isSeq(node) ? 'seq' : isScalar(node) ? 'scalar' : 'other';
  }

  get line(): number | undefined {
    return this.#source.lineOf(this.#node);
  }

  get scalar(): unknown {
    return isScalar(this.#node) ? this.#node.value : undefined;
  }

  *entries(): Iterable<YamlTreeEntry> {
    if (!isMap(this.#node)) return;
    for (const pair of this.#node.items as Pair[]) {
      const key = pair.key as Node | null;
      const value = pair.value as Node | null;
      yield { key: wrap(this.#source, key), line: this.#source.lineOf(key ?? value), value: wrap(this.#source, value) };
    }
  }

  toJS(code: string): unknown {
    assertUniqueKeys(this.#node, this.#source, code);
    return this.#node.toJS(this.#source.doc, { maxAliasCount: 1000 });
  }
}

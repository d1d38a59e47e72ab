// The plain-block reader against the yaml library: for every text it reads, the same tree (kinds,
// lines, keys, typed values) as the library's Document; for anything outside its subset, a decline
// (undefined) so the library reads it. Handwritten edge cases, then generated inventories.
import { describe, expect, it } from 'vitest';
import { inventoryFromText } from '../../src/inventory/index.js';
import { readPlainBlockYaml } from '../../src/inventory/yaml-fast.js';
import { parseYamlSource } from '../../src/inventory/yaml-source.js';
import { documentTree, type YamlTreeNode } from '../../src/inventory/yaml-tree.js';

// A node as comparable data; a missing value and a null scalar are the same to the readers.
function shape(node: YamlTreeNode | null): unknown {
  if (node === null || (node.kind === 'scalar' && node.scalar === null)) return null;
  if (node.kind === 'map') {
    return { kind: 'map', line: node.line, entries: [...node.entries()].map((entry) => ({ key: shape(entry.key), line: entry.line, value: shape(entry.value) })) };
  }
  if (node.kind === 'scalar') return { kind: 'scalar', line: node.line, scalar: node.scalar };
  return { kind: node.kind, line: node.line, js: node.toJS('E') };
}

function both(text: string) {
  const fast = readPlainBlockYaml(text, 'f.yml');
  const full = documentTree(parseYamlSource(text, 'f.yml'));
  return { fast, full };
}

// Texts the reader must read, each the same as the library reads it.
const READ: string[] = [
  'all:\n  hosts:\n    web1:\n      ansible_host: 10.0.0.1\n      ansible_port: 22\n',
  'all:\n  children:\n    web:\n      hosts:\n        w000001: {ansible_host: 10.0.0.1, ansible_port: 22, rack: r1, tier: web, env: production}\n',
  '# a comment\n\nall:   # trailing\n  vars:\n    a: yes\n    b: No\n    c: on\n    d: ~\n    e: null\n    f: 0755\n    g: 0x1F\n    h: 1e3\n    i: 1.5\n    j: .inf\n    k: 2001-01-01\n    l: 190:20:30\n    m: 1_000\n    n: y\n    o: "quoted: yes"\n    p: \'it\'\'s\'\n    q: plain text with spaces   \n    r: http://example.com:8080/x\n    s: fe80::1\n    t: 10.0.0.1\n    u: +12\n    v: 0b101\n    w: TRUE\n    x: .NaN\n',
  'all:\n  hosts:\n    a:\n    b: {}\n    c: {x}\n    d: {x: , y: 1,}\n    e: {"q k": \'v\', n: 1}\n  vars:\n    list: [a, b, 3, yes]\n    empty: []\n',
  '  all:\n    hosts:\n      h1:\n\n      h2:\n',
  'web:\n  hosts:\n    "w1": {ansible_host: w1.example}\ndb:\n  hosts:\n    db1:\n',
  'all:\r\n  hosts:\r\n    h1: {a: 1}\r\n',
  'all:\n  vars:\n    url: "http://x/#frag"\n    hash: a#b\n    odd: a :b\n',
  '',
  '# only a comment\n',
];

// Texts outside the subset: the library reads them (or reports their error).
const DECLINED: string[] = [
  'all:\n  vars: &v\n    a: 1\n  hosts:\n    h: *v\n',
  'all:\n  vars:\n    s: !secret x\n',
  'all:\n  vars:\n    v: !vault |\n      $ANSIBLE_VAULT;1.1;AES256\n',
  'all:\n  vars:\n    text: |\n      line\n',
  'all:\n  vars:\n    list:\n      - a\n      - b\n',
  'all:\n  vars:\n    e: "esc\\n"\n',
  'all:\n  vars:\n    long: a\n      continued\n',
  '---\nall:\n  hosts:\n    h:\n',
  'all:\n  hosts:\n    h: {a: {b: 1}}\n',
  'all:\n  hosts:\n    h: {a: [1, 2]}\n',
  'all:\n  hosts:\n    h: {a: 1\n',
  'all:\n  hosts:\n    h:\n    h:\n',
  'all:\n\thosts:\n',
  'all:\n  vars:\n    <<: {a: 1}\n',
  'all:\n  vars:\n    22: port\n',
  'all:\n    hosts:\n  children:\n',
  'all:\n  vars:\n    a: b: c\n',
  '\ufeffall:\n  hosts:\n    h:\n',
  'all:\n  hosts:\n    [2001:db8::1]:22:\n',
  'just a scalar\n',
];

describe('plain-block YAML reader', () => {
  it.each(READ.map((text) => [JSON.stringify(text).slice(0, 60), text] as const))('reads %s as the yaml library does', (_name, text) => {
    const { fast, full } = both(text);
    expect(fast).toBeDefined();
    expect(shape(fast!.root)).toEqual(shape(full.root));
    expect(fast!.root === null ? null : fast!.root.toJS('E')).toEqual(full.root === null ? null : full.root.toJS('E'));
  });

  it.each(DECLINED.map((text) => [JSON.stringify(text).slice(0, 60), text] as const))('declines %s', (_name, text) => {
    expect(readPlainBlockYaml(text, 'f.yml')).toBeUndefined();
  });

  it('agrees with the yaml library on 300 generated inventories, or declines', () => {
    let seed = 42;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const pick = <T,>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
    const scalars = ['web', '10.0.0.7', '22', '0755', 'yes', 'Off', '~', '', '1.5', '1e3', '"22"', "'a b'", 'a #c', 'x:y', 'a b', '.inf', '0o17', '1_0', 'null', "'it''s'", 'fe80::1'];
    const keys = ['h1', 'web-1', 'a.b', '"q"', 'ansible_host', 'x y', 'y', 'on', '10.1.1.1', '_k'];
    let read = 0;
    for (let round = 0; round < 300; round += 1) {
      const lines: string[] = ['all:'];
      const block = (indent: number, depth: number) => {
        const count = 1 + Math.floor(random() * 4);
        const used = new Set<string>();
        for (let index = 0; index < count; index += 1) {
          const key = pick(keys);
          if (used.has(key) && random() < 0.8) continue;
          used.add(key);
          const pad = ' '.repeat(indent);
          const choice = random();
          if (depth < 3 && choice < 0.3) {
            lines.push(`${pad}${key}:${random() < 0.2 ? '  # note' : ''}`);
            if (random() < 0.8) block(indent + 2 + Math.floor(random() * 2), depth + 1);
          } else if (choice < 0.5) {
            const pairs = Array.from({ length: Math.floor(random() * 4) }, () => `${pick(keys)}: ${pick(scalars)}`);
            lines.push(`${pad}${key}: {${pairs.join(', ')}}`);
          } else if (choice < 0.6) {
            lines.push(`${pad}${key}: [${Array.from({ length: Math.floor(random() * 3) }, () => pick(scalars)).join(', ')}]`);
          } else {
            lines.push(`${pad}${key}: ${pick(scalars)}${random() < 0.1 ? ' # c' : ''}`);
          }
          if (random() < 0.05) lines.push('');
        }
      };
      block(2, 0);
      const text = `${lines.join('\n')}\n`;
      const fast = readPlainBlockYaml(text, 'g.yml');
      if (fast === undefined) continue;
      read += 1;
      const full = documentTree(parseYamlSource(text, 'g.yml'));
      expect(shape(fast.root), text).toEqual(shape(full.root));
    }
    // Most generated texts are inside the subset: the comparison is not of nothing.
    expect(read).toBeGreaterThan(120);
  });

  it('an inventory error found on a plainly read file is the one the yaml library reading gives', () => {
    const text = 'all:\n  hosts:\n    web1:\n      ansible_port: abc\n  childs:\n    web: {}\n';
    expect(readPlainBlockYaml(text, 'i.yml')).toBeDefined();
    expect(() => inventoryFromText('i.yml', text)).toThrow(/i\.yml:4: .*ansible_port must be a port number, got "abc"/);
    const unknownKey = 'all:\n  hosts:\n    web1: {ansible_host: 127.0.0.1}\n  childs:\n    web: {}\n';
    expect(() => inventoryFromText('u.yml', unknownKey)).toThrow(/u\.yml:4: unknown key "childs" in group "all"/);
  });
});

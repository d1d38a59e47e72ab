import { describe, expect, it } from 'vitest';
import { loadInventory } from '../../src/inventory/index.js';
import { mergeVarLayers, precedenceOrder } from '../../src/inventory/vars.js';
import { tempFiles } from './temp-files.js';

const files = tempFiles();

// Every level sets `x`; each row removes the levels above `winner` and checks who wins.
const LEVELS = `all:
  vars: {x: all, only_all: 1}
  hosts:
    h: {x: host}
  children:
    parent:
      vars: {x: parent}
      children:
        child:
          vars: {x: child}
          hosts:
            h:
`;

describe('vars precedence (lowest to highest)', () => {
  const table: Array<{ label: string; yaml: string; extraVars?: Record<string, unknown>; expected: unknown }> = [
    { label: 'all group vars alone', yaml: 'all:\n  vars: {x: all}\n  hosts: {h: }\n', expected: 'all' },
    {
      label: 'parent group beats all',
      yaml: 'all:\n  vars: {x: all}\n  children:\n    parent:\n      vars: {x: parent}\n      hosts: {h: }\n',
      expected: 'parent',
    },
    {
      label: 'child group beats parent',
      yaml: 'all:\n  children:\n    parent:\n      vars: {x: parent}\n      children:\n        child:\n          vars: {x: child}\n          hosts: {h: }\n',
      expected: 'child',
    },
    {
      label: 'child beats parent even when the host is also listed in the parent',
      yaml: 'parent:\n  vars: {x: parent}\n  hosts: {h: }\n  children:\n    child:\n      vars: {x: child}\n      hosts: {h: }\n',
      expected: 'child',
    },
    {
      label: 'among siblings of equal depth the later name wins (b over a)',
      yaml: 'b:\n  vars: {x: b}\n  hosts: {h: }\na:\n  vars: {x: a}\n  hosts: {h: }\n',
      expected: 'b',
    },
    {
      label: 'a deeper group beats a shallower one with a later name',
      yaml: 'zeta:\n  vars: {x: zeta}\n  hosts: {h: }\nalpha:\n  children:\n    aardvark:\n      vars: {x: aardvark}\n      hosts: {h: }\n',
      expected: 'aardvark',
    },
    { label: 'host vars beat every group', yaml: LEVELS, expected: 'host' },
    {
      label: 'a later host entry beats an earlier one',
      yaml: 'one:\n  hosts: {h: {x: first}}\ntwo:\n  hosts: {h: {x: second}}\n',
      expected: 'second',
    },
    { label: 'extra vars beat host vars', yaml: LEVELS, extraVars: { x: 'extra' }, expected: 'extra' },
  ];

  it.each(table)('$label', async ({ label, yaml, extraVars, expected }) => {
    const path = files.write(`${label}.yml`, yaml);
    const inventory = await loadInventory(path, { extraVars });
    expect(inventory.hosts.find((host) => host.name === 'h')?.vars.x).toBe(expected);
  });

  it('keeps keys only lower levels set', async () => {
    const path = files.write('lower.yml', LEVELS);
    const host = (await loadInventory(path, {})).hosts[0];
    expect(host?.vars.only_all).toBe(1);
  });

  it('replaces a dict var whole (hash_behaviour=replace), never deep-merges', async () => {
    const path = files.write(
      'replace.yml',
      'all:\n  vars:\n    app: {port: 80, name: web}\n  hosts:\n    h:\n      app: {port: 8080}\n',
    );
    const host = (await loadInventory(path, {})).hosts[0];
    expect(host?.vars.app).toEqual({ port: 8080 });
  });

  it('lists Host.groups in precedence order', async () => {
    const path = files.write('order.yml', LEVELS.replace('all:\n', 'all:\n') + 'zz:\n  hosts: {h: }\n');
    const host = (await loadInventory(path, {})).hosts[0];
    expect(host?.groups).toEqual(['all', 'parent', 'zz', 'child']);
  });
});

describe('precedenceOrder and mergeVarLayers', () => {
  it('sorts by depth, then by name', () => {
    const depths = new Map([
      ['all', 0],
      ['b', 1],
      ['a', 1],
      ['deep', 2],
    ]);
    expect(precedenceOrder(['deep', 'b', 'all', 'a'], depths)).toEqual(['all', 'a', 'b', 'deep']);
  });

  it('replaces top-level keys and never touches prototypes', () => {
    const merged = mergeVarLayers([{ a: 1, b: { c: 1 } }, { b: { d: 2 } }, JSON.parse('{"__proto__": {"polluted": true}}')]);
    expect(merged.b).toEqual({ d: 2 });
    expect(Object.keys(merged)).toEqual(['a', 'b', '__proto__']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect((merged as { polluted?: unknown }).polluted).toBeUndefined();
  });
});

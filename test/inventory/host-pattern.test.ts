import { describe, expect, it } from 'vitest';
import { InventoryError } from '../../src/core/errors.js';
import { MAX_RANGE_HOSTS, parseHostPattern } from '../../src/inventory/host-pattern.js';

const where = { file: 'inv.yml', line: 7 };

describe('parseHostPattern', () => {
  it.each<[string, string[], number | undefined]>([
    ['web1', ['web1'], undefined],
    ['web1:2222', ['web1'], 2222],
    ['10.0.0.1:22', ['10.0.0.1'], 22],
    ['fe80::1', ['fe80::1'], undefined],
    ['web[1:3]', ['web1', 'web2', 'web3'], undefined],
    ['web[01:03].example.com', ['web01.example.com', 'web02.example.com', 'web03.example.com'], undefined],
    ['web[:2]', ['web0', 'web1', 'web2'], undefined],
    ['web[0:10:5]', ['web0', 'web5', 'web10'], undefined],
    ['db-[a:c]', ['db-a', 'db-b', 'db-c'], undefined],
    ['r[1:2]-[a:b]', ['r1-a', 'r1-b', 'r2-a', 'r2-b'], undefined],
    ['web[1:2]:2200', ['web1', 'web2'], 2200],
  ])('%s', (key, names, port) => {
    expect(parseHostPattern(key, where)).toEqual({ names, port });
  });

  it.each<[string, string]>([
    ['', 'E_INVENTORY_ADDRESS'],
    ['a b', 'E_INVENTORY_ADDRESS'],
    ['web:0', 'E_INVENTORY_PORT'],
    ['web[5:1]', 'E_INVENTORY_RANGE'],
    ['web[01:100]', 'E_INVENTORY_RANGE'],
    ['web[1:]', 'E_INVENTORY_RANGE'],
    ['web[a:5]', 'E_INVENTORY_RANGE'],
    [`web[0:${MAX_RANGE_HOSTS * 2}]`, 'E_INVENTORY_RANGE'],
  ])('%j -> %s', (key, code) => {
    let caught: unknown;
    try {
      parseHostPattern(key, where);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(InventoryError);
    expect((caught as InventoryError).code).toBe(code);
    expect((caught as InventoryError).message.startsWith('inv.yml:7: ')).toBe(true);
  });
});

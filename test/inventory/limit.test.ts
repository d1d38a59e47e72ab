import { describe, expect, it } from 'vitest';
import { InventoryError, UsageError } from '../../src/core/errors.js';
import { ExitCode } from '../../src/core/exit-codes.js';
import { inventoryFromText, loadInventory } from '../../src/inventory/index.js';
import { globToRegExp, parseLimit, selectHosts } from '../../src/inventory/limit.js';
import { tempFiles } from './temp-files.js';

const FLEET = `all:
  hosts:
    bastion.example.com:
  children:
    prod:
      children:
        web:
          hosts:
            web1.example.com:
            web2.example.com:
            web3.example.com:
        db:
          hosts:
            db1.example.com:
    staging:
      hosts:
        web9.staging.net:
        db9.staging.net:
    monitored:
      hosts:
        web1.example.com:
        db1.example.com:
`;

const inventory = inventoryFromText('fleet.yml', FLEET);
const names = (limit: string): string[] => selectHosts(inventory, limit).map((host) => host.name);

describe('--limit patterns', () => {
  const table: Array<[string, string[]]> = [
    ['web1.example.com', ['web1.example.com']],
    ['web', ['web1.example.com', 'web2.example.com', 'web3.example.com']],
    ['prod', ['web1.example.com', 'web2.example.com', 'web3.example.com', 'db1.example.com']],
    ['all', inventory.hosts.map((host) => host.name)],
    ['*', inventory.hosts.map((host) => host.name)],
    ['ungrouped', ['bastion.example.com']],
    ['web,db', ['web1.example.com', 'web2.example.com', 'web3.example.com', 'db1.example.com']],
    ['web:db', ['web1.example.com', 'web2.example.com', 'web3.example.com', 'db1.example.com']],
    ['web*', ['web1.example.com', 'web2.example.com', 'web3.example.com', 'web9.staging.net']],
    ['*.staging.net', ['web9.staging.net', 'db9.staging.net']],
    ['web[12].example.com', ['web1.example.com', 'web2.example.com']],
    ['prod:!db', ['web1.example.com', 'web2.example.com', 'web3.example.com']],
    ['prod,!web2.example.com', ['web1.example.com', 'web3.example.com', 'db1.example.com']],
    ['prod:&monitored', ['web1.example.com', 'db1.example.com']],
    ['!prod', ['bastion.example.com', 'web9.staging.net', 'db9.staging.net']],
    ['&monitored', ['web1.example.com', 'db1.example.com']],
    ['!web:prod', ['db1.example.com']], // order of terms does not matter: unions, then &, then !
    ['~^db\\d\\.', ['db1.example.com', 'db9.staging.net']],
    [' web1.example.com , db1.example.com ', ['web1.example.com', 'db1.example.com']],
  ];

  it.each(table)('%s', (limit, expected) => {
    expect(names(limit)).toEqual(expected);
  });

  it('keeps inventory order whatever order the pattern names hosts in', () => {
    expect(names('db1.example.com,web1.example.com')).toEqual(['web1.example.com', 'db1.example.com']);
  });

  it('parses operators, split on commas when there is one, else on colons (as Ansible)', () => {
    const three = [
      { operator: 'union', pattern: 'a' },
      { operator: 'intersection', pattern: 'b' },
      { operator: 'exclusion', pattern: 'c' },
    ];
    expect(parseLimit('a:&b:!c')).toEqual(three);
    expect(parseLimit('a,&b,!c')).toEqual(three);
    // With a comma, colons stay in the pattern: Ansible reads `a:&b` as one (unknown) name here.
    expect(parseLimit('a:&b,!c')).toEqual([
      { operator: 'union', pattern: 'a:&b' },
      { operator: 'exclusion', pattern: 'c' },
    ]);
    expect(parseLimit('fe80::1')).toEqual([{ operator: 'union', pattern: 'fe80::1' }]);
    expect(parseLimit('web[0:2]:db')).toEqual([
      { operator: 'union', pattern: 'web[0:2]' },
      { operator: 'union', pattern: 'db' },
    ]);
  });

  const unknown: Array<[string, string]> = [
    ['wbe', 'no host or group named "wbe"; did you mean "web"?'],
    ['nosuchthing', 'no host or group named "nosuchthing"'],
    ['app*', 'pattern "app*" matches no host or group'],
    ['prod:!typo', 'no host or group named "typo"'],
    ['prod:&typo', 'no host or group named "typo"'],
    ['~^zzz', 'pattern "~^zzz" matches no host or group'],
  ];
  it.each(unknown)('%s is E_LIMIT_UNKNOWN', (limit, message) => {
    let caught: unknown;
    try {
      selectHosts(inventory, limit);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(InventoryError);
    const error = caught as InventoryError;
    expect(error.code).toBe('E_LIMIT_UNKNOWN');
    expect(error.message).toBe(`--limit: ${message}`);
    expect(error.message).not.toContain('\n');
    expect(error.exitCode).toBe(ExitCode.InputError);
  });

  it('rejects a limit that leaves no hosts', () => {
    expect(() => selectHosts(inventory, 'web:&db')).toThrow(expect.objectContaining({ code: 'E_LIMIT_EMPTY', exitCode: 65 }));
  });

  it('rejects an empty limit as a usage error', () => {
    expect(() => selectHosts(inventory, ' , ')).toThrow(UsageError);
    expect(() => selectHosts(inventory, 'web:!')).toThrow(UsageError);
  });
});

describe('loadInventory with limit', () => {
  const files = tempFiles();

  it('narrows hosts and the members of groups', async () => {
    const path = files.write('fleet.yml', FLEET);
    const limited = await loadInventory(path, { limit: 'prod:!db' });
    expect(limited.hosts.map((host) => host.name)).toEqual(['web1.example.com', 'web2.example.com', 'web3.example.com']);
    expect(limited.groups.get('db')?.hosts).toEqual([]);
    expect(limited.groups.get('monitored')?.hosts).toEqual(['web1.example.com']);
  });

  it('reports an unknown limit without a file line', async () => {
    const path = files.write('fleet2.yml', FLEET);
    await expect(loadInventory(path, { limit: 'nope' })).rejects.toMatchObject({
      code: 'E_LIMIT_UNKNOWN',
      file: undefined,
      line: undefined,
    });
  });
});

describe('globToRegExp', () => {
  it.each([
    ['web*', 'web12', true],
    ['web?', 'web1', true],
    ['web?', 'web12', false],
    ['*.example.com', 'a.example.com', true],
    ['*.example.com', 'a.exampleXcom', false],
    ['db[!2]', 'db1', true],
    ['db[!2]', 'db2', false],
    ['a+b*', 'a+bc', true],
  ])('%s ~ %s -> %s', (glob, name, expected) => {
    expect(globToRegExp(glob).test(name)).toBe(expected);
  });
});

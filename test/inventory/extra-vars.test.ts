import { describe, expect, it } from 'vitest';
import { InventoryError, UsageError } from '../../src/core/errors.js';
import { ExitCode } from '../../src/core/exit-codes.js';
import { isSecret, type Secret } from '../../src/core/secret.js';
import { parseExtraVars } from '../../src/inventory/extra-vars.js';
import { loadInventory } from '../../src/inventory/index.js';
import { tempFiles } from './temp-files.js';

const files = tempFiles();

describe('parseExtraVars', () => {
  it('keeps key=value values as strings, as Ansible does', () => {
    expect(parseExtraVars(['port=8080 enabled=true name=web'])).toEqual({ port: '8080', enabled: 'true', name: 'web' });
  });

  it('honours quotes in key=value', () => {
    expect(parseExtraVars([`msg='hello world' path="a b" empty= eq=a=b`])).toEqual({
      msg: 'hello world',
      path: 'a b',
      empty: '',
      eq: 'a=b',
    });
  });

  it('reads inline JSON with types', () => {
    expect(parseExtraVars(['{"port": 8080, "tags": ["a"], "nested": {"x": true}}'])).toEqual({
      port: 8080,
      tags: ['a'],
      nested: { x: true },
    });
  });

  it('reads inline YAML flow mappings', () => {
    expect(parseExtraVars(['{port: 8080, name: web}'])).toEqual({ port: 8080, name: 'web' });
  });

  it('reads @file.yml relative to cwd, with !secret', () => {
    files.write('vars.yml', 'release: 42\napi_token: tok-xyz\nwrapped: !secret shh\n');
    const vars = parseExtraVars(['@1-vars.yml'], { cwd: files.dir });
    expect(vars.release).toBe(42);
    expect(vars.api_token).toBe('tok-xyz'); // wrapped by name later, in loadInventory
    expect(isSecret(vars.wrapped)).toBe(true);
  });

  it('reads @file.json', () => {
    const path = files.write('vars.json', '{"a": [1, 2]}');
    expect(parseExtraVars([`@${path}`])).toEqual({ a: [1, 2] });
  });

  it('lets a later -e replace an earlier key', () => {
    expect(parseExtraVars(['a=1 b=1', '{"b": 2}', 'a=3'])).toEqual({ a: '3', b: 2 });
  });

  it('returns {} for no -e', () => {
    expect(parseExtraVars([])).toEqual({});
  });

  const usageErrors: string[] = ['', 'novalue', 'a=1 stray', '1bad=x', 'a="unterminated', '{"broken": ', '[1, 2]', '@'];
  it.each(usageErrors)('rejects %j as a usage error', (value) => {
    let caught: unknown;
    try {
      parseExtraVars([value]);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(UsageError);
    expect((caught as UsageError).exitCode).toBe(ExitCode.Usage);
    expect((caught as UsageError).message).not.toContain('\n');
  });

  it('reports a missing @file as E_EXTRA_VARS_READ', () => {
    expect(() => parseExtraVars(['@missing.yml'], { cwd: files.dir })).toThrow(
      expect.objectContaining({ code: 'E_EXTRA_VARS_READ', file: 'missing.yml', exitCode: 65 }),
    );
  });

  it('reports a broken @file with file:line', () => {
    const path = files.write('broken.yml', 'a: 1\nb: [\n');
    let caught: unknown;
    try {
      parseExtraVars([`@${path}`]);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(InventoryError);
    const error = caught as InventoryError;
    expect(error.code).toBe('E_EXTRA_VARS_SYNTAX');
    expect(error.message).toMatch(new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+: `));
    expect(error.message).not.toContain('\n');
  });

  it('reports a key written twice in an @file', () => {
    const path = files.write('dup.yml', 'a: 1\nb: 2\na: 3\n');
    expect(() => parseExtraVars([`@${path}`])).toThrow(expect.objectContaining({ code: 'E_EXTRA_VARS_DUPLICATE_KEY', line: 3 }));
  });

  it('reports an @file that is not a mapping', () => {
    const path = files.write('list.yml', '- a\n- b\n');
    expect(() => parseExtraVars([`@${path}`])).toThrow(expect.objectContaining({ code: 'E_EXTRA_VARS_TYPE', line: 1 }));
  });
});

describe('extra vars in loadInventory', () => {
  it('override connection vars and become secrets by name', async () => {
    const path = files.write('inv.yml', 'all:\n  hosts:\n    h: {ansible_user: inventory-user, ansible_port: 22}\n');
    const extraVars = parseExtraVars(['ansible_user=cli-user ansible_port=2222 db_password=from-cli']);
    const host = (await loadInventory(path, { extraVars })).hosts[0];
    expect(host).toMatchObject({ user: 'cli-user', port: 2222 });
    expect((host?.vars.db_password as Secret).reveal()).toBe('from-cli');
    expect(isSecret(host?.vars.db_password)).toBe(true);
  });

  it('accept halyard_secret_vars as a comma list from key=value', async () => {
    const path = files.write('inv2.yml', 'all:\n  hosts: {h: }\n');
    const extraVars = parseExtraVars(['halyard_secret_vars=a,b a=1 b=2 c=3']);
    const vars = (await loadInventory(path, { extraVars })).hosts[0]?.vars ?? {};
    expect(isSecret(vars.a)).toBe(true);
    expect(isSecret(vars.b)).toBe(true);
    expect(vars.c).toBe('3');
  });
});

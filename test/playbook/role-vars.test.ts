// Role vars: -e values are text, read as numbers and booleans where the role's schema asks for
// them (as Ansible reads them for a module's int/float/bool options), else refused with the var's
// name and the type the role expects.
import { describe, expect, test } from 'vitest';
import { PlaybookError } from '../../src/core/errors.js';
import { coerceLikeAnsible, roleVars, z } from '../../src/playbook/role-vars.js';

const schema = z.object({
  loki_port: z.number().int().default(3100),
  ratio: z.number().optional(),
  tls: z.boolean().default(false),
  name: z.string().default('x'),
});

describe('roleVars', () => {
  test.each([
    [{ loki_port: '3101' }, { loki_port: 3101 }],
    [{ loki_port: ' 3101 ' }, { loki_port: 3101 }],
    [{ ratio: '1e3' }, { ratio: 1000 }],
    [{ ratio: '.5' }, { ratio: 0.5 }],
    [{ tls: 'yes' }, { tls: true }],
    [{ tls: 'On' }, { tls: true }],
    [{ tls: 'TRUE' }, { tls: true }],
    [{ tls: 'y' }, { tls: true }],
    [{ tls: '1' }, { tls: true }],
    [{ tls: 'off' }, { tls: false }],
    [{ tls: 'No' }, { tls: false }],
    [{ tls: 'f' }, { tls: false }],
    [{ tls: '0' }, { tls: false }],
    // Text stays text where the role wants text.
    [{ name: '8080' }, { name: '8080' }],
  ])('-e %j is read as %j', (vars, expected) => {
    expect(roleVars('demo', schema, vars)).toMatchObject(expected);
  });

  test.each([
    [{ loki_port: '3101x' }, 'role demo: var loki_port: Invalid input: expected number, received string'],
    [{ loki_port: '31.5' }, 'role demo: var loki_port: Invalid input: expected int, received number'],
    [{ tls: 'maybe' }, 'role demo: var tls: Invalid input: expected boolean, received string'],
    [{ name: 42 }, 'role demo: var name: Invalid input: expected string, received number'],
  ])('%j is refused naming the var and the type', (vars, message) => {
    let error: unknown;
    try {
      roleVars('demo', schema, vars);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(PlaybookError);
    expect(error).toMatchObject({ code: 'E_ROLE_VARS', exitCode: 65, message });
  });

  test('vars are copied, never changed in place', () => {
    const vars = { loki_port: '3101' };
    coerceLikeAnsible(schema, vars);
    expect(vars).toEqual({ loki_port: '3101' });
  });
});

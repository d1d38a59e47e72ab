import { describe, expect, it } from 'vitest';
import { exitCodeFor } from '../../src/engine/run-playbook.js';
import { Redactor } from '../../src/core/secret.js';
import { ConnectError } from '../../src/core/errors.js';
import { runFleet, splitBatches } from '../../src/engine/run.js';
import type { RunResult } from '../../src/engine/results.js';
import type { Host } from '../../src/inventory/types.js';
import { task } from '../../src/playbook/define.js';
import { commandResource } from '../../src/resources/command.js';
import { localLink } from '../support/local-link.js';
import { formatRecap } from '../../src/cli/output/recap.js';
import { checkDistinctEndpoints } from '../../src/inventory/endpoints.js';

function host(name: string): Host {
  return { name, address: name, port: 22, user: undefined, privateKeyFile: undefined, become: false, becomePassword: undefined, groups: ['all'], vars: {} };
}

describe('splitBatches', () => {
  it.each([
    [undefined, [[1, 2, 3, 4, 5]]],
    ['2', [[1, 2], [3, 4], [5]]],
    ['40%', [[1, 2], [3, 4], [5]]],
    ['10%', [[1], [2], [3], [4], [5]]],
  ])('--serial %s', (serial, expected) => {
    expect(splitBatches([1, 2, 3, 4, 5], serial)).toEqual(expected);
  });
});

describe('exitCodeFor', () => {
  const base = { ok: 0, changed: 0, failed: 0, skipped: 0, unreachable: false, execs: 1, tasks: [] };
  const result = (check: boolean, hosts: RunResult['hosts']): RunResult => ({ ok: true, durationMs: 1, check, hosts });
  it('is 0 when all is well, 1 on any failure or unreachable host, 2 for pending changes in check mode', () => {
    expect(exitCodeFor(result(false, { a: { ...base, changed: 3 } }))).toBe(0);
    expect(exitCodeFor(result(true, { a: { ...base, changed: 3 } }))).toBe(2);
    expect(exitCodeFor(result(true, { a: { ...base, changed: 3 }, b: { ...base, unreachable: true } }))).toBe(1);
    expect(exitCodeFor(result(false, { a: { ...base, failed: 1 } }))).toBe(1);
  });
});

describe('runFleet', () => {
  const options = {
    check: false,
    diff: false,
    forks: 2,
    // Every local "host" shares this machine's lock file, so local runs queue on it.
    lockWaitSeconds: 10,
    probeTimeoutMs: 10_000,
    stepTimeoutMs: 10_000,
    redactor: new Redactor(),
  };

  it('keeps going when one host is unreachable and another fails', async () => {
    const hosts = [host('good'), host('down'), host('bad')];
    const result = await runFleet(
      hosts,
      (h) => ({ tasks: [task(commandResource, { command: h.name === 'bad' ? 'exit 3' : 'true' })], handlers: new Map() }),
      {
        ...options,
        connect: async (h) => {
          if (h.name === 'down') throw new ConnectError('E_CONNECT_REFUSED', 'down: connection refused');
          return { ...localLink(), close: async () => {} };
        },
      },
    );
    expect(result.ok).toBe(false);
    expect(result.hosts.good).toMatchObject({ changed: 1, failed: 0, unreachable: false, execs: 1 });
    // The error keeps its code and class, not only its words: callers branch on them.
    expect(result.hosts.down).toMatchObject({ unreachable: true, error: 'down: connection refused', errorCode: 'E_CONNECT_REFUSED', errorClass: 'ConnectError' });
    expect(result.hosts.bad?.failed).toBe(1);
    expect(result.hosts.bad?.tasks[0]?.error).toMatch(/exit code 3/);
  });

  it('stops starting batches past --max-fail-percent and says why', async () => {
    const hosts = [host('a'), host('b'), host('c')];
    const result = await runFleet(hosts, (h) => ({ tasks: [task(commandResource, { command: h.name === 'a' ? 'exit 1' : 'true' })], handlers: new Map() }), {
      ...options,
      serial: '1',
      maxFailPercent: 0,
      connect: async () => ({ ...localLink(), close: async () => {} }),
    });
    expect(result.hosts.a?.failed).toBe(1);
    expect(result.hosts.b?.error).toMatch(/not run/);
    expect(result.hosts.c?.error).toMatch(/not run/);
  });
});

describe('host names that are also Object property names', () => {
  it('a host named __proto__ or constructor is reported like any other, in the result, JSON and recap', async () => {
    const hosts = [host('__proto__'), host('constructor'), host('web')];
    const result = await runFleet(hosts, () => ({ tasks: [task(commandResource, { command: 'true' })], handlers: new Map() }), {
      check: false,
      diff: false,
      forks: 3,
      lockWaitSeconds: 30,
      probeTimeoutMs: 10_000,
      stepTimeoutMs: 10_000,
      redactor: new Redactor(),
      connect: async () => ({ ...localLink(), close: async () => {} }),
    });
    expect(Object.keys(result.hosts)).toEqual(['__proto__', 'constructor', 'web']);
    expect(Object.getOwnPropertyDescriptor(result.hosts, '__proto__')?.value).toMatchObject({ changed: 1, failed: 0 });
    expect(Object.keys(JSON.parse(JSON.stringify(result)).hosts)).toEqual(['__proto__', 'constructor', 'web']);
    expect(formatRecap(result)).toMatch(/^__proto__\s+CHANGED .*\nconstructor\s+CHANGED .*\nweb\s+CHANGED/m);
  });
});

describe('checkDistinctEndpoints', () => {
  it('refuses two names for one address and port, naming them, before anything connects', () => {
    const at = (name: string, address: string, port = 22): Host => ({ ...host(name), address, port });
    expect(() => checkDistinctEndpoints([at('web1', '10.0.0.5'), at('web2', '10.0.0.6'), at('web1', '10.0.0.5', 2222)])).not.toThrow();
    expect(() => checkDistinctEndpoints([at('web1', '10.0.0.5'), at('db', 'db.example'), at('web1-again', '10.0.0.5'), at('DB2', 'DB.example')])).toThrow(
      '"web1", "web1-again" all connect to 10.0.0.5:22; "db", "DB2" all connect to db.example:22: one machine would be run twice at once; give each host one name, or --limit to one of them',
    );
  });
});

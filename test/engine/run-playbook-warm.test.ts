import { describe, expect, test } from 'vitest';
import { hostWarmer, WARM_HOSTS_MAX } from '../../src/engine/run-playbook.js';
import type { Host } from '../../src/inventory/types.js';
import { inSlice } from '../../src/inventory/slice.js';
import { SecretRef } from '../../src/core/secret-ref.js';

const host = (name: string, local = false): Host => ({ name, groups: ['all'], vars: {}, address: name, port: 22, user: 'u', privateKeyFile: undefined, become: false, becomePassword: undefined, ...(local ? { local: true } : {}) }) as Host;

// What the warmer asked for: each host it warmed, and what its `targeted` promise said.
function recorder(): { warm: (host: Host, targeted: Promise<boolean>) => void; decided: () => Promise<Record<string, boolean>> } {
  const asked: Array<[string, Promise<boolean>]> = [];
  return {
    warm: (warmed, targeted) => asked.push([warmed.name, targeted]),
    decided: async () => Object.fromEntries(await Promise.all(asked.map(async ([name, targeted]) => [name, await targeted] as const))),
  };
}

describe('hostWarmer', () => {
  test('warms every inventory host but the local ones; each learns whether a play targets it', async () => {
    const record = recorder();
    const warmer = hostWarmer(record.warm, 10, undefined);
    const hosts = [host('web1'), host('db1'), host('self', true)];
    warmer.start(hosts);
    warmer.decide([hosts[0]!, hosts[2]!]);
    expect(await record.decided()).toEqual({ web1: true, db1: false });
  });

  test('not a host whose sudo password is an !aws_secret still to fetch (its session needs the value)', async () => {
    const record = recorder();
    const warmer = hostWarmer(record.warm, 10, undefined);
    const referenced = { ...host('db1'), becomePasswordRef: SecretRef.parse('prod/sudo#password') };
    warmer.start([host('web1'), referenced]);
    warmer.decide([host('web1'), referenced]);
    expect(await record.decided()).toEqual({ web1: true });
  });

  test('a run that prepared nothing (its playbook failed) tells every warmed host no', async () => {
    const record = recorder();
    const warmer = hostWarmer(record.warm, 10, undefined);
    warmer.start([host('web1'), host('web2')]);
    warmer.decide([]);
    expect(await record.decided()).toEqual({ web1: false, web2: false });
  });

  test(`only small runs: more hosts than --forks or than ${WARM_HOSTS_MAX} warm none`, async () => {
    const many = Array.from({ length: WARM_HOSTS_MAX + 1 }, (_, index) => host(`h${index}`));
    const record = recorder();
    hostWarmer(record.warm, 50, undefined).start(many);
    hostWarmer(record.warm, 2, undefined).start(many.slice(0, 3));
    expect(await record.decided()).toEqual({});
    const three = recorder();
    const warmer = hostWarmer(three.warm, 3, undefined);
    warmer.start(many.slice(0, 3));
    warmer.decide(many.slice(0, 3));
    expect(await three.decided()).toEqual({ h0: true, h1: true, h2: true });
  });

  test('with --slice, only the slice\'s hosts', async () => {
    const hosts = Array.from({ length: 8 }, (_, index) => host(`node${index}`));
    const slice = { index: 1, count: 3 };
    const record = recorder();
    const warmer = hostWarmer(record.warm, 10, slice);
    warmer.start(hosts);
    warmer.decide(hosts);
    const inThisSlice = hosts.filter((h) => inSlice(h.name, slice)).map((h) => h.name);
    expect(inThisSlice.length).toBeGreaterThan(0);
    expect(Object.keys(await record.decided())).toEqual(inThisSlice);
  });
});

// --slice INDEX/COUNT: the flag's values (and its one-line errors), and the partition itself:
// pinned (a run's slices on two machines, or two halyard versions, must agree), disjoint, covering,
// independent of order and of the other hosts, and roughly balanced.
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/core/errors.js';
import { ExitCode } from '../../src/core/exit-codes.js';
import { inSlice, parseSlice, sliceHosts, sliceLabel, sliceOfName } from '../../src/inventory/slice.js';

describe('parseSlice', () => {
  it.each([
    ['0/3', { index: 0, count: 3 }],
    ['2/3', { index: 2, count: 3 }],
    ['0/1', { index: 0, count: 1 }],
    [' 1/2 ', { index: 1, count: 2 }],
    ['07/10', { index: 7, count: 10 }],
  ])('%j is %j', (text, expected) => {
    expect(parseSlice(text)).toEqual(expected);
  });

  const format = (text: string) => `--slice must be INDEX/COUNT, the 0-based slice and how many there are (e.g. --slice 0/3, or "$JOB_COMPLETION_INDEX/3" in a Kubernetes Indexed Job), got "${text}"`;
  it.each([
    ['a/b', format('a/b')],
    ['', format('')],
    ['3', format('3')],
    ['-1/3', format('-1/3')],
    ['1/3/3', format('1/3/3')],
    ['1.5/3', format('1.5/3')],
    ['/3', format('/3')],
    ['99999999999999999999/3', format('99999999999999999999/3')],
    ['1/0', '--slice 1/0: COUNT must be at least 1'],
    ['0/0', '--slice 0/0: COUNT must be at least 1'],
    [
      '3/3',
      `--slice 3/3: INDEX runs from 0 to 2 (0-based, as Kubernetes' JOB_COMPLETION_INDEX and GitHub's strategy.job-index; from a 1-based counter such as GitLab's CI_NODE_INDEX pass "$((CI_NODE_INDEX - 1))/3")`,
    ],
    [
      '4/3',
      `--slice 4/3: INDEX runs from 0 to 2 (0-based, as Kubernetes' JOB_COMPLETION_INDEX and GitHub's strategy.job-index; from a 1-based counter such as GitLab's CI_NODE_INDEX pass "$((CI_NODE_INDEX - 1))/3")`,
    ],
  ])('%j is a usage error (exit 64): %s', (text, message) => {
    const error = (() => {
      try {
        parseSlice(text);
      } catch (caught) {
        return caught;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).exitCode).toBe(ExitCode.Usage);
    expect((error as UsageError).message).toBe(message);
    expect((error as UsageError).message).not.toContain('\n');
  });
});

describe('the partition', () => {
  const names = (count: number, prefix = 'host-') => Array.from({ length: count }, (_, index) => `${prefix}${index + 1}`);

  // Pinned: the same as `$(( 0x$(printf %s NAME | sha256sum | cut -c1-8) % COUNT ))` (checked
  // against sha256sum in test/report/sliced-run.test.ts). Changing the hash would move hosts
  // between slices of runs already under way on other machines.
  it.each([
    ['web1', 3, 2],
    ['web2', 3, 2],
    ['web3', 3, 0],
    ['db1', 3, 1],
    ['__proto__', 3, 1],
    ['ünïcode', 3, 2],
    ['web1', 7, 3],
    ['web2', 7, 0],
    ['db1', 7, 4],
    ['anything', 1, 0],
  ])('%s is in slice %i of %i', (name, count, expected) => {
    expect(sliceOfName(name, count)).toBe(expected);
    expect(inSlice(name, { index: expected, count })).toBe(true);
  });

  it.each([1, 2, 3, 5, 16])('the %i slices of 500 hosts are disjoint and cover them exactly', (count) => {
    const hosts = names(500).map((name) => ({ name }));
    const slices = Array.from({ length: count }, (_, index) => sliceHosts(hosts, { index, count }).map((host) => host.name));
    const all = slices.flat();
    expect(all).toHaveLength(500);
    expect(new Set(all).size).toBe(500);
    expect([...all].sort()).toEqual(hosts.map((host) => host.name).sort());
  });

  it("a host's slice depends on its name alone: not on order, and not on hosts added or removed", () => {
    const hosts = names(60).map((name) => ({ name }));
    const slice = { index: 1, count: 4 };
    const chosen = sliceHosts(hosts, slice).map((host) => host.name);
    expect(sliceHosts([...hosts].reverse(), slice).map((host) => host.name)).toEqual([...chosen].reverse());
    const grown = [...hosts, ...names(40, 'new-').map((name) => ({ name }))];
    expect(sliceHosts(grown, slice).map((host) => host.name).filter((name) => name.startsWith('host-'))).toEqual(chosen);
    const shrunk = hosts.filter((_, index) => index % 3 !== 0);
    expect(sliceHosts(shrunk, slice).map((host) => host.name)).toEqual(chosen.filter((name) => shrunk.some((host) => host.name === name)));
  });

  it('keeps the given order within a slice, and every host without a slice', () => {
    const hosts = ['web3', 'db1', 'web1', 'web2'].map((name) => ({ name }));
    expect(sliceHosts(hosts, { index: 2, count: 3 }).map((host) => host.name)).toEqual(['web1', 'web2']);
    expect(sliceHosts(hosts, undefined)).toEqual(hosts);
  });

  it('balances 3000 hosts over 3 slices within 5% of an even share', () => {
    const sizes = [0, 0, 0];
    for (const name of names(3000, 'node-')) sizes[sliceOfName(name, 3)]! += 1;
    for (const size of sizes) expect(Math.abs(size - 1000)).toBeLessThan(50);
  });

  it('names a slice as recaps show it', () => {
    expect(sliceLabel({ index: 0, count: 3 })).toBe('slice 0/3');
  });
});

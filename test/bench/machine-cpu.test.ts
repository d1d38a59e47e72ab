import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ceilingRatio, containerCpuReader, cpuBudgetFor, cpuMeter, machineBusySeconds, machineCores, parseBusySeconds, parseCoreCount, runBound } from '../../src/bench/machine-cpu.js';

const ID = 'a'.repeat(64);

describe('machine CPU for the benches', () => {
  it('counts every state of /proc/stat\'s cpu line but idle and iowait, in seconds of 100 ticks', () => {
    const text = 'cpu  100 20 300 9000 50 7 3 10 0 0\ncpu0 50 10 150 4500 25 3 1 5 0 0\nintr 1\n';
    // user 100 + nice 20 + system 300 + irq 7 + softirq 3 + steal 10 = 440 ticks
    expect(parseBusySeconds(text)).toBe(4.4);
    expect(parseBusySeconds(text, 1000)).toBe(0.44);
    expect(() => parseBusySeconds('intr 1\n')).toThrow('/proc/stat has no "cpu " line');
    expect(parseCoreCount(text)).toBe(1);
    expect(parseCoreCount('cpu  1 2 3 4\ncpu0 1 1 1 2\ncpu1 0 1 2 2\ncpu12 0 0 0 0\nintr 1\n')).toBe(3);
  });

  it('reads this machine\'s busy seconds, never going back', () => {
    const first = machineBusySeconds();
    const second = machineBusySeconds();
    expect(first).toBeGreaterThan(0);
    expect(second).toBeGreaterThanOrEqual(first);
    const spent = cpuMeter(undefined)();
    expect(spent.machineCpuSeconds).toBeGreaterThanOrEqual(0);
    expect(spent).not.toHaveProperty('hostCpuSeconds');
    // The cores /proc/stat adds up are this machine's CPUs, as the kernel lists them.
    expect(machineCores()).toBe(readFileSync('/proc/cpuinfo', 'utf8').split('\n').filter((line) => /^processor\s*:/.test(line)).length);
  });

  it('reads a container\'s CPU from cgroup v1 (nanoseconds) or v2 (usage_usec), and nothing where neither exists', () => {
    const v1 = mkdtempSync(join(tmpdir(), 'hy-cg1-'));
    mkdirSync(join(v1, 'cpuacct/docker', ID), { recursive: true });
    const usage = join(v1, 'cpuacct/docker', ID, 'cpuacct.usage');
    writeFileSync(usage, '2500000000\n');
    const readV1 = containerCpuReader(ID, v1);
    expect(readV1?.()).toBe(2.5);
    writeFileSync(usage, '4000000000\n');
    expect(readV1?.()).toBe(4);
    const meter = cpuMeter(readV1);
    writeFileSync(usage, '4750000000\n');
    expect(meter().hostCpuSeconds).toBeCloseTo(0.75, 9);

    const v2 = mkdtempSync(join(tmpdir(), 'hy-cg2-'));
    mkdirSync(join(v2, 'system.slice', `docker-${ID}.scope`), { recursive: true });
    writeFileSync(join(v2, 'system.slice', `docker-${ID}.scope`, 'cpu.stat'), 'usage_usec 1234567\nuser_usec 1000000\nsystem_usec 234567\n');
    expect(containerCpuReader(ID, v2)?.()).toBe(1.234567);

    const broken = mkdtempSync(join(tmpdir(), 'hy-cg3-'));
    mkdirSync(join(broken, 'docker', ID), { recursive: true });
    writeFileSync(join(broken, 'docker', ID, 'cpu.stat'), 'nr_periods 0\n');
    expect(containerCpuReader(ID, broken)).toBeUndefined();
    expect(containerCpuReader(ID, mkdtempSync(join(tmpdir(), 'hy-cg4-')))).toBeUndefined();
  });

  it('puts the ceiling at the baseline\'s time over the run\'s machine CPU spread over the cores', () => {
    // A 1.25 s pipeline; a run that kept 2 cores busy for 3.5 CPU s takes at least 1.75 s: at best 71%.
    expect(ceilingRatio(1.25, 3.5, 2)).toBeCloseTo(0.714, 3);
    expect(ceilingRatio(1, 1, 4)).toBe(4);
  });

  it('gives one party the CPU left for a goal once the others have theirs, negative when none is left', () => {
    // 90% of a 1.25 s pipeline is 1.389 s, 2.778 CPU s on 2 cores; the others used 1.83.
    expect(cpuBudgetFor(0.9, 1.25, 1.83, 2)).toBeCloseTo(0.948, 3);
    // Host and s3rver alone already past it.
    expect(cpuBudgetFor(0.9, 1.24, 3.29, 2)).toBeLessThan(0);
  });

  it('bounds a run by the whole machine when every party shares the cores, by the busier side when the host has a core of its own', () => {
    const run = { baselineSeconds: 1.25, machineCpuSeconds: 3.36, hostCpuSeconds: 1.33, partyCpuSeconds: 1.53 };
    const shared = runBound({ kind: 'shared', cores: 2 }, run, 0.9);
    expect(shared?.ceiling).toBeCloseTo(1.25 / 1.68, 6);
    expect(shared?.budget).toBeCloseTo(2.5 / 0.9 - 1.83, 6);
    // Pinned: the controller's side (3.36 - 1.33 = 2.03 CPU s) is the busier one.
    const pinned = runBound({ kind: 'pinned' }, run, 0.9);
    expect(pinned?.ceiling).toBeCloseTo(1.25 / 2.03, 6);
    // 1.389 s on the controller's core less the store and the rest (2.03 - 1.53 = 0.5).
    expect(pinned?.budget).toBeCloseTo(1.25 / 0.9 - 0.5, 6);
    // A host that alone needs longer than the goal allows leaves no budget.
    expect(runBound({ kind: 'pinned' }, { ...run, hostCpuSeconds: 1.5 }, 0.9)?.budget).toBeLessThan(0);
    expect(runBound({ kind: 'pinned' }, { ...run, hostCpuSeconds: undefined }, 0.9)).toBeUndefined();
  });
});

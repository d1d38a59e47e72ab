import { readFileSync } from 'node:fs';
import { join } from 'node:path';

// Where a bench's CPU went, for the benches that run the host, the controller and a store on the
// same few cores: the whole machine's busy time (/proc/stat) and one container's (its cgroup), read
// before and after a timed run. A run can take no less wall time than the machine's CPU it used
// divided by the cores (or, with the host pinned to a core of its own, than the busier side's CPU):
// the ceiling the backup bench prints beside each ratio (runBound).

/** Seconds of CPU the kernel counts in the first line of /proc/stat's text: every state but idle and iowait. */
export function parseBusySeconds(procStat: string, ticksPerSecond = 100): number {
  const line = procStat.split('\n').find((text) => text.startsWith('cpu '));
  if (line === undefined) throw new Error('/proc/stat has no "cpu " line');
  // user nice system idle iowait irq softirq steal (guest time is inside user already)
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = line.trim().split(/\s+/).slice(1).map(Number);
  return (user + nice + system + irq + softirq + steal) / ticksPerSecond;
}

/** How many CPUs /proc/stat's text counts (its cpuN lines): the cores its first line adds up, whatever this process's own affinity (the bench's --pin narrows that to one). */
export function parseCoreCount(procStat: string): number {
  return procStat.split('\n').filter((line) => /^cpu\d+ /.test(line)).length;
}

/** The cores machineBusySeconds() adds up. */
export function machineCores(): number {
  return parseCoreCount(readFileSync('/proc/stat', 'utf8'));
}

/** The machine's busy CPU seconds since boot, all cores together. */
export function machineBusySeconds(): number {
  return parseBusySeconds(readFileSync('/proc/stat', 'utf8'));
}

/** The cgroup files that may hold a Docker container's CPU time, with their unit: cgroup v1 (cgroupfs or systemd driver), then v2. */
export function containerCpuFiles(containerId: string, root = '/sys/fs/cgroup'): { path: string; kind: 'v1-ns' | 'v2-stat' }[] {
  return [
    { path: join(root, 'cpuacct/docker', containerId, 'cpuacct.usage'), kind: 'v1-ns' },
    { path: join(root, 'cpu,cpuacct/docker', containerId, 'cpuacct.usage'), kind: 'v1-ns' },
    { path: join(root, 'cpuacct/system.slice', `docker-${containerId}.scope`, 'cpuacct.usage'), kind: 'v1-ns' },
    { path: join(root, 'system.slice', `docker-${containerId}.scope`, 'cpu.stat'), kind: 'v2-stat' },
    { path: join(root, 'docker', containerId, 'cpu.stat'), kind: 'v2-stat' },
  ];
}

/** A container's CPU seconds so far, as its cgroup counts them (every process in it, children included); undefined where none of the known files exists. */
export function containerCpuReader(containerId: string, root = '/sys/fs/cgroup'): (() => number) | undefined {
  for (const file of containerCpuFiles(containerId, root)) {
    let text: string;
    try {
      text = readFileSync(file.path, 'utf8');
    } catch {
      continue;
    }
    const parse = file.kind === 'v1-ns' ? (content: string) => Number(content.trim()) / 1e9 : (content: string) => Number(/^usage_usec (\d+)$/m.exec(content)?.[1] ?? Number.NaN) / 1e6;
    if (!Number.isFinite(parse(text))) continue;
    return () => parse(readFileSync(file.path, 'utf8'));
  }
  return undefined;
}

/** The machine's and the container's CPU seconds over one measured stretch. */
export interface CpuSpent {
  machineCpuSeconds: number;
  hostCpuSeconds?: number;
}

/** Starts counting; the returned function gives what was spent since. */
export function cpuMeter(host: (() => number) | undefined): () => CpuSpent {
  const machine0 = machineBusySeconds();
  const host0 = host?.();
  return () => {
    const spent: CpuSpent = { machineCpuSeconds: machineBusySeconds() - machine0 };
    if (host !== undefined && host0 !== undefined) spent.hostCpuSeconds = host() - host0;
    return spent;
  };
}

/**
 * The best share of `baselineSeconds` a run can reach on this machine, given the machine CPU it
 * used: it cannot take less wall time than that CPU spread over every core.
 */
export function ceilingRatio(baselineSeconds: number, machineCpuSeconds: number, cores: number): number {
  return baselineSeconds / (machineCpuSeconds / cores);
}

/**
 * The CPU seconds one party may use for a run to reach `ratio` of the baseline on this machine,
 * given what every other party used: the cores' time at that pace less theirs (negative: out of
 * reach whatever that party does).
 */
export function cpuBudgetFor(ratio: number, baselineSeconds: number, othersCpuSeconds: number, cores: number): number {
  return (cores * baselineSeconds) / ratio - othersCpuSeconds;
}

/** How a bench placed its parties on the cores: all sharing every core, or the host alone on one and the rest on another (--pin). */
export type CorePlacement = { kind: 'shared'; cores: number } | { kind: 'pinned' };

/**
 * A run's ceiling (the best share of the baseline it can reach here) and one party's CPU budget for
 * `ratio` of the baseline (negative: out of reach whatever that party does). Shared: the machine's
 * CPU over every core. Pinned: each side on one core, so the busier side bounds the run, and the
 * host alone may already be too slow; without the host's CPU a pinned run has no bound to give.
 */
export function runBound(
  placement: CorePlacement,
  run: { baselineSeconds: number; machineCpuSeconds: number; hostCpuSeconds?: number | undefined; partyCpuSeconds: number },
  ratio: number,
): { ceiling: number; budget: number } | undefined {
  const { baselineSeconds, machineCpuSeconds, hostCpuSeconds, partyCpuSeconds } = run;
  if (placement.kind === 'shared') {
    return { ceiling: ceilingRatio(baselineSeconds, machineCpuSeconds, placement.cores), budget: cpuBudgetFor(ratio, baselineSeconds, machineCpuSeconds - partyCpuSeconds, placement.cores) };
  }
  if (hostCpuSeconds === undefined) return undefined;
  const controllerSide = machineCpuSeconds - hostCpuSeconds;
  const allowed = baselineSeconds / ratio;
  return {
    ceiling: baselineSeconds / Math.max(hostCpuSeconds, controllerSide),
    budget: hostCpuSeconds > allowed ? -1 : cpuBudgetFor(ratio, baselineSeconds, controllerSide - partyCpuSeconds, 1),
  };
}

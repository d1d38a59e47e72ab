import type { HostFacts } from '../facts/host-facts.js';
import type { Host } from '../inventory/types.js';
import type { FactsCache } from './facts-cache.js';
import { hostFailed } from './results.js';
import { runFleet, type RunOptions } from './run.js';
import type { HostWork } from './work.js';

// One host's facts as `halyard facts` reports them, or why there are none.
export interface HostFactsResult {
  facts?: HostFacts;
  unreachable: boolean;
  error?: string;
  errorCode?: string;
  execs: number;
}

// Every targeted host's facts, in inventory order.
export interface FactsReport {
  ok: boolean;
  durationMs: number;
  hosts: Record<string, HostFactsResult>;
}

const NO_WORK: HostWork = { tasks: [], handlers: new Map() };

// Gathers host facts as a run does (`ansible -m setup`): the same first request, under the host
// lock, changing nothing; the controller's facts cache is refreshed so the next run builds its
// tasks before connecting (custom facts cached by earlier runs are kept).
export async function gatherFacts(hosts: Host[], options: Omit<RunOptions, 'check' | 'diff' | 'serial' | 'maxFailPercent' | 'forceHandlers'> & { cache?: FactsCache }): Promise<FactsReport> {
  const gathered = new Map<string, HostFacts>();
  const run = await runFleet(
    hosts,
    (host) => ({
      initial: NO_WORK,
      customFacts: [],
      withFacts: (facts) => {
        gathered.set(host.name, facts.host);
        options.cache?.write(host, { host: facts.host, custom: options.cache.read(host)?.custom ?? {} });
        return NO_WORK;
      },
    }),
    { ...options, check: true, diff: false },
  );
  const report: Record<string, HostFactsResult> = Object.create(null);
  for (const [name, result] of Object.entries(run.hosts)) {
    const facts = gathered.get(name);
    report[name] = {
      ...(facts && !hostFailed(result) ? { facts } : {}),
      unreachable: result.unreachable,
      ...(result.error !== undefined ? { error: result.error } : {}),
      ...(result.errorCode !== undefined ? { errorCode: result.errorCode } : {}),
      execs: result.execs,
    };
  }
  return { ok: run.ok, durationMs: run.durationMs, hosts: report };
}

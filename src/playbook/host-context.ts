import { PlaybookError } from '../core/errors.js';
import { HOST_FACT_FIELDS, type CustomFact, type HostFacts } from '../facts/host-facts.js';
import type { Host } from '../inventory/types.js';
import type { HostContext } from './types.js';

// Facts as the engine hands them to a playbook: the host facts and each declared custom fact's value.
export interface GatheredFacts {
  host: HostFacts;
  /** Custom facts by name. */
  custom: Record<string, unknown>;
}

// Thrown while building tasks before the host's facts are known: the engine builds them again
// once the first request has gathered the facts. Never shown to a user.
export class FactsNotGathered extends Error {
  constructor() {
    super('facts are read only once the host has been reached');
    this.name = 'FactsNotGathered';
  }
}

// Which facts a build read ("distribution", "custom:java"), so the engine knows whether facts
// that changed since they were cached make its tasks stale.
export type FactReads = Set<string>;

// The HostContext a play's tasks see: facts come from `facts` (undefined: not gathered yet, any
// read throws FactsNotGathered) and every read is recorded in `reads`.
export function hostContext(host: Host, facts: GatheredFacts | undefined, declared: ReadonlySet<string>, reads: FactReads): HostContext {
  const view = {} as HostFacts;
  for (const field of HOST_FACT_FIELDS) {
    Object.defineProperty(view, field, {
      enumerable: true,
      get() {
        reads.add(field);
        if (!facts) throw new FactsNotGathered();
        return facts.host[field];
      },
    });
  }
  Object.freeze(view);
  return {
    name: host.name,
    groups: host.groups,
    vars: host.vars,
    host,
    facts: view,
    fact<T>(probe: CustomFact<T>): T {
      const name = probe?.name;
      if (typeof name !== 'string' || !declared.has(name)) {
        const known = [...declared];
        throw new PlaybookError(
          'E_UNDECLARED_FACT',
          `host.fact(${JSON.stringify(name)}) reads a custom fact no play or role of this host declares (add it to the role's or play's \`facts: [...]\`${known.length > 0 ? `; declared: ${known.join(', ')}` : ''})`,
        );
      }
      reads.add(`custom:${name}`);
      if (!facts) throw new FactsNotGathered();
      return facts.custom[name] as T;
    },
  };
}

// Whether facts that were read while building tasks have the same values in `now` (then the tasks stand).
export function sameReads(reads: ReadonlySet<string>, before: GatheredFacts, now: GatheredFacts): boolean {
  for (const read of reads) {
    const [a, b] = read.startsWith('custom:')
      ? [before.custom[read.slice('custom:'.length)], now.custom[read.slice('custom:'.length)]]
      : [before.host[read as keyof HostFacts], now.host[read as keyof HostFacts]];
    if (JSON.stringify(a) !== JSON.stringify(b)) return false;
  }
  return true;
}

import type { CustomFact } from '../facts/host-facts.js';
import type { GatheredFacts } from '../playbook/host-context.js';
import type { ResourceInstance } from '../resources/types.js';

// A host's task list and handlers, as the playbook computed them for that host.
export interface HostWork {
  tasks: ResourceInstance[];
  handlers: Map<string, ResourceInstance[]>;
}

// A host's work as the engine receives it: built before connecting when it can be (no facts read,
// or facts the controller cached from the host's last run), and built again from the facts the
// first request gathers when it could not be or when a fact it read has changed.
export interface HostWorkSource {
  /** Work built before connecting; undefined when the tasks read facts not known yet. */
  initial: HostWork | undefined;
  /** Custom facts the host's plays and roles declare: gathered in the first request. */
  customFacts: readonly CustomFact<unknown>[];
  /** The work to run once the host's facts are in: `initial` itself when it still stands. */
  withFacts(facts: GatheredFacts): HostWork;
}

// Fixed work (tests, ad-hoc commands) as a source: it reads no facts, so it always stands.
export function workSource(work: HostWork | HostWorkSource): HostWorkSource {
  if ('withFacts' in work) return work;
  return { initial: work, customFacts: [], withFacts: () => work };
}

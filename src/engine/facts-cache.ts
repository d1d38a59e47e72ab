import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Host } from '../inventory/types.js';
import type { GatheredFacts } from '../playbook/host-context.js';

// The facts each host gave in its last run, kept on the controller (Ansible's fact cache): tasks
// that read facts are built before connecting from these, so a converged host still costs one
// request; the run compares them with what it gathers and rebuilds only when a read fact changed.
export class FactsCache {
  constructor(readonly dir: string = defaultFactsDir()) {}

  // The facts cached for a host (by name and endpoint), or undefined.
  read(host: Host): GatheredFacts | undefined {
    try {
      const saved = JSON.parse(readFileSync(this.#file(host), 'utf8')) as { facts?: GatheredFacts };
      const facts = saved.facts;
      if (!facts || typeof facts.host !== 'object' || typeof facts.custom !== 'object') return undefined;
      return facts;
    } catch {
      return undefined;
    }
  }

  // Replaces a host's facts (write to a temporary file, then rename); a cache that cannot be
  // written costs the next run one more request, so the failure is not the run's.
  write(host: Host, facts: GatheredFacts): void {
    const file = this.#file(host);
    const temporary = `${file}.${process.pid}.tmp`;
    try {
      mkdirSync(this.dir, { recursive: true, mode: 0o700 });
      writeFileSync(temporary, `${JSON.stringify({ host: host.name, address: host.address, port: host.port, facts })}\n`, { mode: 0o600 });
      renameSync(temporary, file);
    } catch {
      // Nothing to do: the next run gathers again.
    }
  }

  #file(host: Host): string {
    const key = JSON.stringify([host.name, host.address, host.port, host.user ?? '', host.local === true]);
    return join(this.dir, `${createHash('sha256').update(key).digest('hex').slice(0, 32)}.json`);
  }
}

// ~/.cache/halyard/facts, or under XDG_CACHE_HOME.
export function defaultFactsDir(): string {
  return join(process.env['XDG_CACHE_HOME'] || join(homedir(), '.cache'), 'halyard', 'facts');
}

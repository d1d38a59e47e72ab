import type { HostFacts } from '../../src/facts/host-facts.js';
import type { Host } from '../../src/inventory/types.js';
import { hostContext, type GatheredFacts } from '../../src/playbook/host-context.js';
import type { HostContext } from '../../src/playbook/types.js';

// Facts as a Debian 12 amd64 host gives them (what `halyard facts` printed for a lab host).
export const DEBIAN_FACTS: HostFacts = {
  hostname: 'h1',
  distribution: 'debian',
  family: 'debian',
  version: '12',
  codename: 'bookworm',
  prettyName: 'Debian GNU/Linux 12 (bookworm)',
  arch: 'x86_64',
  kernel: '6.1.0-18-amd64',
  packageManager: 'apt',
  initSystem: 'systemd',
  cpus: 2,
  memoryMb: 3924,
  ipv4: ['10.0.0.5'],
  ipv6: [],
};

// A HostContext for a role's unit test, as the engine builds it (facts default to Debian 12).
export function contextFor(host: Host, facts: Partial<GatheredFacts> = {}): HostContext {
  const gathered: GatheredFacts = { host: facts.host ?? DEBIAN_FACTS, custom: facts.custom ?? {} };
  return hostContext(host, gathered, new Set(Object.keys(gathered.custom)), new Set());
}

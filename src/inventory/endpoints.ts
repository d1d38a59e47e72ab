import { InventoryError } from '../core/errors.js';
import type { Host } from './types.js';

// Two inventory names for one SSH endpoint would race for one host lock and converge one machine
// twice at once: refused before anything connects, naming every name of each shared endpoint.
export function checkDistinctEndpoints(hosts: readonly Host[], file?: string): void {
  const byEndpoint = new Map<string, string[]>();
  for (const host of hosts) {
    const endpoint = `${host.address.toLowerCase()}:${host.port}`;
    byEndpoint.set(endpoint, [...(byEndpoint.get(endpoint) ?? []), host.name]);
  }
  const shared = [...byEndpoint].filter(([, names]) => names.length > 1);
  if (shared.length === 0) return;
  const described = shared.map(([endpoint, names]) => `${names.map((name) => JSON.stringify(name)).join(', ')} all connect to ${endpoint}`).join('; ');
  throw new InventoryError(
    'E_INVENTORY_DUPLICATE_ENDPOINT',
    `${described}: one machine would be run twice at once; give each host one name, or --limit to one of them`,
    file === undefined ? {} : { file },
  );
}

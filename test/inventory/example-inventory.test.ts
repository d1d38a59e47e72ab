import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isSecretRef } from '../../src/core/secret-ref.js';
import { loadInventory } from '../../src/inventory/index.js';
import { observabilityStackVars } from '../../roles/observability-stack/vars.js';

// The example users copy must stay valid: it parses, and its vars fit the stack role.
describe('inventory/example.yml', () => {
  it('parses, keeps secrets as Secrets Manager references, and its vars fit the stack role', async () => {
    const inventory = await loadInventory(resolve(import.meta.dirname, '../../inventory/example.yml'));
    expect(inventory.hosts.map((host) => [host.name, host.address, host.user, host.become])).toEqual([
      ['obs-1', '10.0.1.15', 'ubuntu', true],
      ['obs-2', '10.0.2.15', 'ubuntu', true],
    ]);
    const vars = inventory.hosts[0]?.vars ?? {};
    expect(isSecretRef(vars.grafana_admin_password)).toBe(true);
    expect(String(vars.postgres_password)).toBe('prod/observability#postgres_password');
    // With the references resolved to strings, the role accepts the vars.
    const resolved = { ...vars, grafana_admin_password: 'x-resolved', postgres_password: 'y-resolved' };
    expect(observabilityStackVars.safeParse(resolved).success).toBe(true);
  });
});

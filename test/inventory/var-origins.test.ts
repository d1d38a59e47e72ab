// `inventory vars HOST [VAR]`: each var's value, the file:line it was set at, what it overrode.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatVarOrigins, loadInventory } from '../../src/inventory/index.js';

describe('var origins', () => {
  it('names the winning layer and every layer it overrode, highest first, secrets masked', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hy-origins-'));
    mkdirSync(join(dir, 'group_vars'));
    mkdirSync(join(dir, 'host_vars'));
    writeFileSync(join(dir, 'hosts'), '[web]\nw1 http_port=8081\n\n[web:vars]\nhttp_port=80\ndb_password=inventory-pw\n');
    writeFileSync(join(dir, 'group_vars', 'all.yml'), 'http_port: 8000\nntp: pool\n');
    writeFileSync(join(dir, 'host_vars', 'w1.yml'), '# host vars\ndb_password: host-pw\n');
    const inventory = await loadInventory(join(dir, 'hosts'), { playDir: join(dir, 'none'), explainHost: 'w1', extraVars: { ntp: 'cli' } });
    expect(formatVarOrigins(inventory, 'w1').split('\n')).toEqual([
      `db_password = ********    from ${join(dir, 'host_vars', 'w1.yml')}:2 (host_vars/w1)`,
      `    overrides ********    from ${join(dir, 'hosts')}:6 (inventory group web)`,
      `http_port = 8081    from ${join(dir, 'hosts')}:2 (inventory host vars)`,
      `    overrides 8000    from ${join(dir, 'group_vars', 'all.yml')}:1 (group_vars/all)`,
      `    overrides 80    from ${join(dir, 'hosts')}:5 (inventory group web)`,
      'ntp = "cli"    from extra vars (-e)',
      `    overrides "pool"    from ${join(dir, 'group_vars', 'all.yml')}:2 (group_vars/all)`,
    ]);
    expect(formatVarOrigins(inventory, 'w1', 'nope')).toBe('nope: not set for w1');
  });
});

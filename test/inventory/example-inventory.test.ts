import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isSecretRef } from '../../src/core/secret-ref.js';
import { inventoryFromText, loadInventory } from '../../src/inventory/index.js';
import { observabilityStackVars } from '../../roles/observability-stack/vars.js';
import { halyardDaemonConfigText, halyardDaemonVars } from '../../roles/halyard-daemon/index.js';
import { parseBackupConfig } from '../../src/backup/config.js';
import { parseDaemonConfig } from '../../src/daemon/config.js';
import { parseKnownHosts } from '../../src/ssh/known-hosts.js';

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

  it("obs-2's daemon vars fit the role, and the files it writes parse: daemon file, backup file, inventory, known_hosts", async () => {
    const inventory = await loadInventory(resolve(import.meta.dirname, '../../inventory/example.yml'));
    const [obs1, obs2] = inventory.hosts;
    expect(obs1?.vars.halyard_daemon_config).toBeUndefined();
    const files = obs2?.vars.halyard_daemon_files as Record<string, unknown>;
    expect(isSecretRef(files.deploy_key)).toBe(true);
    const vars = halyardDaemonVars.parse({ ...obs2?.vars, halyard_daemon_files: { ...files, deploy_key: 'resolved' } });
    const daemon = parseDaemonConfig(halyardDaemonConfigText(vars), '/etc/halyard/daemon.yml');
    expect(daemon.jobs.map((job) => [job.name, job.kind])).toEqual([['probes', 'probe'], ['nightly', 'backup']]);
    expect(daemon.ssh).toMatchObject({ known_hosts: '/etc/halyard/known_hosts', strict_host_keys: true });
    expect(parseBackupConfig(String(files['backup.yml']), '/etc/halyard/backup.yml').volumes.map((volume) => volume.name)).toEqual(['grafana', 'appdb']);
    expect(parseKnownHosts(String(files.known_hosts))).toHaveLength(2);
    const fleet = inventoryFromText('/etc/halyard/inventory.yml', String(files['inventory.yml']));
    expect(fleet.hosts.map((host) => [host.name, host.address, host.privateKeyFile])).toEqual([
      ['obs-1', '10.0.1.15', '/etc/halyard/deploy_key'],
      ['obs-2', '10.0.2.15', '/etc/halyard/deploy_key'],
    ]);
  });
});

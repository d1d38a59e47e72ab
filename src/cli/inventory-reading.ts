import type { InventoryReading } from '../inventory/index.js';
import { connectionSettings } from './ansible-settings.js';
import type { VaultFlags } from './common-flags.js';
import { vaultKeyring } from './vault-flags.js';

// How a command reads an inventory it did not get from -i (a backup file's, a daemon job's): as
// `halyard apply -i` would from this directory, with ansible.cfg's and halyard.yml's connection
// defaults and vault passwords (and the vault flags, where the command has them). The same for
// every inventory the command reads; each settings warning goes to `warn`.
export async function inventoryReading(flags: VaultFlags = {}, warn: (warning: string) => void = () => {}): Promise<InventoryReading> {
  const settings = connectionSettings();
  for (const warning of settings.warnings) warn(warning);
  return { vault: await vaultKeyring(flags, settings.ansible, settings.project), connectionDefaults: settings.connectionDefaults };
}

import type { Command } from 'commander';
import { stdoutText } from './output/terminal.js';
import { addVaultFlags, type VaultFlags } from './vault-flags.js';

// `halyard inventory list -i FILE [--json]`: hosts, groups and merged vars, secrets masked.
export function registerInventoryCommands(program: Command): void {
  const inventory = program.command('inventory').description('read and show inventories');
  const list = inventory
    .command('list')
    .description('print hosts, groups and vars (secrets masked)')
    .option('-i, --inventory <path>', "inventory file or directory (repeatable, read in order; default: ansible.cfg's)", (value: string, previous: string[] | undefined) => [...(previous ?? []), value])
    .option('--playbook-dir <dir>', "whose group_vars/ and host_vars/ apply after the inventories' (default: the working directory, as ansible-inventory)")
    .option('-l, --limit <pattern>', 'only these hosts/groups')
    .option('-e, --extra-vars <var>', 'key=value, JSON/YAML object, or @file (repeatable)', (value: string, previous: string[]) => [...previous, value], [] as string[])
    .option('--json', 'print JSON', false);
  addVaultFlags(list);
  list.action(async (flags: VaultFlags & { inventory?: string[]; playbookDir?: string; limit?: string; extraVars: string[]; json: boolean }) => {
      // Loaded when the command runs: other commands start without the inventory readers.
      const { formatInventory, loadInventory, parseExtraVars } = await import('../inventory/index.js');
      const { runSettings } = await import('./ansible-settings.js');
      const { vaultKeyring } = await import('./vault-flags.js');
      const settings = runSettings(flags.inventory);
      for (const warning of settings.warnings) process.stderr.write(`halyard: warning: ${warning}\n`);
      const vault = await vaultKeyring(flags, settings.ansible);
      const loaded = await loadInventory(settings.inventory, {
        connectionDefaults: settings.connectionDefaults,
        vault,
        extraVars: parseExtraVars(flags.extraVars, { vault }),
        playDir: flags.playbookDir ?? process.cwd(),
        ...(flags.limit ? { limit: flags.limit } : {}),
      });
      const text = `${formatInventory(loaded, { json: flags.json }).replace(/\n?$/, '\n')}`;
      // JSON escapes control characters itself; text shows them.
      if (flags.json) process.stdout.write(text);
      else stdoutText.write(text);
    });

  // `halyard inventory vars HOST [VAR]`: where each var of a host comes from, and what it overrode.
  const vars = inventory
    .command('vars')
    .description("a host's vars with the file:line each was set at and what it overrode (secrets masked)")
    .argument('<host>')
    .argument('[var]')
    .option('-i, --inventory <path>', "inventory file or directory (repeatable, read in order; default: ansible.cfg's)", (value: string, previous: string[] | undefined) => [...(previous ?? []), value])
    .option('--playbook-dir <dir>', "whose group_vars/ and host_vars/ apply after the inventories' (default: the working directory)")
    .option('-e, --extra-vars <var>', 'key=value, JSON/YAML object, or @file (repeatable)', (value: string, previous: string[]) => [...previous, value], [] as string[]);
  addVaultFlags(vars);
  vars.action(async (host: string, name: string | undefined, flags: VaultFlags & { inventory?: string[]; playbookDir?: string; extraVars: string[] }) => {
    const { formatVarOrigins, loadInventory, parseExtraVars } = await import('../inventory/index.js');
    const { runSettings } = await import('./ansible-settings.js');
    const { vaultKeyring } = await import('./vault-flags.js');
    const { UsageError } = await import('../core/errors.js');
    const settings = runSettings(flags.inventory);
    for (const warning of settings.warnings) process.stderr.write(`halyard: warning: ${warning}\n`);
    const vault = await vaultKeyring(flags, settings.ansible);
    const loaded = await loadInventory(settings.inventory, {
      connectionDefaults: settings.connectionDefaults,
      vault,
      playDir: flags.playbookDir ?? process.cwd(),
      extraVars: parseExtraVars(flags.extraVars, { vault }),
      explainHost: host,
    });
    if (!loaded.hosts.some((entry) => entry.name === host)) throw new UsageError(`no host "${host}" in the inventory`);
    stdoutText.write(`${formatVarOrigins(loaded, host, name)}\n`);
  });
}

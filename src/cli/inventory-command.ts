import type { Command } from 'commander';
import type { Inventory } from '../inventory/types.js';
import { stdoutText } from './output/terminal.js';
import { addVaultFlags, type VaultFlags } from './common-flags.js';

// Flags every inventory command takes: sources, the playbook folder, -e and vault passwords.
type InventoryFlags = VaultFlags & { inventory?: string[]; playbookDir?: string; extraVars: string[] };

// Adds the flags of InventoryFlags to a command.
function addInventoryFlags(command: Command): Command {
  command
    .option('-i, --inventory <path>', "inventory file or directory (repeatable, read in order; default: ansible.cfg's)", (value: string, previous: string[] | undefined) => [...(previous ?? []), value])
    .option('--playbook-dir <dir>', "whose group_vars/ and host_vars/ apply after the inventories' (default: the working directory, as ansible-inventory)")
    .option('-e, --extra-vars <var>', 'key=value, JSON/YAML object, or @file (repeatable)', (value: string, previous: string[]) => [...previous, value], [] as string[]);
  return addVaultFlags(command);
}

// Reads the inventories as `apply` would (ansible.cfg, vault, -e), with the playbook folder from
// --playbook-dir or the working directory. Loaded when a command runs: others start without it.
async function loadForCommand(flags: InventoryFlags, options: { limit?: string; explainHost?: string } = {}): Promise<Inventory> {
  const { loadInventory, parseExtraVars } = await import('../inventory/index.js');
  const { runSettings } = await import('./ansible-settings.js');
  const { vaultKeyring } = await import('./vault-flags.js');
  const settings = runSettings(flags.inventory);
  for (const warning of settings.warnings) process.stderr.write(`halyard: warning: ${warning}\n`);
  const vault = await vaultKeyring(flags, settings.ansible);
  return loadInventory(settings.inventory, {
    connectionDefaults: settings.connectionDefaults,
    vault,
    extraVars: parseExtraVars(flags.extraVars, { vault }),
    playDir: flags.playbookDir ?? process.cwd(),
    ...(options.limit ? { limit: options.limit } : {}),
    ...(options.explainHost ? { explainHost: options.explainHost } : {}),
  });
}

// `halyard inventory list|vars`: what halyard reads from inventories, secrets masked.
export function registerInventoryCommands(program: Command): void {
  const inventory = program.command('inventory').description('read and show inventories');

  // `inventory list`: hosts, groups and merged vars.
  addInventoryFlags(
    inventory
      .command('list')
      .description('print hosts, groups and vars (secrets masked)')
      .option('-l, --limit <pattern>', 'only these hosts/groups')
      .option('--json', 'print JSON', false),
  ).action(async (flags: InventoryFlags & { limit?: string; json: boolean }) => {
    const { formatInventory } = await import('../inventory/index.js');
    const loaded = await loadForCommand(flags, flags.limit ? { limit: flags.limit } : {});
    const text = `${formatInventory(loaded, { json: flags.json }).replace(/\n?$/, '\n')}`;
    // JSON escapes control characters itself; text shows them.
    if (flags.json) process.stdout.write(text);
    else stdoutText.write(text);
  });

  // `inventory vars HOST [VAR]`: where each var of a host comes from, and what it overrode.
  addInventoryFlags(
    inventory
      .command('vars')
      .description("a host's vars with the file:line each was set at and what it overrode (secrets masked)")
      .argument('<host>')
      .argument('[var]'),
  ).action(async (host: string, name: string | undefined, flags: InventoryFlags) => {
    const { formatVarOrigins } = await import('../inventory/index.js');
    const { UsageError } = await import('../core/errors.js');
    const loaded = await loadForCommand(flags, { explainHost: host });
    if (!loaded.hosts.some((entry) => entry.name === host)) throw new UsageError(`no host "${host}" in the inventory`);
    stdoutText.write(`${formatVarOrigins(loaded, host, name)}\n`);
  });
}

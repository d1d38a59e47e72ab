import type { Command } from 'commander';
import { ExitCode, type ExitCodeValue } from '../core/exit-codes.js';
import { addSshFlags, addVaultFlags, type SshFlags, type VaultFlags } from './common-flags.js';

// Flags of the commands that act on hosts without a playbook (`facts`, `exec`).
export interface FleetFlags extends SshFlags, VaultFlags {
  inventory?: string[];
  limit?: string;
  extraVars: string[];
  user?: string;
  become?: boolean;
  askBecomePass?: boolean;
  privateKey?: string;
  forks?: string;
  lockTimeout: string;
  json: boolean;
  /** --slice INDEX/COUNT: only this slice of the selected hosts, as apply's. */
  slice?: string;
}

// The inventory, connection and fleet flags `facts` and `exec` share with apply.
function addFleetFlags(command: Command): Command {
  command
    .option('-i, --inventory <path>', "inventory file or directory (repeatable, read in order; default: halyard.yml's, else ansible.cfg's)", (value: string, previous: string[] | undefined) => [...(previous ?? []), value])
    .option('-l, --limit <pattern>', 'only these hosts/groups (globs, !exclude, &intersect)')
    .option('-e, --extra-vars <var>', 'key=value, JSON/YAML object, or @file (repeatable; connection vars such as ansible_user apply)', (value: string, previous: string[]) => [...previous, value], [] as string[])
    .option('-u, --user <name>', 'connect as this user where the inventory sets none')
    .option('-b, --become', 'become root with sudo where the inventory does not say (ansible_become wins)')
    .option('-K, --ask-become-pass', 'ask for the sudo password on the terminal')
    .option('--private-key <file>', 'SSH private key where the inventory sets none')
    .option('-f, --forks <n>', "hosts at once (default: halyard.yml's forks, else ansible.cfg's, else 20)")
    .option('--lock-timeout <seconds>', 'wait this long for another run to release a host', '0')
    .option('--json', 'print exactly one JSON document on stdout', false)
    .option('--slice <index/count>', "only the selected hosts in this slice of COUNT, as apply's (0-based INDEX)");
  addSshFlags(command);
  return addVaultFlags(command);
}

// `halyard facts` and `halyard exec PATTERN -- CMD`: what Ansible users reach for with
// `ansible -m setup` and `ansible PATTERN -a CMD`.
export function registerFleetCommands(program: Command, setExitCode: (code: ExitCodeValue) => void): void {
  addFleetFlags(
    program
      .command('facts')
      .description("print each host's facts (distribution, family, version, arch, package manager, init system, CPUs, memory, addresses), as roles read them in host.facts")
      .argument('[pattern]', 'hosts or groups (as --limit; default: all)'),
  ).action(async (pattern: string | undefined, flags: FleetFlags) => {
    const { factsCommand } = await import('./fleet-run.js');
    setExitCode((await factsCommand(pattern ?? 'all', flags)) ? ExitCode.Ok : ExitCode.HostFailed);
  });

  addFleetFlags(
    program
      .command('exec')
      .description('run one shell command on hosts in parallel, under the host lock: per-host output and exit code (exit 1 if any host failed)')
      .argument('<pattern>', 'hosts or groups (as --limit)')
      .argument('<command...>', 'after --: one argument is a shell command line ("df -h | tail -1"); several are an argv, each word quoted')
      .usage('PATTERN [options] -- COMMAND...'),
  ).action(async (pattern: string, command: string[], flags: FleetFlags) => {
    const { execCommand } = await import('./fleet-run.js');
    setExitCode((await execCommand(pattern, command, flags)) ? ExitCode.Ok : ExitCode.HostFailed);
  });
}

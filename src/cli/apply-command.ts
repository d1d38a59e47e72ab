import type { Command } from 'commander';
import type { ExitCodeValue } from '../core/exit-codes.js';
import { addSshFlags, addVaultFlags, type SshFlags, type VaultFlags } from './common-flags.js';
import { increaseVerbosity, VERBOSITY_HELP } from './verbosity.js';

// Flags of `halyard apply`.
export interface ApplyFlags extends SshFlags, VaultFlags {
  /** Every `-i`, in order (files or directories, as Ansible reads them); else halyard.yml's, else ansible.cfg's. */
  inventory?: string[];
  /** Ansible's connection flags: below the inventory's vars, above ansible.cfg. */
  user?: string;
  become?: boolean;
  becomeUser?: string;
  askBecomePass?: boolean;
  privateKey?: string;
  limit?: string;
  extraVars: string[];
  check: boolean;
  forceHandlers?: boolean;
  tags?: string[];
  skipTags?: string[];
  listHosts?: boolean;
  listTasks?: boolean;
  diff: boolean;
  /** Unset: halyard.yml's forks, else ansible.cfg's, else 20. */
  forks?: string;
  serial?: string;
  maxFailPercent?: string;
  json: boolean;
  /** --slice INDEX/COUNT: only this slice of the selected hosts (src/inventory/slice.ts). */
  slice?: string;
  /** Also write the --json document to this file (progress and recap stay on the terminal). */
  jsonFile?: string;
  /** How many -v were given (0-3; more counts as 3). */
  verbose: number;
  lockTimeout: string;
}

// `halyard apply PLAYBOOK -i INVENTORY`: converge hosts, or with --check report drift (exit 2).
export function registerApplyCommand(program: Command, setExitCode: (code: ExitCodeValue) => void): void {
  const apply = program
    .command('apply')
    .description('run a TypeScript playbook against an inventory')
    .argument('<playbook>', 'playbook file (.ts), loaded directly')
    .option('-i, --inventory <path>', "inventory file or directory (Ansible YAML/INI; repeatable, read in order; default: halyard.yml's, else ansible.cfg's)", collectSources)
    .option('-l, --limit <pattern>', 'only these hosts/groups (globs, !exclude, &intersect)')
    .option('-e, --extra-vars <var>', 'key=value, JSON/YAML object, or @file (repeatable)', collect, [])
    .option('-C, --check', 'change nothing; report what would change (exit 2 when changes are pending)', false)
    .option('-D, --diff', 'show unified diffs of files (secrets masked)', false)
    .option('-f, --forks <n>', "hosts run at once (default: halyard.yml's, else ansible.cfg's, else 20)")
    .option('--serial <n|n%>', 'run hosts in batches of this size')
    .option('--max-fail-percent <n>', 'stop starting batches once more than this % of a batch failed')
    .option('--lock-timeout <seconds>', 'wait this long for another run to release a host', '0')
    .option('--force-handlers', 'run notified handlers on a host even after one of its tasks failed', false)
    .option('-t, --tags <tags>', 'only tasks with these tags (comma-separated, repeatable; always/never/tagged/untagged/all as in Ansible)', collect, [])
    .option('--skip-tags <tags>', 'skip tasks with these tags (comma-separated, repeatable)', collect, [])
    .option('--list-hosts', "list each play's hosts and exit, connecting to none", false)
    .option('--list-tasks', "list each host's tasks and handlers and exit, connecting to none", false)
    .option('--json', 'print exactly one JSON document on stdout', false)
    .option('--json-file <file>', "also write the --json document to this file (for `halyard report merge`); the terminal shows progress and the recap")
    .option('--slice <index/count>', 'only the selected hosts in this slice of COUNT, by a hash of the name (0-based INDEX, as $JOB_COMPLETION_INDEX/COUNT)')
    .option('-v, --verbose', VERBOSITY_HELP, increaseVerbosity, 0)
    .option('-u, --user <name>', 'connect as this user where the inventory sets none (ansible_user wins, as in Ansible)')
    .option('-b, --become', 'become root with sudo where the inventory does not say (ansible_become wins)')
    .option('--become-user <user>', 'whom to become (root only)')
    .option('-K, --ask-become-pass', 'ask for the sudo password on the terminal (hosts without ansible_become_password)')
    .option('--private-key <file>', 'SSH private key where the inventory sets none');
  addSshFlags(apply);
  addVaultFlags(apply);
  apply.action(async (playbookPath: string, flags: ApplyFlags) => {
    // The engine, SSH and the playbook loader load only when a command needs them (start-up).
    const { applyPlaybook, listPlaybook } = await import('./apply-run.js');
    if (flags.listHosts || flags.listTasks) return listPlaybook(playbookPath, flags);
    const run = await applyPlaybook(playbookPath, flags);
    setExitCode(run.exitCode);
  });
}

// -i without a default, so a run without any -i is still a usage error.
function collectSources(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

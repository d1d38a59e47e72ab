import type { Command } from 'commander';

// The SSH and vault flags several commands share, as commander options. Every command registers
// them at start-up (for `--help` and completion scripts too), so this module imports nothing but
// commander's types: reading the flags (halyard.yml, vault passwords) is ssh-flags.ts's and
// vault-flags.ts's job, loaded only when a command runs.

/** Seconds to wait for a host's SSH handshake when neither the flag nor halyard.yml says. */
export const DEFAULT_CONNECT_TIMEOUT_SECONDS = 20;
/** Seconds any remote request may run when neither the flag nor halyard.yml says. */
export const DEFAULT_TIMEOUT_SECONDS = 1800;

// SSH flags shared by every command that connects to hosts; unset ones come from halyard.yml.
export interface SshFlags {
  strictHostKeys?: boolean;
  knownHosts?: string;
  sshConfig?: string;
  connectTimeout?: string;
  timeout?: string;
}

// Adds the SSH flags to a command. None has a commander default, so halyard.yml can fill the gaps.
export function addSshFlags(command: Command): Command {
  return command
    .option('--strict-host-keys', 'refuse hosts whose key is not in known_hosts (default: accept and record new keys)', false)
    .option('--known-hosts <file>', 'known_hosts file to check and record host keys in (default: halyard.yml\'s known_hosts, else ~/.ssh/known_hosts)')
    .option('--ssh-config <file>', 'ssh_config file (default ~/.ssh/config; "none" to ignore it)')
    .option('--connect-timeout <seconds>', `give up connecting to a host after this long (default: ${DEFAULT_CONNECT_TIMEOUT_SECONDS})`)
    .option('--timeout <seconds>', `fail any remote request running longer than this (default: ${DEFAULT_TIMEOUT_SECONDS}; the fact probe: at most 120 s)`);
}

// The vault password flags Ansible users type: every command that reads inventories takes them.
export interface VaultFlags {
  vaultPasswordFile?: string[];
  vaultId?: string[];
  askVaultPass?: boolean;
}

const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

// Adds the vault password flags to a command.
export function addVaultFlags(command: Command): Command {
  return command
    .option('--vault-password-file <file>', 'vault password: a file, or an executable that prints it (repeatable)', collect)
    .option('--vault-id <label@source>', 'a labelled vault password: label@file, label@prompt, or a file (repeatable)', collect)
    .option('--ask-vault-pass', 'ask for the vault password on the terminal', false);
}

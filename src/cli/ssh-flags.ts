import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { UsageError } from '../core/errors.js';
import type { SshOptions } from '../ssh/types.js';

// SSH flags shared by every command that connects to hosts.
export interface SshFlags {
  strictHostKeys: boolean;
  knownHosts?: string;
  sshConfig?: string;
  connectTimeout: string;
  timeout: string;
}

// Adds the SSH flags to a command.
export function addSshFlags(command: Command): Command {
  return command
    .option('--strict-host-keys', 'refuse hosts whose key is not in known_hosts (default: accept and record new keys)', false)
    .option('--known-hosts <file>', 'known_hosts file to check and record host keys in (default ~/.ssh/known_hosts)')
    .option('--ssh-config <file>', 'ssh_config file (default ~/.ssh/config; "none" to ignore it)')
    .option('--connect-timeout <seconds>', 'give up connecting to a host after this long', '20')
    .option('--timeout <seconds>', 'fail any remote request running longer than this (the fact probe: at most 120 s)', '1800');
}

// Turns SSH flags into pool options.
export function sshOptionsFrom(flags: SshFlags): Partial<SshOptions> {
  const seconds = (text: string, flag: string) => {
    const value = Number(text);
    if (!Number.isFinite(value) || value <= 0) throw new UsageError(`${flag} must be a positive number of seconds, got "${text}"`);
    return value * 1000;
  };
  return {
    hostKeyPolicy: flags.strictHostKeys ? 'strict' : 'accept-new',
    knownHostsFile: flags.knownHosts ?? join(homedir(), '.ssh', 'known_hosts'),
    sshConfigFile: flags.sshConfig === 'none' ? null : flags.sshConfig,
    connectTimeoutMs: seconds(flags.connectTimeout, '--connect-timeout'),
    commandTimeoutMs: seconds(flags.timeout, '--timeout'),
  };
}

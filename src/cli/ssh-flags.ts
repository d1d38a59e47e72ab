import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { projectConfig, type ProjectConfig } from '../config/project-config.js';
import { UsageError } from '../core/errors.js';
import type { SshOptions } from '../ssh/types.js';

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

// Turns SSH flags into pool options: each from the flag, else halyard.yml, else the default.
export function sshOptionsFrom(flags: SshFlags, project: ProjectConfig = projectConfig()): Partial<SshOptions> {
  const seconds = (text: string, flag: string) => {
    const value = Number(text);
    if (!Number.isFinite(value) || value <= 0) throw new UsageError(`${flag} must be a positive number of seconds, got "${text}"`);
    return value * 1000;
  };
  const sshConfigFile = flags.sshConfig !== undefined ? (flags.sshConfig === 'none' ? null : flags.sshConfig) : project.sshConfig;
  return {
    hostKeyPolicy: flags.strictHostKeys === true || project.strictHostKeys === true ? 'strict' : 'accept-new',
    knownHostsFile: flags.knownHosts ?? project.knownHosts ?? join(homedir(), '.ssh', 'known_hosts'),
    sshConfigFile,
    connectTimeoutMs: flags.connectTimeout !== undefined ? seconds(flags.connectTimeout, '--connect-timeout') : (project.connectTimeout ?? DEFAULT_CONNECT_TIMEOUT_SECONDS) * 1000,
    commandTimeoutMs: flags.timeout !== undefined ? seconds(flags.timeout, '--timeout') : (project.timeout ?? DEFAULT_TIMEOUT_SECONDS) * 1000,
  };
}

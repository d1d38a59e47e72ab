// The SSH flags read at run time; common-flags.ts defines them (loaded at start-up, kept light).
import { homedir } from 'node:os';
import { join } from 'node:path';
import { projectConfig, type ProjectConfig } from '../config/project-config.js';
import { UsageError } from '../core/errors.js';
import type { SshOptions } from '../ssh/types.js';
import { DEFAULT_CONNECT_TIMEOUT_SECONDS, DEFAULT_TIMEOUT_SECONDS, type SshFlags } from './common-flags.js';

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

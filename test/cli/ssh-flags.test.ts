// SSH options from flags, halyard.yml and the defaults, in that order.
import { homedir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sshOptionsFrom } from '../../src/cli/ssh-flags.js';

describe('sshOptionsFrom', () => {
  it('without flags or halyard.yml: ~/.ssh/known_hosts, new keys accepted, 20 s to connect, 1800 s per request', () => {
    expect(sshOptionsFrom({}, {})).toEqual({
      hostKeyPolicy: 'accept-new',
      knownHostsFile: join(homedir(), '.ssh', 'known_hosts'),
      sshConfigFile: undefined,
      connectTimeoutMs: 20_000,
      commandTimeoutMs: 1_800_000,
    });
  });

  it("halyard.yml's known_hosts, strict_host_keys, ssh_config and timeouts apply where no flag is given", () => {
    const project = { file: '/r/halyard.yml', knownHosts: '/r/.ssh/known_hosts', strictHostKeys: true, sshConfig: null, connectTimeout: 5, timeout: 60 };
    expect(sshOptionsFrom({ strictHostKeys: false }, project)).toEqual({
      hostKeyPolicy: 'strict',
      knownHostsFile: '/r/.ssh/known_hosts',
      sshConfigFile: null,
      connectTimeoutMs: 5_000,
      commandTimeoutMs: 60_000,
    });
  });

  it('a flag beats halyard.yml', () => {
    const project = { file: '/r/halyard.yml', knownHosts: '/r/.ssh/known_hosts', sshConfig: '/r/ssh_config', connectTimeout: 5, timeout: 60 };
    expect(sshOptionsFrom({ knownHosts: '/cli/kh', sshConfig: 'none', connectTimeout: '7', timeout: '90', strictHostKeys: true }, project)).toEqual({
      hostKeyPolicy: 'strict',
      knownHostsFile: '/cli/kh',
      sshConfigFile: null,
      connectTimeoutMs: 7_000,
      commandTimeoutMs: 90_000,
    });
    expect(sshOptionsFrom({ sshConfig: '/cli/config' }, project).sshConfigFile).toBe('/cli/config');
  });

  it('refuses a timeout flag that is not a positive number', () => {
    expect(() => sshOptionsFrom({ connectTimeout: '0' }, {})).toThrow('--connect-timeout must be a positive number of seconds, got "0"');
    expect(() => sshOptionsFrom({ timeout: 'soon' }, {})).toThrow('--timeout must be a positive number of seconds, got "soon"');
  });
});

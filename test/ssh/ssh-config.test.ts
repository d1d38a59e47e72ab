import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConnectError } from '../../src/core/errors.js';
import { endpointFor } from '../../src/ssh/connect.js';
import { expandSshPath, localUserName, parseProxyJump, resolveEndpoint, SshConfigFile } from '../../src/ssh/ssh-config.js';
import type { ConnectTarget } from '../../src/ssh/types.js';

const CONFIG = `
# fleet
Host web1 web2
  HostName 10.0.0.%h
  User deploy
  Port 2222
  IdentityFile ~/.ssh/id_%h_%r
  IdentityFile /keys/%n-%p
  ProxyJump bastion

Host db
  HostName db.internal
  ProxyJump ops@bastion:2200,[10.9.9.9]:2300

Host bastion
  HostName bastion.example.com
  User jump
  IdentityFile ~/.ssh/bastion

Host direct
  HostName direct.example.com
  ProxyJump none
  IdentitiesOnly yes

Match exec "touch /tmp/halyard-should-never-run"
  User evil

Host *
  User fallback
  IdentityFile ~/.ssh/shared
`;

function target(overrides: Partial<ConnectTarget>): ConnectTarget {
  return { name: 'x', address: 'x', port: 22, user: undefined, privateKeyFile: undefined, become: false, becomePassword: undefined, ...overrides };
}

describe('ssh_config resolution', () => {
  let dir: string;
  let config: SshConfigFile;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'halyard-sshcfg-'));
    await writeFile(join(dir, 'config'), CONFIG);
    config = await SshConfigFile.load(join(dir, 'config'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads HostName, User, Port, IdentityFile (tokens and ~ expanded) and the jump host', () => {
    const endpoint = resolveEndpoint(config, { alias: 'web1', user: undefined, port: undefined, privateKeyFile: undefined }, '/home/me');
    expect(endpoint).toMatchObject({
      alias: 'web1',
      host: '10.0.0.web1',
      port: 2222,
      user: 'deploy',
      identityFiles: ['/home/me/.ssh/id_10.0.0.web1_deploy', '/keys/web1-2222', '/home/me/.ssh/shared'],
      identityFilesExplicit: false,
    });
    expect(endpoint.jumps).toEqual([
      {
        alias: 'bastion',
        host: 'bastion.example.com',
        port: 22,
        user: 'jump',
        identityFiles: ['/home/me/.ssh/bastion', '/home/me/.ssh/shared'],
        identityFilesExplicit: false,
        identitiesOnly: false,
        jumps: [],
      },
    ]);
  });

  it('lets inventory values win over ssh_config, and ssh_config over defaults', () => {
    const endpoint = resolveEndpoint(config, { alias: 'web2', user: 'admin', port: 2201, privateKeyFile: '~/lab/key' }, '/home/me');
    expect(endpoint).toMatchObject({
      host: '10.0.0.web2',
      port: 2201,
      user: 'admin',
      identityFiles: ['/home/me/lab/key'],
      identityFilesExplicit: true,
    });
    const defaults = resolveEndpoint(config, { alias: 'unlisted', user: undefined, port: undefined, privateKeyFile: undefined }, '/home/me');
    expect(defaults).toMatchObject({ host: 'unlisted', port: 22, user: 'fallback', identityFiles: ['/home/me/.ssh/shared'], jumps: [] });
  });

  it('treats inventory port 22 as unset unless marked explicit', () => {
    const implicit = endpointFor(target({ name: 'web1', address: 'web1', port: 22 }), { sshConfig: config, home: '/h' });
    expect(implicit.port).toBe(2222);
    const explicit = endpointFor(target({ name: 'web1', address: 'web1', port: 22, portExplicit: true }), { sshConfig: config, home: '/h' });
    expect(explicit.port).toBe(22);
  });

  it('resolves several jump hosts in order, each through ssh_config', () => {
    const endpoint = resolveEndpoint(config, { alias: 'db', user: undefined, port: undefined, privateKeyFile: undefined }, '/home/me');
    expect(endpoint.host).toBe('db.internal');
    expect(endpoint.jumps.map((hop) => [hop.host, hop.port, hop.user])).toEqual([
      ['bastion.example.com', 2200, 'ops'],
      ['10.9.9.9', 2300, 'fallback'],
    ]);
  });

  it('honours ProxyJump none and IdentitiesOnly, and never runs Match exec', () => {
    const endpoint = resolveEndpoint(config, { alias: 'direct', user: undefined, port: undefined, privateKeyFile: undefined }, '/home/me');
    expect(endpoint.jumps).toEqual([]);
    expect(endpoint.identitiesOnly).toBe(true);
    expect(endpoint.user).toBe('fallback');
  });

  it('a missing file or null answers nothing', async () => {
    const missing = await SshConfigFile.load(join(dir, 'absent'));
    const disabled = await SshConfigFile.load(null);
    for (const file of [missing, disabled]) {
      const endpoint = resolveEndpoint(file, { alias: 'web1', user: undefined, port: undefined, privateKeyFile: undefined }, '/home/me');
      expect(endpoint).toMatchObject({ host: 'web1', port: 22, user: localUserName(), identityFiles: [], jumps: [] });
    }
  });

  it('rejects a bad Port with E_SSH_CONFIG', () => {
    const bad = SshConfigFile.parse('Host x\n  Port nope\n');
    expect(() => bad.lookup('x')).toThrow(ConnectError);
  });
});

describe('parseProxyJump and expandSshPath', () => {
  it('parses user@host:port, ssh:// URLs, brackets and bare IPv6', () => {
    expect(parseProxyJump('a, ops@b:2200 ,ssh://c@d:2300,[fe80::1]:2400,fe80::2')).toEqual([
      { host: 'a', user: undefined, port: undefined },
      { host: 'b', user: 'ops', port: 2200 },
      { host: 'd', user: 'c', port: 2300 },
      { host: 'fe80::1', user: undefined, port: 2400 },
      { host: 'fe80::2', user: undefined, port: undefined },
    ]);
    expect(() => parseProxyJump('host:99999')).toThrow(/bad ProxyJump/);
  });

  it('expands ~ and %h %n %p %r %u %d %%', () => {
    const values = { host: 'h.example', alias: 'h', port: 2201, remoteUser: 'deploy', localUser: 'me', home: '/home/me' };
    expect(expandSshPath('~/.ssh/%h-%n-%p-%r-%u-%%', values)).toBe('/home/me/.ssh/h.example-h-2201-deploy-me-%');
    expect(expandSshPath('%d/k', values)).toBe('/home/me/k');
    expect(expandSshPath('~', values)).toBe('/home/me');
    expect(expandSshPath('/abs/~x', values)).toBe('/abs/~x');
  });
});

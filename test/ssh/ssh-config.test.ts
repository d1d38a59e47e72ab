import { createHash } from 'node:crypto';
import { access, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
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

Match exec "exit 3"
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

  it('honours ProxyJump none and IdentitiesOnly, and a Match exec that exits non-zero does not match', () => {
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

  it('rejects a bad Port with E_SSH_CONFIG, whichever host it is for (ssh refuses the file)', () => {
    expect(() => SshConfigFile.parse('Host other\n  Port nope\n')).toThrow(ConnectError);
    expect(() => SshConfigFile.parse('Host other\n  Port nope\n')).toThrow("<inline>:2: Bad port 'nope'");
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
    expect(expandSshPath('~', values)).toBe('/home/me/');
    expect(expandSshPath('/abs/~x', values)).toBe('/abs/~x');
  });
});

describe('ssh_config Match and tokens', () => {
  const none = { user: undefined, port: undefined, privateKeyFile: undefined };
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'halyard-sshmatch-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('names file:line for a Match criterion OpenSSH 9.2 does not know, whichever host is looked up', () => {
    const text = 'Host a\n  User x\n\nMatch host a tagged web\n  Port 2\n';
    expect(() => SshConfigFile.parse(text, '/cfg/config')).toThrow(ConnectError);
    expect(() => SshConfigFile.parse(text, '/cfg/config')).toThrow('/cfg/config:4: Match: unsupported criterion "tagged"');
    expect(() => SshConfigFile.parse('Match !bogus x\n', '/cfg/config')).toThrow('/cfg/config:1: Match: unsupported criterion "bogus"');
  });

  it('names the included file and its line when the bad Match is there', async () => {
    await writeFile(join(dir, 'bad.conf'), '# included\nMatch localnetwork 10.0.0.0/8\n  User y\n');
    const error = (() => {
      try {
        SshConfigFile.parse(`Host z\n  Include ${join(dir, 'bad.conf')}\n`, '/cfg/config');
      } catch (caught) {
        return caught as ConnectError;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(ConnectError);
    expect(error?.code).toBe('E_SSH_CONFIG');
    expect(error?.message).toContain(`${join(dir, 'bad.conf')}:2: Match: unsupported criterion "localnetwork"`);
  });

  it('rejects Match lines ssh rejects: no criteria, a missing argument, `all` combined', () => {
    expect(() => SshConfigFile.parse('Match\n')).toThrow('<inline>:1: no argument after keyword "match"');
    expect(() => SshConfigFile.parse('Match host\n')).toThrow('<inline>:1: Match: missing criteria for host');
    expect(() => SshConfigFile.parse('Match all host x\n')).toThrow("<inline>:1: Match: 'all' cannot be combined");
    expect(() => SshConfigFile.parse('Match host x user y all\n')).toThrow("<inline>:1: Match: 'all' cannot be combined");
    expect(() => SshConfigFile.parse('Match exec "echo %j"\n')).toThrow('<inline>:1: Match exec "echo %j": unknown token %j');
  });

  it('runs Match exec through the shell with tokens expanded, and skips it once a criterion failed', async () => {
    const marker = join(dir, 'ran');
    const config = SshConfigFile.parse(
      `Host web1\n  HostName Web1.Example\nMatch host nomatch exec "touch ${marker}"\n  User skipped\nMatch exec "test %h:%n:%p:%r = Web1.Example:web1:2200:ops"\n  User matched\n`,
    );
    expect(config.lookup('web1', 'ops', 2200)).toMatchObject({ hostName: 'web1.example', user: 'ops', port: 2200 });
    expect(config.lookup('web1', undefined, 2200).user).toBeUndefined();
    const byUser = SshConfigFile.parse('Match exec "test %r = ops"\n  Port 2201\n');
    expect(byUser.lookup('h', 'ops').port).toBe(2201);
    expect(byUser.lookup('h', 'dev').port).toBeUndefined();
    await expect(access(marker)).rejects.toThrow();
  });

  it('makes a Match exec killed by a signal an error, as ssh does', () => {
    const config = SshConfigFile.parse('Match exec "kill -9 $$"\n  User x\n', '/cfg/config');
    expect(() => config.lookup('h')).toThrow(/\/cfg\/config:1: Match exec 'kill -9 \$\$' exited abnormally/);
  });

  it('compares Match user with the user given, else the config User, else the local user', () => {
    const config = SshConfigFile.parse(`Host set\n  User cfg\nMatch user ${localUserName()}\n  Port 2001\nMatch user cfg,given\n  Port 2002\n`);
    expect(config.lookup('plain').port).toBe(2001);
    expect(config.lookup('plain', 'given').port).toBe(2002);
    expect(config.lookup('set').port).toBe(2002);
    expect(config.lookup('set', 'other').port).toBeUndefined();
  });

  it('refuses what halyard cannot do as ssh would do it, naming the line', () => {
    const canonical = SshConfigFile.parse('Host *.lan\n  CanonicalizeHostname yes\nHost *\n  CanonicalizeHostname no\n', '/cfg/config');
    expect(() => canonical.lookup('a.lan')).toThrow('/cfg/config:2: CanonicalizeHostname yes needs DNS canonicalisation');
    expect(canonical.lookup('b').hostName).toBe('b');
    const hostName = SshConfigFile.parse('Host bad\n  HostName %r.example\n', '/cfg/config');
    expect(() => hostName.lookup('bad')).toThrow('/cfg/config:2: HostName "%r.example": unknown token %r');
    expect(hostName.lookup('good').hostName).toBe('good');
    const proxy = SshConfigFile.parse('Host p\n  ProxyCommand nc %h %p %u\n');
    expect(() => resolveEndpoint(proxy, { alias: 'p', ...none })).toThrow('ProxyCommand "nc %h %p %u": unknown token %u');
    const tilde = SshConfigFile.parse('Host t\n  IdentityFile ~nosuchuser-hy/key\n');
    expect(() => resolveEndpoint(tilde, { alias: 't', ...none })).toThrow('cannot expand ~nosuchuser-hy');
  });

  it('keeps whichever of ProxyCommand and ProxyJump comes first, none included', () => {
    const config = SshConfigFile.parse('Host pc\n  ProxyCommand nc %h %p\nHost pj\n  ProxyJump j\nHost off\n  ProxyCommand none\nHost *\n  ProxyJump later\n  ProxyCommand later\n');
    expect(config.lookup('pc')).toMatchObject({ proxyCommand: 'nc %h %p', proxyJump: undefined });
    expect(config.lookup('pj')).toMatchObject({ proxyJump: 'j' });
    expect(config.lookup('pj').proxyCommand).toBeUndefined();
    expect(config.lookup('off')).toMatchObject({ proxyJump: undefined });
    expect(config.lookup('off').proxyCommand).toBeUndefined();
  });

  it('expands the client tokens in IdentityFile and the ProxyCommand tokens', () => {
    const config = SshConfigFile.parse('Host k\n  HostName K.Example\n  HostKeyAlias Alias.K\n  IdentityFile %d/%k-%C-%i\n  ProxyCommand connect %h %p %r %n %k %%\n');
    const endpoint = resolveEndpoint(config, { alias: 'k', user: 'ops', port: undefined, privateKeyFile: undefined }, '/home/me');
    const hash = createHash('sha1').update(`${hostname()}k.example22ops`).digest('hex');
    expect(endpoint.identityFiles).toEqual([`/home/me/alias.k-${hash}-${process.getuid?.() ?? 0}`]);
    expect(endpoint.proxyCommand).toBe('connect k.example 22 ops k alias.k %');
  });
});

// ssh_config as OpenSSH reads it: every config through `ssh -G -F FILE ALIAS` (Debian's
// openssh-client) and through halyard's lookup, for hostname, user, port, identity files and
// ProxyJump and ProxyCommand.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SshConfigFile, localUserName } from '../../src/ssh/ssh-config.js';

const dir = mkdtempSync(join(tmpdir(), 'hy-sshg-'));
const included = join(dir, 'included.conf');
writeFileSync(included, 'Host inc-*\n  User from-include\n  Port 2301\n');
writeFileSync(join(dir, 'glob-a.conf'), 'Host glob-a\n  HostName 10.9.0.1\n');
writeFileSync(join(dir, 'glob-b.conf'), 'Host glob-b\n  HostName 10.9.0.2\n');

const CONFIGS: Array<{ text: string; aliases: string[] }> = [
  { text: 'Host web?\n  User q\nHost *.prod !bastion.prod\n  User produser\n  Port 2200\nHost bastion.prod\n  HostName 10.0.0.1\nHost *\n  IdentityFile ~/.ssh/id_%h\n  User fallback\n', aliases: ['web1', 'web12', 'x.prod', 'bastion.prod'] },
  { text: 'HOST db*\n  USER dbuser\n  hostname %h.internal\n  PORT 2222\n', aliases: ['db1', 'app'] },
  { text: 'Host a\n  User first\nHost a\n  User second\n  Port 1\nHost *\n  Port 2\n', aliases: ['a', 'b'] },
  { text: 'Host jump\n  HostName 10.0.0.5\n  User hop\nHost inner\n  ProxyJump jump\nHost multi\n  ProxyJump ops@j1:2201,j2\nHost none\n  ProxyJump none\n', aliases: ['inner', 'multi', 'none', 'jump'] },
  { text: `Include ${included}\nHost *\n  User default-user\n`, aliases: ['inc-1', 'other'] },
  { text: `Include ${join(dir, 'glob-*.conf')}\n`, aliases: ['glob-a', 'glob-b', 'glob-c'] },
  { text: 'Host *\n  IdentityFile ~/.ssh/one\n  IdentityFile ~/.ssh/two\n  IdentitiesOnly yes\n', aliases: ['k'] },
  { text: 'Match host m*\n  User matched\nMatch all\n  Port 2022\n', aliases: ['m1', 'n1'] },
  { text: 'Match originalhost orig\n  HostName 10.1.1.1\nHost *\n  User u\n', aliases: ['orig', 'other'] },
  { text: 'Host x?y\n  User qmark\nHost !skip *\n  Port 2400\n', aliases: ['xay', 'xaay', 'skip'] },
  { text: 'Host alias1 alias2\n  HostName shared.example\n  User shared\n# a comment\n\nHost "quoted host"\n  User q\n', aliases: ['alias1', 'alias2'] },
  { text: 'Host eq\n  User=equals\n  Port=2500\n', aliases: ['eq'] },
  { text: 'Host i-*\n  User ec2-user\n  ProxyCommand sh -c "aws ssm start-session --target %h --document-name AWS-StartSSHSession --parameters portNumber=%p"\nHost plain\n  ProxyCommand none\n', aliases: ['i-0abc', 'plain'] },
];

// What `ssh -G` says for the fields halyard uses.
function openssh(file: string, alias: string) {
  const out = execFileSync('ssh', ['-G', '-F', file, alias], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const fields: Record<string, string[]> = {};
  for (const line of out.split('\n')) {
    const at = line.indexOf(' ');
    if (at < 0) continue;
    (fields[line.slice(0, at)] ??= []).push(line.slice(at + 1));
  }
  const defaultKeys = ['~/.ssh/id_rsa', '~/.ssh/id_ecdsa', '~/.ssh/id_ecdsa_sk', '~/.ssh/id_ed25519', '~/.ssh/id_ed25519_sk', '~/.ssh/id_xmss', '~/.ssh/id_dsa'];
  const keys = (fields.identityfile ?? []).filter((key) => !defaultKeys.includes(key));
  return { hostName: fields.hostname?.[0], user: fields.user?.[0], port: Number(fields.port?.[0]), identityFiles: keys, proxyJump: fields.proxyjump?.[0], proxyCommand: fields.proxycommand?.[0] };
}

describe('ssh_config against ssh -G', () => {
  it.each(CONFIGS.map((config, index) => [index, config] as const))('config %i', (_index, config) => {
    const file = join(dir, `config-${_index}`);
    writeFileSync(file, config.text);
    const ours = SshConfigFile.parse(config.text, file);
    for (const alias of config.aliases) {
      const expected = openssh(file, alias);
      const entry = ours.lookup(alias);
      const host = (entry.hostName ?? alias).replace(/%h/g, alias);
      // ssh -G prints ProxyCommand with its tokens unexpanded, as halyard keeps it until it connects.
      expect({ hostName: host, user: entry.user ?? localUserName(), port: entry.port ?? 22, identityFiles: entry.identityFiles, proxyJump: entry.proxyJump, proxyCommand: entry.proxyCommand }, alias).toEqual(expected);
    }
  });
});

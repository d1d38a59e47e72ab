// ssh_config as OpenSSH reads it: every config through `ssh -G -F FILE [-l USER] ALIAS` (Debian's
// openssh-client) and through halyard's lookup, for hostname, user, port, identity files and
// ProxyJump and ProxyCommand; a config ssh refuses must be refused by halyard too. Configs marked
// `connect` also run `ssh -v` through their (harmless) ProxyCommand, to compare IdentityFile and
// ProxyCommand after token expansion, which `ssh -G` prints unexpanded.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConnectError } from '../../src/core/errors.js';
import { SshConfigFile, localUserName, resolveEndpoint } from '../../src/ssh/ssh-config.js';

const dir = mkdtempSync(join(tmpdir(), 'hy-sshg-'));
// ssh's ~ and %d are the passwd home directory.
const home = userInfo().homedir;
const me = localUserName();
const included = join(dir, 'included.conf');
writeFileSync(included, 'Host inc-*\n  User from-include\n  Port 2301\n');
writeFileSync(join(dir, 'glob-a.conf'), 'Host glob-a\n  HostName 10.9.0.1\n');
writeFileSync(join(dir, 'glob-b.conf'), 'Host glob-b\n  HostName 10.9.0.2\n');
const execLog = join(dir, 'exec.log');
writeFileSync(join(dir, 'inc-match.conf'), `User inc-top\nHost y\n  Port 3101\nMatch exec "echo ran-%n-%h >> ${execLog}"\n  Port 3102\n`);

interface OracleConfig {
  text: string;
  aliases: string[];
  /** Each alias is also looked up as `ssh -l USER` / lookup(alias, USER). */
  users?: string[];
  /** Match exec commands append to execLog: ssh -G and halyard must write the same lines. */
  logsExec?: boolean;
  /** Also compare expanded IdentityFile and ProxyCommand with what `ssh -v` uses. */
  connect?: boolean;
}

const CONFIGS: OracleConfig[] = [
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
  // Match user: the user given (-l), else the User obtained so far, else the local user.
  {
    text: 'Host *.corp\n  User corpuser\nMatch user alice\n  Port 2001\nMatch user corpuser,bob\n  Port 2002\n  HostName %h.via-user\nMatch user !alice,*\n  IdentityFile ~/.ssh/not-alice\n',
    aliases: ['h', 'x.corp'],
    users: ['alice', 'bob', 'carol'],
  },
  {
    text: `Match user ${me}\n  Port 2101\n  User from-local-match\nMatch !user ${me}\n  Port 2102\nMatch user from-local-match\n  IdentityFile ~/.ssh/after-user-set\n`,
    aliases: ['h'],
    users: ['someone', me],
  },
  // Match localuser: the local login name, case-sensitively.
  {
    text: `Match localuser ${me}\n  User via-localuser\nMatch localuser nobody-${me}\n  Port 2201\nMatch !localuser nobody-${me}\n  IdentityFile ~/.ssh/not-nobody\nMatch localuser ${me.toUpperCase()}X\n  Port 2202\n`,
    aliases: ['h'],
    users: ['given'],
  },
  // Match exec: run through the shell, exit 0 matches; tokens expanded; negation.
  {
    text: 'Match exec true\n  Port 2301\nMatch exec false\n  User never\nMatch !exec false\n  IdentityFile ~/.ssh/not-false\nMatch exec "test %h = web1"\n  User web1-user\nMatch exec "test %n = alias2" host alias2\n  HostName alias2.example\nHost *\n  User other\n',
    aliases: ['web1', 'web2', 'alias2'],
  },
  // Every Match exec token, an exec skipped because an earlier criterion failed, two execs on one line.
  {
    text: `Host tok\n  HostName Tok.Example\n  Port 2400\n  User tokuser\n  HostKeyAlias KeyAlias\nMatch exec "echo '%C|%L|%l|%d|%h|%k|%n|%p|%r|%u|%i|%%' >> ${execLog}"\n  IdentityFile ~/.ssh/after-exec\nMatch host nomatch exec "echo skipped >> ${execLog}"\n  User skipped\nMatch exec "echo second-%h-%r >> ${execLog}" exec false\n  Port 1\n`,
    aliases: ['tok', 'Other'],
    users: ['cli'],
    logsExec: true,
  },
  // Negated criteria and several criteria on one line (all must hold); host is HostName once set.
  {
    text: `Match !host x* originalhost a*,b* user !nobody,* localuser ${me}\n  Port 2500\nMatch host a1 !originalhost a1\n  User never\nMatch originalhost b? !host *.lan\n  User b-user\nHost a1\n  HostName x1\nMatch host x1 !originalhost x1\n  User via-hostname\n`,
    aliases: ['a1', 'b1', 'B1', 'x1'],
    users: ['nobody'],
  },
  // Match final asks for a second pass (Host lines then match the canonical host); canonical holds only there.
  {
    text: 'Host a\n  HostName B.Example\nMatch canonical\n  User canon\nMatch final host b.example\n  Port 2600\nHost b.example\n  IdentityFile ~/.ssh/final-%h\n  Port 2601\nMatch !final\n  IdentityFile ~/.ssh/first-pass\nMatch final\n  HostName ignored-in-final\n  IdentityFile ~/.ssh/first-pass\n',
    aliases: ['a', 'b.example', 'c'],
  },
  { text: 'Match canonical\n  User canon\nMatch !canonical\n  Port 2700\nMatch host h* all\n  IdentityFile ~/.ssh/h-all\n', aliases: ['x', 'h1'] },
  // Tokens: HostName takes %h %%; User is literal in 9.2; IdentityFile and ProxyCommand expand when ssh uses them.
  {
    text: "Host tok-*\n  HostName %h.%%.Example\n  User u%l-%r\n  IdentityFile ~/.ssh/%r@%h:%p-%n-%d-%u-%l-%L-%C-%i-%k-%%\n  IdentityFile ${HOME}/.ssh/env-%n\n  ProxyCommand true '%h %p %r %n %k %%'\n  Port 2800\nHost tok-2\n  HostKeyAlias Key-2\nHost plain-tok\n  IdentityFile %d/.ssh/plain-%h\n  ProxyCommand true %h:%p\n",
    aliases: ['tok-1', 'tok-2', 'plain-tok', 'Plain-Tok'],
    users: ['cli'],
    connect: true,
  },
  // HostName tokens ssh does not expand there are errors, for the hosts that use that HostName only.
  { text: 'Host bad-r\n  HostName %r.example\nHost bad-n\n  HostName %n.example\nHost good\n  HostName %h.example\n', aliases: ['bad-r', 'bad-n', 'good'] },
  // A criterion 9.2 lacks: ssh refuses the file, for every host.
  { text: 'Host a\n  User x\nMatch tagged web\n  Port 1\n', aliases: ['a', 'b'] },
  // Host and Match interleaved: the first value obtained wins, whichever block gave it.
  {
    text: 'Host web1\n  User from-host\nMatch host web*\n  User from-match\n  Port 3000\nHost *\n  Port 3001\n  HostName %h.lan\nMatch host *.lan\n  IdentityFile ~/.ssh/lan\n  HostName second\nMatch originalhost web1\n  HostName ignored\n  Port 3002\nHost web1.lan\n  User never-host-lines-see-hostname\n',
    aliases: ['web1', 'web2', 'db'],
  },
  // ProxyCommand and ProxyJump: whichever comes first wins, `none` included.
  {
    text: 'Host pc-first\n  ProxyCommand nc %h %p\n  ProxyJump j\nHost pj-first\n  ProxyJump ops@j1:2201,j2 # comment\n  ProxyCommand nc %h %p\nHost pc-none\n  ProxyCommand none\nHost pj-none\n  ProxyJump none\nHost *\n  ProxyJump fallback\n',
    aliases: ['pc-first', 'pj-first', 'pc-none', 'pj-none', 'other'],
  },
  // An Include under an inactive block is only parsed: its Match exec still runs, nothing applies.
  { text: 'Host x\n  Include inc-match.conf\n  Port 3100\nHost *\n  User star\n'.replace('inc-match.conf', join(dir, 'inc-match.conf')), aliases: ['x', 'y'], logsExec: true },
  // Host names: lower-cased, numeric addresses canonical (unless only the case differs), names with
  // `%` or `:` kept as written; Host patterns are case-sensitive.
  {
    text: 'Host Up\n  HostName Web.EXAMPLE.com\nHost up\n  User lower\nHost v6\n  HostName FE80:0:0::1\nHost v6m\n  HostName ::FFFF:1.2.3.4\nHost v4\n  HostName 127.1\nHost v4x\n  HostName 0x7f.1\nHost oct\n  HostName 08.1.1.1\nHost v6tie\n  HostName 2001:db8:0:0:1:0:0:1\nHost v6c\n  HostName 0:0::0.0.0.2\nHost odd\n  HostName Not:An.Address\nHost pct\n  HostName A%%B.Example\nHost scope\n  HostName FE80::1%%NOSUCHIF\n',
    aliases: ['Up', 'up', 'UP', 'v6', 'v6m', 'v4', 'v4x', 'oct', 'v6tie', 'v6c', 'odd', 'pct', 'scope', 'AB:CD', '1.2.3.X'],
  },
  // Quotes, escapes, `=` with blanks, trailing comments, a repeated IdentityFile, a service name as Port, CRLF line ends.
  {
    text: 'Host q1\r\n  IdentityFile ~/.ssh/back\\ slash\r\n  IdentityFile "~/.ssh/with space"\r\n  IdentityFile ~/.ssh/back\\ slash\r\n  User "quoted user"\r\nHost q2 # trailing comment\r\n  User=eq # comment\r\n  Port = 3200\r\nHost q3\r\n  Port ssh\r\n',
    aliases: ['q1', 'q2', 'q3'],
  },
  // Names ssh refuses on its command line (shell metacharacters) are refused here too.
  { text: 'Host *\n  Port 3300\n', aliases: ['ok', 'a;b', '-oProxyCommand=x', 'a b'], users: ['fine', 'x;y', '-u'] },
];

/** What ssh says, or that it refused. */
type Outcome = { refused: string } | { hostName: string | undefined; user: string | undefined; port: number; identityFiles: string[]; proxyJump: string | undefined; proxyCommand: string | undefined };

// What `ssh -G` says for the fields halyard uses.
function openssh(file: string, alias: string, user: string | undefined): Outcome {
  const run = spawnSync('ssh', ['-G', '-F', file, ...(user === undefined ? [] : ['-l', user]), '--', alias], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (run.status !== 0) return { refused: run.stderr.trim() };
  const fields: Record<string, string[]> = {};
  for (const line of run.stdout.split('\n')) {
    const at = line.indexOf(' ');
    if (at < 0) continue;
    (fields[line.slice(0, at)] ??= []).push(line.slice(at + 1));
  }
  const defaultKeys = ['~/.ssh/id_rsa', '~/.ssh/id_ecdsa', '~/.ssh/id_ecdsa_sk', '~/.ssh/id_ed25519', '~/.ssh/id_ed25519_sk', '~/.ssh/id_xmss', '~/.ssh/id_dsa'];
  const keys = (fields.identityfile ?? []).filter((key) => !defaultKeys.includes(key));
  return { hostName: fields.hostname?.[0], user: fields.user?.[0], port: Number(fields.port?.[0]), identityFiles: keys, proxyJump: fields.proxyjump?.[0], proxyCommand: fields.proxycommand?.[0] };
}

function halyard(config: SshConfigFile, alias: string, user: string | undefined): Outcome {
  try {
    const entry = config.lookup(alias, user);
    // ssh -G prints ProxyCommand with its tokens unexpanded, as halyard keeps it until it connects.
    return { hostName: entry.hostName, user: entry.user ?? localUserName(), port: entry.port ?? 22, identityFiles: entry.identityFiles, proxyJump: entry.proxyJump, proxyCommand: entry.proxyCommand };
  } catch (error) {
    if (!(error instanceof ConnectError)) throw error;
    return { refused: error.message };
  }
}

// The IdentityFile paths and ProxyCommand `ssh -v` uses (its ProxyCommand runs and the connection then fails).
function opensshConnect(file: string, alias: string, user: string | undefined): { identityFiles: string[]; proxyCommand: string | undefined } {
  const args = ['-v', '-F', file, '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=5', ...(user === undefined ? [] : ['-l', user]), '--', alias, 'true'];
  const run = spawnSync('ssh', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 20_000 });
  const defaults = ['id_rsa', 'id_ecdsa', 'id_ecdsa_sk', 'id_ed25519', 'id_ed25519_sk', 'id_xmss', 'id_dsa'].map((name) => join(home, '.ssh', name));
  const identityFiles: string[] = [];
  let proxyCommand: string | undefined;
  for (const line of run.stderr.split(/\r?\n/)) {
    const key = /^debug1: identity file (.*) type -?\d+$/.exec(line)?.[1];
    if (key !== undefined && !key.endsWith('-cert') && !defaults.includes(key)) identityFiles.push(key);
    const command = /^debug1: Executing proxy command: exec (.*)$/.exec(line)?.[1];
    if (command !== undefined) proxyCommand = command;
  }
  return { identityFiles, proxyCommand };
}

function readLog(): string {
  const text = existsSync(execLog) ? readFileSync(execLog, 'utf8') : '';
  rmSync(execLog, { force: true });
  return text;
}

describe('ssh_config against ssh -G', () => {
  it.each(CONFIGS.map((config, index) => [index, config] as const))('config %i', (index, config) => {
    const file = join(dir, `config-${index}`);
    writeFileSync(file, config.text);
    let ours: SshConfigFile | ConnectError;
    try {
      ours = SshConfigFile.parse(config.text, file, home);
    } catch (error) {
      if (!(error instanceof ConnectError)) throw error;
      ours = error;
    }
    for (const alias of config.aliases) {
      for (const user of [undefined, ...(config.users ?? [])]) {
        const label = `${alias}${user === undefined ? '' : ` -l ${user}`}`;
        readLog();
        const expected = openssh(file, alias, user);
        const sshLog = readLog();
        const actual = ours instanceof ConnectError ? { refused: ours.message } : halyard(ours, alias, user);
        const ourLog = readLog();
        if ('refused' in expected) {
          expect(actual, `${label}: ssh refused (${expected.refused})`).toHaveProperty('refused');
          continue;
        }
        expect(actual, label).toEqual(expected);
        if (config.logsExec) expect(ourLog, `${label}: Match exec side effects`).toBe(sshLog);
        if (config.connect && !(ours instanceof ConnectError)) {
          const used = opensshConnect(file, alias, user);
          const endpoint = resolveEndpoint(ours, { alias, user, port: undefined, privateKeyFile: undefined }, home);
          expect({ identityFiles: endpoint.identityFiles, proxyCommand: endpoint.proxyCommand }, `${label}: ssh -v`).toEqual(used);
        }
      }
    }
  });
});

import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { isIPv6 } from 'node:net';
import { homedir, hostname, userInfo } from 'node:os';
import { join } from 'node:path';
import { ConnectError } from '../core/errors.js';
import { childStderr, passOnStderr } from '../core/child-stdio.js';

// ssh_config is read here as OpenSSH 9.2's readconf.c and ssh.c read it (checked against `ssh -G`
// in test/ssh/ssh-config-oracle.test.ts): lines split like argv_split()/strdelim(), Include read in
// place, Host and Match evaluated in file order (Match exec run through the user's shell), the first
// value obtained for a keyword kept, a second "final" pass when a `Match final` asks for one.

/** The ssh_config settings halyard uses for one host alias (undefined: the file says nothing). */
export interface SshConfigEntry {
  /** The host OpenSSH connects to: HostName (%h expanded) or the alias, lower-cased, numeric addresses canonical. */
  hostName: string;
  user: string | undefined;
  port: number | undefined;
  /** As written (tokens and `~` not yet expanded), in file order, duplicates dropped. */
  identityFiles: string[];
  identitiesOnly: boolean;
  /** Raw ProxyJump value; `none` is returned as undefined. */
  proxyJump: string | undefined;
  /** Raw ProxyCommand (tokens not expanded); `none` is returned as undefined. */
  proxyCommand?: string;
  /** HostKeyAlias (the %k token of IdentityFile and ProxyCommand). */
  hostKeyAlias?: string;
}

/** One hop of a ProxyJump list: `[user@]host[:port]` or `ssh://[user@]host[:port]`. */
export interface JumpSpec {
  host: string;
  user: string | undefined;
  port: number | undefined;
}

/** Values the `%` tokens of IdentityFile and ProxyCommand expand to. */
export interface TokenValues {
  /** %h: the remote host name (after HostName). */
  host: string;
  /** %n: the alias as given. */
  alias: string;
  /** %p */
  port: number;
  /** %r: the remote user. */
  remoteUser: string;
  /** %u: the local user. */
  localUser: string;
  /** %d: the local home directory. */
  home: string;
  /** %k: HostKeyAlias; the alias when unset. */
  hostKeyAlias?: string;
  /** %l: this machine's host name (%L: up to its first dot); os.hostname() when unset. */
  localHost?: string;
  /** %i: the local user id; process.getuid() when unset. */
  uid?: number;
  /** Environment for `${VAR}` in IdentityFile; process.env when unset. */
  env?: NodeJS.ProcessEnv;
}

/** One Match criterion as written: `[!]name [argument]`. */
interface MatchCriterion {
  name: 'all' | 'canonical' | 'final' | 'host' | 'originalhost' | 'user' | 'localuser' | 'exec';
  negate: boolean;
  argument: string;
}

/** One ssh_config line, split as OpenSSH splits it. */
interface ConfigLine {
  /** `file:line`, for messages. */
  where: string;
  /** Lower-cased keyword. */
  keyword: string;
  /** The arguments as argv_split() yields them (quotes removed, stopped at a `#` word). */
  args: string[];
  /** The text after the keyword and its separator (ProxyCommand and ProxyJump take it whole). */
  rest: string;
  /** Match: the criteria, in order. */
  criteria?: MatchCriterion[];
  /** Include: each file read, in glob order, as lines. */
  included?: ConfigLine[][];
}

// The default ~/.ssh/config path, resolved at call time so tests can change HOME.
export function defaultSshConfigPath(): string {
  return join(homedir(), '.ssh', 'config');
}

// A parsed ssh_config that can answer per-alias questions; an absent file answers nothing.
export class SshConfigFile {
  readonly path: string | undefined;
  readonly #lines: ConfigLine[] | undefined;
  readonly #home: string;

  constructor(path: string | undefined, lines: ConfigLine[] | undefined, home = homedir()) {
    this.path = path;
    this.#lines = lines;
    this.#home = home;
  }

  // Whether answering for a host may run a command (`Match exec`): a connection opened ahead of
  // need (see connect.ts, the gate) must not run the user's commands for a host the run may skip.
  get runsCommands(): boolean {
    const anyExec = (lines: readonly ConfigLine[]): boolean =>
      lines.some((line) => line.criteria?.some((criterion) => criterion.name === 'exec') || line.included?.some(anyExec));
    return this.#lines !== undefined && anyExec(this.#lines);
  }

  // Loads the file once per run; `null` disables ssh_config, a missing file is empty.
  static async load(file: string | null | undefined): Promise<SshConfigFile> {
    if (file === null) return new SshConfigFile(undefined, undefined);
    const path = file ?? defaultSshConfigPath();
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return new SshConfigFile(path, undefined);
      throw new ConnectError('E_SSH_CONFIG', `cannot read ssh config ${path}: ${(error as Error).message}`, { cause: error });
    }
    return SshConfigFile.parse(text, path);
  }

  // Parses ssh_config text (tests build configs this way); a line OpenSSH would reject is an error naming file:line.
  static parse(text: string, path = '<inline>', home = homedir()): SshConfigFile {
    return new SshConfigFile(path, parseConfigText(text, path, home, 0), home);
  }

  // What OpenSSH obtains for one alias; `user` and `port` act as `ssh -l USER -p PORT` (they win, and Match user sees USER).
  lookup(alias: string, user?: string, port?: number): SshConfigEntry {
    checkCommandLineNames(alias, user);
    const obtained: ObtainedOptions = { user, port, identityFiles: [] };
    if (this.#lines) {
      const pass: PassState = { alias, hostPatternsMatch: alias, final: false, finalRequested: false, options: obtained, local: localFacts(this.#home) };
      applyLines(this.#lines, pass, { active: true }, false);
      // ssh.c: HostName takes effect between the passes, its %h being the alias.
      const host = canonicalHostName(currentHost(pass));
      const canonicalize = obtained.canonicalizeHostname;
      if (canonicalize && !['no', 'false'].includes(canonicalize.value.toLowerCase())) {
        throw new ConnectError(
          'E_SSH_CONFIG',
          `${canonicalize.where}: CanonicalizeHostname ${canonicalize.value} needs DNS canonicalisation, which halyard does not do; set HostName instead`,
        );
      }
      if (pass.finalRequested) {
        obtained.hostName = { value: host, where: obtained.hostName?.where ?? '' };
        applyLines(this.#lines, { ...pass, hostPatternsMatch: host, final: true }, { active: true }, false);
      }
      return entryFrom(obtained, host);
    }
    return entryFrom(obtained, canonicalHostName(alias));
  }
}

// ssh.c's valid_hostname() and valid_ruser() (Debian's 9.2 has them): ssh refuses a host or user
// given on its command line that holds shell metacharacters, as they could reach ProxyCommand's %h %n %r.
function checkCommandLineNames(alias: string, user: string | undefined): void {
  if (alias.startsWith('-') || /['`"$\\;&<>|(){}\t\n\v\f\r \p{Cc}]/u.test(alias)) {
    throw new ConnectError('E_SSH_CONFIG', `host ${JSON.stringify(alias)} contains characters ssh refuses in a host name`);
  }
  if (user !== undefined && (user.startsWith('-') || /['`";&<>|(){}]|[\t\n\v\f\r ]-|\\$/.test(user))) {
    throw new ConnectError('E_SSH_CONFIG', `user ${JSON.stringify(user)} contains characters ssh refuses in a remote user name`);
  }
}

/** The first value obtained for each keyword halyard uses, as readconf.c keeps them. */
interface ObtainedOptions {
  user: string | undefined;
  port: number | undefined;
  hostName?: { value: string; where: string };
  identityFiles: string[];
  identitiesOnly?: boolean;
  proxyCommand?: string;
  proxyJump?: string;
  hostKeyAlias?: string;
  canonicalizeHostname?: { value: string; where: string };
}

/** The local facts Match and the tokens read. */
interface LocalFacts {
  user: string;
  home: string;
  host: string;
  uid: number;
}

/** One pass over the config for one alias. */
interface PassState {
  /** The alias as given (OpenSSH's host_arg and original_host). */
  alias: string;
  /** What Host patterns are matched against: the alias, then in the final pass the canonical host. */
  hostPatternsMatch: string;
  final: boolean;
  /** Set by `Match final` during the first pass. */
  finalRequested: boolean;
  options: ObtainedOptions;
  local: LocalFacts;
}

function localFacts(home: string): LocalFacts {
  return { user: localUserName(), home, host: hostname(), uid: process.getuid?.() ?? 0 };
}

function entryFrom(options: ObtainedOptions, host: string): SshConfigEntry {
  const proxyCommand = options.proxyCommand;
  const proxyJump = options.proxyJump;
  return {
    ...(proxyCommand === undefined || proxyCommand.toLowerCase() === 'none' ? {} : { proxyCommand }),
    ...(options.hostKeyAlias === undefined ? {} : { hostKeyAlias: options.hostKeyAlias }),
    hostName: host,
    user: options.user,
    port: options.port,
    identityFiles: options.identityFiles.filter((file) => file.toLowerCase() !== 'none'),
    identitiesOnly: options.identitiesOnly ?? false,
    proxyJump: proxyJump === undefined || proxyJump.toLowerCase() === 'none' ? undefined : proxyJump,
  };
}

// ---------------------------------------------------------------------------------------------
// Reading lines

function configError(where: string, message: string): ConnectError {
  return new ConnectError('E_SSH_CONFIG', `${where}: ${message}`);
}

// Splits a file into lines as readconf.c's process_config_line_depth() does, reading Includes in place.
function parseConfigText(text: string, path: string, home: string, depth: number): ConfigLine[] {
  if (depth > 16) throw configError(path, 'Include nested too deeply (OpenSSH stops at 16 levels)');
  const lines: ConfigLine[] = [];
  for (const [index, raw] of text.split('\n').entries()) {
    const where = `${path}:${index + 1}`;
    const stripped = raw.replace(/[ \t\r\n\f]+$/, '');
    if (stripped === '') continue;
    let [keyword, rest] = strdelim(stripped);
    if (keyword === '') [keyword, rest] = strdelim(rest);
    if (keyword === null || keyword === '' || keyword.startsWith('#')) continue;
    keyword = keyword.toLowerCase();
    rest = rest === null ? '' : rest.replace(/^[ \t\r\n]+/, '');
    if (rest === '') throw configError(where, `no argument after keyword "${keyword}"`);
    const args = argvSplit(rest);
    if (!args) throw configError(where, 'invalid quotes');
    const line: ConfigLine = { where, keyword, args, rest };
    checkArguments(line);
    if (keyword === 'match') line.criteria = parseMatchCriteria(rest, where);
    if (keyword === 'include') line.included = readIncludes(line, home, depth);
    lines.push(line);
  }
  return lines;
}

// misc.c strdelim(): the next word, ended by whitespace or one `=`; a `"` quotes up to the next `"`.
// Returns the word and the rest (null: nothing follows); the word is null on an unterminated quote.
function strdelim(text: string | null): [string | null, string | null] {
  if (text === null) return [null, null];
  const at = text.search(/[ \t\r\n"=]/);
  if (at < 0) return [text, null];
  if (text[at] === '"') {
    const unquoted = text.slice(0, at) + text.slice(at + 1);
    const close = unquoted.indexOf('"', at);
    if (close < 0) return [null, null];
    return [unquoted.slice(0, close), unquoted.slice(close + 1).replace(/^[ \t\r\n]+/, '')];
  }
  const word = text.slice(0, at);
  let rest = text.slice(at + 1).replace(/^[ \t\r\n]+/, '');
  if (text[at] !== '=' && rest.startsWith('=')) rest = rest.slice(1).replace(/^[ \t\r\n]+/, '');
  return [word, rest];
}

// misc.c argv_split(): words split at blanks, '…' and "…" quoting, \\ \' \" and \<space> escapes,
// a word starting with `#` ending the line. Undefined when a quote is not closed.
function argvSplit(text: string): string[] | undefined {
  const words: string[] = [];
  let index = 0;
  while (index < text.length) {
    const first = text[index];
    if (first === ' ' || first === '\t') {
      index++;
      continue;
    }
    if (first === '#') break;
    let quote = '';
    let word = '';
    for (; index < text.length; index++) {
      const char = text[index]!;
      const next = text[index + 1];
      if (char === '\\' && (next === "'" || next === '"' || next === '\\' || (quote === '' && next === ' '))) {
        word += next;
        index++;
      } else if (quote === '' && (char === ' ' || char === '\t')) {
        break;
      } else if (quote === '' && (char === '"' || char === "'")) {
        quote = char;
      } else if (quote !== '' && char === quote) {
        quote = '';
      } else {
        word += char;
      }
    }
    if (quote !== '') return undefined;
    words.push(word);
  }
  return words;
}

/** Keywords halyard reads that take exactly one argument. */
const SINGLE_ARGUMENT = new Set(['hostname', 'user', 'port', 'identityfile', 'identitiesonly', 'hostkeyalias', 'canonicalizehostname']);

// The argument checks readconf.c makes on every line, whichever host it is for (ssh then refuses the whole file).
function checkArguments(line: ConfigLine): void {
  const { keyword, args, where } = line;
  if (SINGLE_ARGUMENT.has(keyword)) {
    if (args.length === 0 || args[0] === '') throw configError(where, `${keyword}: missing argument`);
    if (args.length > 1) throw configError(where, `keyword ${keyword} extra arguments at end of line`);
  }
  const value = args[0] ?? '';
  if (keyword === 'port') parsePort(value, where);
  if (keyword === 'identitiesonly') parseFlag(value, where, ['yes', 'true', 'no', 'false']);
  if (keyword === 'canonicalizehostname') parseFlag(value, where, ['yes', 'true', 'no', 'false', 'always']);
  if (keyword === 'proxyjump' && (args.length === 0 || args[0] === '')) throw configError(where, 'ProxyJump: missing argument');
  if (keyword === 'host' && args.some((arg) => arg === '')) throw configError(where, 'keyword host empty argument');
}

// misc.c a2port(): a decimal number 1-65535, or a service name from /etc/services.
function parsePort(text: string, where: string): number {
  const port = /^[+-]?\d+$/.test(text) ? Number(text) : serviceTcpPort(text);
  if (port === undefined || !Number.isInteger(port) || port < 1 || port > 65535) throw configError(where, `Bad port '${text}'`);
  return port;
}

function serviceTcpPort(name: string): number | undefined {
  let services: string;
  try {
    services = readFileSync('/etc/services', 'utf8');
  } catch {
    return undefined;
  }
  for (const line of services.split('\n')) {
    const [service, portProto, ...aliases] = line.replace(/#.*/, '').trim().split(/\s+/);
    const match = /^(\d+)\/tcp$/.exec(portProto ?? '');
    if (match && (service === name || aliases.includes(name))) return Number(match[1]);
  }
  return undefined;
}

function parseFlag(text: string, where: string, allowed: string[]): string {
  const value = text.toLowerCase();
  if (!allowed.includes(value)) throw configError(where, `unsupported option "${text}"`);
  return value;
}

/** The Match criteria OpenSSH 9.2 knows (`tagged`, `localnetwork` and others came later). */
const MATCH_CRITERIA = new Set(['canonical', 'final', 'host', 'originalhost', 'user', 'localuser', 'exec']);

// readconf.c match_cfg_line()'s reading of a Match line (strdelim words); what ssh rejects is an error here.
function parseMatchCriteria(condition: string, where: string): MatchCriterion[] {
  const criteria: MatchCriterion[] = [];
  let rest: string | null = condition;
  for (;;) {
    const [word, afterWord]: [string | null, string | null] = strdelim(rest);
    rest = afterWord;
    if (word === null || word === '' || word.startsWith('#')) break;
    const negate = word.startsWith('!');
    const name = (negate ? word.slice(1) : word).toLowerCase();
    if (name === 'all') {
      const [next] = strdelim(rest);
      if (criteria.length > 1 || (next !== null && next !== '' && !next.startsWith('#'))) {
        throw configError(where, `Match: '${word}' cannot be combined with other Match attributes`);
      }
      criteria.push({ name: 'all', negate, argument: '' });
      return criteria;
    }
    if (name === 'canonical' || name === 'final') {
      criteria.push({ name, negate, argument: '' });
      continue;
    }
    const [argument, afterArgument] = strdelim(rest);
    rest = afterArgument;
    if (argument === null || argument === '' || argument.startsWith('#')) throw configError(where, `Match: missing criteria for ${word}`);
    if (!MATCH_CRITERIA.has(name)) {
      throw configError(
        where,
        `Match: unsupported criterion "${negate ? word.slice(1) : word}" (OpenSSH 9.2 knows all, canonical, final, exec, host, originalhost, user, localuser)`,
      );
    }
    if (name === 'exec') checkTokens(argument, EXEC_TOKENS, 'Match exec', where);
    criteria.push({ name: name as MatchCriterion['name'], negate, argument });
  }
  if (criteria.length === 0) throw configError(where, 'Match: one or more attributes required');
  return criteria;
}

// OpenSSH's Include (readconf.c): each argument is a path (relative ones under ~/.ssh, `~` expanded)
// or a glob, files read in sorted order as if written at that point. Missing files are skipped, as
// OpenSSH skips them.
function readIncludes(line: ConfigLine, home: string, depth: number): ConfigLine[][] {
  const files: ConfigLine[][] = [];
  for (const pattern of line.args) {
    const absolute = pattern.startsWith('~') ? expandTilde(pattern, home, localUserName(), line.where) : pattern.startsWith('/') ? pattern : join(home, '.ssh', pattern);
    for (const file of globFiles(absolute)) {
      let included: string;
      try {
        included = readFileSync(file, 'utf8');
      } catch {
        continue;
      }
      files.push(parseConfigText(included, file, home, depth + 1));
    }
  }
  return files;
}

// Files matching a path whose segments may hold * ? [..] (glob(3)), sorted as glob(3) sorts them.
function globFiles(pattern: string): string[] {
  const segments = pattern.split('/').filter((segment, index) => segment !== '' || index === 0);
  let paths = [segments[0] === '' ? '/' : segments[0]!];
  for (const segment of segments.slice(1)) {
    if (!/[*?[]/.test(segment)) {
      paths = paths.map((base) => join(base, segment));
      continue;
    }
    const source = segment
      .replace(/[.+^${}()|\\]/g, '\\$&')
      .replace(/\[!/g, '[^')
      .replace(/\*/g, '[^/]*')
      .replace(/\?/g, '[^/]');
    const matcher = new RegExp(`^${source}$`);
    paths = paths.flatMap((base) => {
      try {
        return readdirSync(base)
          .filter((name) => (!name.startsWith('.') || segment.startsWith('.')) && matcher.test(name))
          .map((name) => join(base, name));
      } catch {
        return [];
      }
    });
  }
  return paths.sort();
}

// ---------------------------------------------------------------------------------------------
// Evaluating lines for one alias

// readconf.c's loop over one file: Host and Match switch `active`; an Include is read with the
// enclosing block's state (a file under an inactive block is only parsed: its Host and Match never
// apply, though Match exec still runs, as in OpenSSH) and the block goes on after it.
function applyLines(lines: ConfigLine[], pass: PassState, state: { active: boolean }, neverMatch: boolean): void {
  for (const line of lines) {
    switch (line.keyword) {
      case 'host':
        state.active = !neverMatch && hostLineMatches(line.args, pass.hostPatternsMatch);
        break;
      case 'match': {
        const matched = matchLineMatches(line, pass);
        state.active = !neverMatch && matched;
        break;
      }
      case 'include': {
        const enclosing = state.active;
        for (const file of line.included ?? []) {
          applyLines(file, pass, state, neverMatch || !enclosing);
          state.active = enclosing;
        }
        break;
      }
      default:
        if (state.active) obtain(line, pass.options);
    }
  }
}

// Keeps the first value of each keyword halyard uses (IdentityFile accumulates).
function obtain(line: ConfigLine, options: ObtainedOptions): void {
  const value = line.args[0] ?? '';
  switch (line.keyword) {
    case 'hostname':
      options.hostName ??= { value, where: line.where };
      break;
    case 'user':
      options.user ??= value;
      break;
    case 'port':
      options.port ??= parsePort(value, line.where);
      break;
    case 'identityfile':
      if (!options.identityFiles.includes(value)) options.identityFiles.push(value);
      break;
    case 'identitiesonly':
      options.identitiesOnly ??= ['yes', 'true'].includes(value.toLowerCase());
      break;
    case 'hostkeyalias':
      options.hostKeyAlias ??= value;
      break;
    case 'canonicalizehostname':
      options.canonicalizeHostname ??= { value, where: line.where };
      break;
    // ProxyCommand and ProxyJump exclude each other: whichever comes first wins (`none` included).
    case 'proxycommand':
      if (options.proxyJump === undefined) options.proxyCommand ??= line.rest.replace(/^[ \t\r\n=]+/, '');
      break;
    case 'proxyjump': {
      if (options.proxyJump !== undefined || options.proxyCommand !== undefined) break;
      const jump = line.rest.replace(/^[ \t\r\n=]+/, '').replace(/#.*/, '').trimEnd();
      options.proxyJump = jump;
      if (jump.toLowerCase() !== 'none') options.proxyCommand = 'none';
      break;
    }
    default:
      break;
  }
}

// readconf.c's Host line: any pattern matching (case-sensitively) selects the block; a matching `!pattern` refuses it.
function hostLineMatches(patterns: string[], host: string): boolean {
  let matched = false;
  for (const pattern of patterns) {
    const negated = pattern.startsWith('!');
    if (!matchPattern(host, negated ? pattern.slice(1) : pattern)) continue;
    if (negated) return false;
    matched = true;
  }
  return matched;
}

// The host Match host and %h see: in the first pass HostName with %h expanded (not yet lower-cased),
// in the final pass the canonical host.
function currentHost(pass: PassState): string {
  const hostName = pass.options.hostName;
  if (pass.final && hostName) return hostName.value;
  if (!hostName) return pass.alias;
  return expandTokens(hostName.value, { h: pass.alias }, 'HostName', hostName.where);
}

// readconf.c match_cfg_line(): every criterion must hold; exec is skipped once one has failed;
// canonical and final hold only in the final pass (CanonicalizeHostname being off here).
function matchLineMatches(line: ConfigLine, pass: PassState): boolean {
  const host = currentHost(pass);
  const remoteUser = pass.options.user ?? pass.local.user;
  let result = true;
  for (const criterion of line.criteria ?? []) {
    let holds: boolean;
    switch (criterion.name) {
      case 'all':
        return result ? !criterion.negate : false;
      case 'final':
        if (!pass.final) pass.finalRequested = true;
        holds = pass.final;
        break;
      case 'canonical':
        holds = pass.final;
        break;
      case 'host':
        holds = matchPatternList(host.toLowerCase(), criterion.argument, true) === 1;
        break;
      case 'originalhost':
        holds = matchPatternList(pass.alias.toLowerCase(), criterion.argument, true) === 1;
        break;
      case 'user':
        holds = matchPatternList(remoteUser, criterion.argument, false) === 1;
        break;
      case 'localuser':
        holds = matchPatternList(pass.local.user, criterion.argument, false) === 1;
        break;
      case 'exec': {
        if (!result) continue;
        const port = pass.options.port ?? 22;
        const tokens = clientTokens({ host, alias: pass.alias, port, remoteUser, localUser: pass.local.user, home: pass.local.home, hostKeyAlias: pass.options.hostKeyAlias ?? host, localHost: pass.local.host, uid: pass.local.uid });
        holds = runMatchExec(expandTokens(criterion.argument, tokens, 'Match exec', line.where), line.where) === 0;
        break;
      }
    }
    if (holds === criterion.negate) result = false;
  }
  return result;
}

// readconf.c execute_in_shell(): `$SHELL -c COMMAND` (/bin/sh without SHELL), stdin and stdout on
// /dev/null, stderr shown; its exit status decides. A command killed by a signal is an error, as in ssh.
function runMatchExec(command: string, where: string): number {
  const shell = process.env.SHELL ?? '/bin/sh';
  const run = spawnSync(shell, ['-c', command], { stdio: ['ignore', 'ignore', childStderr()] });
  passOnStderr(run.stderr);
  if (run.error) throw configError(where, `Match exec cannot run ${shell}: ${run.error.message}`);
  if (run.status === null) throw configError(where, `Match exec '${command}' exited abnormally (${run.signal ?? 'no status'})`);
  return run.status;
}

// match.c match_pattern(): `*` any run of characters, `?` exactly one, the whole string.
function matchPattern(text: string, pattern: string): boolean {
  const source = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${source}$`, 's').test(text);
}

// match.c match_pattern_list(): comma-separated patterns; 1 if one matches, -1 if a `!pattern` matches, else 0.
function matchPatternList(text: string, list: string, lowerCasePatterns: boolean): number {
  let positive = 0;
  for (const item of list.split(',')) {
    const negated = item.startsWith('!');
    let pattern = negated ? item.slice(1) : item;
    if (lowerCasePatterns) pattern = pattern.toLowerCase();
    if (!matchPattern(text, pattern)) continue;
    if (negated) return -1;
    positive = 1;
  }
  return positive;
}

// ---------------------------------------------------------------------------------------------
// Host names and tokens

// ssh.c after the first pass: a numeric address in its canonical form (getaddrinfo/getnameinfo),
// kept as written when that differs only in case; a name with `%` or `:` (it looks like an address)
// kept as written; any other name lower-cased.
function canonicalHostName(host: string): string {
  const numeric = canonicalIPv4(host) ?? canonicalIPv6(host);
  if (numeric === undefined) return /[%:]/.test(host) ? host : host.toLowerCase();
  return numeric.toLowerCase() === host.toLowerCase() ? host : numeric;
}

// glibc inet_aton(): 1 to 4 parts, each decimal, 0x hex or 0 octal; the last part fills the remaining bytes.
function canonicalIPv4(text: string): string | undefined {
  const parts = text.split('.');
  if (parts.length > 4) return undefined;
  const values: number[] = [];
  for (const part of parts) {
    if (/^0[xX][0-9a-fA-F]+$/.test(part)) values.push(parseInt(part.slice(2), 16));
    else if (/^0[0-7]*$/.test(part)) values.push(parseInt(part, 8));
    else if (/^[1-9]\d*$/.test(part)) values.push(Number(part));
    else return undefined;
  }
  const last = values.pop()!;
  if (values.some((value) => value > 0xff)) return undefined;
  const lastBytes = 4 - values.length;
  if (last >= 2 ** (8 * lastBytes)) return undefined;
  const bytes = [...values];
  for (let index = lastBytes - 1; index >= 0; index--) bytes.push(Math.floor(last / 2 ** (8 * index)) % 256);
  return bytes.join('.');
}

// glibc inet_ntop(): lower-case hex groups without leading zeros, the longest (leftmost) run of two
// or more zero groups as `::`, an IPv4-compatible or -mapped tail in dotted form.
function canonicalIPv6(text: string): string | undefined {
  if (text.includes('%') || !isIPv6(text)) return undefined;
  let address = text;
  const tail = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(address);
  if (tail) {
    const [a, b, c, d] = tail.slice(1).map(Number) as [number, number, number, number];
    address = `${address.slice(0, tail.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, rest] = address.split('::') as [string, string | undefined];
  const groups = (part: string) => (part === '' ? [] : part.split(':').map((group) => parseInt(group, 16)));
  const left = groups(head);
  const right = rest === undefined ? [] : groups(rest);
  const words = rest === undefined ? left : [...left, ...Array<number>(8 - left.length - right.length).fill(0), ...right];
  let best = { base: -1, length: 0 };
  let current = { base: -1, length: 0 };
  for (const [index, word] of words.entries()) {
    if (word === 0) {
      current = current.base === -1 ? { base: index, length: 1 } : { base: current.base, length: current.length + 1 };
      if (current.length > best.length) best = current;
    } else {
      current = { base: -1, length: 0 };
    }
  }
  if (best.length < 2) best = { base: -1, length: 0 };
  if (best.base === 0 && (best.length === 6 || (best.length === 5 && words[5] === 0xffff))) {
    const prefix = best.length === 6 ? '::' : '::ffff:';
    return `${prefix}${[words[6]! >> 8, words[6]! & 0xff, words[7]! >> 8, words[7]! & 0xff].join('.')}`;
  }
  let out = '';
  for (let index = 0; index < 8; index++) {
    if (index === best.base) {
      out += '::';
      index += best.length - 1;
      continue;
    }
    if (out !== '' && !out.endsWith(':')) out += ':';
    out += words[index]!.toString(16);
  }
  return out;
}

/** Tokens Match exec accepts (readconf.c, 9.2): the client set. */
const EXEC_TOKENS = 'CLdhklnpriu';
/** Tokens ProxyCommand accepts (sshconnect.c expand_proxy_command, 9.2). */
const PROXY_COMMAND_TOKENS = 'hknpr';

// OpenSSH's DEFAULT_CLIENT_PERCENT_EXPAND_ARGS: what IdentityFile (and Match exec) tokens expand to.
function clientTokens(values: TokenValues): Record<string, string> {
  const localHost = values.localHost ?? hostname();
  const port = String(values.port);
  return {
    C: createHash('sha1').update(`${localHost}${values.host}${port}${values.remoteUser}`).digest('hex'),
    L: localHost.split('.')[0] ?? localHost,
    i: String(values.uid ?? process.getuid?.() ?? 0),
    k: values.hostKeyAlias ?? values.alias,
    l: localHost,
    n: values.alias,
    p: port,
    d: values.home,
    h: values.host,
    r: values.remoteUser,
    u: values.localUser,
  };
}

function pick(tokens: Record<string, string>, keys: string): Record<string, string> {
  return Object.fromEntries([...keys].map((key) => [key, tokens[key] ?? '']));
}

// misc.c percent_expand(): `%%` is `%`, `%X` a known token, anything else an error as in ssh;
// with `env`, `${VAR}` is the environment variable (an unset one is an error).
function expandTokens(text: string, tokens: Record<string, string>, field: string, where: string | undefined, env?: NodeJS.ProcessEnv): string {
  const fail = (message: string) => new ConnectError('E_SSH_CONFIG', `${where ? `${where}: ` : ''}${field} ${JSON.stringify(text)}: ${message}`);
  let out = '';
  for (let index = 0; index < text.length; index++) {
    const char = text[index];
    if (env && char === '$' && text[index + 1] === '{') {
      const end = text.indexOf('}', index + 2);
      if (end < 0) throw fail('environment variable missing closing }');
      const name = text.slice(index + 2, end);
      if (name === '') throw fail('zero-length environment variable');
      const value = env[name];
      if (value === undefined) throw fail(`env var \${${name}} has no value`);
      out += value;
      index = end;
      continue;
    }
    if (char !== '%') {
      out += char;
      continue;
    }
    const key = text[++index];
    if (key === '%') out += '%';
    else if (key === undefined) throw fail('ends with a lone %');
    else if (Object.hasOwn(tokens, key)) out += tokens[key];
    else throw fail(`unknown token %${key} (OpenSSH 9.2 expands ${Object.keys(tokens).map((token) => `%${token}`).join(' ')} %% there)`);
  }
  return out;
}

function checkTokens(text: string, keys: string, field: string, where: string): void {
  expandTokens(text, Object.fromEntries([...keys].map((key) => [key, ''])), field, where);
}

// misc.c tilde_expand_filename(): `~` and `~/path` are the home directory; `~user` only for the local user.
function expandTilde(path: string, home: string, localUser: string, where?: string): string {
  if (!path.startsWith('~')) return path;
  const slash = path.indexOf('/');
  const name = slash < 0 ? path.slice(1) : path.slice(1, slash);
  if (name !== '' && name !== localUser) {
    throw new ConnectError('E_SSH_CONFIG', `${where ? `${where}: ` : ''}cannot expand ~${name} in ${JSON.stringify(path)}: halyard expands ~ and ~/ only`);
  }
  return `${home.replace(/\/$/, '')}/${slash < 0 ? '' : path.slice(slash + 1)}`;
}

// ---------------------------------------------------------------------------------------------
// ProxyJump and endpoints

// Splits a ProxyJump value into hops, first hop first.
export function parseProxyJump(value: string): JumpSpec[] {
  return value
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '')
    .map((part) => parseJumpHop(part));
}

function parseJumpHop(text: string): JumpSpec {
  let rest = text.startsWith('ssh://') ? text.slice('ssh://'.length).replace(/\/$/, '') : text;
  let user: string | undefined;
  const at = rest.lastIndexOf('@');
  if (at >= 0) {
    user = rest.slice(0, at);
    rest = rest.slice(at + 1);
  }
  let host = rest;
  let port: number | undefined;
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(rest);
  if (bracketed) {
    host = bracketed[1] ?? '';
    port = bracketed[2] === undefined ? undefined : Number(bracketed[2]);
  } else {
    const colon = rest.lastIndexOf(':');
    // One colon means host:port; more than one is a bare IPv6 address.
    if (colon >= 0 && rest.indexOf(':') === colon) {
      host = rest.slice(0, colon);
      port = Number(rest.slice(colon + 1));
    }
  }
  if (!host || (port !== undefined && (!Number.isInteger(port) || port < 1 || port > 65535))) {
    throw new ConnectError('E_SSH_CONFIG', `bad ProxyJump hop ${JSON.stringify(text)}`);
  }
  return { host, user: user || undefined, port };
}

// An IdentityFile path as ssh loads it: `~` first, then ${VAR} and the tokens %C %L %i %k %l %n %p %d %h %r %u %%.
export function expandSshPath(path: string, values: TokenValues): string {
  const expanded = expandTilde(path, values.home, values.localUser);
  return expandTokens(expanded, clientTokens(values), 'IdentityFile', undefined, values.env ?? process.env);
}

// The local login name, the user OpenSSH connects as when nothing else says.
export function localUserName(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? 'root';
  }
}

/** Where and as whom to connect to one hop, after inventory and ssh_config are merged. */
export interface ResolvedEndpoint {
  /** The alias looked up in ssh_config (the inventory address, or a jump host as written). */
  alias: string;
  host: string;
  port: number;
  user: string;
  /** Explicit key file (inventory), else expanded IdentityFile entries, in order. */
  identityFiles: string[];
  /** True when identityFiles came from the inventory (an unusable file is then an error). */
  identityFilesExplicit: boolean;
  identitiesOnly: boolean;
  /** Jump hosts to pass through, first hop first (each itself resolved through ssh_config). */
  jumps: ResolvedEndpoint[];
  /** ProxyCommand with its tokens expanded: run by `sh -c`, its stdin/stdout carry the connection. */
  proxyCommand?: string;
}

/** The inventory's side of the merge; undefined means the inventory said nothing. */
export interface InventoryEndpoint {
  alias: string;
  user: string | undefined;
  /** Undefined (or the default 22 when `portIsDefault`) lets ssh_config's Port apply. */
  port: number | undefined;
  privateKeyFile: string | undefined;
  /** From the inventory's ssh arguments: beats ssh_config's ProxyCommand and ProxyJump. */
  route?: { proxyCommand?: string; proxyJump?: string };
}

// Merges inventory values (explicit, they win) over ssh_config values over defaults, for a host and its jumps.
export function resolveEndpoint(config: SshConfigFile, inventory: InventoryEndpoint, home = homedir()): ResolvedEndpoint {
  return resolveHop(config, inventory, home, 0);
}

function resolveHop(config: SshConfigFile, inventory: InventoryEndpoint, home: string, depth: number): ResolvedEndpoint {
  if (depth > 8) throw new ConnectError('E_SSH_CONFIG', `ProxyJump chain too deep at ${inventory.alias}`);
  // The inventory's user and port are ssh's -l and -p: Match user and Match exec's %r and %p see them.
  const entry = config.lookup(inventory.alias, inventory.user, inventory.port);
  const host = entry.hostName;
  const port = inventory.port ?? entry.port ?? 22;
  const user = inventory.user ?? entry.user ?? localUserName();
  const values: TokenValues = {
    host,
    alias: inventory.alias,
    port,
    remoteUser: user,
    localUser: localUserName(),
    home,
    hostKeyAlias: entry.hostKeyAlias?.toLowerCase() ?? inventory.alias,
  };
  const explicit = inventory.privateKeyFile !== undefined;
  const identityFiles = explicit
    ? [expandSshPath(inventory.privateKeyFile as string, values)]
    : entry.identityFiles.map((file) => expandSshPath(file, values));

  if (inventory.route) {
    entry.proxyJump = inventory.route.proxyJump;
    if (inventory.route.proxyCommand) entry.proxyCommand = inventory.route.proxyCommand;
    else delete entry.proxyCommand;
  }
  if (entry.proxyJump && entry.proxyCommand) {
    throw new ConnectError('E_SSH_CONFIG', `${config.path}: host ${inventory.alias} has both ProxyJump and ProxyCommand; keep one`);
  }
  const jumps: ResolvedEndpoint[] = [];
  if (entry.proxyJump) {
    const hops = parseProxyJump(entry.proxyJump);
    for (const [index, hop] of hops.entries()) {
      const resolved = resolveHop(config, { alias: hop.host, user: hop.user, port: hop.port, privateKeyFile: undefined }, home, depth + 1);
      // A hop's own ProxyJump only matters for the first hop (later hops are reached through the earlier ones).
      if (index > 0) resolved.jumps = [];
      if (index === 0) jumps.push(...resolved.jumps);
      jumps.push({ ...resolved, jumps: [] });
    }
  }
  return {
    alias: inventory.alias,
    host,
    port,
    user,
    identityFiles,
    identityFilesExplicit: explicit,
    identitiesOnly: entry.identitiesOnly,
    jumps,
    ...(entry.proxyCommand ? { proxyCommand: expandProxyCommand(entry.proxyCommand, values) } : {}),
  };
}

// ProxyCommand's tokens as OpenSSH 9.2 expands them (%h %k %n %p %r %%; any other is an error, as in ssh).
export function expandProxyCommand(command: string, values: TokenValues): string {
  return expandTokens(command, pick(clientTokens(values), PROXY_COMMAND_TOKENS), 'ProxyCommand', undefined);
}

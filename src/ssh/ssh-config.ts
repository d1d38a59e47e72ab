import { readdirSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { homedir, userInfo } from 'node:os';
import { join } from 'node:path';
import SSHConfig from 'ssh-config';
import { ConnectError } from '../core/errors.js';

/** The ssh_config settings halyard uses for one host alias (undefined: the file says nothing). */
export interface SshConfigEntry {
  hostName: string | undefined;
  user: string | undefined;
  port: number | undefined;
  /** As written (tokens and `~` not yet expanded), in file order. */
  identityFiles: string[];
  identitiesOnly: boolean;
  /** Raw ProxyJump value; `none` is returned as undefined. */
  proxyJump: string | undefined;
  /** Raw ProxyCommand (tokens not expanded); `none` is returned as undefined. */
  proxyCommand?: string;
}

/** One hop of a ProxyJump list: `[user@]host[:port]` or `ssh://[user@]host[:port]`. */
export interface JumpSpec {
  host: string;
  user: string | undefined;
  port: number | undefined;
}

/** Values the `%` tokens of IdentityFile expand to. */
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
}

// The default ~/.ssh/config path, resolved at call time so tests can change HOME.
export function defaultSshConfigPath(): string {
  return join(homedir(), '.ssh', 'config');
}

// A parsed ssh_config that can answer per-alias questions; an absent file answers nothing.
export class SshConfigFile {
  readonly path: string | undefined;
  readonly #config: SSHConfig | undefined;

  constructor(path: string | undefined, config: SSHConfig | undefined) {
    this.path = path;
    this.#config = config;
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

  // Parses ssh_config text (tests build configs this way); `Include`s are read as OpenSSH reads them.
  static parse(text: string, path = '<inline>', home = homedir()): SshConfigFile {
    const expanded = expandIncludes(text, path, home, 0);
    try {
      return new SshConfigFile(path, SSHConfig.parse(expanded));
    } catch (error) {
      throw new ConnectError('E_SSH_CONFIG', `cannot parse ssh config ${path}: ${(error as Error).message}`, { cause: error });
    }
  }

  // First-obtained-value-wins lookup for one alias; `Match exec` is never run.
  lookup(alias: string, user?: string): SshConfigEntry {
    const empty: SshConfigEntry = {
      hostName: undefined,
      user: undefined,
      port: undefined,
      identityFiles: [],
      identitiesOnly: false,
      proxyJump: undefined,
    };
    if (!this.#config) return empty;
    const computed = this.#config.compute(user ? { Host: alias, User: user } : { Host: alias }, { ignoreCase: true, matchExec: false });
    const first = (key: string): string | undefined => {
      const value = computed[key];
      return Array.isArray(value) ? value[0] : value;
    };
    const all = (key: string): string[] => {
      const value = computed[key];
      return value === undefined ? [] : Array.isArray(value) ? value : [value];
    };
    const portText = first('port');
    const port = portText === undefined ? undefined : Number(portText);
    if (port !== undefined && (!Number.isInteger(port) || port < 1 || port > 65535)) {
      throw new ConnectError('E_SSH_CONFIG', `${this.path}: bad Port ${JSON.stringify(portText)} for host ${alias}`);
    }
    const proxyJump = first('proxyjump');
    const proxyCommand = first('proxycommand');
    return {
      ...(proxyCommand === undefined || proxyCommand.toLowerCase() === 'none' ? {} : { proxyCommand }),
      hostName: first('hostname'),
      user: first('user'),
      port,
      identityFiles: all('identityfile').filter((file) => file.toLowerCase() !== 'none'),
      identitiesOnly: first('identitiesonly')?.toLowerCase() === 'yes',
      proxyJump: proxyJump === undefined || proxyJump.toLowerCase() === 'none' ? undefined : proxyJump,
    };
  }
}

// OpenSSH's Include (readconf.c): each argument is a path (relative ones under ~/.ssh, `~` expanded)
// or a glob, files read in sorted order as if written at that point; after them, the enclosing
// Host or Match block (or the global section) goes on. Missing files are skipped, as OpenSSH
// skips them; nesting stops at 16 levels.
function expandIncludes(text: string, path: string, home: string, depth: number): string {
  if (depth > 16) throw new ConnectError('E_SSH_CONFIG', `${path}: Include nested too deeply`);
  const out: string[] = [];
  let block = 'Host *';
  for (const line of text.split(/\r?\n/)) {
    const words = line.trim().split(/[\s=]+/);
    const keyword = (words[0] ?? '').toLowerCase();
    if (keyword === 'host' || keyword === 'match') block = line.trim();
    if (keyword !== 'include') {
      out.push(line);
      continue;
    }
    for (const pattern of words.slice(1)) {
      const absolute = pattern.startsWith('~/') ? join(home, pattern.slice(2)) : pattern.startsWith('/') ? pattern : join(home, '.ssh', pattern);
      for (const file of globFiles(absolute)) {
        let included: string;
        try {
          included = readFileSync(file, 'utf8');
        } catch {
          continue;
        }
        out.push(expandIncludes(included, file, home, depth + 1));
      }
    }
    out.push(block);
  }
  return out.join('\n');
}

// Files matching a path whose segments may hold * ? [..] (glob(3)), in sorted order.
function globFiles(pattern: string): string[] {
  const segments = pattern.split('/').filter((segment, index) => segment !== '' || index === 0);
  let paths = [segments[0] === '' ? '/' : segments[0]!];
  for (const segment of segments.slice(1)) {
    if (!/[*?[]/.test(segment)) {
      paths = paths.map((base) => join(base, segment));
      continue;
    }
    const matcher = new RegExp(`^${segment.replace(/[.+^${}()|\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]')}$`);
    paths = paths.flatMap((base) => {
      try {
        return readdirSync(base)
          .filter((name) => !name.startsWith('.') && matcher.test(name))
          .sort()
          .map((name) => join(base, name));
      } catch {
        return [];
      }
    });
  }
  return paths;
}

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

// Expands `~` and the simple ssh_config tokens (%h %n %p %r %u %d %%) in a path.
export function expandSshPath(path: string, values: TokenValues): string {
  const expanded = expandTokens(path, values);
  if (expanded === '~') return values.home;
  if (expanded.startsWith('~/')) return join(values.home, expanded.slice(2));
  return expanded;
}

// The simple ssh_config tokens: %h %n %p %r %u %d and %%.
function expandTokens(text: string, values: TokenValues): string {
  return text.replace(/%([%hnprud])/g, (_match, token: string) => {
    switch (token) {
      case '%':
        return '%';
      case 'h':
        return values.host;
      case 'n':
        return values.alias;
      case 'p':
        return String(values.port);
      case 'r':
        return values.remoteUser;
      case 'u':
        return values.localUser;
      default:
        return values.home;
    }
  });
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
  const entry = config.lookup(inventory.alias, inventory.user);
  // HostName may itself hold %h (the alias).
  const host = (entry.hostName ?? inventory.alias).replace(/%([%h])/g, (_m, token: string) => (token === '%' ? '%' : inventory.alias));
  const port = inventory.port ?? entry.port ?? 22;
  const user = inventory.user ?? entry.user ?? localUserName();
  const values: TokenValues = { host, alias: inventory.alias, port, remoteUser: user, localUser: localUserName(), home };
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

// ProxyCommand's tokens as OpenSSH expands them (%h %p %r %n %u %d %%).
export function expandProxyCommand(command: string, values: TokenValues): string {
  return expandTokens(command, values);
}

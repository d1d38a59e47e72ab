import { readFileSync, statSync } from 'node:fs';
import { fileKind, isAccessibleFile } from '../core/file-kind.js';
import { homedir } from 'node:os';
import { dirname, extname, isAbsolute, join, resolve } from 'node:path';
import { HalyardError } from '../core/errors.js';
import { ExitCode } from '../core/exit-codes.js';

// The settings of an Ansible repository's ansible.cfg (and ANSIBLE_* variables) that halyard uses,
// read as ansible-core 2.14 reads them (config/manager.py, config/base.yml): the first existing
// file of $ANSIBLE_CONFIG, ./ansible.cfg (not in a world-writable directory), ~/.ansible.cfg,
// /etc/ansible/ansible.cfg; INI with `#`/`;` line comments and ` ;` inline comments only;
// environment variables beat the file.
export interface AnsibleSettings {
  /** The file read, if any. */
  file?: string;
  /** `inventory` / ANSIBLE_INVENTORY: paths, relative to the file's folder (the cwd for env). */
  inventory?: string[];
  remoteUser?: string;
  privateKeyFile?: string;
  forks?: number;
  become?: boolean;
  becomeUser?: string;
  becomeMethod?: string;
  hostKeyChecking?: boolean;
  vaultPasswordFile?: string;
}

export class AnsibleConfigError extends HalyardError {
  constructor(message: string, file: string) {
    super('E_ANSIBLE_CFG', `${file}: ${message}`, { exitCode: ExitCode.InputError });
  }
}

// Where the settings come from: the process's environment, working directory and home.
export interface SettingsPlace {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  home?: string;
}

// The settings in effect here (file, then environment on top).
export function ansibleSettings(place: SettingsPlace = {}): AnsibleSettings {
  const env = place.env ?? process.env;
  const cwd = place.cwd ?? process.cwd();
  const file = findAnsibleCfg(env, cwd, place.home ?? homedir());
  const settings: AnsibleSettings = file ? readAnsibleCfg(file) : {};
  return withEnvironment(settings, env, cwd);
}

// The first config file Ansible would read, or undefined.
export function findAnsibleCfg(env: NodeJS.ProcessEnv, cwd: string, home: string): string | undefined {
  const candidates: string[] = [];
  if (env.ANSIBLE_CONFIG) {
    const given = resolve(cwd, expandHome(env.ANSIBLE_CONFIG, home));
    candidates.push(fileKind(given) === 'dir' ? join(given, 'ansible.cfg') : given);
  }
  if (!worldWritable(cwd)) candidates.push(join(cwd, 'ansible.cfg'));
  candidates.push(join(home, '.ansible.cfg'), '/etc/ansible/ansible.cfg');
  return candidates.find((candidate) => isAccessibleFile(candidate, 'read'));
}

// Parses one ansible.cfg (configparser: sections, `key = value` or `key: value`, keys in any case).
export function readAnsibleCfg(file: string): AnsibleSettings {
  if (!['.cfg', '.ini'].includes(extname(file))) throw new AnsibleConfigError('an Ansible config file must end in .cfg or .ini', file);
  const sections = parseIni(readFileSync(file, 'utf8'), file);
  const get = (section: string, key: string) => sections.get(section)?.get(key);
  const base = dirname(file);
  const settings: AnsibleSettings = { file };
  const inventory = get('defaults', 'inventory') ?? get('defaults', 'hostfile');
  if (inventory !== undefined) settings.inventory = pathList(inventory, base);
  const remoteUser = get('defaults', 'remote_user');
  if (remoteUser !== undefined) settings.remoteUser = unquote(remoteUser);
  const key = get('defaults', 'private_key_file');
  if (key !== undefined) settings.privateKeyFile = pathOf(key, base);
  const forks = get('defaults', 'forks');
  if (forks !== undefined) settings.forks = integer(forks, 'forks', file);
  const become = get('privilege_escalation', 'become');
  if (become !== undefined) settings.become = boolean(become);
  const becomeUser = get('privilege_escalation', 'become_user');
  if (becomeUser !== undefined) settings.becomeUser = unquote(becomeUser);
  const becomeMethod = get('privilege_escalation', 'become_method');
  if (becomeMethod !== undefined) settings.becomeMethod = unquote(becomeMethod);
  // [ssh_connection] is read after [defaults]: it wins.
  const checking = get('ssh_connection', 'host_key_checking') ?? get('defaults', 'host_key_checking');
  if (checking !== undefined) settings.hostKeyChecking = boolean(checking);
  const vault = get('defaults', 'vault_password_file');
  if (vault !== undefined) settings.vaultPasswordFile = pathOf(vault, base);
  return settings;
}

// ANSIBLE_* variables beat the file; their relative paths resolve against the working directory.
function withEnvironment(settings: AnsibleSettings, env: NodeJS.ProcessEnv, cwd: string): AnsibleSettings {
  const out = { ...settings };
  if (env.ANSIBLE_INVENTORY) out.inventory = pathList(env.ANSIBLE_INVENTORY, cwd);
  if (env.ANSIBLE_REMOTE_USER) out.remoteUser = unquote(env.ANSIBLE_REMOTE_USER);
  if (env.ANSIBLE_PRIVATE_KEY_FILE) out.privateKeyFile = pathOf(env.ANSIBLE_PRIVATE_KEY_FILE, cwd);
  if (env.ANSIBLE_FORKS) out.forks = integer(env.ANSIBLE_FORKS, 'ANSIBLE_FORKS', 'environment');
  if (env.ANSIBLE_BECOME) out.become = boolean(env.ANSIBLE_BECOME);
  if (env.ANSIBLE_BECOME_USER) out.becomeUser = unquote(env.ANSIBLE_BECOME_USER);
  if (env.ANSIBLE_BECOME_METHOD) out.becomeMethod = unquote(env.ANSIBLE_BECOME_METHOD);
  const checking = env.ANSIBLE_SSH_HOST_KEY_CHECKING ?? env.ANSIBLE_HOST_KEY_CHECKING;
  if (checking) out.hostKeyChecking = boolean(checking);
  if (env.ANSIBLE_VAULT_PASSWORD_FILE) out.vaultPasswordFile = pathOf(env.ANSIBLE_VAULT_PASSWORD_FILE, cwd);
  return out;
}

// configparser with inline_comment_prefixes=(';',): `#`/`;` start a comment only at a line's start,
// ` ;` ends a value; a duplicate section or key is an error; keys are lower-cased.
function parseIni(text: string, file: string): Map<string, Map<string, string>> {
  const sections = new Map<string, Map<string, string>>();
  let current: Map<string, string> | undefined;
  let lastKey: string | undefined;
  for (const [index, rawLine] of text.split(/\r?\n/).entries()) {
    const where = `line ${index + 1}`;
    if (/^\s*[#;]/.test(rawLine) || rawLine.trim() === '') continue;
    if (/^\s/.test(rawLine) && current && lastKey !== undefined) {
      // A continuation line: configparser joins it to the value with a newline.
      current.set(lastKey, `${current.get(lastKey)}\n${stripInline(rawLine).trim()}`);
      continue;
    }
    const header = /^\[([^\]]+)\]\s*(?:;.*)?$/.exec(rawLine.trim());
    if (header) {
      const name = header[1]!;
      if (sections.has(name)) throw new AnsibleConfigError(`${where}: section [${name}] is written twice`, file);
      current = new Map();
      sections.set(name, current);
      lastKey = undefined;
      continue;
    }
    const pair = /^([^=:]+?)\s*[=:]\s*(.*)$/.exec(rawLine.trim());
    if (!pair || !current) throw new AnsibleConfigError(`${where}: expected "[section]" or "key = value"`, file);
    const key = pair[1]!.toLowerCase();
    if (current.has(key)) throw new AnsibleConfigError(`${where}: ${key} is written twice in its section`, file);
    current.set(key, stripInline(pair[2]!).trim());
    lastKey = key;
  }
  return sections;
}

function stripInline(value: string): string {
  const at = value.search(/\s;/);
  return at < 0 ? value : value.slice(0, at);
}

function unquote(value: string): string {
  const match = /^(['"])(.*)\1$/s.exec(value.trim());
  return match ? match[2]! : value.trim();
}

function boolean(value: string): boolean {
  return ['y', 'yes', 'on', '1', 'true', 't'].includes(unquote(value).toLowerCase());
}

function integer(value: string, name: string, file: string): number {
  const text = unquote(value);
  if (!/^\s*[+-]?\d+\s*$/.test(text)) throw new AnsibleConfigError(`${name} must be an integer, got ${JSON.stringify(text)}`, file);
  return Number(text);
}

function pathOf(value: string, base: string): string {
  const expanded = expandHome(unquote(value).replace(/\$(\w+)|\$\{(\w+)\}/g, (whole, a: string | undefined, b: string | undefined) => process.env[a ?? b ?? ''] ?? whole), homedir());
  return isAbsolute(expanded) ? resolve(expanded) : resolve(base, expanded);
}

function pathList(value: string, base: string): string[] {
  return value
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean)
    .map((item) => pathOf(item, base));
}

function expandHome(path: string, home: string): string {
  return path === '~' ? home : path.startsWith('~/') ? join(home, path.slice(2)) : path;
}

function worldWritable(dir: string): boolean {
  try {
    return (statSync(dir).mode & 0o002) !== 0;
  } catch {
    return false;
  }
}

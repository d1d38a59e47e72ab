import { InventoryError } from '../core/errors.js';
import { splitWords } from './split-words.js';
import { Secret, isSecret } from '../core/secret.js';
import { isSecretRef } from '../core/secret-ref.js';
import type { Connection } from '../core/connection.js';

// Every var name that sets a connection field, highest priority first: halyard's name wins over
// Ansible's, and Ansible's current name over its older `ansible_ssh_*` alias.
export const CONNECTION_VAR_ALIASES = {
  address: ['halyard_host', 'ansible_host', 'ansible_ssh_host'],
  port: ['halyard_port', 'ansible_port', 'ansible_ssh_port'],
  user: ['halyard_user', 'ansible_user', 'ansible_ssh_user'],
  privateKeyFile: ['halyard_key_file', 'ansible_ssh_private_key_file', 'ansible_private_key_file'],
  become: ['halyard_become', 'ansible_become'],
  becomePassword: ['halyard_become_password', 'ansible_become_password', 'ansible_become_pass'],
} as const;

/** SSH port when no var sets one. */
export const DEFAULT_SSH_PORT = 22;

// The connection fields of a Host, as read from its merged vars.
export type { Connection };

// Where a vars block was written, so a bad value can be reported as file:line.
export interface VarsLocation {
  file: string | undefined;
  lineOf(name: string): number | undefined;
  /** Said before the message when there is no file, e.g. "extra vars (-e)". */
  context?: string;
}

// Checks the type of each connection var in one vars block, where its line is still known.
export function checkConnectionVars(vars: Record<string, unknown>, where: VarsLocation): void {
  const fail = (code: string, name: string, message: string): never => {
    const prefix = where.file === undefined && where.context ? `${where.context}: ` : '';
    throw new InventoryError(code, `${prefix}${message}`, { file: where.file, line: where.lineOf(name) });
  };
  for (const name of CONNECTION_VAR_ALIASES.address) {
    const value = vars[name];
    if (value === null || value === undefined) continue;
    if (typeof value !== 'string') fail('E_INVENTORY_TYPE', name, `${name} must be a host name or IP address, got ${describeValue(value)}`);
    const text = value as string;
    if (text.trim() === '') fail('E_INVENTORY_ADDRESS', name, `${name} is empty`);
    if (/\s/.test(text)) fail('E_INVENTORY_ADDRESS', name, `${name} ${JSON.stringify(text)} contains whitespace`);
  }
  for (const name of CONNECTION_VAR_ALIASES.port) {
    const value = vars[name];
    if (value === null || value === undefined) continue;
    const port = readPort(value);
    if (port === undefined) fail('E_INVENTORY_TYPE', name, `${name} must be a port number, got ${describeValue(value)}`);
    if (port !== undefined && (port < 1 || port > 65535)) fail('E_INVENTORY_PORT', name, `${name} ${port} is out of range 1-65535`);
  }
  for (const name of [...CONNECTION_VAR_ALIASES.user, ...CONNECTION_VAR_ALIASES.privateKeyFile]) {
    const value = vars[name];
    if (value === null || value === undefined) continue;
    if (typeof value !== 'string' || value.trim() === '') {
      fail('E_INVENTORY_TYPE', name, `${name} must be a non-empty string, got ${describeValue(value)}`);
    }
  }
  const connection = vars.ansible_connection;
  if (connection !== null && connection !== undefined && !SSH_CONNECTIONS.has(String(connection))) {
    fail(
      'E_INVENTORY_CONNECTION',
      'ansible_connection',
      `ansible_connection ${JSON.stringify(connection)} is not supported: halyard connects over SSH (ssh, smart, paramiko) or runs on the controller (local)`,
    );
  }
  for (const name of SSH_ARGS_VARS) {
    const value = vars[name];
    if (value === null || value === undefined) continue;
    if (typeof value !== 'string') fail('E_INVENTORY_TYPE', name, `${name} must be a string of ssh arguments, got ${describeValue(value)}`);
    const problem = readSshArgs(String(value)).problem;
    if (problem) fail('E_INVENTORY_SSH_ARGS', name, `${name}: ${problem}`);
  }
  for (const name of CONNECTION_VAR_ALIASES.become) {
    const value = vars[name];
    if (value === null || value === undefined) continue;
    if (readBoolean(value) === undefined) {
      fail('E_INVENTORY_TYPE', name, `${name} must be true or false (yes/no), got ${describeValue(value)}`);
    }
  }
  for (const name of CONNECTION_VAR_ALIASES.becomePassword) {
    const value = vars[name];
    if (value === null || value === undefined) continue;
    if (!isSecret(value) && !isSecretRef(value) && typeof value !== 'string' && typeof value !== 'number') {
      // Never echo the value: it is a password.
      fail('E_INVENTORY_TYPE', name, `${name} must be a string, got ${describeType(value)}`);
    }
  }
}

// Reads the connection of one host from its merged vars (already checked by checkConnectionVars).
/** ansible_connection values that mean "over SSH", as halyard connects. */
const SSH_CONNECTIONS = new Set(['ssh', 'smart', 'paramiko', 'paramiko_ssh', 'ansible.builtin.ssh', 'ansible.builtin.paramiko_ssh', 'local', 'ansible.builtin.local']);
/** Vars whose ssh arguments halyard reads (the first value of an option wins, as in ssh). */
const SSH_ARGS_VARS = ['ansible_ssh_common_args', 'ansible_ssh_extra_args'] as const;
/** -o options that change where or as whom ssh connects: set them with their inventory vars. */
const ROUTE_OPTIONS_WITH_VARS: Record<string, string> = { hostname: 'ansible_host', port: 'ansible_port', user: 'ansible_user', identityfile: 'ansible_ssh_private_key_file' };

// The route options in ssh arguments (-o ProxyCommand=..., -o ProxyJump=..., -J hops); options that
// would change the host, port, user or key are a problem (their vars say it); others (such as
// -o StrictHostKeyChecking=no) do not change where halyard connects and are left to halyard's own
// host key checking.
export function readSshArgs(text: string): { proxyCommand?: string; proxyJump?: string; problem?: string } {
  let words: string[];
  try {
    words = splitWords(text).map((word) => word.text);
  } catch (error) {
    return { problem: (error as Error).message };
  }
  const out: { proxyCommand?: string; proxyJump?: string; problem?: string } = {};
  for (let index = 0; index < words.length; index++) {
    const word = words[index]!;
    let option: string | undefined;
    if (word === '-o') option = words[++index];
    else if (word.startsWith('-o')) option = word.slice(2);
    else if (word === '-J') out.proxyJump ??= words[++index];
    else if (word.startsWith('-J')) out.proxyJump ??= word.slice(2);
    else if (/^-[pliW]/.test(word)) return { problem: `${word} changes where or as whom ssh connects; set ansible_port, ansible_user or ansible_ssh_private_key_file instead` };
    if (option === undefined) continue;
    const match = /^\s*([A-Za-z]+)\s*[= ]\s*(.*)$/.exec(option);
    if (!match) return { problem: `cannot read -o ${JSON.stringify(option)}` };
    const key = match[1]!.toLowerCase();
    if (key === 'proxycommand') out.proxyCommand ??= match[2]!;
    else if (key === 'proxyjump') out.proxyJump ??= match[2]!;
    else if (key in ROUTE_OPTIONS_WITH_VARS) return { problem: `-o ${match[1]} changes where or as whom ssh connects; set ${ROUTE_OPTIONS_WITH_VARS[key]} instead` };
  }
  if (out.proxyCommand && out.proxyJump) return { problem: 'both ProxyCommand and ProxyJump are set; keep one' };
  return out;
}

// Whether a host's vars say become (halyard_become, ansible_become), or undefined when none does:
// a play's `become` applies only then, as Ansible's play keywords sit below connection vars.
export function becomeFromVars(vars: Record<string, unknown>): boolean | undefined {
  const become = firstSet(vars, CONNECTION_VAR_ALIASES.become);
  return become === undefined ? undefined : (readBoolean(become.value) ?? false);
}

// Defaults below every var (ansible.cfg's remote_user, private_key_file, become).
export interface ConnectionDefaults {
  user?: string;
  privateKeyFile?: string;
  become?: boolean;
  /** `-K`: the sudo password for hosts whose vars give none. */
  becomePassword?: Secret;
}

export function resolveConnection(hostName: string, vars: Record<string, unknown>, defaults: ConnectionDefaults = {}): Connection {
  const address = firstSet(vars, CONNECTION_VAR_ALIASES.address);
  const port = firstSet(vars, CONNECTION_VAR_ALIASES.port);
  const user = firstSet(vars, CONNECTION_VAR_ALIASES.user);
  const keyFile = firstSet(vars, CONNECTION_VAR_ALIASES.privateKeyFile);
  const become = firstSet(vars, CONNECTION_VAR_ALIASES.become);
  const password = firstSet(vars, CONNECTION_VAR_ALIASES.becomePassword);
  const route = SSH_ARGS_VARS.map((name) => vars[name])
    .filter((value): value is string => typeof value === 'string')
    .map((value) => readSshArgs(value))
    .reduce<{ proxyCommand?: string; proxyJump?: string }>((found, args) => ({ proxyCommand: found.proxyCommand ?? args.proxyCommand, proxyJump: found.proxyJump ?? args.proxyJump }), {});
  const routeSet = Object.fromEntries(Object.entries(route).filter(([, value]) => value !== undefined)) as { proxyCommand?: string; proxyJump?: string };
  const local = vars.ansible_connection === 'local' || vars.ansible_connection === 'ansible.builtin.local';
  return {
    ...(local ? { local: true } : {}),
    ...(Object.keys(routeSet).length > 0 ? { route: routeSet } : {}),
    address: typeof address?.value === 'string' ? address.value : hostName,
    port: port === undefined ? DEFAULT_SSH_PORT : (readPort(port.value) ?? DEFAULT_SSH_PORT),
    user: typeof user?.value === 'string' ? user.value : defaults.user,
    privateKeyFile: typeof keyFile?.value === 'string' ? keyFile.value : defaults.privateKeyFile,
    become: become === undefined ? (defaults.become ?? false) : (readBoolean(become.value) ?? false),
    becomePassword:
      password === undefined
        ? defaults.becomePassword
        : isSecretRef(password.value)
          ? undefined
          : isSecret(password.value)
            ? password.value
            : new Secret(String(password.value), password.name),
    ...(password !== undefined && isSecretRef(password.value) ? { becomePasswordRef: password.value } : {}),
  };
}

function firstSet(vars: Record<string, unknown>, names: readonly string[]): { name: string; value: unknown } | undefined {
  for (const name of names) {
    const value = vars[name];
    if (value !== null && value !== undefined) return { name, value };
  }
  return undefined;
}

// A port from YAML (number) or INI / -e (digit string); undefined when it is not a whole number.
export function readPort(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isInteger(value) ? value : undefined;
  if (typeof value === 'string' && /^\s*[0-9]+\s*$/.test(value)) return Number(value);
  return undefined;
}

// Ansible's booleans: true/false, yes/no, on/off, 1/0 in any case; undefined for anything else.
export function readBoolean(value: unknown): boolean | undefined {
  if (typeof value === 'boolean') return value;
  if (value === 1 || value === 0) return value === 1;
  if (typeof value !== 'string') return undefined;
  const text = value.trim().toLowerCase();
  if (['true', 'yes', 'on', '1', 'y'].includes(text)) return true;
  if (['false', 'no', 'off', '0', 'n'].includes(text)) return false;
  return undefined;
}

// A short, one-line description of a value for error messages.
export function describeValue(value: unknown): string {
  if (isSecret(value)) return 'a secret';
  if (typeof value === 'string') {
    const shown = value.length > 40 ? `${value.slice(0, 40)}...` : value;
    return JSON.stringify(shown);
  }
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return describeType(value);
}

// The kind of a value in YAML words (a mapping, a list, ...).
export function describeType(value: unknown): string {
  if (value === null || value === undefined) return 'nothing';
  if (isSecret(value)) return 'a secret';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return 'a string';
  if (typeof value === 'number') return 'a number';
  if (typeof value === 'boolean') return 'a boolean';
  return typeof value;
}

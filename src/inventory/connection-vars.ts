import { InventoryError } from '../core/errors.js';
import { Secret, isSecret } from '../core/secret.js';
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
    if (!isSecret(value) && typeof value !== 'string' && typeof value !== 'number') {
      // Never echo the value: it is a password.
      fail('E_INVENTORY_TYPE', name, `${name} must be a string, got ${describeType(value)}`);
    }
  }
}

// Reads the connection of one host from its merged vars (already checked by checkConnectionVars).
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
  return {
    address: typeof address?.value === 'string' ? address.value : hostName,
    port: port === undefined ? DEFAULT_SSH_PORT : (readPort(port.value) ?? DEFAULT_SSH_PORT),
    user: typeof user?.value === 'string' ? user.value : defaults.user,
    privateKeyFile: typeof keyFile?.value === 'string' ? keyFile.value : defaults.privateKeyFile,
    become: become === undefined ? (defaults.become ?? false) : (readBoolean(become.value) ?? false),
    becomePassword:
      password === undefined
        ? defaults.becomePassword
        : isSecret(password.value)
          ? password.value
          : new Secret(String(password.value), password.name),
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

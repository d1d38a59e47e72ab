import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { isAccessibleFile } from '../core/file-kind.js';
import { childStderr, passOnStderr } from '../core/child-stdio.js';
import { basename, extname, resolve } from 'node:path';
import { HalyardError } from '../core/errors.js';
import { ExitCode } from '../core/exit-codes.js';
import { Secret, isSecret } from '../core/secret.js';
import { decryptVault, isVaultText, parseVaultText, VaultFormatError } from './vault.js';

// A vault value or file that could not be opened: no password, a wrong one, a damaged envelope.
export class VaultError extends HalyardError {
  /** The message without where the data is (callers that know a file:line put it in front). */
  readonly detail: string;

  constructor(message: string, where?: string) {
    super('E_VAULT', where === undefined ? message : `${where}: ${message}`, { exitCode: ExitCode.InputError });
    this.detail = message;
  }
}

// A `!vault |` value as written in YAML, opened later with the run's passwords.
export class VaultedValue {
  constructor(readonly text: string) {}
}

// One vault password and its label (`--vault-id prod@file`; "default" otherwise).
export interface VaultPassword {
  label: string;
  password: Buffer;
  /** Where it came from, for messages (never the password). */
  source: string;
}

// Reads a password source as Ansible does: an executable file is run (a `*-client` script with
// `--vault-id LABEL`) and its stdout is the password; any other file's content is, trimmed.
export function readPasswordSource(path: string, label = 'default'): VaultPassword {
  let password: Buffer;
  try {
    if (isAccessibleFile(path, 'execute')) {
      const client = basename(path, extname(path)).endsWith('-client');
      // Ansible runs the script by its real path: a bare name is the file in this directory, not a
      // program on PATH.
      const run = spawnSync(resolve(path), client ? ['--vault-id', label] : [], { stdio: ['inherit', 'pipe', childStderr()] });
      passOnStderr(run.stderr);
      if (run.error) throw run.error;
      if (run.status !== 0) throw new Error(`Command failed: ${path}`);
      password = run.stdout;
      password = Buffer.from(password.toString('latin1').replace(/^[\r\n]+|[\r\n]+$/g, ''), 'latin1');
    } else {
      password = Buffer.from(readFileSync(path).toString('latin1').trim(), 'latin1');
    }
  } catch (error) {
    throw new VaultError(`cannot read the vault password from ${path} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message.split('\n')[0]})`);
  }
  if (password.length === 0) throw new VaultError(`the vault password from ${path} is empty`);
  return { label, password, source: path };
}

// The run's vault passwords. A 1.2 envelope is tried with the passwords of its label first, then
// the others (Ansible's default, vault_id_match off); no password matching is one error naming
// where the value is.
export class VaultKeyring {
  constructor(readonly passwords: readonly VaultPassword[]) {}

  // The plaintext of a vault envelope found at `where` (file or file:line).
  open(text: string, where: string): Buffer {
    let envelope;
    try {
      envelope = parseVaultText(text);
    } catch (error) {
      throw new VaultError(`damaged ansible-vault data: ${(error as VaultFormatError).message}`, where);
    }
    if (this.passwords.length === 0) {
      throw new VaultError('holds ansible-vault data; pass --vault-password-file, --vault-id or --ask-vault-pass (or set vault_password_file in ansible.cfg)', where);
    }
    const ordered = [...this.passwords.filter((entry) => entry.label === envelope.vaultId), ...this.passwords.filter((entry) => entry.label !== envelope.vaultId)];
    for (const entry of ordered) {
      let plaintext: Buffer | undefined;
      try {
        plaintext = decryptVault(envelope, entry.password);
      } catch (error) {
        throw new VaultError(`damaged ansible-vault data: ${(error as Error).message}`, where);
      }
      if (plaintext) return plaintext;
    }
    const id = envelope.vaultId ? ` (vault id "${envelope.vaultId}")` : '';
    throw new VaultError(`no vault password given opens this ansible-vault data${id}; tried ${this.passwords.length} (${this.passwords.map((entry) => entry.label).join(', ')})`, where);
  }

  // Vars with every `!vault` value opened into a Secret named after its var.
  openValues(values: Record<string, unknown>, where: string): Record<string, unknown> {
    const walk = (value: unknown, name: string): unknown => {
      if (value instanceof VaultedValue) return new Secret(this.open(value.text, `${where}: ${name}`).toString('utf8'), name);
      if (Array.isArray(value)) return value.map((item) => walk(item, name));
      // Only plain mappings are walked (a Secret or a SecretRef is kept as it is).
      const prototype = value !== null && typeof value === 'object' ? (Object.getPrototypeOf(value) as object | null) : undefined;
      if (prototype === null || prototype === Object.prototype) {
        const out: Record<string, unknown> = Object.create(prototype) as Record<string, unknown>;
        for (const [key, item] of Object.entries(value as object)) out[key] = walk(item, key);
        return out;
      }
      return value;
    };
    return walk(values, '') as Record<string, unknown>;
  }
}

// Whether any `!vault` value is inside.
export function holdsVaulted(value: unknown): boolean {
  if (value instanceof VaultedValue) return true;
  if (Array.isArray(value)) return value.some(holdsVaulted);
  if (value !== null && typeof value === 'object' && !isSecret(value)) return Object.values(value).some(holdsVaulted);
  return false;
}

// Every string of a decrypted vars file becomes a Secret named after its var (Ansible users put
// whole files under vault because everything in them is secret).
export function secretStrings(value: unknown, name: string): unknown {
  if (typeof value === 'string') return new Secret(value, name);
  if (Array.isArray(value)) return value.map((item) => secretStrings(item, name));
  if (value !== null && typeof value === 'object' && !isSecret(value)) {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) out[key] = secretStrings(item, key);
    return out;
  }
  return value;
}

export { isVaultText };

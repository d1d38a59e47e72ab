import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isMap, isScalar } from 'yaml';
import { InventoryError } from '../core/errors.js';
import { decodeUtf8, describeInvalidUtf8 } from '../core/utf8.js';
import { CONNECTION_VAR_ALIASES, describeType } from './connection-vars.js';
import type { RawInventory, VarsBlock } from './raw-inventory.js';
import { varsFilesOf } from './sources.js';
import { isVaultText, secretStrings } from '../vault/keyring.js';
import { assertUniqueKeys, parseYamlSource } from './yaml-source.js';

const VARS_FILE_CODES = { syntax: 'E_VARS_FILE_SYNTAX', tag: 'E_VARS_FILE_TAG' };

// `group_vars/` and `host_vars/` of one folder (beside an inventory source or the playbook), read
// on demand and once: each folder is listed once, so a 400k-host inventory does not stat 1.6M
// names that do not exist.
export class VarsFolder {
  readonly #entries = new Map<'group_vars' | 'host_vars', Set<string> | undefined>();
  readonly #read = new Map<string, VarsBlock[]>();

  constructor(
    readonly dir: string,
    readonly raw: RawInventory,
  ) {}

  // The vars blocks of a group (or host), in the order they combine (later wins).
  blocksOf(kind: 'group_vars' | 'host_vars', name: string): VarsBlock[] {
    const entries = this.#list(kind);
    if (entries === undefined || ![name, `${name}.yml`, `${name}.yaml`, `${name}.json`].some((candidate) => entries.has(candidate))) return [];
    const key = `${kind}/${name}`;
    let blocks = this.#read.get(key);
    if (!blocks) {
      blocks = varsFilesOf(join(this.dir, kind), name).flatMap((file) => {
        const block = readVarsFile(file, this.raw);
        return block ? [block] : [];
      });
      this.#read.set(key, blocks);
    }
    return blocks;
  }

  #list(kind: 'group_vars' | 'host_vars'): Set<string> | undefined {
    if (!this.#entries.has(kind)) {
      let names: Set<string> | undefined;
      try {
        names = new Set(readdirSync(join(this.dir, kind)));
      } catch {
        names = undefined; // no such folder (or a file of that name: Ansible warns and skips it)
      }
      this.#entries.set(kind, names);
    }
    return this.#entries.get(kind);
  }
}

// One vars file: a YAML (or JSON) mapping of var names; empty files hold nothing.
function readVarsFile(file: string, raw: RawInventory): VarsBlock | undefined {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (error) {
    throw new InventoryError('E_VARS_FILE_READ', `cannot read vars file (${(error as NodeJS.ErrnoException).code ?? String(error)})`, { file, cause: error });
  }
  let decoded = decodeUtf8(bytes);
  if (!decoded.ok) throw new InventoryError('E_VARS_FILE_ENCODING', describeInvalidUtf8(decoded), { file, line: decoded.line });
  // A vaulted vars file: opened with the run's passwords, and everything in it is secret.
  const vaulted = isVaultText(decoded.text);
  if (vaulted) {
    decoded = decodeUtf8(raw.vault.open(decoded.text, file));
    if (!decoded.ok) throw new InventoryError('E_VARS_FILE_ENCODING', `(decrypted) ${describeInvalidUtf8(decoded)}`, { file, line: decoded.line });
  }
  const source = parseYamlSource(decoded.text, file, VARS_FILE_CODES);
  const contents = source.doc.contents;
  if (contents === null || (isScalar(contents) && contents.value === null)) return undefined;
  if (!isMap(contents)) {
    throw new InventoryError('E_VARS_FILE_TYPE', `a vars file must hold a mapping of var names, got ${describeType(contents.toJSON())}`, { file, line: source.lineOf(contents) });
  }
  assertUniqueKeys(contents, source, 'E_VARS_FILE_DUPLICATE_KEY');
  const lines = new Map<string, number | undefined>();
  for (const pair of contents.items) {
    if (isScalar(pair.key)) lines.set(String(pair.key.value), source.lineOf(pair.key));
  }
  const values = contents.toJS(source.doc, { maxAliasCount: 1000 }) as Record<string, unknown>;
  return raw.varsBlock(vaulted ? secretVaultedVars(values) : values, { file, lineOf: (name) => lines.get(name) });
}

// Connection settings stay plain (an address or a user is read, not masked); every other string of
// a vaulted file becomes a Secret.
const PLAIN_CONNECTION_VARS: ReadonlySet<string> = new Set<string>(Object.entries(CONNECTION_VAR_ALIASES).flatMap(([field, names]) => (field === 'becomePassword' ? [] : [...names])));

export function secretVaultedVars(values: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(values)) out[name] = PLAIN_CONNECTION_VARS.has(name) ? value : secretStrings(value, name);
  return out;
}

import { readFile } from 'node:fs/promises';
import { InventoryError } from '../core/errors.js';
import { buildInventory } from './build.js';
import type { ConnectionDefaults } from './connection-vars.js';
import { readEc2Inventory, type Ec2InventoryOptions } from './ec2-inventory.js';
import { readAnsibleIni } from './ini-inventory.js';
import { detectInventoryKind, type DetectedInventory } from './kind.js';
import { applyLimit } from './limit.js';
import type { Inventory } from './types.js';
import { inventorySources } from './sources.js';
import { RawInventory } from './raw-inventory.js';
import { VaultKeyring, isVaultText } from '../vault/keyring.js';
import { readAnsibleYaml } from './yaml-inventory.js';
import { decodeUtf8, describeInvalidUtf8 } from '../core/utf8.js';

// The inventory API in one import for the CLI and the engine.
export type { Group, Host, Inventory } from './types.js';
export { parseExtraVars } from './extra-vars.js';
export { formatInventory, formatVarOrigins } from './list.js';
export { applyLimit, parseLimit, selectHosts, type LimitTerm } from './limit.js';
export { CONNECTION_VAR_ALIASES, DEFAULT_SSH_PORT } from './connection-vars.js';
export { looksLikeSecretName } from './secrets.js';

// Options that come from the command line (`-e ...`, `--limit ...`).
export interface LoadInventoryOptions {
  /** Already parsed with parseExtraVars; highest var precedence. */
  extraVars?: Record<string, unknown>;
  /** Ansible-style host pattern; see limit.ts. */
  limit?: string;
  /** For ec2 inventories: instance source, cache directory, clock (defaults: the SDK, ~/.cache). */
  ec2?: Ec2InventoryOptions;
  /** The playbook's folder: its group_vars/ and host_vars/ apply after the inventories' own. */
  playDir?: string;
  /** Below every var: ansible.cfg's remote_user, private_key_file and become. */
  connectionDefaults?: ConnectionDefaults;
  /** The run's vault passwords: `!vault` values and vaulted files open with them. */
  vault?: VaultKeyring;
  /** Keep where each of this host's vars came from (Inventory.origins). */
  explainHost?: string;
}

// What the project says about reading inventories, as `apply` applies it (ansible.cfg and
// halyard.yml: connection defaults, vault passwords): handed to other front ends (backups, the daemon).
export type InventoryReading = Pick<LoadInventoryOptions, 'vault' | 'connectionDefaults'>;

// The one entry point: reads inventory sources (`-i`, repeatable: files of any supported kind, or
// directories of them, as Ansible reads them) into one inventory of checked Hosts, with the
// group_vars/ and host_vars/ beside each source and beside the playbook.
export async function loadInventory(paths: string | readonly string[], options: LoadInventoryOptions = {}): Promise<Inventory> {
  const given = typeof paths === 'string' ? [paths] : paths;
  const sources = inventorySources(given);
  if (sources.files.length === 0) {
    throw new InventoryError('E_INVENTORY_EMPTY', 'no inventory file found (the directory holds none Ansible would read)', { file: given.join(', ') });
  }
  const vault = options.vault ?? new VaultKeyring([]);
  let raw = new RawInventory(sources.files[0]!);
  raw.vault = vault;
  for (const path of sources.files) {
    const text = await readInventoryText(path, vault);
    const detected = detectInventoryKind(path, text);
    if (detected.kind === 'ec2') {
      // EC2 inventories ask AWS (or the cache) for their hosts, so they are read asynchronously.
      if (sources.files.length > 1) {
        throw new InventoryError('E_INVENTORY_KIND', 'an ec2 inventory must be the only inventory source (-i) of a run', { file: path, line: detected.line });
      }
      raw = await readEc2Inventory(detected.yaml, options.ec2);
      raw.vault = vault;
    } else {
      raw = readRaw(detected, path, text, raw);
    }
  }
  return finish(raw, options, sources.varsDirs);
}

async function readInventoryText(path: string, vault: VaultKeyring): Promise<string> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new InventoryError('E_INVENTORY_READ', `cannot read inventory (${describeReadError(reason)})`, {
      file: path,
      cause: error,
    });
  }
  const decoded = decodeUtf8(bytes);
  if (!decoded.ok) throw new InventoryError('E_INVENTORY_ENCODING', describeInvalidUtf8(decoded), { file: path, line: decoded.line });
  if (!isVaultText(decoded.text)) return decoded.text;
  // A whole inventory file under ansible-vault, as Ansible reads it.
  const plain = decodeUtf8(vault.open(decoded.text, path));
  if (!plain.ok) throw new InventoryError('E_INVENTORY_ENCODING', describeInvalidUtf8(plain), { file: path, line: plain.line });
  return plain.text;
}

// Same as loadInventory for text already in memory (tests, stdin); `path` names it in errors.
// EC2 inventories need loadInventory (they fetch from AWS).
export function inventoryFromText(path: string, text: string, options: LoadInventoryOptions = {}): Inventory {
  const raw = new RawInventory(path);
  if (options.vault) raw.vault = options.vault;
  return finish(readRaw(detectInventoryKind(path, text), path, text, raw), options);
}

function finish(raw: RawInventory, options: LoadInventoryOptions, varsDirs: readonly string[] = []): Inventory {
  const inventory = buildInventory(raw, {
    extraVars: options.extraVars,
    varsDirs,
    ...(options.playDir === undefined ? {} : { playDir: options.playDir }),
    ...(options.connectionDefaults ? { connectionDefaults: options.connectionDefaults } : {}),
    ...(options.explainHost ? { explainHost: options.explainHost } : {}),
  });
  return options.limit === undefined ? inventory : applyLimit(inventory, options.limit);
}

function readRaw(detected: DetectedInventory, path: string, text: string, into?: RawInventory): RawInventory {
  switch (detected.kind) {
    case 'ansible-yaml':
      return readAnsibleYaml(detected.tree, into, detected.fullTree);
    case 'ansible-ini':
      return readAnsibleIni(text, path, into);
    case 'ec2':
      throw new InventoryError('E_INVENTORY_KIND', 'ec2 inventories are read with loadInventory (they query AWS)', {
        file: path,
        line: detected.line,
      });
  }
}

function describeReadError(code: string): string {
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'EISDIR') return 'it is a directory';
  return code;
}

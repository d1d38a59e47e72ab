import { readdirSync } from 'node:fs';
import { fileKind } from '../core/file-kind.js';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { InventoryError } from '../core/errors.js';

// Inventory sources as Ansible reads `-i` (ansible-core 2.14, inventory/manager.py): every `-i` in
// order; a directory is read entry by entry in bytewise name order, subdirectories included, and
// each source's directory (the directory itself, or a file's folder) is where its `group_vars/`
// and `host_vars/` are looked for.

/** Names Ansible never reads as inventories inside a directory (hidden, vars folders). */
const ALWAYS_IGNORED = [/^\./, /^host_vars$/, /^group_vars$/, /^vars_plugins$/];
/** Ansible's INVENTORY_IGNORE_EXTS default: a `hosts.ini` inside an inventory directory is skipped. */
export const IGNORED_EXTENSIONS = ['.pyc', '.pyo', '.swp', '.bak', '~', '.rpm', '.md', '.txt', '.rst', '.orig', '.ini', '.cfg', '.retry'];

// What `-i A -i B ...` reads: the inventory files in order, and the folders whose vars apply.
export interface InventorySources {
  files: string[];
  /** One per `-i`, in order: a directory source itself, else the file's folder. */
  varsDirs: string[];
}

// Expands the `-i` values into files (directories walked as Ansible walks them).
export function inventorySources(paths: readonly string[]): InventorySources {
  const files: string[] = [];
  const varsDirs: string[] = [];
  for (const given of paths) {
    const path = resolve(given);
    const kind = fileKind(path);
    if (kind === 'dir') {
      varsDirs.push(path);
      walk(path, files);
    } else {
      varsDirs.push(dirname(path));
      files.push(path);
    }
  }
  return { files, varsDirs };
}

// Entries in bytewise order (Python's sorted() of bytes), hidden and ignored names skipped.
function walk(dir: string, into: string[]): void {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (error) {
    throw new InventoryError('E_INVENTORY_READ', `cannot read inventory directory (${(error as NodeJS.ErrnoException).code ?? String(error)})`, { file: dir, cause: error });
  }
  names.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  for (const name of names) {
    if (ignoredInDirectory(name)) continue;
    const path = join(dir, name);
    if (fileKind(path) === 'dir') walk(path, into);
    else into.push(path);
  }
}

// Whether Ansible skips this entry of an inventory directory.
export function ignoredInDirectory(name: string): boolean {
  return ALWAYS_IGNORED.some((pattern) => pattern.test(name)) || IGNORED_EXTENSIONS.some((extension) => name.endsWith(extension));
}

// The vars files of one group or host under `dir/group_vars` (or host_vars), as Ansible's
// host_group_vars plugin finds them: the first of NAME, NAME.yml, NAME.yaml, NAME.json that exists
// (a folder NAME hides NAME.yml); a folder is read in sorted order, hidden and `~` names skipped,
// subfolders without an extension read in place, files without an extension or .yml/.yaml/.json.
export function varsFilesOf(dir: string, name: string): string[] {
  if (name.startsWith('/')) return [];
  for (const candidate of [name, `${name}.yml`, `${name}.yaml`, `${name}.json`]) {
    const path = join(dir, candidate);
    const kind = fileKind(path);
    if (kind === 'missing') continue;
    if (kind === 'file') return [path];
    const files: string[] = [];
    collectVarsDir(path, files);
    return files;
  }
  return [];
}

const VARS_EXTENSIONS = new Set(['', '.yml', '.yaml', '.json']);

function collectVarsDir(dir: string, into: string[]): void {
  const names = readdirSync(dir).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  for (const name of names) {
    if (name.startsWith('.') || name.endsWith('~')) continue;
    const path = join(dir, name);
    const extension = extname(basename(path));
    if (fileKind(path) === 'dir') {
      if (extension === '') collectVarsDir(path, into);
      continue;
    }
    if (VARS_EXTENSIONS.has(extension)) into.push(path);
  }
}

import { constants, mkdirSync, statSync } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { PlaybookError } from '../core/errors.js';
import { halyardManifestOf, halyardRootOf } from '../core/package-root.js';
import { importBundled, type HalyardImports } from './bundle.js';
import { isPlaybook } from './define.js';
import type { Playbook } from './types.js';

// Loads a TypeScript playbook with no build step: esbuild bundles it with the TypeScript files it
// imports into one ES module, kept in transpileCacheDir() and imported again while those files are
// unchanged (without loading esbuild). A long-lived process, the daemon's drift job, checks the
// playbook as it is on disk now: an edited playbook or role is a new bundle. Plain JavaScript files
// (.js, .mjs, .cjs) and packages a playbook imports are Node's own imports, loaded once per process.
export async function loadPlaybook(path: string): Promise<Playbook> {
  const absolute = resolve(path);
  await checkReadableFile(path, absolute);
  let loaded: unknown;
  try {
    loaded = (await importBundled(absolute, await halyardImports(), transpileCache()))['default'];
  } catch (error) {
    throw new PlaybookError('E_PLAYBOOK_LOAD', `cannot load playbook ${path}: ${loadErrorText(error, dirname(absolute))}`, { cause: error });
  }
  if (!isPlaybook(loaded)) {
    throw new PlaybookError('E_PLAYBOOK_SHAPE', `${path} must \`export default definePlaybook({...})\``);
  }
  return loaded;
}

// Where bundled playbooks are kept: ~/.cache/halyard/playbooks, or under XDG_CACHE_HOME. Never a
// folder shared by the machine's users (such as /tmp): one who made it first could write code into
// it that halyard would run.
export function transpileCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(env['XDG_CACHE_HOME'] || join(homedir(), '.cache'), 'halyard', 'playbooks');
}

// The cache folder, made private to this user; false (bundle every time) when it cannot be made,
// or when another user owns it or may write to it (sudo keeping HOME, a chmod): code read from it runs.
export function transpileCache(dir: string = transpileCacheDir()): string | false {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const { uid, mode } = statSync(dir);
    if ((process.getuid !== undefined && uid !== process.getuid()) || (mode & 0o022) !== 0) return false;
    return dir;
  } catch {
    return false;
  }
}

// How a playbook's imports of 'halyard' reach the running halyard. Built (the CLI), as the dist/
// files of package.json's exports, which Node imports once per process. Run from source (vitest),
// as the modules this process already loaded (Node cannot import src/'s .ts files; bundling src/
// into each playbook would give it classes of its own).
let sourceModules: Promise<Record<string, unknown>> | undefined;
async function halyardImports(): Promise<HalyardImports> {
  const aliases = halyardAliases();
  if (!fileURLToPath(import.meta.url).endsWith('.ts')) return { kind: 'files', files: aliases };
  sourceModules ??= Promise.all(Object.entries(aliases).map(async ([name, file]) => [name, (await import(pathToFileURL(file).href)) as unknown] as const)).then((entries) => Object.fromEntries(entries));
  return { kind: 'running', modules: await sourceModules };
}

// 'halyard' and each of its subpaths ('halyard/roles/docker') always mean the running CLI's own
// copy, so a playbook anywhere on disk shares its classes (Secret, roles) with the engine: one
// file per package.json export. Run from source (tests), each export's dist/ target maps back to
// the file it is built from.
export function halyardAliases(): Record<string, string> {
  const here = fileURLToPath(import.meta.url);
  const fromSource = here.endsWith('.ts');
  const root = halyardRootOf(import.meta.url);
  const manifest = halyardManifestOf(import.meta.url);
  const aliases: Record<string, string> = {};
  for (const [subpath, target] of Object.entries(manifest.exports ?? {})) {
    const file = typeof target === 'string' ? target : (target as { default?: unknown }).default;
    if (typeof file !== 'string' || !file.startsWith('./dist/')) continue;
    const name = subpath === '.' ? 'halyard' : `halyard/${subpath.slice(2)}`;
    aliases[name] = join(root, fromSource ? sourceOf(file.slice('./dist/'.length)) : file);
  }
  return aliases;
}

// The source a dist/ file is built from: src/ (tsconfig.build.json) or roles/ and playbooks/ (tsconfig.roles.json).
function sourceOf(built: string): string {
  const source = built.replace(/\.js$/, '.ts');
  return /^(roles|playbooks)\//.test(source) ? source : join('src', source);
}

// Why a load failed, on one line: esbuild's errors each as `file:line:col: text` (the file's full
// path; the first three, and how many more), anything else (a throw while the playbook ran) as its
// message's first line.
function loadErrorText(error: unknown, playbookDir: string): string {
  const errors = (error as { errors?: { text: string; location?: { file: string; line: number; column: number } | null }[] }).errors;
  if (Array.isArray(errors) && errors.length > 0) {
    const shown = errors.slice(0, 3).map((item) => (item.location ? `${resolve(playbookDir, item.location.file)}:${item.location.line}:${item.location.column + 1}: ${item.text}` : item.text));
    return shown.join('; ') + (errors.length > 3 ? `; and ${errors.length - 3} more` : '');
  }
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n').map((line) => line.trim()).find((line) => line !== '') ?? 'unknown error';
}

// Why a playbook path cannot be loaded, said plainly: not found, a directory, or not readable.
async function checkReadableFile(path: string, absolute: string): Promise<void> {
  let kind: 'missing' | 'directory' | 'file';
  try {
    kind = (await stat(absolute)).isDirectory() ? 'directory' : 'file';
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') kind = 'missing';
    else throw new PlaybookError('E_PLAYBOOK_READ', `cannot read playbook ${path}: ${(error as Error).message}`);
  }
  if (kind === 'missing') throw new PlaybookError('E_PLAYBOOK_READ', `cannot read playbook ${path}: no such file`);
  if (kind === 'directory') throw new PlaybookError('E_PLAYBOOK_READ', `cannot read playbook ${path}: it is a directory (name the playbook file in it, e.g. ${path.replace(/\/$/, '')}/site.ts)`);
  try {
    await access(absolute, constants.R_OK);
  } catch {
    throw new PlaybookError('E_PLAYBOOK_READ', `cannot read playbook ${path}: permission denied`);
  }
}

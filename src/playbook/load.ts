import { constants, mkdirSync, statSync } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { createJiti as CreateJiti } from 'jiti';
import { PlaybookError } from '../core/errors.js';
import { halyardManifestOf, halyardRootOf } from '../core/package-root.js';
import { isPlaybook } from './define.js';
import type { Playbook } from './types.js';

// jiti through require(): an ES module importing jiti's CommonJS build makes Node scan its 190 KB
// source for export names first; require() loads the same build without that (a run's jiti load
// measured 31-52 ms against 57-89 ms).
const { createJiti } = createRequire(import.meta.url)('jiti') as { createJiti: typeof CreateJiti };

// Loads a TypeScript playbook with no build step (jiti transpiles on the fly and caches on disk,
// in transpileCacheDir()). Each call reads the playbook and the TypeScript files it imports again
// (jiti's modules are not kept in Node's require cache): a long-lived process, the daemon's drift
// job, checks the playbook as it is on disk now, not as it was at its first run. Plain ES modules
// (.mjs, or .js in a "type": "module" package) a playbook imports are Node's own imports, loaded
// once per process.
export async function loadPlaybook(path: string): Promise<Playbook> {
  const absolute = resolve(path);
  await checkReadableFile(path, absolute);
  const jiti = createJiti(pathToFileURL(absolute).href, {
    interopDefault: true,
    fsCache: transpileCache(),
    moduleCache: false,
    ...(await halyardImports()),
  });
  let loaded: unknown;
  try {
    loaded = await jiti.import(absolute, { default: true });
  } catch (error) {
    throw new PlaybookError('E_PLAYBOOK_LOAD', `cannot load playbook ${path}: ${oneLine(error)}`, { cause: error });
  }
  if (!isPlaybook(loaded)) {
    throw new PlaybookError('E_PLAYBOOK_SHAPE', `${path} must \`export default definePlaybook({...})\``);
  }
  return loaded;
}

// Where jiti keeps transpiled playbooks and roles: ~/.cache/halyard/jiti, or under XDG_CACHE_HOME.
// jiti writes one file per source path and uses it only while it ends with the hash of the source
// as read now, so an unchanged playbook is not transpiled again and an edited one is. jiti's own
// default is node_modules/.cache/jiti beside the playbook, else a /tmp/jiti shared by every user
// of the machine: one who creates it first leaves the others without a cache, or with one they
// can write code into that halyard would run.
export function transpileCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(env['XDG_CACHE_HOME'] || join(homedir(), '.cache'), 'halyard', 'jiti');
}

// The cache folder, made private to this user; false (transpile every time) when it cannot be made,
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

// How a playbook's imports of 'halyard' reach the running halyard. Built (the CLI), through
// aliases to dist/, which Node imports once per process. Run from source (vitest), as the modules
// this process already loaded: aliased to src/, jiti transpiled and ran halyard's whole source
// again for every playbook loaded (1.0-1.5 s each), with classes of its own.
let sourceModules: Promise<Record<string, unknown>> | undefined;
async function halyardImports(): Promise<{ alias: Record<string, string> } | { virtualModules: Record<string, unknown> }> {
  const aliases = halyardAliases();
  if (!fileURLToPath(import.meta.url).endsWith('.ts')) return { alias: aliases };
  sourceModules ??= Promise.all(Object.entries(aliases).map(async ([name, file]) => [name, (await import(pathToFileURL(file).href)) as unknown] as const)).then((entries) => Object.fromEntries(entries));
  return { virtualModules: await sourceModules };
}

// 'halyard' and each of its subpaths ('halyard/roles/docker') always mean the running CLI's own
// copy, so a playbook anywhere on disk shares its classes (Secret, roles) with the engine. One
// alias per package.json export: jiti treats an alias as a path prefix, so 'halyard' alone would
// turn 'halyard/roles/docker' into '.../index.js/roles/docker'. Run from source (tests), each
// export's dist/ target maps back to the file it is built from.
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

// The first line of a load error, plus the `file:line:col` that jiti's parse errors give on a later line.
function oneLine(error: unknown): string {
  const lines = (error instanceof Error ? error.message : String(error))
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '');
  const first = lines[0] ?? 'unknown error';
  const location = lines.slice(1).find((line) => /^\S+:\d+:\d+$/.test(line));
  return location ? `${first} (${location})` : first;
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

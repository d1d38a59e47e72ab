import { createRequire } from 'node:module';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { HalyardError } from '../core/errors.js';
import { halyardRootOf } from '../core/package-root.js';

// tar is loaded when a tarball is written, not with the public API every playbook imports: it
// loaded on every apply's start-up, where releases are built by one role's runs only.
const requireLazily = createRequire(import.meta.url);

// A self-contained halyard for a host: this controller's own package (package.json, bin, dist)
// and its production dependencies as installed here, in one gzipped tar whose bytes depend only
// on the files' paths, modes and contents (so an unchanged halyard is never shipped twice).
export interface HalyardRelease {
  /** The tarball on the controller (in the cache directory). */
  file: string;
  /** sha256 (hex) of the tarball. */
  sha256: string;
  /** halyard's version (package.json). */
  version: string;
  /** The CLI's entry point, relative to the extracted tree: "bin/halyard.js" or "node_modules/halyard/bin/halyard.js". */
  entry: string;
  /** Files in the tarball. */
  files: number;
}

// A package directory found by Node's lookup rules, and the package.json read there.
interface PackageDir {
  dir: string;
  manifest: { name?: string; version?: string; dependencies?: Record<string, string>; optionalDependencies?: Record<string, string>; peerDependencies?: Record<string, string> };
}

/** halyard's package root (from src/, dist/ or a bundled chunk alike). */
export const HALYARD_ROOT = halyardRootOf(import.meta.url);

// halyard's own files in a release (tests and sources stay home).
const OWN_PATHS = ['package.json', 'bin', 'dist'];
// Type declarations are for compilers, never loaded at run time: half the files of the AWS SDK.
const TYPES_ONLY = /\.d\.[cm]?ts(\.map)?$/;

const releases = new Map<string, HalyardRelease>();

// The release of the halyard this process runs (built once, then reused from the cache).
export function halyardRelease(options: { root?: string; cacheDir?: string } = {}): HalyardRelease {
  const root = resolve(options.root ?? HALYARD_ROOT);
  const cacheDir = options.cacheDir ?? defaultCacheDir();
  const memo = `${root}\0${cacheDir}`;
  const known = releases.get(memo);
  if (known) return known;
  const release = buildRelease(root, cacheDir);
  releases.set(memo, release);
  return release;
}

// ~/.cache/halyard/releases, or under XDG_CACHE_HOME.
export function defaultCacheDir(): string {
  return join(process.env['XDG_CACHE_HOME'] || join(homedir(), '.cache'), 'halyard', 'releases');
}

// Lists, fingerprints and (unless the cache has it) writes the tarball; halyardRelease memoizes it.
export function buildRelease(root: string, cacheDir: string): HalyardRelease {
  const own = readPackage(root);
  if (!own || own.manifest.name !== 'halyard') throw new HalyardError('E_RELEASE', `release: ${root} is not the halyard package (no package.json named halyard)`);
  if (!existsSync(join(root, 'dist', 'cli', 'main.js'))) throw new HalyardError('E_RELEASE', `release: ${join(root, 'dist')} is not built; run \`npm run build\` first`);
  const deps = productionDependencies(own);
  // The tree's base: the directory whose node_modules holds every dependency (the project, when
  // halyard is itself installed as a dependency and its dependencies were hoisted beside it).
  const base = commonAncestor([root, ...deps.map((dep) => dirname(dep.dir).replace(/[\\/]node_modules(?:[\\/]@[^\\/]+)?$/, ''))]);
  const listed: ListedFile[] = [];
  const keep = (file: string) => !TYPES_ONLY.test(file);
  for (const path of OWN_PATHS) collectFiles(join(root, path), base, listed, keep);
  for (const dep of deps) collectFiles(dep.dir, base, listed, keep, true);
  const version = own.manifest.version ?? '0.0.0';
  const tarball = cachedTarball(base, listed, cacheDir, `halyard-${version}`);
  return { file: tarball.file, sha256: tarball.sha256, version, entry: toPosix(join(relative(base, root), 'bin', 'halyard.js')), files: tarball.files };
}

// A project's playbooks, roles and inventories as shipped to a daemon host (for its drift jobs).
export interface ProjectArchive {
  file: string;
  sha256: string;
  files: number;
}

/** Never part of a project archive: installed packages, VCS data, build output, caches, tarballs. */
const PROJECT_SKIPPED = new Set(['node_modules', '.git', 'dist', '.cache', '.lab']);

const projects = new Map<string, ProjectArchive>();

// The given paths of a project directory (files only, under their relative names) as a cached
// tarball; listed and hashed once per process (the role asks for it once per host).
export function projectArchive(root: string, paths: string[], options: { cacheDir?: string } = {}): ProjectArchive {
  const base = resolve(root);
  const cacheDir = options.cacheDir ?? defaultCacheDir();
  const memo = [base, cacheDir, ...paths].join('\0');
  const known = projects.get(memo);
  if (known) return known;
  const archive = buildProjectArchive(base, paths, cacheDir);
  projects.set(memo, archive);
  return archive;
}

function buildProjectArchive(base: string, paths: string[], cacheDir: string): ProjectArchive {
  const listed: ListedFile[] = [];
  for (const path of paths) {
    if (path.split(/[\\/]/).includes('..') || path.startsWith('/')) throw new HalyardError('E_RELEASE', `project archive: ${path} must be a path inside ${base}`);
    if (!existsSync(join(base, path))) throw new HalyardError('E_RELEASE', `project archive: ${join(base, path)} does not exist`);
    collectFiles(join(base, path), base, listed, (file) => !file.endsWith('.tgz'), false, PROJECT_SKIPPED);
  }
  if (listed.length === 0) throw new HalyardError('E_RELEASE', `project archive: no files under ${paths.join(', ')} in ${base}`);
  return cachedTarball(base, listed, cacheDir, 'project');
}

// Writes the listed files (relative to base) as a gzipped tar named by their fingerprint, unless the cache has it.
function cachedTarball(base: string, listed: ListedFile[], cacheDir: string, prefix: string): { file: string; sha256: string; files: number } {
  listed.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const files = listed.map((file) => file.path);
  // Names the cached tarball: changed files get a new one, unchanged ones reuse it.
  const fingerprint = createHash('sha256');
  for (const file of listed) fingerprint.update(`${file.path}\0${file.stamp}\n`);
  const file = join(cacheDir, `${prefix}-${fingerprint.digest('hex').slice(0, 16)}.tgz`);
  if (!existsSync(file)) {
    mkdirSync(cacheDir, { recursive: true });
    const temp = `${file}.${process.pid}.tmp`;
    try {
      // portable + noMtime: no owners, times or inode data, so the same files give the same bytes.
      const { create: createTar } = requireLazily('tar') as typeof import('tar');
      createTar({ file: temp, cwd: base, gzip: { level: 6 }, portable: true, noMtime: true, sync: true, noDirRecurse: true }, files);
      renameSync(temp, file);
    } catch (error) {
      rmSync(temp, { force: true });
      throw new HalyardError('E_RELEASE', `release: cannot write ${file}: ${(error as Error).message}`, { cause: error });
    }
    pruneCache(cacheDir, prefix, KEPT_RELEASES);
  }
  return { file, sha256: createHash('sha256').update(readFileSync(file)).digest('hex'), files: files.length };
}

/** Tarballs of one kind kept in the cache: each rebuild of halyard adds one (about 6 MB). */
const KEPT_RELEASES = 3;

// Deletes all but the newest `keep` tarballs of one kind (name prefix) in the cache.
function pruneCache(cacheDir: string, prefix: string, keep: number): void {
  const kind = prefix.replace(/-\d.*$/, '');
  const tarballs = readdirSync(cacheDir)
    .filter((name) => name.startsWith(`${kind}-`) && name.endsWith('.tgz'))
    .map((name) => ({ path: join(cacheDir, name), mtime: statSync(join(cacheDir, name)).mtimeMs }))
    .sort((a, b) => b.mtime - a.mtime);
  for (const old of tarballs.slice(keep)) rmSync(old.path, { force: true });
}

// Every package halyard needs at run time, found as Node would find it from the requiring package.
export function productionDependencies(own: PackageDir): PackageDir[] {
  const found = new Map<string, PackageDir>();
  const queue: PackageDir[] = [own];
  while (queue.length > 0) {
    const from = queue.shift()!;
    const wanted = [
      ...Object.keys(from.manifest.dependencies ?? {}).map((name) => ({ name, required: true })),
      ...Object.keys(from.manifest.optionalDependencies ?? {}).map((name) => ({ name, required: false })),
      ...Object.keys(from.manifest.peerDependencies ?? {}).map((name) => ({ name, required: false })),
    ];
    for (const { name, required } of wanted) {
      const dep = findPackage(name, from.dir);
      if (!dep) {
        if (required) throw new HalyardError('E_RELEASE', `release: ${from.manifest.name ?? from.dir} needs ${name}, which is not installed (run npm ci)`);
        continue;
      }
      if (found.has(dep.dir)) continue;
      found.set(dep.dir, dep);
      queue.push(dep);
    }
  }
  return [...found.values()];
}

// Node's lookup: DIR/node_modules/NAME for the requiring package's directory and each parent.
function findPackage(name: string, fromDir: string): PackageDir | undefined {
  for (let dir = fromDir; ; dir = dirname(dir)) {
    if (!dir.endsWith(`${sep}node_modules`)) {
      const candidate = readPackage(join(dir, 'node_modules', name));
      if (candidate) return candidate;
    }
    if (dirname(dir) === dir) return undefined;
  }
}

function readPackage(dir: string): PackageDir | undefined {
  try {
    return { dir, manifest: JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as PackageDir['manifest'] };
  } catch {
    return undefined;
  }
}

interface ListedFile {
  /** Relative to the tree's base, with "/". */
  path: string;
  /** size, mtime and mode: what the cache key compares. */
  stamp: string;
}

// Files (and symlinks) under path, relative to base; a package's own node_modules are other packages.
function collectFiles(path: string, base: string, into: ListedFile[], keep: (file: string) => boolean, isPackage = false, skipped: ReadonlySet<string> = new Set()): void {
  let stat;
  try {
    stat = lstatSync(path);
  } catch {
    return;
  }
  if (stat.isDirectory()) {
    for (const entry of readdirSync(path)) {
      if ((isPackage && entry === 'node_modules') || skipped.has(entry)) continue;
      collectFiles(join(path, entry), base, into, keep, false, skipped);
    }
  } else if ((stat.isFile() || stat.isSymbolicLink()) && keep(path)) {
    into.push({ path: toPosix(relative(base, path)), stamp: `${stat.size}:${stat.mtimeMs}:${stat.mode}` });
  }
}

function commonAncestor(paths: string[]): string {
  let common = paths[0]!;
  for (const path of paths.slice(1)) {
    while (path !== common && !path.startsWith(common.endsWith(sep) ? common : `${common}${sep}`)) common = dirname(common);
  }
  return common;
}

function toPosix(path: string): string {
  return path.split(sep).join('/');
}

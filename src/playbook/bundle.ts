import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { createRequire, isBuiltin, type SourceMapPayload } from 'node:module';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Plugin } from 'esbuild';
import { registerSourceMap } from './source-maps.js';

// How a playbook's bundle reaches the running halyard for `import ... from 'halyard'` (and its
// subpaths): as files Node imports (the built CLI's dist/, loaded once per process, shared with the
// engine), or as modules this process already holds, read from a global at run time (tests run from
// source, where Node cannot import halyard's .ts files itself).
export type HalyardImports = { kind: 'files'; files: Record<string, string> } | { kind: 'running'; modules: Record<string, unknown> };

// The bundle's record beside it: which files it was built from, by content, so a later load knows
// whether it is still the playbook on disk without running the bundler.
interface BundleRecord {
  format: number;
  bundle: string;
  inputs: [path: string, sha256: string][];
}

// Bumped when what the bundler writes changes shape; part of every cache key.
const BUNDLE_FORMAT = 3;
const RUNNING_MODULES = Symbol.for('halyard.playbook.running-modules');
const BUNDLED = /\.(?:[cm]?ts|tsx|json)$/;

// Loads a TypeScript playbook as one ES module: the playbook and every TypeScript (and JSON) file it
// imports, bundled by esbuild; npm packages and plain .js/.mjs/.cjs files stay Node's own imports,
// by absolute path (so they resolve from the playbook's folder, not the cache's). With a cache
// folder, an unchanged playbook is the same bundle file, imported without loading esbuild: Node
// keeps it for the process's life, and an edited file makes a new one.
export async function importBundled(entry: string, halyard: HalyardImports, cacheDir: string | false): Promise<Record<string, unknown>> {
  const absolute = resolve(entry);
  if (halyard.kind === 'running') (globalThis as Record<symbol, unknown>)[RUNNING_MODULES] = halyard.modules;
  if (cacheDir === false) {
    const dir = mkdtempSync(join(tmpdir(), 'halyard-playbook-'));
    try {
      const file = join(dir, `${basename(absolute)}.mjs`);
      const { text, map } = await bundle(absolute, halyard, file);
      writeFileSync(file, text, { mode: 0o600 });
      registerSourceMap(file, { payload: map });
      return (await import(pathToFileURL(file).href)) as Record<string, unknown>;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  const key = `${basename(absolute)}.${cacheKey(absolute, halyard)}`;
  const recordFile = join(cacheDir, `${key}.json`);
  const current = currentBundle(cacheDir, recordFile);
  if (current !== undefined) {
    registerSourceMap(current, { mapFile: `${current}.map` });
    try {
      return (await import(pathToFileURL(current).href)) as Record<string, unknown>;
    } catch (error) {
      // Removed by another process's clean-up between the check and the import: build it again.
      if ((error as NodeJS.ErrnoException).code !== 'ERR_MODULE_NOT_FOUND' || !String((error as Error).message).includes(current)) throw error;
    }
  }
  const { text, map, inputs } = await bundle(absolute, halyard, join(cacheDir, `${key}.mjs`));
  const name = `${key}.${sha256(text).slice(0, 16)}.mjs`;
  writeAtomically(join(cacheDir, `${name}.map`), JSON.stringify(map));
  writeAtomically(join(cacheDir, name), text);
  registerSourceMap(join(cacheDir, name), { mapFile: join(cacheDir, `${name}.map`) });
  const record: BundleRecord = { format: BUNDLE_FORMAT, bundle: name, inputs };
  writeAtomically(recordFile, JSON.stringify(record));
  removeStaleBundles(cacheDir, key, name);
  return (await import(pathToFileURL(join(cacheDir, name)).href)) as Record<string, unknown>;
}

// The cached bundle's path while every file it was built from still has the content it had; else undefined.
function currentBundle(cacheDir: string, recordFile: string): string | undefined {
  let record: BundleRecord;
  try {
    record = JSON.parse(readFileSync(recordFile, 'utf8')) as BundleRecord;
  } catch {
    return undefined;
  }
  if (record.format !== BUNDLE_FORMAT || typeof record.bundle !== 'string' || !Array.isArray(record.inputs)) return undefined;
  for (const [path, hash] of record.inputs) {
    try {
      if (sha256(readFileSync(path)) !== hash) return undefined;
    } catch {
      return undefined;
    }
  }
  const bundleFile = join(cacheDir, basename(record.bundle));
  // Without its source map, errors could not name the playbook's lines: bundled again.
  return existsSync(`${bundleFile}.map`) ? bundleFile : undefined;
}

// One bundle per playbook path and per way of reaching halyard (a dist/ moved by an upgrade, or
// tests from source, bundle again), per esbuild and per this format.
function cacheKey(absolute: string, halyard: HalyardImports): string {
  const imports = halyard.kind === 'files' ? halyard.files : Object.keys(halyard.modules).sort();
  return sha256(JSON.stringify([BUNDLE_FORMAT, absolute, halyard.kind, imports, esbuildVersion()])).slice(0, 16);
}

let esbuildVersionRead: string | undefined;
function esbuildVersion(): string {
  esbuildVersionRead ??= (JSON.parse(readFileSync(createRequire(import.meta.url).resolve('esbuild/package.json'), 'utf8')) as { version: string }).version;
  return esbuildVersionRead;
}

let buildsRunning = 0;

// Runs esbuild on the playbook; what it read, with each file's hash, comes back with the code and
// its source map (sources as absolute paths: stack frames name the playbook's own files and lines).
async function bundle(absolute: string, halyard: HalyardImports, outfile: string): Promise<{ text: string; map: SourceMapPayload; inputs: [string, string][] }> {
  const esbuild = await import('esbuild');
  const inputs = new Map<string, string>();
  buildsRunning += 1;
  const result = await esbuild.build({
    entryPoints: [absolute],
    absWorkingDir: dirname(absolute),
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    // Node's own lookup for the packages it will import: package.json "main" and the import/node
    // conditions (esbuild's defaults add "module", which Node does not know).
    mainFields: ['main'],
    conditions: [],
    keepNames: true,
    // import.meta in a bundled file means that file (its URL, folder and path), not the bundle in
    // the cache: a playbook reading files beside itself finds them. Each file that uses it gets the
    // constants these names refer to (see onLoad).
    define: Object.fromEntries(IMPORT_META.map(([property, name]) => [`import.meta.${property}`, name])),
    outfile,
    sourcemap: 'external',
    sourcesContent: false,
    logLevel: 'silent',
    plugins: [playbookPlugin(halyard, inputs)],
  }).finally(() => {
    // esbuild's service process would otherwise live as long as this one (a daemon, a standby).
    buildsRunning -= 1;
    if (buildsRunning === 0) void esbuild.stop();
  });
  const code = result.outputFiles.find((file) => file.path.endsWith('.mjs'));
  const map = result.outputFiles.find((file) => file.path.endsWith('.map'));
  if (code === undefined || map === undefined) throw new Error('esbuild produced no output');
  const payload = JSON.parse(map.text) as SourceMapPayload;
  payload.sources = payload.sources.map((source) => resolve(dirname(outfile), source));
  return { text: code.text, map: payload, inputs: [...inputs].sort(([a], [b]) => a.localeCompare(b)) };
}

// esbuild's resolution, with halyard's rules: 'halyard' is the running CLI's; packages and plain
// JavaScript files stay Node's imports by absolute URL; TypeScript and JSON files are read here
// (hashed for the cache record) and bundled.
function playbookPlugin(halyard: HalyardImports, inputs: Map<string, string>): Plugin {
  return {
    name: 'halyard-playbook',
    setup(build) {
      build.onResolve({ filter: /^halyard(?:\/.*)?$/ }, (args) => {
        if (halyard.kind === 'files') {
          const file = halyard.files[args.path];
          return file === undefined ? { errors: [{ text: `halyard has no export "${args.path}" (known: ${Object.keys(halyard.files).join(', ')})` }] } : { path: pathToFileURL(file).href, external: true };
        }
        return args.path in halyard.modules ? { path: args.path, namespace: 'halyard-running' } : { errors: [{ text: `halyard has no export "${args.path}" (known: ${Object.keys(halyard.modules).join(', ')})` }] };
      });
      build.onLoad({ filter: /.*/, namespace: 'halyard-running' }, (args) => ({
        contents: `module.exports = globalThis[Symbol.for(${JSON.stringify(RUNNING_MODULES.description)})][${JSON.stringify(args.path)}];`,
        loader: 'js',
      }));
      build.onResolve({ filter: /.*/ }, async (args) => {
        if (args.kind === 'entry-point' || args.pluginData === RESOLVING) return undefined;
        if (isBuiltin(args.path)) return { path: args.path, external: true };
        const found = await build.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, importer: args.importer, pluginData: RESOLVING });
        if (found.errors.length > 0) return { errors: found.errors };
        if (found.external || found.namespace !== 'file' || BUNDLED.test(found.path)) return found;
        // The bundle names this file by path: the package.json files that chose it ("main", "type")
        // are inputs too, so an upgrade that moves a package's entry bundles the playbook again.
        for (const manifest of manifestsOf(found.path)) {
          if (!inputs.has(manifest)) inputs.set(manifest, sha256(readFileSync(manifest)));
        }
        return { path: pathToFileURL(found.path).href, external: true };
      });
      build.onLoad({ filter: BUNDLED }, (args) => {
        const bytes = readFileSync(args.path);
        inputs.set(args.path, sha256(bytes));
        if (args.path.endsWith('.json')) return { contents: bytes, loader: 'json' };
        const loader = args.path.endsWith('.tsx') ? 'tsx' : 'ts';
        const text = bytes.toString('utf8');
        if (!text.includes('import.meta')) return { contents: bytes, loader };
        // At the start of the first line (after a #! line), before the file's own text, so every line keeps its number.
        const values: Record<(typeof IMPORT_META)[number][0], string> = { url: pathToFileURL(args.path).href, dirname: dirname(args.path), filename: args.path };
        const constants = `const ${IMPORT_META.map(([property, name]) => `${name} = ${JSON.stringify(values[property])}`).join(', ')};`;
        const hashBang = /^#!.*\n/.exec(text)?.[0] ?? '';
        return { contents: `${hashBang}${constants}${text.slice(hashBang.length)}`, loader };
      });
    },
  };
}
const RESOLVING = Symbol('halyard-resolving');

// The package.json files from a file's folder up to its package's root (the folder right inside
// node_modules, or @scope/name), or up to the first one for a file of the project itself.
function manifestsOf(file: string): string[] {
  const manifests: string[] = [];
  for (let dir = dirname(file); ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    const parent = basename(dirname(dir));
    const packageRoot = parent === 'node_modules' || (parent.startsWith('@') && basename(dirname(dirname(dir))) === 'node_modules');
    if (existsSync(manifest)) {
      manifests.push(manifest);
      if (packageRoot || !file.includes(`${sep}node_modules${sep}`)) return manifests;
    }
    if (packageRoot || dirname(dir) === dir) return manifests;
  }
}
const IMPORT_META = [
  ['url', '__halyardImportMetaUrl'],
  ['dirname', '__halyardImportMetaDirname'],
  ['filename', '__halyardImportMetaFilename'],
] as const;

function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

// Written beside, then renamed: another process reading the cache sees the old file or the new,
// whole. The temporary name is random: worker threads of one process share its pid.
function writeAtomically(path: string, text: string): void {
  const temporary = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  writeFileSync(temporary, text, { mode: 0o600 });
  renameSync(temporary, path);
}

// Earlier bundles of the same playbook, left by edits: removed once they are a few minutes old (a
// process that chose one a moment ago may still be importing it).
function removeStaleBundles(cacheDir: string, key: string, keep: string): void {
  const cutoff = Date.now() - 5 * 60_000;
  for (const file of readdirSync(cacheDir)) {
    if (file === keep || file === `${keep}.map` || !file.startsWith(`${key}.`) || !/\.mjs(?:\.map)?$/.test(file)) continue;
    try {
      if (statSync(join(cacheDir, file)).mtimeMs < cutoff) unlinkSync(join(cacheDir, file));
    } catch {
      // Gone already, or not ours to remove: the next clean-up tries again.
    }
  }
}

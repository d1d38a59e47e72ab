import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

// halyard's own package.json, as the walk found and parsed it.
export interface HalyardManifest {
  name: 'halyard';
  version: string;
  exports?: Record<string, unknown>;
  devDependencies?: Record<string, string>;
}

// Modules of one folder (every chunk of the bundle) ask once: the walk reads package.json files.
const foundByDir = new Map<string, { root: string; manifest: HalyardManifest }>();

// halyard's package root (the folder of its package.json), found from a module's URL by walking
// up: the same answer from src/ (tests), from tsc's dist/ and from the bundled chunks under
// dist/b/, at whatever depth the bundler puts a module.
export function halyardRootOf(moduleUrl: string): string {
  return found(moduleUrl).root;
}

// halyard's package.json (version, exports), read once with the root: the version --version prints
// and backups record, and the exports playbooks import, come from the same file.
export function halyardManifestOf(moduleUrl: string): HalyardManifest {
  return found(moduleUrl).manifest;
}

function found(moduleUrl: string): { root: string; manifest: HalyardManifest } {
  const start = dirname(fileURLToPath(moduleUrl));
  let known = foundByDir.get(start);
  if (known === undefined) {
    known = findRoot(start, moduleUrl);
    foundByDir.set(start, known);
  }
  return known;
}

function findRoot(start: string, moduleUrl: string): { root: string; manifest: HalyardManifest } {
  let dir = start;
  for (;;) {
    const path = join(dir, 'package.json');
    if (existsSync(path)) {
      try {
        const manifest = JSON.parse(readFileSync(path, 'utf8')) as { name?: unknown };
        if (manifest.name === 'halyard') return { root: dir, manifest: manifest as HalyardManifest };
      } catch {
        // Not a readable manifest: keep walking up.
      }
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`halyard's package.json was not found above ${fileURLToPath(moduleUrl)}`);
    dir = parent;
  }
}

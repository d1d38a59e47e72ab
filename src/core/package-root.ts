import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

// Modules of one folder (every chunk of the bundle) ask once: the walk reads package.json files.
const rootsByDir = new Map<string, string>();

// halyard's package root (the folder of its package.json), found from a module's URL by walking
// up: the same answer from src/ (tests), from tsc's dist/ and from the bundled chunks under
// dist/b/, at whatever depth the bundler puts a module.
export function halyardRootOf(moduleUrl: string): string {
  const start = dirname(fileURLToPath(moduleUrl));
  const known = rootsByDir.get(start);
  if (known !== undefined) return known;
  const root = findRoot(start, moduleUrl);
  rootsByDir.set(start, root);
  return root;
}

function findRoot(start: string, moduleUrl: string): string {
  let dir = start;
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest)) {
      try {
        if ((JSON.parse(readFileSync(manifest, 'utf8')) as { name?: unknown }).name === 'halyard') return dir;
      } catch {
        // Not a readable manifest: keep walking up.
      }
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`halyard's package.json was not found above ${fileURLToPath(moduleUrl)}`);
    dir = parent;
  }
}

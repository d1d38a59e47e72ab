import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { halyardRootOf } from './package-root.js';

// halyard's version as its package.json says: what `halyard --version` prints and what every
// backup's manifest records, so the two never disagree (0.0.0 when package.json cannot be read).
export const HALYARD_VERSION: string = (() => {
  try {
    return (JSON.parse(readFileSync(join(halyardRootOf(import.meta.url), 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return '0.0.0';
  }
})();

import { halyardManifestOf } from './package-root.js';

// halyard's version as its package.json says: what `halyard --version` prints and what every
// backup's manifest records, so the two never disagree (0.0.0 when package.json cannot be read).
export const HALYARD_VERSION: string = (() => {
  try {
    return halyardManifestOf(import.meta.url).version;
  } catch {
    return '0.0.0';
  }
})();

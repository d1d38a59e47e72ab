import { access } from 'node:fs/promises';
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createJiti } from 'jiti';
import { PlaybookError } from '../core/errors.js';
import { isPlaybook } from './define.js';
import type { Playbook } from './types.js';

// Loads a TypeScript playbook with no build step (jiti transpiles on the fly and caches on disk).
export async function loadPlaybook(path: string): Promise<Playbook> {
  const absolute = resolve(path);
  try {
    await access(absolute);
  } catch {
    throw new PlaybookError('E_PLAYBOOK_READ', `cannot read playbook ${path}`);
  }
  // 'halyard' always means the running CLI's own copy, so a playbook anywhere on disk shares its types.
  const apiEntry = fileURLToPath(new URL('../index.js', import.meta.url));
  const jiti = createJiti(pathToFileURL(absolute).href, {
    interopDefault: true,
    fsCache: true,
    moduleCache: true,
    alias: { halyard: apiEntry },
  });
  let loaded: unknown;
  try {
    loaded = await jiti.import(absolute, { default: true });
  } catch (error) {
    const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
    throw new PlaybookError('E_PLAYBOOK_LOAD', `cannot load playbook ${path}: ${message}`, { cause: error });
  }
  if (!isPlaybook(loaded)) {
    throw new PlaybookError('E_PLAYBOOK_SHAPE', `${path} must \`export default definePlaybook({...})\``);
  }
  return loaded;
}

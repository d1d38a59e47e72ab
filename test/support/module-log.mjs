// Preload for a child node process (`node --import test/support/module-log.mjs ...`): appends every
// module the process loads to the file named by HALYARD_TEST_MODULE_LOG, one a line. ES modules
// are logged as the loader resolves them (module-log-hooks.mjs, on the loader's thread); CommonJS
// ones (ssh2, what ES modules import of CommonJS) from require.cache at exit.
import { appendFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';

const log = process.env.HALYARD_TEST_MODULE_LOG;
if (log) {
  register('./module-log-hooks.mjs', import.meta.url, { data: { log } });
  const require = createRequire(import.meta.url);
  process.on('exit', () => appendFileSync(log, Object.keys(require.cache).map((file) => `${file}\n`).join('')));
}

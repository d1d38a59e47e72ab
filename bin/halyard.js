#!/usr/bin/env node
// Thin launcher: the CLI is compiled ahead of time to dist/, and registering its commands loads only
// commander (each command loads what it runs), so `halyard --version` starts about as fast as node.
import('../dist/cli/main.js').then((m) => m.main(process.argv)).catch((err) => {
  process.stderr.write(`halyard: ${err?.message ?? err}\n`);
  process.exit(70);
});

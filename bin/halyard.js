#!/usr/bin/env node
// Thin launcher: the CLI is compiled ahead of time to dist/ so start-up stays near 0.3 s.
import('../dist/cli/main.js').then((m) => m.main(process.argv)).catch((err) => {
  process.stderr.write(`halyard: ${err?.message ?? err}\n`);
  process.exit(70);
});

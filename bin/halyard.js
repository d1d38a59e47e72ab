#!/usr/bin/env node
// Thin launcher: the CLI is compiled ahead of time to dist/, and registering its commands loads only
// commander (each command loads what it runs), so `halyard --version` starts about as fast as node.
// With standby on (`halyard standby start`), a warm process ready for the command runs it instead
// and this one relays its terminal, signals and exit status (src/standby/client.ts).
const fail = (err) => {
  process.stderr.write(`halyard: ${err?.message ?? err}\n`);
  process.exit(70);
};
import('../dist/standby/client.js').then(async ({ standbyFor }) => {
  const standby = standbyFor(process.argv);
  const handed = await standby.handOver();
  if (handed === undefined) {
    const { main } = await import('../dist/cli/main.js');
    await main(process.argv);
  }
  standby.keepOneReady();
  if (handed === undefined) return;
  if ('signal' in handed) process.kill(process.pid, handed.signal);
  // Ending at once skips tearing the heap down (about 10 ms), but only when no output is still
  // queued for a slow pipe: process.exit() would drop it.
  else if (process.stdout.writableLength === 0 && process.stderr.writableLength === 0) process.exit(handed.exitCode);
  else process.exitCode = handed.exitCode;
}).catch(fail);

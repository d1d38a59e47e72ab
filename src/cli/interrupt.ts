import { ExitCode, type ExitCodeValue } from '../core/exit-codes.js';

// Ctrl-C and SIGTERM for commands that stop services on hosts (backup run, backup restore): the
// first signal aborts the work, which aborts uploads and starts again what it stopped before the
// process exits (128 + the signal's number, as shells report it); a second signal exits at once,
// and the hosts' guards start what is still stopped (src/engine/guard.ts).
export function abortOnSignals(): { signal: AbortSignal; exitCode(): ExitCodeValue | undefined; dispose(): void } {
  const aborter = new AbortController();
  let received: NodeJS.Signals | undefined;
  const codes: Partial<Record<NodeJS.Signals, ExitCodeValue>> = { SIGINT: ExitCode.Interrupted, SIGTERM: ExitCode.Terminated, SIGHUP: ExitCode.HangUp };
  const onSignal = (name: NodeJS.Signals) => {
    if (received) process.exit(codes[received] ?? 1);
    received = name;
    process.stderr.write(`halyard: ${name}: stopping; what was stopped on hosts is started again (${name} again exits at once)\n`);
    aborter.abort(new Error(`interrupted by ${name}`));
  };
  const names: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  for (const name of names) process.on(name, onSignal);
  return {
    signal: aborter.signal,
    exitCode: () => (received ? codes[received] : undefined),
    dispose: () => {
      for (const name of names) process.off(name, onSignal);
    },
  };
}

// A fact is a shell probe plus a pure parser (pyinfra's split): probes batch into one script.
export interface Fact<T> {
  /** Stable identity: two resources asking for the same key share one probe. */
  readonly key: string;
  /** POSIX sh that prints the fact on stdout. Build it with sh`...`, which quotes every value. */
  readonly script: string;
  /** Turns the probe's stdout and exit status into typed data; throws FactParseError on nonsense. */
  parse(stdout: string, exitCode: number): T;
}

// A probe printed something its parser cannot read: a bug or an unexpected host.
export class FactParseError extends Error {
  constructor(key: string, detail: string) {
    super(`cannot read fact ${key}: ${detail}`);
    this.name = 'FactParseError';
  }
}

// The shape of probe output for error messages: sizes, never the bytes (they may hold a file's
// content or a secret the guard printed).
export function describeOutput(stdout: string): string {
  const lines = stdout === '' ? 0 : stdout.replace(/\n$/, '').split('\n').length;
  return `${lines} line${lines === 1 ? '' : 's'}, ${Buffer.byteLength(stdout)} bytes`;
}

// Builds a fact with its key, script and parser in one place.
export function defineFact<T>(key: string, script: string, parse: (stdout: string, exitCode: number) => T): Fact<T> {
  return { key, script, parse };
}

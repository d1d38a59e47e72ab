import { createHash } from 'node:crypto';
import { sh, type ShellScript } from '../core/shell.js';
import { FactParseError, defineFact, describeOutput, type Fact } from './fact.js';

/** Invalidation pattern for every guard snippet status: any change may flip what a snippet sees. */
export const GUARD_FACTS = 'status:*';

// Where and with what environment a guard snippet runs.
export interface GuardOptions {
  chdir?: string;
  env?: Record<string, string>;
}

// The fact "does this path exist" (a dangling symlink counts), without hashing it as pathFact would.
export function existsFact(path: string): Fact<boolean> {
  const key = `exists:${path}`;
  return defineFact(key, sh`if [ -e ${path} ] || [ -L ${path} ]; then echo yes; else echo no; fi`.text, (stdout, exitCode) =>
    parseExists(key, stdout, exitCode),
  );
}

// Pure parser for existsFact output.
export function parseExists(key: string, stdout: string, exitCode: number): boolean {
  const answer = stdout.trim();
  if (exitCode !== 0 || (answer !== 'yes' && answer !== 'no')) throw new FactParseError(key, `unexpected output (${describeOutput(stdout)}, exit ${exitCode})`);
  return answer === 'yes';
}

// Shell lines that enter a directory and export variables before a command; values are quoted.
export function preludeLines(options: GuardOptions): ShellScript[] {
  const lines: ShellScript[] = [];
  if (options.chdir !== undefined) lines.push(sh`cd -- ${options.chdir} || exit 1`);
  for (const [name, value] of Object.entries(options.env ?? {})) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`invalid environment variable name ${JSON.stringify(name)}`);
    // A checked variable name is shell code (the left side of an assignment), the value a quoted word.
    lines.push(sh`export ${sh.trusted(name)}=${value}`);
  }
  return lines;
}

// The fact "exit status of a guard snippet": runs it in its own sh (output discarded) and reports only the status.
export function commandStatusFact(guard: string | ShellScript, options: GuardOptions = {}): Fact<number> {
  const snippet = String(guard);
  const extra = options.chdir !== undefined || (options.env && Object.keys(options.env).length > 0);
  // The key names the snippet; where and with what env it runs only adds a digest (env values stay out of keys).
  const digest = extra ? `:${createHash('sha256').update(JSON.stringify([options.chdir ?? null, options.env ?? {}])).digest('hex').slice(0, 12)}` : '';
  const key = `status:${snippet}${digest}`;
  // A separate sh keeps a snippet with a syntax error, an `exit` or unbalanced quotes from breaking
  // the probe batch. It reads the snippet from fd 3 (a here-document), never from its argv, which
  // `ps` shows to every local user; its stdin stays /dev/null.
  const delimiter = `HALYARD_GUARD_${createHash('sha256').update(snippet).digest('hex').slice(0, 16)}`;
  if (snippet.split('\n').includes(delimiter)) throw new Error(`a guard snippet may not contain the line ${delimiter}`);
  // The delimiter is letters, digits and '_'; the snippet is here-document data, shell code by design.
  const here = sh.trusted(delimiter);
  const script = sh.lines([
    sh`(`,
    ...preludeLines(options).map((line) => sh`  ${line}`),
    sh`  exec sh /dev/fd/3 3<<'${here}'`,
    sh.trusted(snippet),
    here,
    sh`) </dev/null >/dev/null 2>&1`,
    sh`printf 'status %s\\n' "$?"`,
  ]).text;
  return defineFact(key, script, (stdout, exitCode) => parseCommandStatus(key, stdout, exitCode));
}

// Pure parser for commandStatusFact output.
export function parseCommandStatus(key: string, stdout: string, exitCode: number): number {
  const match = /^status (\d+)$/m.exec(stdout);
  if (exitCode !== 0 || !match) throw new FactParseError(key, `unexpected output (${describeOutput(stdout)}, exit ${exitCode})`);
  return Number(match[1]);
}

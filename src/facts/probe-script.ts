import { sh, type ShellScript } from '../core/shell.js';
import { CLOSE_LOCK_FDS } from '../core/lock-fds.js';
import { FactParseError, type Fact } from './fact.js';

// Output of one batched probe: each fact's parsed value by key.
export type FactValues = Map<string, unknown>;

// Frames each fact's output between markers that embed a per-run nonce, so no file content can forge one.
const RS = '\u001e';

function beginMarker(nonce: string, index: number): string {
  return `${RS}HY:${nonce}:B:${index}`;
}

function endMarkerPrefix(nonce: string, index: number): string {
  return `${RS}HY:${nonce}:E:${index}:`;
}

// One shell script probing every fact, each in a subshell with stdin and the run's lock fds closed.
export function buildProbeScript(facts: readonly Fact<unknown>[], nonce: string): string {
  if (nonce === '' || nonce.includes('\n')) throw new Error('probe nonce must be a non-empty single line');
  const closeLockFds = sh.trusted(CLOSE_LOCK_FDS);
  const lines: ShellScript[] = [];
  facts.forEach((fact, index) => {
    lines.push(sh`printf '\\036HY:%s:B:%s\\n' ${nonce} ${index}`);
    // A fact's script is shell code by design, built by its own module (with sh`...`).
    lines.push(sh`(\n${sh.trusted(fact.script)}\n) </dev/null ${closeLockFds}`);
    lines.push(sh`printf '\\n\\036HY:%s:E:%s:%s\\n' ${nonce} ${index} "$?"`);
  });
  return sh`${sh.lines(lines)}\n`.text;
}

// Splits the batched output back into facts and parses each; a missing marker is a hard error.
export function parseProbeOutput(stdout: string, facts: readonly Fact<unknown>[], nonce: string): FactValues {
  const values: FactValues = new Map();
  let cursor = 0;
  facts.forEach((fact, index) => {
    const begin = `${beginMarker(nonce, index)}\n`;
    const start = stdout.indexOf(begin, cursor);
    if (start < 0) throw new FactParseError(fact.key, 'probe output is missing its start marker');
    const bodyStart = start + begin.length;
    const endPrefix = `\n${endMarkerPrefix(nonce, index)}`;
    const end = stdout.indexOf(endPrefix, bodyStart);
    if (end < 0) throw new FactParseError(fact.key, 'probe output is missing its end marker');
    const statusStart = end + endPrefix.length;
    const statusEnd = stdout.indexOf('\n', statusStart);
    const statusText = stdout.slice(statusStart, statusEnd < 0 ? undefined : statusEnd);
    const exitCode = Number(statusText);
    if (!/^\d+$/.test(statusText) || !Number.isInteger(exitCode)) throw new FactParseError(fact.key, 'probe exit status unreadable');
    values.set(fact.key, fact.parse(stdout.slice(bodyStart, end), exitCode));
    cursor = statusEnd < 0 ? stdout.length : statusEnd + 1;
  });
  return values;
}

// De-duplicates facts by key, keeping the first of each, in order.
export function uniqueFacts(facts: Iterable<Fact<unknown>>): Fact<unknown>[] {
  const byKey = new Map<string, Fact<unknown>>();
  for (const fact of facts) if (!byKey.has(fact.key)) byKey.set(fact.key, fact);
  return [...byKey.values()];
}

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

// A part of the probe: one fact, or every fact of one family (one script serving them all).
export interface ProbeSection {
  facts: Fact<unknown>[];
  /** The section's shell (built only for the probe script, not again to parse its output). */
  script(): string;
  /** Each fact's value, in the order of `facts`. */
  parse(stdout: string, exitCode: number): unknown[];
}

// The probe's sections, in the order their first facts come: a family's facts join its first one.
export function probeSections(facts: readonly Fact<unknown>[]): ProbeSection[] {
  const groups: Fact<unknown>[][] = [];
  const byFamily = new Map<string, Fact<unknown>[]>();
  for (const fact of facts) {
    const family = fact.batch?.family.name;
    const group = family === undefined ? undefined : byFamily.get(family);
    if (group) group.push(fact);
    else {
      const fresh = [fact];
      if (family !== undefined) byFamily.set(family, fresh);
      groups.push(fresh);
    }
  }
  return groups.map((group) => {
    const [first] = group as [Fact<unknown>];
    const batch = first.batch;
    // A fact of no family, or a family of one, is probed with its own script, as it would be alone.
    if (!batch || group.length === 1) return { facts: group, script: () => first.script, parse: (stdout, exitCode) => [first.parse(stdout, exitCode)] };
    const items = group.map((fact) => fact.batch?.item);
    return {
      facts: group,
      script: () => batch.family.script(items),
      parse: (stdout, exitCode) => {
        const values = batch.family.parse(stdout, exitCode, items);
        if (values.length !== group.length) throw new FactParseError(first.key, `the ${batch.family.name} family returned ${values.length} values for ${group.length} facts`);
        return values;
      },
    };
  });
}

// One shell script probing every fact, each section in a subshell with stdin and the run's lock fds closed.
export function buildProbeScript(facts: readonly Fact<unknown>[], nonce: string): string {
  if (nonce === '' || nonce.includes('\n')) throw new Error('probe nonce must be a non-empty single line');
  const closeLockFds = sh.trusted(CLOSE_LOCK_FDS);
  const lines: ShellScript[] = [];
  probeSections(facts).forEach((section, index) => {
    lines.push(sh`printf '\\036HY:%s:B:%s\\n' ${nonce} ${index}`);
    // A section's script is shell code by design, built by its fact's module (with sh`...`).
    lines.push(sh`(\n${sh.trusted(section.script())}\n) </dev/null ${closeLockFds}`);
    lines.push(sh`printf '\\n\\036HY:%s:E:%s:%s\\n' ${nonce} ${index} "$?"`);
  });
  return sh`${sh.lines(lines)}\n`.text;
}

// Splits the batched output back into sections and parses each; a missing marker is a hard error.
export function parseProbeOutput(stdout: string, facts: readonly Fact<unknown>[], nonce: string): FactValues {
  const values: FactValues = new Map();
  let cursor = 0;
  probeSections(facts).forEach((section, index) => {
    const key = section.facts[0]?.key ?? `section ${index}`;
    const begin = `${beginMarker(nonce, index)}\n`;
    const start = stdout.indexOf(begin, cursor);
    if (start < 0) throw new FactParseError(key, 'probe output is missing its start marker');
    const bodyStart = start + begin.length;
    const endPrefix = `\n${endMarkerPrefix(nonce, index)}`;
    const end = stdout.indexOf(endPrefix, bodyStart);
    if (end < 0) throw new FactParseError(key, 'probe output is missing its end marker');
    const statusStart = end + endPrefix.length;
    const statusEnd = stdout.indexOf('\n', statusStart);
    const statusText = stdout.slice(statusStart, statusEnd < 0 ? undefined : statusEnd);
    const exitCode = Number(statusText);
    if (!/^\d+$/.test(statusText) || !Number.isInteger(exitCode)) throw new FactParseError(key, 'probe exit status unreadable');
    const parsed = section.parse(stdout.slice(bodyStart, end), exitCode);
    section.facts.forEach((fact, at) => values.set(fact.key, parsed[at]));
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

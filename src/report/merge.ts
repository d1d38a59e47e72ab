import { readFile } from 'node:fs/promises';
import { HalyardError } from '../core/errors.js';
import { ExitCode, type ExitCodeValue } from '../core/exit-codes.js';
import { nameTable } from '../core/name-table.js';
import { exitCodeFor, type ControllerStepResult, type HostResult, type RunResult } from '../engine/results.js';
import { sliceLabel } from '../inventory/slice.js';
import { parseRunResult } from './run-result-schema.js';

// `halyard report merge FILES...`: the results of one run split over parallel processes
// (`apply --slice INDEX/COUNT --json-file FILE` in a Kubernetes Indexed Job or a CI matrix) as
// one result for the whole fleet, with the exit code apply would have given it. Files that cannot
// belong to one run (another playbook, --check beside a real run, a host twice, a slice twice) are
// refused; a slice without a file makes the merge fail (its hosts' outcome is unknown).

// One result file, read and checked.
export interface ResultFile {
  path: string;
  result: RunResult;
}

// The merged run: the whole fleet's result, its exit code, and what it was made of.
export interface MergedResults {
  result: RunResult;
  exitCode: ExitCodeValue;
  /** The files, in the order merged (by slice). */
  files: string[];
  /** When the files are slices: how many, and which have no file. */
  slices?: { count: number; missing: number[] };
}

// A file that cannot be merged: one line naming it and what is wrong, exit 65.
export class ReportError extends HalyardError {
  constructor(code: string, message: string) {
    super(code, message, { exitCode: ExitCode.InputError });
  }
}

// Reads and checks each file (missing, empty, not JSON, not a result: one line naming the file).
export async function readResultFiles(paths: readonly string[]): Promise<ResultFile[]> {
  return Promise.all(
    paths.map(async (path) => {
      let text: string;
      try {
        text = await readFile(path, 'utf8');
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a folder, not a result file' : (error as Error).message;
        throw new ReportError('E_REPORT_FILE', `${path}: ${why}`);
      }
      return parseResultFile(path, text);
    }),
  );
}

// One file's text as a result.
export function parseResultFile(path: string, text: string): ResultFile {
  if (text.trim() === '') throw new ReportError('E_REPORT_EMPTY', `${path} is empty: the run that should have written it ended before its result (see that run's log)`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    // JSON.parse quotes the text it read, newlines included: one line here, as JSON writes them.
    const why = (error as Error).message.replace(/\r?\n/g, '\\n');
    throw new ReportError('E_REPORT_JSON', `${path} is not JSON (${why}); pass the files apply --json-file wrote, or apply --json's output`);
  }
  const parsed = parseRunResult(value);
  if ('problem' in parsed) throw new ReportError('E_REPORT_SHAPE', `${path} is not a halyard apply result: ${parsed.problem}`);
  return { path, result: parsed.result };
}

// Merges results of one run: every host once, counts as they were, the longest duration (the
// slices ran at once), controller steps as run (in slice 0), hosts in name order.
export function mergeResults(files: readonly ResultFile[]): MergedResults {
  const [first] = files;
  if (first === undefined) throw new ReportError('E_REPORT_NONE', 'report merge needs at least one result file');
  for (const file of files) checkSameRun(first, file);

  const ordered = [...files].sort((a, b) => (a.result.slice?.index ?? 0) - (b.result.slice?.index ?? 0));
  const seenSlice = new Map<number, string>();
  for (const file of ordered) {
    const slice = file.result.slice;
    if (slice === undefined) continue;
    const other = seenSlice.get(slice.index);
    if (other !== undefined) throw new ReportError('E_REPORT_SLICE_TWICE', `${other} and ${file.path} are both ${sliceLabel(slice)}; pass each slice's file once`);
    seenSlice.set(slice.index, file.path);
  }

  const owner = new Map<string, string>();
  const entries: Array<[string, HostResult]> = [];
  for (const file of ordered) {
    for (const [name, host] of Object.entries(file.result.hosts)) {
      const other = owner.get(name);
      if (other !== undefined) {
        throw new ReportError('E_REPORT_HOST_TWICE', `host ${JSON.stringify(name)} is in both ${other} and ${file.path}; each host must be in one file (the same slice run twice, or overlapping --limit runs?)`);
      }
      owner.set(name, file.path);
      entries.push([name, host]);
    }
  }
  entries.sort(([a], [b]) => a.localeCompare(b, 'en', { numeric: true }));

  const controller: ControllerStepResult[] = ordered.flatMap((file) => file.result.controller ?? []);
  const count = first.result.slice?.count;
  const missing = count === undefined ? [] : Array.from({ length: count }, (_, index) => index).filter((index) => !seenSlice.has(index));
  const result: RunResult = {
    ok: false,
    durationMs: Math.max(...files.map((file) => file.result.durationMs)),
    check: first.result.check,
    ...(first.result.playbook !== undefined ? { playbook: first.result.playbook } : {}),
    hosts: nameTable(entries),
    ...(controller.length > 0 ? { controller } : {}),
  };
  const whole = exitCodeFor(result);
  // A slice with no file: its hosts may have failed, or never run; the fleet is not known to be fine.
  const exitCode = missing.length > 0 ? ExitCode.HostFailed : whole;
  result.ok = whole !== ExitCode.HostFailed && missing.length === 0;
  return { result, exitCode, files: ordered.map((file) => file.path), ...(count !== undefined ? { slices: { count, missing } } : {}) };
}

// Two files come from one run: one playbook, one mode, and slices of one count (or none).
function checkSameRun(first: ResultFile, file: ResultFile): void {
  const a = first.result;
  const b = file.result;
  if (a.check !== b.check) {
    const mode = (result: RunResult) => (result.check ? 'a --check run' : 'an apply run');
    throw new ReportError('E_REPORT_MIXED_MODE', `${first.path} is ${mode(a)} and ${file.path} ${mode(b)}; merge the results of one run`);
  }
  if (a.playbook !== undefined && b.playbook !== undefined && a.playbook !== b.playbook) {
    throw new ReportError('E_REPORT_MIXED_PLAYBOOK', `${first.path} is from playbook ${JSON.stringify(a.playbook)} and ${file.path} from ${JSON.stringify(b.playbook)}; merge the results of one run`);
  }
  const slicing = (result: RunResult) => (result.slice ? sliceLabel(result.slice) : 'a whole run (no --slice)');
  if ((a.slice === undefined) !== (b.slice === undefined) || (a.slice && b.slice && a.slice.count !== b.slice.count)) {
    throw new ReportError('E_REPORT_MIXED_SLICES', `${first.path} is ${slicing(a)} and ${file.path} is ${slicing(b)}; merge the slices of one run (one COUNT)`);
  }
}

// The line said before a merged recap: what was merged, and which slices are missing.
export function describeMerge(merged: MergedResults): { summary: string; missing?: string } {
  const files = `${merged.files.length} result file${merged.files.length === 1 ? '' : 's'}`;
  const playbook = merged.result.playbook !== undefined ? ` of playbook ${JSON.stringify(merged.result.playbook)}` : '';
  if (merged.slices === undefined) return { summary: `merged ${files}${playbook}` };
  const { count, missing } = merged.slices;
  const summary = `merged ${files}${playbook}: ${count - missing.length} of ${count} slices`;
  if (missing.length === 0) return { summary };
  return { summary, missing: `slice${missing.length === 1 ? '' : 's'} ${missing.join(', ')} of ${count} ha${missing.length === 1 ? 's' : 've'} no result file: those hosts are not in this recap and may have failed or never run (exit 1)` };
}

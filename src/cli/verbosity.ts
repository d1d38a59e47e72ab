import type { Redactor } from '../core/secret.js';
import { visible, visibleLine } from '../core/visible.js';
import type { ProgressEvent } from './output/plain.js';

// `apply -v`, `-vv`, `-vvv` (Ansible's counting flag): 0 prints changes and failures; 1 also
// unchanged tasks and phases; 2 also each remote request (what it is for, exit status, duration)
// and the script of each step it sends; 3 also ssh2's protocol log. From 2 on, the detail goes to
// stderr (stdout keeps the run's lines, or its one JSON document with --json).
export const VERBOSITY_HELP =
  'more output, repeatable: -v unchanged tasks and phases; -vv each remote request (what for, exit status, duration) and each step\'s script, secrets masked; -vvv SSH protocol detail (-vv and -vvv go to stderr)';

/** -vv: remote requests and step scripts. */
export const VERBOSE_REQUESTS = 2;
/** -vvv: ssh2's protocol log. */
export const VERBOSE_SSH = 3;

// Commander's parser for a counting flag: called once per -v, and once per letter of -vv.
export function increaseVerbosity(_value: string | undefined, previous: number): number {
  return previous + 1;
}

// -v: which settings files the run read, as ansible-playbook -v names its config file.
export function configFilesLine(settings: { project: { file?: string | undefined }; ansible: { file?: string | undefined } }): string {
  return `halyard: halyard.yml: ${settings.project.file ?? 'none'}; ansible.cfg: ${settings.ansible.file ?? 'none'}`;
}

// "12 ms" below a second, else "1.25 s".
export function formatDuration(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(2)} s`;
}

// One -vv line about something a host run did: `web-1 | request #3 step 1 of task 2/5 "x": exit 0, 12 ms`.
export function traceLine(host: string, what: string, outcome: string, ms: number): string {
  return `${visibleLine(host)} | ${visibleLine(what)}: ${outcome}, ${formatDuration(ms)}`;
}

// -vvv: one line of ssh2's protocol log, masked and prefixed with the host it is about.
export function sshDebugLine(host: string, message: string, redactor: Redactor): string {
  return `${visibleLine(host)} | ssh: ${visibleLine(redactor.redact(message))}`;
}

// A script as -vv shows it, one host-prefixed line each: masked by the run's Redactor, with
// here-document data that is base64 (file contents, which may hold secrets the Redactor cannot see
// once encoded) replaced by a note that says no more than that.
export function scriptLines(host: string, script: string, redactor: Redactor): string[] {
  const prefix = `${visibleLine(host)} |     `;
  return displayScript(script, redactor)
    .split('\n')
    .map((line) => `${prefix}${visible(line)}`);
}

// The masked text of a script (see scriptLines).
export function displayScript(script: string, redactor: Redactor): string {
  const shown: string[] = [];
  const lines = script.replace(/\n$/, '').split('\n');
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index]!;
    shown.push(maskLine(line, redactor));
    const heredoc = /<<-?\s*(['"]?)([A-Za-z_][A-Za-z0-9_]*)\1/.exec(line);
    if (!heredoc) continue;
    const end = lines.indexOf(heredoc[2]!, index + 1);
    if (end < 0) continue;
    const body = lines.slice(index + 1, end);
    if (body.length > 0 && body.every((text) => /^[A-Za-z0-9+/=]*$/.test(text))) {
      shown.push('[base64 data, not shown]');
      index = end - 1;
    }
  }
  return shown.join('\n');
}

// quote() writes a ' inside a value as '\'': a secret holding one is found in the unquoted form.
function maskLine(line: string, redactor: Redactor): string {
  const masked = redactor.redact(line);
  const unquoted = line.split(`'\\''`).join(`'`);
  if (unquoted === line) return masked;
  const maskedUnquoted = redactor.redact(unquoted);
  return maskedUnquoted === unquoted ? masked : maskedUnquoted;
}

// Options of a run's -vv trace.
export interface RunTraceOptions {
  redactor: Redactor;
  /** Writes one line (no newline); the CLI passes stderr. */
  write: (line: string) => void;
}

// -vv for a whole run: the engine's request events as lines (what each request is for, its exit
// status and duration) and each step's script before it runs, masked.
export class RunTrace {
  readonly #options: RunTraceOptions;
  readonly #tasks = new Map<string, { index: number; total: number; name: string }>();

  constructor(options: RunTraceOptions) {
    this.#options = options;
  }

  onEvent(event: ProgressEvent): void {
    if (event.type === 'task-start') this.#tasks.set(event.host, { index: event.index, total: event.total, name: event.name });
    else if (event.type === 'task' || event.type === 'host-done' || (event.type === 'phase' && event.phase === 'handlers')) this.#tasks.delete(event.host);
    if (event.type !== 'request') return;
    const task = this.#tasks.get(event.host);
    const what = `${event.id > 0 ? `request #${event.id} ` : ''}${event.label}${task && event.id > 0 ? ` (task ${task.index + 1}/${task.total} "${task.name}")` : ''}`;
    if (event.phase === 'sent') {
      if (event.script === undefined) return;
      this.#options.write(`${visibleLine(event.host)} | ${visibleLine(this.#options.redactor.redact(what))}: script`);
      for (const line of scriptLines(event.host, event.script, this.#options.redactor)) this.#options.write(line);
      return;
    }
    const outcome = event.phase === 'done' ? `exit ${event.exitCode}` : `failed (${event.error})`;
    this.#options.write(traceLine(event.host, this.#options.redactor.redact(what), this.#options.redactor.redact(outcome), event.durationMs));
  }
}

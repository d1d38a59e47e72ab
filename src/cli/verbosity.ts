import type { Writable } from 'node:stream';
import { CLOSE_LOCK_FDS } from '../core/lock-fds.js';
import type { Redactor } from '../core/secret.js';
import { visible, visibleLine } from '../core/visible.js';
import type { HostLink } from '../engine/host-run.js';
import type { ShellTransport } from '../engine/remote-shell.js';
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

// One request written into the run's remote shell, as the engine frames it (remote-shell.ts): its
// number and the script without the end-marker line.
export interface FramedRequest {
  id: number;
  nonce: string;
  body: string;
}

const FRAME_END = /\nprintf '\\n\\036HY:%s:DONE:%s:%s\\n' ([0-9a-f]+) (\d+) "\$\?"\n$/;
const STEP_START = '(\n';
const STEP_END = `\n) </dev/null ${CLOSE_LOCK_FDS} 2>&1`;

// The request in text written to the run shell, or undefined for anything else (`exit 0`).
export function parseFramedRequest(text: string): FramedRequest | undefined {
  const match = FRAME_END.exec(text);
  if (!match) return undefined;
  return { id: Number(match[2]), nonce: match[1]!, body: text.slice(0, match.index) };
}

// A step's own script inside the engine's wrapper (stdin from /dev/null, lock fds closed), if it is one.
export function stepScript(body: string): string | undefined {
  return body.startsWith(STEP_START) && body.endsWith(STEP_END) ? body.slice(STEP_START.length, -STEP_END.length) : undefined;
}

// Where a host run is, from its events: what the requests sent now are for.
export interface RunPlace {
  phase?: 'connecting' | 'probing' | 'applying' | 'handlers';
  /** The task being applied (from its task-start event). */
  task?: { index: number; total: number; name: string; steps: number };
}

// What a request is for, from its place in the run and the shape of its script.
export function describeRequest(request: FramedRequest, place: RunPlace): { label: string; step?: string } {
  const step = stepScript(request.body);
  if (step !== undefined) {
    if (place.phase === 'handlers' || !place.task) return { label: 'step of a handler', step };
    place.task.steps += 1;
    return { label: `step ${place.task.steps} of task ${place.task.index + 1}/${place.task.total} ${JSON.stringify(place.task.name)}`, step };
  }
  if (request.id === 1) return { label: 'lock the host and probe facts' };
  if (request.body.startsWith(`printf '\\036HY:`)) {
    return { label: place.phase === 'handlers' ? 'probe facts for a handler' : place.phase === 'probing' ? 'probe more facts' : 'probe facts again' };
  }
  if (request.body.includes('hy_journal=')) return { label: 'record pending handlers' };
  return { label: 'request' };
}

// The end markers (request number and exit status) in the run shell's output, across chunks.
export class DoneMarkers {
  #tail = '';

  constructor(readonly nonce: string) {}

  // The requests this chunk finishes, in order.
  push(chunk: string): Array<{ id: number; exitCode: number }> {
    const text = this.#tail + chunk;
    const found: Array<{ id: number; exitCode: number }> = [];
    const pattern = new RegExp(`\\u001eHY:${this.nonce}:DONE:(\\d+):(\\d+)\\n`, 'g');
    let consumed = 0;
    for (let match = pattern.exec(text); match; match = pattern.exec(text)) {
      found.push({ id: Number(match[1]), exitCode: Number(match[2]) });
      consumed = match.index + match[0].length;
    }
    // Only what may start a marker cut by the chunk's end is kept (a marker is well under 80 characters).
    this.#tail = text.slice(Math.max(consumed, text.length - 80));
    return found;
  }
}

// Options of a run's -vv trace.
export interface RunTraceOptions {
  redactor: Redactor;
  /** Writes one line (no newline); the CLI passes stderr. */
  write: (line: string) => void;
  now?: () => number;
}

// -vv for a whole run: wraps each host's link to see the requests it sends and their answers,
// and follows the run's events to say what each request is for.
export class RunTrace {
  readonly #options: RunTraceOptions;
  readonly #places = new Map<string, RunPlace>();
  readonly #open = new Map<string, Map<number, { label: string; started: number }>>();

  constructor(options: RunTraceOptions) {
    this.#options = options;
  }

  // Follows the run: phases and task starts name the requests that follow them.
  onEvent(event: ProgressEvent): void {
    const place = this.#place(event.host);
    if (event.type === 'phase') {
      place.phase = event.phase;
      if (event.phase === 'handlers') delete place.task;
    } else if (event.type === 'task-start') {
      place.task = { index: event.index, total: event.total, name: event.name, steps: 0 };
    } else if (event.type === 'task') {
      delete place.task;
    } else if (event.type === 'host-done') {
      // A request still open never answered (timeout, lost connection).
      for (const [id, request] of this.#open.get(event.host) ?? []) this.#line(event.host, `request #${id} ${request.label}`, 'no answer', request.started);
      this.#open.delete(event.host);
    }
  }

  // Opens a host's link through `open`, timed, and returns it traced.
  async connect<L extends HostLink & { close(): Promise<void> }>(host: string, open: () => Promise<L>): Promise<HostLink & { close(): Promise<void> }> {
    const started = this.#now();
    let link: L;
    try {
      link = await open();
    } catch (error) {
      this.#line(host, 'connect', 'failed', started);
      throw error;
    }
    this.#line(host, 'connect', 'ok', started);
    return this.traceLink(host, link);
  }

  // The link with its run shell and streamed steps traced.
  traceLink(host: string, link: HostLink & { close(): Promise<void> }): HostLink & { close(): Promise<void> } {
    const runStream = link.runStream?.bind(link);
    return {
      execCount: () => link.execCount(),
      close: () => link.close(),
      openShell: async () => {
        const started = this.#now();
        let transport: ShellTransport;
        try {
          transport = await link.openShell();
        } catch (error) {
          this.#line(host, 'open the run shell', 'failed', started);
          throw error;
        }
        this.#line(host, 'open the run shell', 'ok', started);
        return this.#observe(host, transport);
      },
      ...(runStream
        ? {
            runStream: async (label: string, script: string, source: NodeJS.ReadableStream, timeoutMs: number) => {
              this.#script(host, `${label} (its own exec, data streamed)`, script);
              const started = this.#now();
              const result = await runStream(label, script, source, timeoutMs);
              this.#line(host, label, `exit ${result.exitCode ?? 'none'}`, started);
              return result;
            },
          }
        : {}),
    };
  }

  // Watches what is written into the shell (requests) and what comes back (their end markers).
  #observe(host: string, transport: ShellTransport): ShellTransport {
    const stdin = transport.stdin as Writable;
    const write = stdin.write;
    let markers: DoneMarkers | undefined;
    const open = new Map<number, { label: string; started: number }>();
    this.#open.set(host, open);
    const sent = (chunk: unknown) => {
      const request = typeof chunk === 'string' ? parseFramedRequest(chunk) : Buffer.isBuffer(chunk) ? parseFramedRequest(chunk.toString('utf8')) : undefined;
      if (!request) return;
      if (!markers) {
        // Listened to from the first request on: the engine has set the stream's encoding by then.
        markers = new DoneMarkers(request.nonce);
        const found = markers;
        transport.stdout.on('data', (data: string | Buffer) => {
          for (const done of found.push(String(data))) {
            const entry = open.get(done.id);
            if (!entry) continue;
            open.delete(done.id);
            this.#line(host, `request #${done.id} ${entry.label}`, `exit ${done.exitCode}`, entry.started);
          }
        });
      }
      const { label, step } = describeRequest(request, this.#place(host));
      if (step !== undefined) this.#script(host, `request #${request.id} ${label}`, step);
      open.set(request.id, { label, started: this.#now() });
    };
    stdin.write = function (this: Writable, ...args: Parameters<Writable['write']>) {
      sent(args[0]);
      return write.apply(this, args);
    } as Writable['write'];
    return transport;
  }

  #script(host: string, what: string, script: string): void {
    this.#options.write(`${visibleLine(host)} | ${visibleLine(what)}: script`);
    for (const line of scriptLines(host, script, this.#options.redactor)) this.#options.write(line);
  }

  #line(host: string, what: string, outcome: string, started: number): void {
    this.#options.write(traceLine(host, this.#options.redactor.redact(what), outcome, this.#now() - started));
  }

  #place(host: string): RunPlace {
    let place = this.#places.get(host);
    if (!place) {
      place = {};
      this.#places.set(host, place);
    }
    return place;
  }

  #now(): number {
    return (this.#options.now ?? Date.now)();
  }
}

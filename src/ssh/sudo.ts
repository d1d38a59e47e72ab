import { randomBytes } from 'node:crypto';
import { HalyardError } from '../core/errors.js';
import { renderArgv, sh } from '../core/shell.js';

// sudo refused to run the script: it needs a password we lack, or the one we sent is wrong.
export class SudoError extends HalyardError {
  constructor(code: 'E_SUDO_PASSWORD_REQUIRED' | 'E_SUDO_PASSWORD_WRONG' | 'E_SUDO_FAILED', message: string) {
    super(code, message);
  }
}

/** Marker strings that bracket sudo's own output on stderr; random per exec, never secret. */
export interface SudoMarkers {
  /** Passed to `sudo -p`: sudo prints it when it wants the password. */
  prompt: string;
  /** Printed to stderr by the shell sudo started: sudo is done, the script may follow. */
  ready: string;
}

// Fresh markers for one exec, unlikely to appear in any real output.
export function newSudoMarkers(): SudoMarkers {
  const id = randomBytes(9).toString('hex');
  return { prompt: `halyard-sudo-prompt-${id}`, ready: `halyard-sudo-ready-${id}` };
}

/** How a remote command gets its privileges. */
export type BecomeMode = 'none' | 'sudo-nopasswd' | 'sudo-password';

// Picks the sudo mode from become and whether a become password is known.
export function becomeMode(become: boolean, hasPassword: boolean): BecomeMode {
  if (!become) return 'none';
  return hasPassword ? 'sudo-password' : 'sudo-nopasswd';
}

// sudo's own flags per mode: -n never prompts; -S reads the password from stdin with our marker as prompt.
function sudoPrefix(mode: Exclude<BecomeMode, 'none'>, markers: SudoMarkers): string[] {
  return mode === 'sudo-password' ? ['sudo', '-S', '-H', '-p', markers.prompt, '--'] : ['sudo', '-n', '-H', '--'];
}

// The remote command line for `exec`: the script itself always arrives on stdin, so argv holds no script or secret.
export function buildExecCommand(mode: BecomeMode, markers: SudoMarkers): string {
  if (mode === 'none') return 'sh -s';
  return renderArgv([...sudoPrefix(mode, markers), 'sh', '-c', sh`echo ${markers.ready} >&2; exec sh -s`.text]);
}

// The remote command line for `execStream`: stdin carries data, so the (secret-free) script rides in
// argv. Without a script (undefined) the shell waits for it on stdin instead (DEFERRED_SCRIPT_READER).
export function buildStreamCommand(mode: BecomeMode, markers: SudoMarkers, script: string | undefined): string {
  if (mode === 'none') return renderArgv(['sh', '-c', script ?? DEFERRED_SCRIPT_READER]);
  if (script === undefined) return renderArgv([...sudoPrefix(mode, markers), 'sh', '-c', sh`echo ${markers.ready} >&2; ${sh.trusted(DEFERRED_SCRIPT_READER)}`.text]);
  return renderArgv([
    ...sudoPrefix(mode, markers),
    'sh',
    '-c',
    sh`echo ${markers.ready} >&2; exec sh -c "$1"`.text,
    'halyard',
    script,
  ]);
}

/**
 * The shell text of a stream whose script comes later (its channel opened and sudo done while the
 * caller still decides it): it reads `LENGTH\n` and then exactly LENGTH bytes of script from stdin
 * (`read` and `dd bs=1` never read past what they need), then runs the script with the rest of stdin
 * as its own. Exit 70 and nothing run when stdin ends first (the caller gave up).
 */
export const DEFERRED_SCRIPT_READER = 'IFS= read -r hy_n || exit 70; hy_s=$(dd bs=1 count="$hy_n" 2>/dev/null) || exit 70; exec sh -c "$hy_s"';

/** What a deferred stream sends ahead of its data: the script's length in bytes, a newline, the script. */
export function deferredScriptHeader(script: string): Buffer {
  const body = Buffer.from(script, 'utf8');
  return Buffer.concat([Buffer.from(`${body.length}\n`), body]);
}

// Wraps an exec script so the shell parses all of it before running any: a command that reads stdin cannot eat the rest.
export function wrapScriptForStdin(script: string): string {
  return `{\n${script}\n} </dev/null\n`;
}

/** What the stderr watcher asks the exec to do next. */
export type SudoEvent = { type: 'send-password' } | { type: 'ready' } | { type: 'wrong-password' };

// Watches stderr until sudo hands over to the shell: answers prompts, spots a re-prompt, strips both markers.
export class SudoStderrFilter {
  readonly #markers: SudoMarkers;
  readonly #mode: BecomeMode;
  #pending = '';
  #ready: boolean;
  #prompts = 0;

  constructor(mode: BecomeMode, markers: SudoMarkers) {
    this.#mode = mode;
    this.#markers = markers;
    this.#ready = mode === 'none';
  }

  get ready(): boolean {
    return this.#ready;
  }

  get promptsSeen(): number {
    return this.#prompts;
  }

  /** Feeds a stderr chunk; returns the bytes that belong to the caller and the events found. */
  push(chunk: Buffer): { output: Buffer; events: SudoEvent[] } {
    if (this.#ready) return { output: chunk, events: [] };
    this.#pending += chunk.toString('latin1');
    const events: SudoEvent[] = [];
    let output = '';
    for (;;) {
      const promptAt = this.#pending.indexOf(this.#markers.prompt);
      const readyAt = this.#pending.indexOf(this.#markers.ready);
      if (promptAt >= 0 && (readyAt < 0 || promptAt < readyAt)) {
        output += this.#pending.slice(0, promptAt);
        this.#pending = this.#pending.slice(promptAt + this.#markers.prompt.length);
        this.#prompts += 1;
        events.push(this.#prompts === 1 && this.#mode === 'sudo-password' ? { type: 'send-password' } : { type: 'wrong-password' });
        continue;
      }
      if (readyAt >= 0) {
        output += this.#pending.slice(0, readyAt);
        let rest = this.#pending.slice(readyAt + this.#markers.ready.length);
        if (rest.startsWith('\n')) rest = rest.slice(1);
        this.#pending = '';
        this.#ready = true;
        events.push({ type: 'ready' });
        output += rest;
        break;
      }
      // Keep only a tail that could be the start of a marker; pass the rest through.
      const keep = Math.max(this.#markers.prompt.length, this.#markers.ready.length) - 1;
      if (this.#pending.length > keep) {
        output += this.#pending.slice(0, this.#pending.length - keep);
        this.#pending = this.#pending.slice(this.#pending.length - keep);
      }
      break;
    }
    return { output: Buffer.from(output, 'latin1'), events };
  }

  /** Whatever is still held back when the stream ends (it held no whole marker). */
  flush(): Buffer {
    const rest = this.#pending;
    this.#pending = '';
    return Buffer.from(rest, 'latin1');
  }
}

// Names the sudo failure when the command ended before the shell said ready (sudo exits 1 when it refuses).
export function sudoFailure(
  mode: BecomeMode,
  label: string,
  outcome: { exitCode: number | null; promptsSeen: number; stderrTail: string },
): SudoError {
  const detail = outcome.stderrTail.trim() ? `\n${outcome.stderrTail.trim()}` : '';
  const status = outcome.exitCode === null ? 'no exit status' : `exit code ${outcome.exitCode}`;
  if (mode === 'sudo-nopasswd' && outcome.exitCode === 1) {
    return new SudoError(
      'E_SUDO_PASSWORD_REQUIRED',
      `${label}: sudo needs a password on this host (sudo -n refused); set the host's become password or allow NOPASSWD${detail}`,
    );
  }
  if (mode === 'sudo-password' && outcome.promptsSeen > 1) {
    return new SudoError('E_SUDO_PASSWORD_WRONG', `${label}: sudo rejected the become password${detail}`);
  }
  return new SudoError('E_SUDO_FAILED', `${label}: sudo did not run the command (${status})${detail}`);
}

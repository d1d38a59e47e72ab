import { randomBytes } from 'node:crypto';
import type { Readable, Writable } from 'node:stream';
import { CommandFailedError, CommandTimeoutError, HalyardError } from '../core/errors.js';
import type { ExecResult } from '../ssh/types.js';

// The streams of one long-lived remote `sh -s` (over SSH, or a local child in tests).
export interface ShellTransport {
  stdin: Writable;
  stdout: Readable;
  /** Resolves when the remote process ends. */
  done: Promise<ExecResult>;
}

// The answer to one request sent into the shell: what it printed and its last exit status.
export interface ShellReply {
  output: string;
  exitCode: number;
}

// What a shell tells an observer about each request (for -vv): sent (with the script to show,
// when the caller gave one), then done with its exit code, or failed (timeout, lost channel).
export type RequestNotice =
  | { phase: 'sent'; id: number; label: string; script?: string }
  | { phase: 'done'; id: number; label: string; exitCode: number; durationMs: number }
  | { phase: 'failed'; id: number; label: string; durationMs: number; error: string };

export type RequestObserver = (notice: RequestNotice) => void;

/** Bytes of output kept per request when only the tail matters (step logs). */
const TAIL_BYTES = 64 * 1024;
/** Characters of output a probe may print before the run gives up on the host (facts are lines). */
export const MAX_PROBE_BYTES = 8 * 1024 * 1024;

// One remote shell for a whole host run: a converged host is one exec and one round trip,
// later requests (apply, re-probe, handlers) reuse the same process and its lock on fd 9.
export class RemoteShell {
  readonly #transport: ShellTransport;
  readonly #nonce = randomBytes(8).toString('hex');
  #buffer = '';
  #bufferBytes = 0;
  /** Most characters the current request keeps; beyond it chunks are only counted, never kept. */
  #keepLimit = Number.POSITIVE_INFINITY;
  #requestCount = 0;
  #waiter: (() => void) | undefined;
  #ended: ExecResult | undefined;
  #streamError: Error | undefined;

  readonly #observer: RequestObserver | undefined;

  constructor(transport: ShellTransport, observer?: RequestObserver) {
    this.#transport = transport;
    this.#observer = observer;
    transport.stdout.setEncoding('utf8');
    transport.stdout.on('data', (chunk: string) => {
      this.#bufferBytes += chunk.length;
      if (this.#bufferBytes <= this.#keepLimit) this.#buffer += chunk;
      // Past the cap nothing more is read: the stream is torn down, which ends the remote flood
      // (SIGPIPE) instead of decoding it on this event loop.
      else transport.stdout.destroy();
      this.#waiter?.();
    });
    transport.stdin.on('error', (error: Error) => {
      this.#streamError = error;
      this.#waiter?.();
    });
    transport.done.then(
      (result) => {
        this.#ended = result;
        this.#waiter?.();
      },
      (error: unknown) => {
        this.#streamError = error instanceof Error ? error : new Error(String(error));
        this.#waiter?.();
      },
    );
  }

  /** Requests sent so far: round trips over this one exec. */
  get requests(): number {
    return this.#requestCount;
  }

  /** Random per run; markers carrying it cannot be forged by file content or command output. */
  get nonce(): string {
    return this.#nonce;
  }

  // Sends a script and waits for its end marker; keepAll keeps the whole output (probes), else the
  // tail. `shown` is the script as an observer (-vv) may print it (a step's own text, not its framing).
  async request(script: string, options: { label: string; timeoutMs: number; keepAll?: boolean; shown?: string }): Promise<ShellReply> {
    const id = this.#requestCount + 1;
    const started = Date.now();
    this.#observer?.({ phase: 'sent', id, label: options.label, ...(options.shown !== undefined ? { script: options.shown } : {}) });
    try {
      const reply = await this.#request(script, options);
      this.#observer?.({ phase: 'done', id, label: options.label, exitCode: reply.exitCode, durationMs: Date.now() - started });
      return reply;
    } catch (error) {
      this.#observer?.({ phase: 'failed', id, label: options.label, durationMs: Date.now() - started, error: error instanceof Error ? error.message : String(error) });
      throw error;
    }
  }

  async #request(script: string, options: { label: string; timeoutMs: number; keepAll?: boolean }): Promise<ShellReply> {
    const id = ++this.#requestCount;
    const marker = `\u001eHY:${this.#nonce}:DONE:${id}:`;
    const framed = `${script}\nprintf '\\n\\036HY:%s:DONE:%s:%s\\n' ${this.#nonce} ${id} "$?"\n`;
    this.#buffer = '';
    this.#bufferBytes = 0;
    this.#keepLimit = options.keepAll ? MAX_PROBE_BYTES : Number.POSITIVE_INFINITY;
    this.#transport.stdin.write(framed);
    const deadline = Date.now() + options.timeoutMs;
    // Only text that arrived since the last look is searched (a marker may straddle two chunks):
    // searching the whole buffer on every chunk made a flood quadratic.
    let searchFrom = 0;
    for (;;) {
      const at = this.#buffer.indexOf(marker, searchFrom);
      searchFrom = Math.max(0, this.#buffer.length - marker.length);
      if (at >= 0) {
        const lineEnd = this.#buffer.indexOf('\n', at);
        if (lineEnd >= 0) {
          const exitCode = Number(this.#buffer.slice(at + marker.length, lineEnd));
          // The framing printed one newline before the marker.
          const output = this.#buffer.slice(0, at > 0 && this.#buffer[at - 1] === '\n' ? at - 1 : at);
          this.#buffer = this.#buffer.slice(lineEnd + 1);
          return { output, exitCode };
        }
      }
      if (!options.keepAll && this.#buffer.length > 2 * TAIL_BYTES) {
        // Keep only the tail, but never cut a marker that may be arriving.
        const before = this.#buffer.length;
        this.#buffer = wholeLinesTail(this.#buffer, TAIL_BYTES);
        searchFrom = Math.max(0, searchFrom - (before - this.#buffer.length));
      }
      if (options.keepAll && this.#bufferBytes > MAX_PROBE_BYTES) {
        // Facts are short lines: a host printing more is broken or hostile. Fail now, keep nothing.
        this.#buffer = '';
        throw new HalyardError('E_OUTPUT_TOO_LARGE', `${options.label}: the host printed more than ${MAX_PROBE_BYTES / (1024 * 1024)} MiB where facts were expected`);
      }
      if (this.#ended) {
        throw new CommandFailedError(options.label, { ...this.#ended, stderr: `${this.#ended.stderr}${wholeLinesTail(this.#buffer, 2000)}` });
      }
      if (this.#streamError) throw new HalyardError('E_CHANNEL', `${options.label}: ${this.#streamError.message}`, { cause: this.#streamError });
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new CommandTimeoutError(options.label, options.timeoutMs);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, remaining);
        this.#waiter = () => {
          clearTimeout(timer);
          this.#waiter = undefined;
          resolve();
        };
      });
    }
  }

  // Ends the shell by closing its stdin, which also releases the host lock held on fd 9.
  async close(timeoutMs = 10_000): Promise<ExecResult | undefined> {
    if (!this.#transport.stdin.writableEnded) this.#transport.stdin.end('exit 0\n');
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), timeoutMs);
    });
    try {
      return await Promise.race([this.#transport.done.catch(() => undefined), expired]);
    } finally {
      clearTimeout(timer);
    }
  }
}

// The last `max` characters of text, starting at a line: a secret cut in two would no longer be
// found by the masker, and every line of a secret is masked on its own.
export function wholeLinesTail(text: string, max: number): string {
  if (text.length <= max) return text;
  const tail = text.slice(-max);
  const newline = tail.indexOf('\n');
  return newline < 0 ? '' : tail.slice(newline + 1);
}

import { PassThrough, type Readable, type Writable } from 'node:stream';
import { CommandTimeoutError, ConnectError, HalyardError } from '../core/errors.js';
import { Semaphore } from './semaphore.js';
import {
  becomeMode,
  buildExecCommand,
  buildStreamCommand,
  deferredScriptHeader,
  newSudoMarkers,
  SudoError,
  SudoStderrFilter,
  sudoFailure,
  wrapScriptForStdin,
  type BecomeMode,
  type SudoMarkers,
} from './sudo.js';
import type { ConnectTarget, ExecRequest, ExecResult, ExecStream, HostSession, StreamExecRequest } from './types.js';

/** Most stdout bytes an exec keeps unless the request says otherwise (64 MiB). */
export const DEFAULT_MAX_STDOUT_BYTES = 64 * 1024 * 1024;
/** Bytes of stderr kept for results and errors: the tail, where the reason usually is. */
export const STDERR_TAIL_BYTES = 64 * 1024;
/** How long a closed channel may take to confirm before its slot is given back anyway. */
const CLOSE_GRACE_MS = 10_000;
/**
 * How an abandoned command is stopped: the signals sent (ms after the abort) while it has not exited,
 * and when its channel closes regardless. Closing ends the command's stdin cleanly, so it waits for the
 * exit (3-71 ms after TERM with 6 busy loops on 2 cores). TERM is repeated because one can be lost: a
 * command signalled as it starts (the source failed before its channel opened) ran on, and with the
 * channel closed 250 ms later, as this once did, `cat > f.part && mv f.part f` kept a truncated f (1
 * of 30 on a throttled lab host, none with this schedule in 40). KILL ends a command that ignores TERM.
 */
export const STOP_SIGNALS: ReadonlyArray<{ afterMs: number; signal: 'TERM' | 'KILL' }> = [
  { afterMs: 0, signal: 'TERM' },
  { afterMs: 250, signal: 'TERM' },
  { afterMs: 1_000, signal: 'TERM' },
  { afterMs: 2_500, signal: 'KILL' },
];
/** When an abandoned command's channel closes although it has not exited (an sshd that passes no signals). */
export const STOP_CLOSE_AFTER_MS = 5_000;
/** Retries of a refused channel open (about 6 s of backoff in all). */
const CHANNEL_OPEN_RETRIES = 10;

/** One open exec channel, reduced to what a session needs (an ssh2 channel, or a fake in tests). */
export interface RemoteChannel {
  readonly stdin: Writable;
  readonly stdout: Readable;
  readonly stderr: Readable;
  /** Called once with the exit status, or (null, signal name) when killed. */
  onExit(listener: (code: number | null, signal: string | null) => void): void;
  /** Called once when the channel is closed for good (after exit, or without it). */
  onClose(listener: () => void): void;
  /** Asks the remote side to signal the process (best effort; sshd may ignore it). */
  signal(name: string): void;
  close(): void;
}

/** A live connection that opens exec channels (SshConnection, or a fake in tests). */
export interface ChannelOpener {
  openChannel(command: string): Promise<RemoteChannel>;
  /** True once the connection is gone; the session then reconnects on next use. */
  readonly closed: boolean;
  close(): Promise<void>;
}

/** Per-session limits, taken from SshOptions. */
export interface SessionLimits {
  commandTimeoutMs: number;
  maxChannelsPerConnection: number;
}

// The remote side sent more stdout than the caller allowed; the channel was closed.
export class OutputLimitError extends HalyardError {
  constructor(what: string, limit: number) {
    super('E_STDOUT_LIMIT', `${what} wrote more than ${limit} bytes of stdout; stopped it`);
  }
}

// Stops a channel's command without a clean end of its stdin: the signals of STOP_SIGNALS go while it
// has not exited, and the channel closes once it has (or STOP_CLOSE_AFTER_MS on). Closing at once, or
// on a short timer, raced the signal: a process that saw its stdin end before TERM acted ran on as
// after a clean end (`cat > f.part && mv f.part f` kept a truncated f in busy CI runs), and so did a
// channel that opened only after the abort when it was just closed.
function stopRemote(channel: RemoteChannel): void {
  let stopped = false;
  const timers: NodeJS.Timeout[] = [];
  // Ends the schedule; the channel is closed here unless sshd closed it already.
  const stop = (close: boolean) => {
    if (stopped) return;
    stopped = true;
    timers.forEach(clearTimeout);
    if (close) channel.close();
  };
  channel.onExit(() => stop(true));
  channel.onClose(() => stop(false));
  for (const { afterMs, signal } of STOP_SIGNALS) {
    const send = () => {
      if (!stopped) channel.signal(signal);
    };
    if (afterMs === 0) send();
    else timers.push(setTimeout(send, afterMs).unref());
  }
  timers.push(setTimeout(() => stop(true), STOP_CLOSE_AFTER_MS).unref());
}

// One host's session: one connection, a cap on channels open at once, sudo handling, exec counting.
export class SshSession implements HostSession {
  readonly target: ConnectTarget;
  readonly #limits: SessionLimits;
  readonly #channels: Semaphore;
  readonly #reconnect: () => Promise<ChannelOpener>;
  #connection: ChannelOpener;
  #reconnecting: Promise<ChannelOpener> | undefined;
  #execCount = 0;
  #openRetries = 0;
  #closed = false;
  readonly #closeListeners: Array<() => void> = [];

  constructor(target: ConnectTarget, connection: ChannelOpener, limits: SessionLimits, reconnect?: () => Promise<ChannelOpener>) {
    this.target = target;
    this.#connection = connection;
    this.#limits = limits;
    this.#channels = new Semaphore(limits.maxChannelsPerConnection);
    this.#reconnect =
      reconnect ??
      (() => Promise.reject(new ConnectError('E_CONNECTION_LOST', `connection to ${target.name} was lost`)));
  }

  get execCount(): number {
    return this.#execCount;
  }

  /** Channels open now, queued, the most ever open at once, and opens the server refused and we retried. */
  get channelStats(): { open: number; queued: number; highWater: number; openRetries: number } {
    return { open: this.#channels.inUse, queued: this.#channels.waiting, highWater: this.#channels.highWater, openRetries: this.#openRetries };
  }

  // Runs a script through `sh -s` (or sudo) with the script on stdin; resolves with any exit status.
  async exec(request: ExecRequest): Promise<ExecResult> {
    this.#execCount += 1;
    const mode = this.#modeFor(request.become);
    const markers = newSudoMarkers();
    const script = Buffer.from(wrapScriptForStdin(request.script), 'utf8');
    const timeoutMs = request.timeoutMs ?? this.#limits.commandTimeoutMs;
    const maxStdout = request.maxStdoutBytes ?? DEFAULT_MAX_STDOUT_BYTES;
    const stdoutChunks: Buffer[] = [];
    let stdoutBytes = 0;

    return this.#runOnChannel({
      label: request.label,
      command: buildExecCommand(mode, markers),
      mode,
      markers,
      timeoutMs,
      // Password mode waits for sudo to finish with stdin; otherwise the script can go at once.
      onStart: (channel) => {
        if (mode !== 'sudo-password') channel.stdin.end(script);
      },
      onReady: (channel) => {
        if (mode === 'sudo-password') channel.stdin.end(script);
      },
      onStdout: (chunk, fail) => {
        stdoutBytes += chunk.length;
        if (stdoutBytes > maxStdout) {
          fail(new OutputLimitError(request.label, maxStdout));
          return;
        }
        stdoutChunks.push(chunk);
        request.onStdout?.(chunk);
      },
      onStderr: request.onStderr,
      stdoutText: () => Buffer.concat(stdoutChunks).toString('utf8'),
    });
  }

  // Runs a fixed script with stdin/stdout as streams (backups, `docker save | docker load`), with backpressure.
  execStream(request: StreamExecRequest): ExecStream {
    this.#execCount += 1;
    const mode = this.#modeFor(request.become);
    const markers = newSudoMarkers();
    const stdin = new PassThrough();
    const stdout = new PassThrough();
    let tail: () => string = () => '';
    let piped = false;
    let stdoutPiped = false;
    const script = request.script;
    // Rejected before the channel is ready to hear of it: handled here, acted on in pipeStdin.
    if (typeof script !== 'string') script.catch(() => undefined);
    // A deferred script goes first, then the caller's stdin; a rejected one ends stdin (the remote exits 70).
    const pipeStdin = (channel: RemoteChannel): void => {
      if (piped) return;
      piped = true;
      if (typeof script === 'string') {
        stdin.pipe(channel.stdin);
        return;
      }
      script.then(
        (text) => {
          channel.stdin.write(deferredScriptHeader(text));
          stdin.pipe(channel.stdin);
        },
        () => channel.stdin.end(),
      );
    };

    const aborter = new AbortController();
    const done = this.#runOnChannel({
      label: request.label,
      command: buildStreamCommand(mode, markers, typeof script === 'string' ? script : undefined),
      mode,
      markers,
      timeoutMs: request.timeoutMs ?? this.#limits.commandTimeoutMs,
      onStart: (channel, stderrTail) => {
        tail = stderrTail;
        channel.stdout.pipe(stdout);
        stdoutPiped = true;
        if (mode !== 'sudo-password') pipeStdin(channel);
      },
      onReady: (channel) => pipeStdin(channel),
      onStdout: undefined,
      onStderr: undefined,
      stdoutText: () => '',
      abortSignal: aborter.signal,
    });
    done.catch((error: unknown) => {
      // Writers must not block forever, and an 'error' nobody listens for would crash the process.
      stdin.unpipe();
      stdin.resume();
      if (stdout.writableEnded) return;
      // pipe() from the channel adds its own 'error' listener, which rethrows when it is the only one.
      const ownListeners = stdout.listenerCount('error') - (stdoutPiped ? 1 : 0);
      if (ownListeners > 0) stdout.destroy(error as Error);
      else stdout.destroy();
    });
    return { stdin, stdout, stderrTail: () => tail(), done, abort: () => aborter.abort() };
  }

  // Closes the connection; later execs fail instead of reconnecting.
  async close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      for (const listener of this.#closeListeners.splice(0)) listener();
    }
    await this.#connection.close();
  }

  // Calls `listener` once, when the session is closed (the pool then forgets it: a 1000-host run
  // kept 1000 closed connections, their sockets and ciphers, until its end otherwise).
  onClose(listener: () => void): void {
    if (this.#closed) listener();
    else this.#closeListeners.push(listener);
  }

  #modeFor(become: boolean | undefined): BecomeMode {
    return becomeMode(become ?? this.target.become, this.target.becomePassword !== undefined);
  }

  async #liveConnection(): Promise<ChannelOpener> {
    if (this.#closed) throw new ConnectError('E_SESSION_CLOSED', `session to ${this.target.name} is closed`);
    if (!this.#connection.closed) return this.#connection;
    this.#reconnecting ??= this.#reconnect().finally(() => {
      this.#reconnecting = undefined;
    });
    this.#connection = await this.#reconnecting;
    return this.#connection;
  }

  // sshd frees a session slot only after it processes our CHANNEL_CLOSE, so an open right after a close can be
  // refused (MaxSessions) for a moment; such refusals are retried with backoff (the command timeout still bounds it).
  async #openWithRetry(command: string): Promise<RemoteChannel> {
    for (let attempt = 0; ; attempt += 1) {
      try {
        return await (await this.#liveConnection()).openChannel(command);
      } catch (error) {
        const refused = (error as { code?: unknown }).code === 'E_CHANNEL_OPEN';
        if (!refused || attempt >= CHANNEL_OPEN_RETRIES) throw error;
        this.#openRetries += 1;
        await new Promise((resolve) => setTimeout(resolve, Math.min(25 * 2 ** attempt, 1_000)));
      }
    }
  }

  // Shared by exec and execStream: slot, channel, sudo dialogue, timeout, output limits, result.
  async #runOnChannel(run: ChannelRun): Promise<ExecResult> {
    const release = await this.#channels.acquire();
    const started = Date.now();
    let channel: RemoteChannel;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new CommandTimeoutError(run.label, run.timeoutMs)), run.timeoutMs);
    });
    timedOut.catch(() => undefined);
    const aborted = new Promise<never>((_resolve, reject) => {
      const fail = () => reject(new HalyardError('E_ABORTED', `${run.label}: aborted`));
      if (run.abortSignal?.aborted) fail();
      else run.abortSignal?.addEventListener('abort', fail, { once: true });
    });
    aborted.catch(() => undefined);
    const opening = this.#openWithRetry(run.command);
    try {
      channel = await Promise.race([opening, timedOut, aborted]);
    } catch (error) {
      clearTimeout(timer);
      release();
      // A channel that opens after the deadline or an abort is stopped rather than left running: its
      // command has started, and a close alone would give it a clean end of stdin.
      opening.then(stopRemote, () => undefined);
      throw error;
    }
    channel.onClose(release);
    try {
      return await Promise.race([this.#drive(channel, run, started), timedOut, aborted]);
    } catch (error) {
      // Timeout, sudo refusal, output limit or abort: stop the remote side and free the slot even if
      // it never confirms.
      stopRemote(channel);
      setTimeout(release, CLOSE_GRACE_MS).unref();
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  #drive(channel: RemoteChannel, run: ChannelRun, started: number): Promise<ExecResult> {
    const password = this.target.becomePassword;
    return new Promise<ExecResult>((resolve, reject) => {
      const filter = new SudoStderrFilter(run.mode, run.markers);
      let stderrTail = Buffer.alloc(0);
      let exitCode: number | null = null;
      let signal: string | null = null;
      let settled = false;
      let pendingEnds = 3; // stdout end, stderr end, channel close

      const fail = (error: Error): void => {
        if (settled) return;
        settled = true;
        reject(error);
      };
      const keepStderr = (chunk: Buffer): void => {
        if (chunk.length === 0) return;
        stderrTail = Buffer.concat([stderrTail, chunk]);
        if (stderrTail.length > STDERR_TAIL_BYTES) stderrTail = stderrTail.subarray(stderrTail.length - STDERR_TAIL_BYTES);
        run.onStderr?.(chunk);
      };
      const finish = (): void => {
        pendingEnds -= 1;
        if (pendingEnds > 0 || settled) return;
        keepStderr(filter.flush());
        const stderr = stderrTail.toString('utf8');
        if (!filter.ready) {
          fail(sudoFailure(run.mode, run.label, { exitCode, promptsSeen: filter.promptsSeen, stderrTail: stderr }));
          return;
        }
        settled = true;
        resolve({ exitCode, signal, stdout: run.stdoutText(), stderr, durationMs: Date.now() - started });
      };

      channel.onExit((code, signalName) => {
        exitCode = code;
        signal = signalName;
      });
      channel.onClose(finish);
      channel.stdout.once('end', finish);
      channel.stderr.once('end', finish);
      channel.stdin.on('error', () => undefined); // EPIPE-like errors surface as the exit status instead
      channel.stdout.on('error', fail);

      channel.stderr.on('data', (chunk: Buffer) => {
        const { output, events } = filter.push(chunk);
        keepStderr(output);
        for (const event of events) {
          if (event.type === 'send-password') {
            if (!password) {
              fail(new SudoError('E_SUDO_PASSWORD_REQUIRED', `${run.label}: sudo asked for a password and none is set`));
              return;
            }
            channel.stdin.write(`${password.reveal()}\n`);
          } else if (event.type === 'wrong-password') {
            fail(new SudoError('E_SUDO_PASSWORD_WRONG', `${run.label}: sudo rejected the become password for ${this.target.name}`));
            return;
          } else {
            run.onReady(channel);
          }
        }
      });
      if (run.onStdout) {
        const onStdout = run.onStdout;
        channel.stdout.on('data', (chunk: Buffer) => onStdout(chunk, fail));
      }
      run.onStart(channel, () => stderrTail.toString('utf8'));
      if (filter.ready) run.onReady(channel);
    });
  }
}

interface ChannelRun {
  label: string;
  command: string;
  mode: BecomeMode;
  markers: SudoMarkers;
  timeoutMs: number;
  onStart: (channel: RemoteChannel, stderrTail: () => string) => void;
  onReady: (channel: RemoteChannel) => void;
  onStdout: ((chunk: Buffer, fail: (error: Error) => void) => void) | undefined;
  onStderr: ((chunk: Buffer) => void) | undefined;
  stdoutText: () => string;
  /** Aborting stops the remote side as a timeout does. */
  abortSignal?: AbortSignal;
}

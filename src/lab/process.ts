import { spawn, type ChildProcess } from 'node:child_process';
import { describeExitCode, tailLines } from '../core/errors.js';
import { LabError } from './errors.js';

// A flat result like zx/execa: exitCode null means the process ended without a status.
export interface RunResult {
  exitCode: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  durationMs: number;
}

// Options for one local process; argv only, never a shell string built from values.
export interface RunOptions {
  /** Bytes or text written to stdin, then stdin is closed. */
  input?: string | Buffer;
  /** Kill the process (SIGKILL) after this long; default 10 minutes. */
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Most bytes kept per stream (the tail is kept); default 4 MiB. */
  maxBufferBytes?: number;
  /** Streamed stderr, for progress output of long commands. */
  onStderr?: (chunk: Buffer) => void;
}

// Runs one local program with an argv array and collects a bounded tail of its output.
export function run(file: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const started = Date.now();
  const max = options.maxBufferBytes ?? 4 * 1024 * 1024;
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      env: options.env ?? process.env,
      cwd: options.cwd,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out = new BoundedBuffer(max);
    const err = new BoundedBuffer(max);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, options.timeoutMs ?? 600_000);
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => {
      err.push(chunk);
      options.onStderr?.(chunk);
    });
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const stderr = err.toString() + (timedOut ? `\n(killed after ${options.timeoutMs ?? 600_000} ms timeout)` : '');
      resolve({ exitCode: code, signal, stdout: out.toString(), stderr, durationMs: Date.now() - started });
    });
    child.stdin.on('error', () => {
      /* the child may exit before reading stdin; its exit status tells the story */
    });
    if (options.input !== undefined) child.stdin.end(options.input);
    else child.stdin.end();
  });
}

// Runs one local program and throws a LabError with the command, status and stderr tail on failure.
export async function runChecked(file: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const result = await run(file, args, options);
  if (result.exitCode !== 0) throw new LabError('E_LAB_COMMAND_FAILED', describeFailure(file, args, result));
  return result;
}

// Formats a failed local command the way zx/execa do: command, status meaning, stderr tail.
export function describeFailure(file: string, args: readonly string[], result: RunResult): string {
  const status =
    result.exitCode === null
      ? `killed by signal ${result.signal ?? '?'}`
      : `exit code ${result.exitCode}${describeExitCode(result.exitCode)}`;
  const tail = tailLines(result.stderr || result.stdout, 12);
  return `${[file, ...args].join(' ')} failed: ${status}${tail ? `\n${tail}` : ''}`;
}

// Keeps at most `max` bytes, dropping the oldest, so a chatty command cannot exhaust memory.
export class BoundedBuffer {
  private chunks: Buffer[] = [];
  private size = 0;
  constructor(private readonly max: number) {}
  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
    while (this.size > this.max && this.chunks.length > 1) {
      const dropped = this.chunks.shift();
      this.size -= dropped ? dropped.length : 0;
    }
  }
  toString(): string {
    const all = Buffer.concat(this.chunks);
    return (all.length > this.max ? all.subarray(all.length - this.max) : all).toString('utf8');
  }
}

// Runs `first | second` (argv arrays, no shell) and throws a LabError naming the side that failed.
export async function runPipeline(first: readonly string[], second: readonly string[], options: { timeoutMs?: number } = {}): Promise<void> {
  const [firstFile, ...firstArgs] = first;
  const [secondFile, ...secondArgs] = second;
  if (!firstFile || !secondFile) throw new LabError('E_LAB_BAD_INPUT', 'runPipeline needs two commands');
  const producer = spawn(firstFile, firstArgs, { stdio: ['ignore', 'pipe', 'pipe'] });
  const consumer = spawn(secondFile, secondArgs, { stdio: ['pipe', 'pipe', 'pipe'] });
  producer.stdout.pipe(consumer.stdin);
  consumer.stdin.on('error', () => {
    /* the consumer's exit status tells the story */
  });
  const started = Date.now();
  consumer.stdout.resume();
  const ended = (child: ChildProcess) =>
    new Promise<RunResult>((resolve, reject) => {
      const err = new BoundedBuffer(64 * 1024);
      child.stderr?.on('data', (chunk: Buffer) => err.push(chunk));
      child.on('error', reject);
      child.on('close', (code, signal) => resolve({ exitCode: code, signal, stdout: '', stderr: err.toString(), durationMs: Date.now() - started }));
    });
  const timer = setTimeout(() => {
    producer.kill('SIGKILL');
    consumer.kill('SIGKILL');
  }, options.timeoutMs ?? 600_000);
  try {
    const [left, right] = await Promise.all([ended(producer), ended(consumer)]);
    if (left.exitCode !== 0) throw new LabError('E_LAB_COMMAND_FAILED', describeFailure(firstFile, firstArgs, left));
    if (right.exitCode !== 0) throw new LabError('E_LAB_COMMAND_FAILED', describeFailure(secondFile, secondArgs, right));
  } finally {
    clearTimeout(timer);
  }
}

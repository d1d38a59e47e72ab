import { ExitCode, type ExitCodeValue } from './exit-codes.js';

// Every halyard error has a stable code so callers never classify by matching English text.
export class HalyardError extends Error {
  readonly code: string;
  readonly exitCode: ExitCodeValue;

  constructor(code: string, message: string, options: { cause?: unknown; exitCode?: ExitCodeValue } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.exitCode = options.exitCode ?? ExitCode.HostFailed;
  }
}

// Bad inventory input; carries file and line so the CLI can print one precise line.
export class InventoryError extends HalyardError {
  readonly file: string | undefined;
  readonly line: number | undefined;

  constructor(code: string, message: string, where: { file?: string; line?: number; cause?: unknown } = {}) {
    const location = where.file ? `${where.file}${where.line ? `:${where.line}` : ''}: ` : '';
    super(code, `${location}${message}`, { cause: where.cause, exitCode: ExitCode.InputError });
    this.file = where.file;
    this.line = where.line;
  }
}

// Bad playbook or role input (unloadable file, wrong var type, invalid resource).
export class PlaybookError extends HalyardError {
  constructor(code: string, message: string, options: { cause?: unknown } = {}) {
    super(code, message, { ...options, exitCode: ExitCode.InputError });
  }
}

// Whether an error is a PlaybookError, also one thrown by another copy of halyard (a playbook
// importing the project's own halyard while another install runs it).
export function isPlaybookError(error: unknown): error is PlaybookError {
  return error instanceof PlaybookError || (error instanceof Error && error.name === 'PlaybookError' && typeof (error as { code?: unknown }).code === 'string');
}

// Bad command-line usage.
export class UsageError extends HalyardError {
  constructor(message: string) {
    super('E_USAGE', message, { exitCode: ExitCode.Usage });
  }
}

// The host could not be reached or authenticated (the host is then "unreachable").
export class ConnectError extends HalyardError {
  constructor(code: string, message: string, options: { cause?: unknown } = {}) {
    super(code, message, options);
  }
}

// The host presented a key that known_hosts does not allow.
export class HostKeyError extends ConnectError {
  constructor(code: 'E_HOSTKEY_CHANGED' | 'E_HOSTKEY_UNKNOWN', message: string) {
    super(code, message);
  }
}

// A remote command ended with a non-zero status, a signal or no status at all.
export class CommandFailedError extends HalyardError {
  readonly exitStatus: number | null;
  readonly signal: string | null;
  readonly stderrTail: string;

  constructor(
    what: string,
    result: { exitCode: number | null; signal: string | null; stderr: string },
    options: { cause?: unknown } = {},
  ) {
    const tail = tailLines(result.stderr, 8);
    const status =
      result.exitCode === null
        ? result.signal
          ? `killed by signal ${result.signal}`
          : 'ended without an exit status'
        : `exit code ${result.exitCode}${describeExitCode(result.exitCode)}`;
    super('E_COMMAND_FAILED', `${what} failed: ${status}${tail ? `\n${tail}` : ''}`, options);
    this.exitStatus = result.exitCode;
    this.signal = result.signal;
    this.stderrTail = tail;
  }
}

// A remote command ran past its deadline and was stopped.
export class CommandTimeoutError extends HalyardError {
  constructor(what: string, timeoutMs: number) {
    super('E_COMMAND_TIMEOUT', `${what} timed out after ${Math.round(timeoutMs / 1000)} s`);
  }
}

// Another run holds the host lock.
export class HostLockedError extends HalyardError {
  constructor(message: string) {
    super('E_HOST_LOCKED', message);
  }
}

// The last lines of a command's stderr, for error messages.
export function tailLines(text: string, count: number): string {
  const lines = text.replace(/\s+$/, '').split('\n');
  return lines.slice(-count).join('\n');
}

// Gives the shell's conventional meaning of an exit code, the way zx/execa explain failures.
export function describeExitCode(code: number): string {
  if (code === 126) return ' (command not executable)';
  if (code === 127) return ' (command not found)';
  if (code > 128 && code < 160) return ` (killed by signal ${code - 128})`;
  return '';
}

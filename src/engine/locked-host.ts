import { HalyardError } from '../core/errors.js';
import { CLOSE_LOCK_FDS } from '../core/lock-fds.js';
import type { HostSession } from '../ssh/types.js';
import { guardedShellScript, parseUndone, recoveryScript } from './guard.js';
import { HOST_LOCK_PATHS, askPastDaemonJobs, lockError, lockScript, newLockOwner, parseLockOutcome, type LockOwner, type LockPaths } from './lock.js';
import { RemoteShell } from './remote-shell.js';

/** The guarded shell lives as long as the work; each request has its own timeout. */
const LOCKED_SHELL_TIMEOUT_MS = 6 * 60 * 60 * 1000;

// A host held under the engine's lock for work that is not a playbook run (backups, restores,
// daemon probes): requests run in the guarded shell that holds the lock, in a subshell each.
export interface LockedHost {
  /** Runs a script (stdout and stderr together); a non-zero exit is an E_REMOTE_FAILED error. */
  run(label: string, script: string, options?: { timeoutMs?: number }): Promise<string>;
  /** Runs a script and returns its exit code and output (stdout and stderr together), whatever the code. */
  exec(label: string, script: string, options?: { timeoutMs?: number }): Promise<{ exitCode: number; output: string }>;
  /** What this run undid first for runs killed before they could (`container ID`, `staging PATH`...). */
  readonly undone: readonly string[];
}

// How the lock is taken.
export interface HostLockOptions {
  /** Names the work in errors ("backup web1/grafana"). */
  label: string;
  /** Seconds to wait for another run's lock (0: fail at once with E_HOST_LOCKED). */
  waitSeconds: number;
  /** Default timeout of each request. */
  timeoutMs: number;
  /** Run as root (sudo) whatever the inventory says; backups and restores do. */
  become?: boolean;
  owner?: LockOwner;
  lockPaths?: LockPaths;
  /**
   * A read-only request (an inspect, a probe) sent in the lock's own request and run only once the
   * lock is taken: the work's first run() or exec() of this exact script gets that answer, one round
   * trip fewer. A later one asks the host again.
   */
  prefetch?: string;
  /**
   * Ends the wait for another run's lock (the shell is dropped, E_HOST_LOCKED); once the lock is
   * held it has no effect (the work watches its own signal). A daemon stopping must not wait out
   * a lock held by the very run that is restarting it.
   */
  signal?: AbortSignal;
}

// The lock was not taken because the caller stopped waiting for it.
function lockWaitEnded(label: string, signal: AbortSignal, cause?: unknown): HalyardError {
  const reason = signal.reason instanceof Error ? signal.reason.message : String(signal.reason ?? 'aborted');
  return new HalyardError('E_HOST_LOCKED', `${label}: stopped waiting for the host lock (${reason})`, cause === undefined ? {} : { cause });
}

// Every remote action goes through the host lock, so a backup that stops containers never races a
// converge of the same host. The lock is held by a guarded shell: whatever ends the work (an error,
// a signal, a killed controller, a dropped connection), the host undoes what the work recorded
// (containers it stopped are started again), and the next locked run undoes what a run killed
// outright left recorded.
export async function withHostLock<T>(session: HostSession, options: HostLockOptions, work: (host: LockedHost) => Promise<T>): Promise<T> {
  if (!session.execStream) throw new HalyardError('E_SESSION_STREAM', `the session to ${session.target.name} cannot hold a lock (no streaming exec)`);
  const { signal } = options;
  if (signal?.aborted) throw lockWaitEnded(options.label, signal);
  const stream = session.execStream({
    label: `${options.label}: locked shell`,
    script: guardedShellScript(options.lockPaths?.undoDir),
    timeoutMs: LOCKED_SHELL_TIMEOUT_MS,
    ...(options.become === undefined ? {} : { become: options.become }),
  });
  // An abandoned stream must not crash the process with an unhandled rejection.
  stream.done.catch(() => undefined);
  const shell = new RemoteShell({ stdin: stream.stdin, stdout: stream.stdout, done: stream.done });
  // Dropping the channel ends the host's flock wait with it.
  const stopWaiting = () => stream.abort();
  signal?.addEventListener('abort', stopWaiting, { once: true });
  try {
    const owner = options.owner ?? newLockOwner();
    let answer;
    try {
      const ask = async () => {
        const prefetch = options.prefetch === undefined ? '' : `\n${prefetchScript(shell.nonce, options.prefetch)}`;
        const reply = await shell.request(`${lockScript(shell.nonce, owner, options.waitSeconds, options.lockPaths ?? HOST_LOCK_PATHS)}\n${recoveryScript(shell.nonce, options.lockPaths?.undoDir)}${prefetch}`, {
          label: `${options.label}: lock`,
          timeoutMs: options.timeoutMs * (options.prefetch === undefined ? 1 : 2) + options.waitSeconds * 1000,
        });
        return parseLockOutcome(reply.output, shell.nonce);
      };
      answer = await askPastDaemonJobs(await ask(), ask, signal ? { signal } : {});
    } catch (error) {
      throw signal?.aborted ? lockWaitEnded(options.label, signal, error) : error;
    } finally {
      signal?.removeEventListener('abort', stopWaiting);
    }
    if (signal?.aborted) throw lockWaitEnded(options.label, signal);
    const { outcome, rest } = answer;
    if (!outcome.locked) throw lockError(outcome);
    const { undone, rest: afterRecovery } = parseUndone(rest, shell.nonce);
    let prefetched = options.prefetch === undefined ? undefined : parsePrefetched(afterRecovery, shell.nonce);
    const host: LockedHost = {
      undone,
      async exec(label, script, runOptions = {}) {
        if (prefetched !== undefined && script === options.prefetch) {
          const answer = prefetched;
          prefetched = undefined;
          return answer;
        }
        const result = await shell.request(wrapRequest(script), { label, timeoutMs: runOptions.timeoutMs ?? options.timeoutMs });
        return { exitCode: result.exitCode, output: result.output };
      },
      async run(label, script, runOptions = {}) {
        const result = await host.exec(label, script, runOptions);
        if (result.exitCode !== 0) {
          const tail = result.output.trim().split('\n').slice(-3).join(' | ');
          throw new HalyardError('E_REMOTE_FAILED', `${label} exited ${result.exitCode}${tail ? `: ${tail}` : ''}`);
        }
        return result.output;
      },
    };
    return await work(host);
  } finally {
    // Closing the channel ends the shell and releases the lock; a shell busy past its grace is
    // stopped by its guard, which then undoes what is still recorded.
    await shell.close().catch(() => undefined);
  }
}

// A request as the locked shell runs it: a subshell of its own, no stdin, the lock's fds closed.
function wrapRequest(script: string): string {
  return `(\n${script}\n) </dev/null ${CLOSE_LOCK_FDS} 2>&1`;
}

// The prefetch's part of the lock request: run only when the lock was taken (hy_locked), its output
// between two markers, the second carrying its exit status.
function prefetchScript(nonce: string, script: string): string {
  return [`if [ "\${hy_locked:-}" = 1 ]; then`, `printf '\\036HY:%s:PREFETCH\\n' ${nonce}`, wrapRequest(script), `printf '\\n\\036HY:%s:PREFETCHED:%s\\n' ${nonce} "$?"`, 'fi'].join('\n');
}

// The prefetch's answer out of the lock's reply; undefined when it did not run or was cut short.
function parsePrefetched(output: string, nonce: string): { exitCode: number; output: string } | undefined {
  const start = `\u001eHY:${nonce}:PREFETCH\n`;
  const end = `\n\u001eHY:${nonce}:PREFETCHED:`;
  const from = output.indexOf(start);
  const to = output.lastIndexOf(end);
  if (from < 0 || to < from + start.length - 1) return undefined;
  const exitCode = Number.parseInt(output.slice(to + end.length), 10);
  return Number.isInteger(exitCode) ? { exitCode, output: output.slice(from + start.length, Math.max(from + start.length, to)) } : undefined;
}

import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { HalyardError } from '../core/errors.js';
import { sh, type ShellScript } from '../core/shell.js';

// Who holds a host lock, written beside it so a second run can say who is in the way.
export interface LockOwner {
  runId: string;
  controller: string;
  pid: number;
  startedAt: string;
  /** A daemon's background job (a probe, a drift check): it holds a host for a moment, so other runs ask again rather than fail. */
  purpose?: 'probe' | 'drift';
}

// This process as a lock holder: a fresh run id, this machine, this pid, now.
export function newLockOwner(): LockOwner {
  return { runId: randomBytes(6).toString('hex'), controller: hostname(), pid: process.pid, startedAt: new Date().toISOString() };
}

// The verdict of the lock script, read back from its first output line.
export type LockOutcome =
  | { locked: true; hostClock?: number }
  | { locked: false; reason: 'busy'; holder: string }
  | { locked: false; reason: 'denied' | 'no-flock'; detail: string };

// Where the locks live on a host (overridable for tests that run the script locally).
export interface LockPaths {
  /** Root's lock directory: created 0700 by root, so no other user can open, plant or hold anything in it. */
  rootDir: string;
  /** The login user's home; default: looked up with getent (a become run's HOME is root's). */
  userHome?: string;
  /** Where runs as root record what to undo if they die (engine/guard.ts); default UNDO_DIR. */
  undoDir?: string;
}

// The paths on real hosts.
export const HOST_LOCK_PATHS: LockPaths = { rootDir: '/run/halyard' };

// Shell that takes the host locks on fds of the long-lived run shell: held for the whole run and
// released by the kernel when that shell ends (even if the controller dies), so never stale.
// - A run as root (become) locks /run/halyard/lock on fd 9: runs with become exclude each other.
// - Every run locks `~LOGIN/.halyard/lock-<host name>` on fd 8 (a become run finds the login user
//   in SUDO_UID): runs of one login user with and without become exclude each other. The host
//   name keeps hosts that share a home over NFS apart.
// Directories are made 0700 by or for their owner and checked (a real directory, that owner, mode
// 700) before use, so no other local user can hold a lock, forge its holder or plant a symlink;
// lock files are created with O_EXCL (set -C) and opened for reading only.
export function lockScript(nonce: string, owner: LockOwner, waitSeconds: number, paths: LockPaths = HOST_LOCK_PATHS): string {
  const details = `run=${owner.runId} controller=${owner.controller} pid=${owner.pid} since=${owner.startedAt}${owner.purpose ? ` for=${owner.purpose}` : ''}`;
  const wait = Math.max(0, Math.floor(waitSeconds));
  // `text` is a value (quoted) or shell code that prints the message (a script).
  const say = (kind: string, text: string | ShellScript) => sh`printf '\\036HY:%s:LOCK:%s:%s\\n' ${nonce} ${kind} ${text}`;
  // The sixth passwd field, cut out by the shell itself (name:password:uid:gid:gecos:HOME:shell).
  const home =
    paths.userHome === undefined
      ? '  hy_home=$(getent passwd "$hy_login"); hy_home=${hy_home#*:*:*:*:*:}; hy_home=${hy_home%%:*}'
      : sh`  hy_home=${paths.userHome}`.text;
  return [
    'hy_lock() {',
    '  hy_locked=',
    '  hy_uid=$(id -u)',
    '  hy_login=${SUDO_UID:-$hy_uid}',
    sh`  command -v flock >/dev/null 2>&1 || { ${say('no-flock', 'flock(1) not found on the host (install util-linux)')}; return; }`.text,
    // hy_dir DIR OWNER: DIR made 0700 for OWNER when missing, then checked; sets hy_why on failure.
    '  hy_dir() {',
    '    if [ ! -e "$1" ] && [ ! -L "$1" ]; then (umask 077; mkdir "$1") 2>/dev/null && { [ "$2" = "$hy_uid" ] || chown "$2" "$1"; }; fi',
    '    if [ -L "$1" ] || [ ! -d "$1" ]; then hy_why="denied:$1 is not a directory (or cannot be created)"; return 1; fi',
    '    hy_seen=$(stat -c \'%u %a\' "$1" 2>/dev/null)',
    '    [ "$hy_seen" = "$2 700" ] || { hy_why="denied:$1 has owner and mode \'${hy_seen:-unknown}\', expected uid $2 and 700"; return 1; }',
    '  }',
    // hy_take FD DIR OWNER NAME: DIR/NAME held locked on FD (in this shell), waiting; sets hy_why on failure.
    '  hy_take() {',
    '    hy_file="$2/$4"',
    '    [ -e "$hy_file" ] || [ -L "$hy_file" ] || (umask 077; set -C; : > "$hy_file") 2>/dev/null',
    '    if [ -L "$hy_file" ] || [ ! -f "$hy_file" ]; then hy_why="denied:$hy_file is not a regular file"; return 1; fi',
    '    [ "$3" = "$hy_uid" ] || chown "$3" "$hy_file" 2>/dev/null',
    // `command exec` keeps a failed redirection from ending the shell; the braces keep 2>/dev/null temporary.
    '    if ! { eval "command exec $1<\\"\\$hy_file\\""; } 2>/dev/null; then hy_why="denied:cannot open $hy_file"; return 1; fi',
    `    if ! flock -w ${wait} "$1"; then hy_why="busy:$(tr -d '\\n' < "$2/owner-$4" 2>/dev/null)"; return 1; fi`,
    sh`    printf '%s\\n' ${details} > "$2/owner-$4.$$" 2>/dev/null && mv -f "$2/owner-$4.$$" "$2/owner-$4" 2>/dev/null`.text,
    '    return 0',
    '  }',
    // hy_refuse: prints the outcome line for hy_why ("busy:holder" or "denied:reason").
    '  hy_refuse() {',
    '    case "$hy_why" in',
    sh`      busy:*) ${say('busy', sh`"\${hy_why#busy:}"`)} ;;`.text,
    sh`      *) ${say('denied', sh`"\${hy_why#denied:}"`)} ;;`.text,
    '    esac',
    '  }',
    '  if [ "$hy_uid" = 0 ]; then',
    sh`    hy_dir ${paths.rootDir} 0 && hy_take 9 ${paths.rootDir} 0 lock || { hy_refuse; return; }`.text,
    '  fi',
    home,
    '  case "$hy_home" in /?*) ;; *) hy_why="denied:no home directory for uid $hy_login"; hy_refuse; return ;; esac',
    // The host name as the kernel keeps it (no process); tr makes one with other bytes safe for a file name.
    '  hy_host=; { read -r hy_host < /proc/sys/kernel/hostname; } 2>/dev/null',
    "  case $hy_host in ''|*[!A-Za-z0-9._-]*) hy_host=$(uname -n | tr -c 'A-Za-z0-9._\\n-' _) ;; esac",
    '  hy_dir "$hy_home/.halyard" "$hy_login" && hy_take 8 "$hy_home/.halyard" "$hy_login" "lock-$hy_host" || { hy_refuse; return; }',
    // The host's clock when the run began: halyard's temp files older than that are stale.
    // hy_locked tells a request sent with this one (locked-host.ts's prefetch) that it may run.
    '  hy_locked=1',
    sh`  ${say('ok', sh`"$(date +%s)"`)}`.text,
    '}',
    'hy_lock',
  ].join('\n');
}

// Reads the lock line out of a reply; everything after that line belongs to the probe.
export function parseLockOutcome(output: string, nonce: string): { outcome: LockOutcome; rest: string } {
  const prefix = `\u001eHY:${nonce}:LOCK:`;
  const at = output.indexOf(prefix);
  if (at < 0) return { outcome: { locked: false, reason: 'denied', detail: 'the lock script printed nothing' }, rest: output };
  const lineEnd = output.indexOf('\n', at);
  const line = output.slice(at + prefix.length, lineEnd < 0 ? undefined : lineEnd);
  const rest = lineEnd < 0 ? '' : output.slice(lineEnd + 1);
  const colon = line.indexOf(':');
  const kind = colon < 0 ? line : line.slice(0, colon);
  const text = colon < 0 ? '' : line.slice(colon + 1);
  if (kind === 'ok') return { outcome: /^\d+$/.test(text) ? { locked: true, hostClock: Number(text) } : { locked: true }, rest };
  if (kind === 'busy') return { outcome: { locked: false, reason: 'busy', holder: text || 'holder not recorded' }, rest };
  return { outcome: { locked: false, reason: kind === 'no-flock' ? 'no-flock' : 'denied', detail: text }, rest };
}

// How long a run that finds a host held by a daemon's background job keeps asking for its lock. A
// probe holds a host for well under a second (its requests are bounded by 60 s), a drift check for
// its check-mode run, seconds; an operator's apply that failed because one held the host at that
// moment would fail at random.
export const DAEMON_JOB_HOLD_WAIT_MS = 30_000;
const DAEMON_JOB_ASK_EVERY_MS = 250;

// Whether a lock was refused because a daemon's probe or drift check holds it (worth asking again shortly).
export function heldByDaemonJob(outcome: LockOutcome): boolean {
  return !outcome.locked && outcome.reason === 'busy' && / for=(?:probe|drift)$/.test(outcome.holder);
}

// Given the first answer to a lock request: while a daemon's probe or drift check holds the lock,
// asks again (ask sends the lock request and reads its outcome) every 250 ms for up to waitMs; any
// other answer, or the signal, ends the asking. Each ask is a request of its own with its own
// timeout, so --timeout keeps bounding each one. A holder that is not a daemon's job is asked about
// once more first: a run records itself just after its flock succeeds (a `mv`, milliseconds, more
// on a loaded host), and a lock asked for in between names the run before it. CI saw a converge
// fail that way, naming the apply that had just ended, while the daemon's first probe took the host.
export async function askPastDaemonJobs<T extends { outcome: LockOutcome }>(first: T, ask: () => Promise<T>, options: { waitMs?: number; signal?: AbortSignal } = {}): Promise<T> {
  const deadline = Date.now() + (options.waitMs ?? DAEMON_JOB_HOLD_WAIT_MS);
  let answer = first;
  let confirmed = false;
  for (;;) {
    const { outcome } = answer;
    const daemonJob = heldByDaemonJob(outcome);
    const unconfirmed = !confirmed && !outcome.locked && outcome.reason === 'busy' && !daemonJob;
    if (!(daemonJob || unconfirmed) || Date.now() + DAEMON_JOB_ASK_EVERY_MS > deadline || options.signal?.aborted) return answer;
    if (unconfirmed) confirmed = true;
    await new Promise((resolve) => setTimeout(resolve, DAEMON_JOB_ASK_EVERY_MS));
    answer = await ask();
  }
}

// The error for a lock that was not taken: held by another run, or not takeable here (and why).
export function lockError(outcome: Exclude<LockOutcome, { locked: true }>): HalyardError {
  if (outcome.reason === 'busy') {
    return new HalyardError('E_HOST_LOCKED', `host is locked by another halyard run (${outcome.holder}); wait for it or pass --lock-timeout`);
  }
  if (outcome.reason === 'no-flock') return new HalyardError('E_HOST_LOCK_UNAVAILABLE', `cannot lock the host: ${outcome.detail}`);
  return new HalyardError('E_HOST_LOCK_DENIED', `cannot take the host lock: ${outcome.detail}`);
}

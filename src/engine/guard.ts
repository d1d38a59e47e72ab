import { sh, type ShellScript } from '../core/shell.js';

// The host side of "nothing left down, nothing left locked": a run's shell is started by a guard
// that outlives it. The guard forwards the SSH channel's stdin to the shell through a FIFO; when
// the channel closes (the run ended, the controller died or gave up on a hung request, the
// connection dropped) and the shell has not ended by itself within GRACE seconds, the guard stops
// the shell's whole process group (TERM, then KILL): a hung probe can no longer hold the host lock.
// A signal sent to the guard itself stops the shell at once the same way. sshd delivers the
// controller's channel signal (an abandoned request, a lock wait given up) to the session's whole
// process group, which holds the guard and its feeder but not the shell in its own session: the
// guard traps it, where dying would leave the shell unguarded, holding the lock, nothing undone.
// Then, on every path, it undoes what the run recorded as "to undo" (containers and services it
// stopped, a restore's staging directory, a half-done swap), so a backup never leaves a service
// down. What a guard killed with SIGKILL could not undo, the next locked run does (recoveryScript).

/** Where runs as root record what must be undone if they die: survives reboots (a `docker stop`ped
 * container stays stopped after one, whatever its restart policy). Root-only (0700). */
export const UNDO_DIR = '/var/lib/halyard/undo';

// How long the guard waits before it stops a shell (tests shorten them).
export interface GuardTimings {
  /** Seconds a shell may take to end after its channel closed before its process group is stopped. */
  graceSeconds: number;
  /** Seconds between TERM (traps run: temp files removed, containers started) and KILL. */
  killAfterSeconds: number;
}

const GUARD_TIMINGS: GuardTimings = { graceSeconds: 2, killAfterSeconds: 8 };

// Undoes one record file, claimed first by a rename (so two recoveries never undo it twice):
// filesystem entries first (a staging dir removed, a half-done swap put back), then containers and
// services started. Prints one `undone <kind> <value>` line per action that succeeded (printf: dash's
// echo would turn a backslash in a path into an escape). A value is the rest of its line as written
// (`read` with IFS=' ' had dropped a path's trailing blanks); a line without one (a record cut
// short) is skipped.
/** Names a restore into a mount point uses inside it (backup/plan.ts restoreLayout): the staging,
 * the replaced entries while they move out, once all are out, and once the new ones are in. */
export const INSIDE_NAMES = { staging: '.halyard-restore', moving: '.halyard-old.part', movedOut: '.halyard-old.moving', replaced: '.halyard-old' } as const;

/**
 * Puts back a swap inside the mount point $hy_t that did not finish (a restore's commit that failed,
 * or a run that died in it): while the replaced entries were moving out, they move back; once all
 * were out, the new entries moved in so far are deleted and the replaced ones move back, with the
 * directory's owner and mode. A finished swap only has its replaced data deleted. Prints
 * `undone swap DIR` when it put data back.
 */
export const INSIDE_SWAP_UNDO: readonly string[] = [
  `hy_p="$hy_t/${INSIDE_NAMES.moving}" hy_m="$hy_t/${INSIDE_NAMES.movedOut}"`,
  'if [ -d "$hy_p" ]; then',
  `  find "$hy_p" -mindepth 1 -maxdepth 1 -exec mv -t "$hy_t" -- {} + && chown --reference="$hy_p" -- "$hy_t" && chmod --reference="$hy_p" -- "$hy_t" && rm -rf "$hy_p" && printf 'undone swap %s\\n' "$hy_t"`,
  'elif [ -d "$hy_m" ]; then',
  `  find "$hy_t" -mindepth 1 -maxdepth 1 ! -name ${INSIDE_NAMES.movedOut} ! -name ${INSIDE_NAMES.staging} -exec rm -rf -- {} + && find "$hy_m" -mindepth 1 -maxdepth 1 -exec mv -t "$hy_t" -- {} + && chown --reference="$hy_m" -- "$hy_t" && chmod --reference="$hy_m" -- "$hy_t" && rm -rf "$hy_m" && printf 'undone swap %s\\n' "$hy_t"`,
  'fi',
  `rm -rf "$hy_t/${INSIDE_NAMES.replaced}"`,
];

const UNDO_FUNCTION = [
  'hy_undo() {',
  '  hy_claim="$1.undoing.$$"',
  '  mv -f "$1" "$hy_claim" 2>/dev/null || return 0',
  '  while IFS= read -r hy_entry; do',
  '    case $hy_entry in *\' \'?*) ;; *) continue ;; esac',
  '    hy_kind=${hy_entry%% *} hy_value=${hy_entry#* }',
  '    case $hy_kind in',
  '      swap) if [ ! -e "$hy_value" ] && [ -e "$hy_value.halyard-old" ]; then mv "$hy_value.halyard-old" "$hy_value" && printf \'undone swap %s\\n\' "$hy_value"; fi',
  '        rm -rf "$hy_value.halyard-old" ;;',
  '      swap-inside) hy_t=$hy_value',
  ...INSIDE_SWAP_UNDO.map((line) => `        ${line}`),
  '        ;;',
  '      staging) [ -e "$hy_value" ] && rm -rf "$hy_value" && printf \'undone staging %s\\n\' "$hy_value" ;;',
  '    esac',
  '  done <"$hy_claim"',
  '  while IFS= read -r hy_entry; do',
  '    case $hy_entry in *\' \'?*) ;; *) continue ;; esac',
  '    hy_kind=${hy_entry%% *} hy_value=${hy_entry#* }',
  '    case $hy_kind in',
  '      container) docker start "$hy_value" >/dev/null 2>&1 && printf \'undone container %s\\n\' "$hy_value" ;;',
  '      service) systemctl start "$hy_value" >/dev/null 2>&1 && printf \'undone service %s\\n\' "$hy_value" ;;',
  '    esac',
  '  done <"$hy_claim"',
  '  rm -f "$hy_claim"',
  '}',
];

// The remote command of a run shell: the guard described above, then `sh -s` under it. It rides in
// argv (fixed text, no secrets). $HALYARD_UNDO names the run's record file (runs as root only).
export function guardedShellScript(undoDir: string = UNDO_DIR, timings: GuardTimings = GUARD_TIMINGS): string {
  // The shell's process group (its own session), or the shell alone while setsid has not run yet.
  const stopGroup = (signal: 'TERM' | 'KILL') => `kill -${signal} -$hy_sh 2>/dev/null || kill -${signal} $hy_sh 2>/dev/null`;
  return [
    // A signal stops the shell (TERM now, KILL later); one before the shell exists, once it does.
    'hy_sh= hy_stopping= hy_killer= hy_signalled=',
    'hy_stop() {',
    '  hy_stopping=1 hy_signalled=1',
    '  [ -n "$hy_sh" ] || return 0',
    `  ${stopGroup('TERM')}`,
    `  [ -n "$hy_killer" ] || { ( sleep ${timings.killAfterSeconds}; ${stopGroup('KILL')} ) </dev/null >/dev/null 2>&1 & hy_killer=$!; }`,
    '}',
    'trap hy_stop TERM HUP INT',
    // Its FIFO's folder: in /tmp, or in /dev/shm where /tmp is full (a host's full disk must not
    // stop the run that comes to back it up or clean it).
    'hy_g=$(mktemp -d "${TMPDIR:-/tmp}/halyard-run.XXXXXXXX" 2>/dev/null || mktemp -d /dev/shm/halyard-run.XXXXXXXX) || exit 125',
    'mkfifo -m 600 "$hy_g/in" || { rm -rf "$hy_g"; exit 125; }',
    sh`if [ "$(id -u)" = 0 ]; then HALYARD_UNDO=${undoDir}/run.$$; export HALYARD_UNDO; fi`.text,
    // Its own session and process group (setsid is util-linux, like the flock the lock needs).
    'if command -v setsid >/dev/null 2>&1; then setsid sh -s <"$hy_g/in" & else sh -s <"$hy_g/in" & fi',
    'hy_sh=$!',
    // The feeder forwards the channel to the shell; at the channel's end (EOF) an idle shell ends
    // too, and one still running after the grace period was abandoned mid-request.
    'exec 3<&0',
    `( cat >"$hy_g/in"; sleep ${timings.graceSeconds}; ${stopGroup('TERM')}; sleep ${timings.killAfterSeconds}; ${stopGroup('KILL')} ) <&3 >/dev/null 2>&1 &`,
    'hy_feeder=$!',
    'exec 3<&- </dev/null',
    '[ -z "$hy_stopping" ] || hy_stop',
    // The shell ended (by itself, killed, or stopped): the guard finishes at once. A trapped signal
    // ends `wait` early, so it waits again; a signal just after a finished wait costs one
    // immediate extra wait (status 127 then: the run was being stopped anyway).
    'while :; do',
    '  hy_signalled=',
    '  wait $hy_sh',
    '  hy_rc=$?',
    '  [ -n "$hy_signalled" ] || break',
    'done',
    // The shell is reaped: a later signal must not reach a process that reuses its pid.
    'hy_sh=',
    'kill $hy_feeder $hy_killer 2>/dev/null',
    'rm -rf "$hy_g"',
    ...UNDO_FUNCTION,
    // Output of the undo goes to the system log: the channel may be gone.
    'if [ -n "${HALYARD_UNDO:-}" ] && [ -f "$HALYARD_UNDO" ]; then',
    '  hy_undo "$HALYARD_UNDO" 2>&1 | { if command -v logger >/dev/null 2>&1; then logger -t halyard; else cat >/dev/null; fi; }',
    'fi',
    'exit $hy_rc',
  ].join('\n');
}

// Runs first in every locked backup, restore and probe: undoes what runs killed outright (guard
// included) recorded, and prints `\036HY:<nonce>:UNDONE:<kind> <value>` per action. Records of live
// runs are never touched: the caller holds the host lock, and a record's run ended if its guard's
// pid is gone.
export function recoveryScript(nonce: string, undoDir: string = UNDO_DIR): string {
  return [
    ...UNDO_FUNCTION,
    sh`if [ "$(id -u)" = 0 ] && [ -d ${undoDir} ]; then`.text,
    sh`  for hy_record in ${undoDir}/run.*; do`.text,
    '    case $hy_record in *.undoing.*) hy_owner=${hy_record##*.undoing.} ;; *) hy_owner=${hy_record##*/run.} ;; esac',
    '    [ -f "$hy_record" ] || continue',
    '    [ "$hy_record" = "${HALYARD_UNDO:-}" ] && continue',
    '    case $hy_owner in *[!0-9]*|"") continue ;; esac',
    '    kill -0 "$hy_owner" 2>/dev/null && continue',
    `    case $hy_record in *.undoing.*) mv -f "$hy_record" "\${hy_record%%.undoing.*}" 2>/dev/null || continue; hy_record=\${hy_record%%.undoing.*} ;; esac`,
    sh`    hy_undo "$hy_record" | while IFS= read -r hy_line; do printf '\\036HY:%s:UNDONE:%s\\n' ${nonce} "\${hy_line#undone }"; done`.text,
    '  done',
    'fi',
  ].join('\n');
}

// Shell lines a locked request runs before it changes what must be undone if the run dies: each
// `kind value` is appended to the run's record (created 0600 in a root-only directory).
export function recordUndo(entries: Array<{ kind: 'container' | 'service' | 'staging' | 'swap' | 'swap-inside'; value: string }>): ShellScript {
  if (entries.length === 0) return sh`:`;
  const lines = entries.map((entry) => sh`printf '%s %s\\n' ${entry.kind} ${entry.value}`);
  return sh.lines([
    sh`[ -n "\${HALYARD_UNDO:-}" ] || { echo 'halyard: no undo record (not root under the run guard)' >&2; exit 1; }`,
    sh`hy_undo_dir=\${HALYARD_UNDO%/*}`,
    sh`(umask 077; mkdir -p "$hy_undo_dir") || exit 1`,
    sh`[ ! -L "$hy_undo_dir" ] && [ "$(stat -c '%u %a' "$hy_undo_dir")" = '0 700' ] || { echo "halyard: $hy_undo_dir is not a root-only directory" >&2; exit 1; }`,
    // A full disk refuses the record: the change it guards does not start.
    sh`{ ${sh.join(lines, sh`; `)}; } 2>/dev/null >>"$HALYARD_UNDO" || { echo "halyard: could not write the undo record $HALYARD_UNDO (is its disk full?); nothing was changed" >&2; exit 1; }`,
  ]);
}

// Clears the run's record once everything in it was undone or committed by the run itself.
export const CLEAR_UNDO = sh`if [ -n "\${HALYARD_UNDO:-}" ]; then rm -f "$HALYARD_UNDO"; fi`;

// Reads the `UNDONE` lines of a recovery out of a reply: what was undone, and the rest.
export function parseUndone(output: string, nonce: string): { undone: string[]; rest: string } {
  const prefix = `\u001eHY:${nonce}:UNDONE:`;
  const undone: string[] = [];
  const rest: string[] = [];
  for (const line of output.split('\n')) {
    if (line.startsWith(prefix)) undone.push(line.slice(prefix.length));
    else rest.push(line);
  }
  return { undone, rest: rest.join('\n') };
}

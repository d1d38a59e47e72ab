import { quote } from '../core/shell.js';

// Who holds a host lock, written beside it so a second run can say who is in the way.
export interface LockOwner {
  runId: string;
  controller: string;
  pid: number;
  startedAt: string;
}

// The verdict of the lock script, read back from its first output line.
export type LockOutcome = { locked: true } | { locked: false; reason: 'busy' | 'no-flock'; holder: string };

// Shell that takes an flock on fd 9 of the long-lived run shell: held for the whole run, released
// by the kernel when that shell ends (even if the controller dies), so it can never go stale.
export function lockScript(nonce: string, owner: LockOwner, waitSeconds: number): string {
  const details = `run=${owner.runId} controller=${owner.controller} pid=${owner.pid} since=${owner.startedAt}`;
  return [
    `hy_lock_dir=/run/lock; { [ -d "$hy_lock_dir" ] && [ -w "$hy_lock_dir" ]; } || hy_lock_dir=/tmp`,
    `hy_lock="$hy_lock_dir/halyard.lock"`,
    `if ! command -v flock >/dev/null 2>&1; then printf '\\036HY:%s:LOCK:no-flock:%s\\n' ${nonce} 'flock(1) not found on the host (install util-linux)'`,
    // A failed redirection on exec would end the shell, so check writability first.
    `elif ! { [ -w "$hy_lock" ] || { [ ! -e "$hy_lock" ] && [ -w "$hy_lock_dir" ]; }; }; then printf '\\036HY:%s:LOCK:busy:%s\\n' ${nonce} "cannot write $hy_lock"`,
    `elif ! exec 9>>"$hy_lock"; then printf '\\036HY:%s:LOCK:busy:%s\\n' ${nonce} "cannot open $hy_lock"`,
    `elif flock -w ${Math.max(0, Math.floor(waitSeconds))} 9; then printf '%s\\n' ${quote(details)} > "$hy_lock.owner" 2>/dev/null; printf '\\036HY:%s:LOCK:ok\\n' ${nonce}`,
    // The holder's details alone: the engine's message already says "locked by another halyard run (...)".
    `else hy_owner=$(cat "$hy_lock.owner" 2>/dev/null | tr -d '\\n'); printf '\\036HY:%s:LOCK:busy:%s\\n' ${nonce} "\${hy_owner:-owner not recorded}"; fi`,
  ].join('\n');
}

// Reads the lock line out of a reply; everything after that line belongs to the probe.
export function parseLockOutcome(output: string, nonce: string): { outcome: LockOutcome; rest: string } {
  const prefix = `\u001eHY:${nonce}:LOCK:`;
  const at = output.indexOf(prefix);
  if (at < 0) return { outcome: { locked: false, reason: 'busy', holder: 'lock script printed nothing' }, rest: output };
  const lineEnd = output.indexOf('\n', at);
  const line = output.slice(at + prefix.length, lineEnd < 0 ? undefined : lineEnd);
  const rest = lineEnd < 0 ? '' : output.slice(lineEnd + 1);
  if (line === 'ok') return { outcome: { locked: true }, rest };
  const [reason, ...holder] = line.split(':');
  return {
    outcome: { locked: false, reason: reason === 'no-flock' ? 'no-flock' : 'busy', holder: holder.join(':') },
    rest,
  };
}

import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { lockScript, parseLockOutcome, type LockOutcome, type LockOwner, type LockPaths } from '../../src/engine/lock.js';

const NONCE = 'n0nce';

// Another run's hold on a host lock, taken on this machine: the shell it runs in, the verdict of its
// lock script, and release(), which ends the shell (and with it the lock).
export interface LockHolder {
  child: ChildProcessWithoutNullStreams;
  outcome: LockOutcome;
  release: () => Promise<void>;
}

// Starts `sh -s` (as uid, or as root with SUDO_UID set), sends the lock script and resolves with its
// verdict; the shell then waits on stdin, holding whatever it locked until released.
export function holdLock(paths: LockPaths, owner: LockOwner, options: { uid?: number; sudoUid?: number; wait?: number } = {}): Promise<LockHolder> {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH };
  if (options.sudoUid !== undefined) env.SUDO_UID = String(options.sudoUid);
  const child = spawn('sh', ['-s'], { env, stdio: ['pipe', 'pipe', 'pipe'], ...(options.uid !== undefined ? { uid: options.uid, gid: options.uid } : {}) });
  const release = () =>
    new Promise<void>((resolve) => {
      child.on('close', () => resolve());
      child.stdin.end();
    });
  let output = '';
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk;
      const at = output.indexOf(`HY:${NONCE}:LOCK:`);
      if (at >= 0 && output.includes('\n', at)) resolve({ child, outcome: parseLockOutcome(output, NONCE).outcome, release });
    });
    child.stdin.write(`${lockScript(NONCE, owner, options.wait ?? 0, paths)}\nread line\n`);
  });
}

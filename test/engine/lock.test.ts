// The host lock script under a real sh on this machine (as root, and as another uid for runs
// without become), with its directories under a temp dir: who may take it, what it refuses, what
// it says. test/e2e/cli-lock.e2e.test.ts covers the same through the CLI on a lab host.
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, statSync, symlinkSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { askPastDaemonJobs, heldByDaemonJob, type LockOutcome, type LockPaths } from '../../src/engine/lock.js';
import { holdLock, type LockHolder } from '../support/lock-holder.js';

const LOGIN_UID = 4242;
const OWNER = { runId: 'run1', controller: 'ctl', pid: 7, startedAt: '2026-12-05T00:00:00Z' };
const HOST_TAG = hostname().replace(/[^A-Za-z0-9._-]/g, '_');

const running: ChildProcessWithoutNullStreams[] = [];
afterEach(() => {
  for (const child of running.splice(0)) child.kill('SIGKILL');
});

// The lock taken by OWNER (run id as given) in a shell of its own, killed after the test.
async function takeLock(paths: LockPaths, options: { uid?: number; sudoUid?: number; wait?: number; runId?: string } = {}): Promise<LockHolder> {
  const holder = await holdLock(paths, { ...OWNER, runId: options.runId ?? OWNER.runId }, options);
  running.push(holder.child);
  return holder;
}

function release(holder: LockHolder): Promise<void> {
  return holder.release();
}

// A root dir path and a login user's home owned by LOGIN_UID, under a fresh temp dir.
function lockPaths(): LockPaths & { base: string } {
  const base = mkdtempSync(join(tmpdir(), 'hy-lock-'));
  chmodSync(base, 0o755);
  const userHome = join(base, 'home');
  mkdirSync(userHome, { mode: 0o755 });
  chownSync(userHome, LOGIN_UID, LOGIN_UID);
  return { base, rootDir: join(base, 'run-halyard'), userHome };
}

describe('host lock script', () => {
  it('as root: takes root\'s lock and the login user\'s, in 0700 directories, and records the holder', async () => {
    const paths = lockPaths();
    const holder = await takeLock(paths, { sudoUid: LOGIN_UID });
    expect(holder.outcome).toMatchObject({ locked: true, hostClock: expect.any(Number) });
    const rootDir = statSync(paths.rootDir);
    expect([rootDir.uid, rootDir.mode & 0o777]).toEqual([0, 0o700]);
    const userDir = statSync(join(paths.userHome!, '.halyard'));
    expect([userDir.uid, userDir.mode & 0o777]).toEqual([LOGIN_UID, 0o700]);
    expect(statSync(join(paths.userHome!, '.halyard', `lock-${HOST_TAG}`)).uid).toBe(LOGIN_UID);
    expect(readFileSync(join(paths.rootDir, 'owner-lock'), 'utf8')).toBe('run=run1 controller=ctl pid=7 since=2026-12-05T00:00:00Z\n');
    await release(holder);
  });

  it('a second run fails at once naming the holder, and gets the lock once the first shell ends', async () => {
    const paths = lockPaths();
    const first = await takeLock(paths, { sudoUid: LOGIN_UID, runId: 'first' });
    expect(first.outcome.locked).toBe(true);
    const second = await takeLock(paths, { sudoUid: LOGIN_UID, runId: 'second' });
    expect(second.outcome).toEqual({ locked: false, reason: 'busy', holder: 'run=first controller=ctl pid=7 since=2026-12-05T00:00:00Z' });
    await release(first);
    const third = await takeLock(paths, { sudoUid: LOGIN_UID, runId: 'third' });
    expect(third.outcome).toMatchObject({ locked: true });
  });

  it('a run without become (the login user) and one with become exclude each other', async () => {
    const paths = lockPaths();
    const become = await takeLock(paths, { sudoUid: LOGIN_UID, runId: 'become' });
    expect(become.outcome.locked).toBe(true);
    const plain = await takeLock(paths, { uid: LOGIN_UID, runId: 'plain' });
    expect(plain.outcome).toMatchObject({ locked: false, reason: 'busy', holder: expect.stringContaining('run=become') });
    await release(become);
    const plainAgain = await takeLock(paths, { uid: LOGIN_UID, runId: 'plain' });
    expect(plainAgain.outcome).toMatchObject({ locked: true });
    const becomeAgain = await takeLock(paths, { sudoUid: LOGIN_UID, runId: 'become-again' });
    expect(becomeAgain.outcome).toMatchObject({ locked: false, reason: 'busy', holder: expect.stringContaining('run=plain') });
  });

  it('refuses directories another user made or replaced with a symlink, saying why (not "locked")', async () => {
    const planted = lockPaths();
    mkdirSync(join(planted.userHome!, '.halyard'));
    chmodSync(join(planted.userHome!, '.halyard'), 0o777);
    chownSync(join(planted.userHome!, '.halyard'), 31337, 31337);
    const refused = await takeLock(planted, { uid: LOGIN_UID });
    expect(refused.outcome).toEqual({
      locked: false,
      reason: 'denied',
      detail: `${planted.userHome}/.halyard has owner and mode '31337 777', expected uid ${LOGIN_UID} and 700`,
    });

    const linked = lockPaths();
    mkdirSync(join(linked.base, 'elsewhere'), { mode: 0o700 });
    symlinkSync(join(linked.base, 'elsewhere'), linked.rootDir);
    const symlinked = await takeLock(linked, { sudoUid: LOGIN_UID });
    expect(symlinked.outcome).toEqual({ locked: false, reason: 'denied', detail: `${linked.rootDir} is not a directory (or cannot be created)` });
  });

  it('never follows a symlink planted as the lock file', async () => {
    const paths = lockPaths();
    const dir = join(paths.userHome!, '.halyard');
    mkdirSync(dir, { mode: 0o700 });
    chownSync(dir, LOGIN_UID, LOGIN_UID);
    const target = join(paths.base, 'nologin');
    symlinkSync(target, join(dir, `lock-${HOST_TAG}`));
    const result = await takeLock(paths, { sudoUid: LOGIN_UID });
    expect(result.outcome).toEqual({ locked: false, reason: 'denied', detail: `${dir}/lock-${HOST_TAG} is not a regular file` });
    expect(() => statSync(target)).toThrow();
  });
});

describe('heldByDaemonJob', () => {
  it("is true for a busy lock whose holder is a daemon's probe or drift check, false for any other holder or answer", () => {
    const busy = (holder: string) => ({ locked: false as const, reason: 'busy' as const, holder });
    expect(heldByDaemonJob(busy('run=a controller=h pid=1 since=t for=probe'))).toBe(true);
    expect(heldByDaemonJob(busy('run=a controller=h pid=1 since=t for=drift'))).toBe(true);
    expect(heldByDaemonJob(busy('run=a controller=h pid=1 since=t'))).toBe(false);
    expect(heldByDaemonJob(busy('run=a controller=for=probe pid=1 since=t for=backup'))).toBe(false);
    expect(heldByDaemonJob({ locked: true })).toBe(false);
    expect(heldByDaemonJob({ locked: false, reason: 'denied', detail: 'for=probe' })).toBe(false);
  });
});

describe('askPastDaemonJobs', () => {
  const busy = (holder: string) => ({ outcome: { locked: false as const, reason: 'busy' as const, holder } });
  const probe = busy('run=p controller=h pid=2 since=t for=probe');
  const operator = busy('run=a controller=vm pid=1 since=t');
  // The answers a host gives in turn, and how many times it was asked.
  const host = (...answers: Array<{ outcome: LockOutcome }>) => {
    let asked = 0;
    return { ask: async () => answers[Math.min(asked++, answers.length - 1)]!, asked: () => asked };
  };

  it("asks again while a daemon's job holds the lock, and takes it once the job lets go", async () => {
    const answers = host(probe, { outcome: { locked: true } });
    expect(await askPastDaemonJobs(probe, answers.ask)).toEqual({ outcome: { locked: true } });
    expect(answers.asked()).toBe(2);
  });

  it("asks once more when the holder is not a daemon's job: a job that has just taken the lock may not have recorded itself yet", async () => {
    // The record still names the run before; asked again, the probe has written its own.
    const answers = host(probe, { outcome: { locked: true } });
    expect(await askPastDaemonJobs(operator, answers.ask)).toEqual({ outcome: { locked: true } });
    expect(answers.asked()).toBe(2);
    // A run of an operator that really holds it: refused after that one confirmation.
    const held = host(operator, operator);
    expect(await askPastDaemonJobs(operator, held.ask)).toEqual(operator);
    expect(held.asked()).toBe(1);
  });

  it('asks nothing more for an answer that is not busy, or once the wait is used up', async () => {
    const answers = host(probe);
    expect(await askPastDaemonJobs({ outcome: { locked: false, reason: 'denied', detail: 'no home' } }, answers.ask)).toMatchObject({ outcome: { reason: 'denied' } });
    expect(await askPastDaemonJobs(operator, answers.ask, { waitMs: 0 })).toEqual(operator);
    expect(answers.asked()).toBe(0);
  });
});

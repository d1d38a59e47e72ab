// withHostLock on this machine's sh (test/backup/local-session.ts stands in for SSH): the prefetch,
// a read-only request sent with the lock's own request and answered without another round trip.
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { withHostLock, type HostLockOptions } from '../../src/engine/locked-host.js';
import { localSession } from '../backup/local-session.js';

let work: string;

beforeEach(() => {
  work = mkdtempSync(join(tmpdir(), 'hy-locked-'));
  mkdirSync(join(work, 'home'));
});

afterEach(() => rmSync(work, { recursive: true, force: true }));

function options(extra: Partial<HostLockOptions> = {}): HostLockOptions {
  return { label: 'test', waitSeconds: 0, timeoutMs: 10_000, lockPaths: { rootDir: join(work, 'run-halyard'), userHome: join(work, 'home'), undoDir: join(work, 'undo') }, ...extra };
}

describe('withHostLock: prefetch', () => {
  it("answers the work's first request of the prefetched script from the lock's own request; a later one asks again", async () => {
    const counter = join(work, 'count');
    const script = `echo x >> ${counter}; printf 'asked %s times\\n' "$(wc -l < ${counter})"; exit 3`;
    const session = localSession('local-1');
    const requests = () => session.shellRequests;
    const answers = await withHostLock(session, options({ prefetch: script }), async (held) => {
      const first = await held.exec('inspect', script);
      const afterFirst = requests();
      const second = await held.exec('inspect again', script);
      return { first, second, afterFirst, afterSecond: requests() };
    });
    expect(answers.first).toEqual({ exitCode: 3, output: 'asked 1 times\n' });
    expect(answers.afterFirst).toBe(1);
    expect(answers.second).toEqual({ exitCode: 3, output: 'asked 2 times\n' });
    expect(answers.afterSecond).toBe(2);
  });

  it('a request other than the prefetched one goes to the host as usual', async () => {
    const session = localSession('local-1');
    const requests = () => session.shellRequests;
    const answer = await withHostLock(session, options({ prefetch: 'echo prefetched' }), async (held) => ({ other: await held.run('other', 'echo other'), count: requests() }));
    expect(answer).toEqual({ other: 'other\n', count: 2 });
  });

  it('never runs when the lock is refused', async () => {
    const marker = join(work, 'ran');
    const holding = localSession('local-1');
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let held!: () => void;
    const isHeld = new Promise<void>((resolve) => (held = resolve));
    const holder = withHostLock(holding, options({ owner: { runId: 'holder1', controller: 'ctl', pid: 1, startedAt: 'then' } }), async () => {
      held();
      await released;
    });
    await Promise.race([isHeld, holder]);
    await expect(withHostLock(localSession('local-1'), options({ prefetch: `touch ${marker}` }), async () => 'worked')).rejects.toMatchObject({ code: 'E_HOST_LOCKED' });
    release();
    await holder;
    expect(existsSync(marker)).toBe(false);
    // Taken once free, it runs.
    await withHostLock(localSession('local-1'), options({ prefetch: `touch ${marker}` }), async (host) => host.run('touch', `touch ${marker}`));
    expect(existsSync(marker)).toBe(true);
  });
});

// The per-host run lock through the real CLI: two concurrent applies against one lab host never
// interleave their steps; the second fails at once with who holds the lock, or waits with --lock-timeout.
// A holding run waits for a release file the test creates, so no assertion depends on the machine's speed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withHostLock } from '../../src/engine/locked-host.js';
import { labExec } from '../../src/lab/index.js';
import { SshPool } from '../../src/ssh/index.js';
import { fleetInventory, freshKnownHosts, runCli, type CliRun } from '../support/cli.js';
import { startTestFleet, type TestFleet } from '../support/lab.js';
import { busyBudget } from '../support/budget.js';

const PLAYBOOK = 'test/e2e/playbooks/cli-lock.ts';

describe('halyard apply: the host lock on a lab host', () => {
  let fleet: TestFleet;
  let inventory: string;
  let knownHosts: string;
  let name: string;
  let container: string;

  const apply = (label: string, ...extra: string[]): Promise<CliRun> => runCli(['apply', PLAYBOOK, '-i', inventory, '--known-hosts', knownHosts, '-e', `run_label=${label}`, '--json', ...extra]);
  // Waits until a run has taken the lock and started its step (its start marker is in the log).
  const waitForStart = async (label: string) => {
    for (let tries = 0; tries < 200; tries += 1) {
      if ((await log()).includes(`start ${label}`)) return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`run ${label} never started`);
  };
  const log = async () => (await labExec(container, 'cat /tmp/hy-lock/log 2>/dev/null || true')).stdout.trim().split('\n').filter(Boolean);
  // Asserts the log is whole start/end pairs of one run each, never interleaved.
  const expectNotInterleaved = (lines: string[]) => {
    expect(lines.length % 2, lines.join('\n')).toBe(0);
    for (let index = 0; index < lines.length; index += 2) {
      const label = lines[index]?.replace(/^start /, '');
      expect(lines[index], lines.join('\n')).toBe(`start ${label}`);
      expect(lines[index + 1], lines.join('\n')).toBe(`end ${label}`);
    }
  };

  beforeAll(async () => {
    fleet = await startTestFleet({ count: 1, prefix: 'cli-lock' });
    inventory = fleetInventory(fleet, {});
    knownHosts = freshKnownHosts();
    const [host] = fleet.hosts;
    if (!host) throw new Error('no lab host');
    ({ name, container } = host);
    // Record the host key once, so the concurrent runs below do not race to write it.
    const warm = await runCli(['apply', PLAYBOOK, '-i', inventory, '--known-hosts', knownHosts, '-e', 'sleep_seconds=0', '-e', 'run_label=warm']);
    expect(warm.exitCode, warm.stdout + warm.stderr).toBe(0);
  });
  afterAll(() => fleet?.stop());

  // Lets the run holding /tmp/hy-lock/release-LABEL go on.
  const release = (label: string) => labExec(container, `touch /tmp/hy-lock/release-${label}`);
  const holding = (label: string) => ['-e', `hold_until=/tmp/hy-lock/release-${label}`];

  it('without --lock-timeout, exactly one of two concurrent runs proceeds; the other fails at once naming the holder', async () => {
    await labExec(container, 'rm -rf /tmp/hy-lock; mkdir -p /tmp/hy-lock');
    // Both hold until released, so the loser is known to have failed while the winner held the lock.
    const a = apply('A', ...holding('A'));
    const b = apply('B', ...holding('B'));
    const first = await Promise.race([a.then((run) => ({ run, label: 'A' })), b.then((run) => ({ run, label: 'B' }))]);
    const winnerLabel = first.label === 'A' ? 'B' : 'A';
    const loser = first.run;
    expect(loser.exitCode, loser.stdout + loser.stderr).toBe(1);
    expect(await log()).toEqual([`start ${winnerLabel}`]);
    await release(winnerLabel);
    const winner = await (winnerLabel === 'A' ? a : b);

    const refused = loser.json?.hosts[name];
    expect(refused).toMatchObject({ unreachable: false, changed: 0, failed: 0, errorCode: 'E_HOST_LOCKED' });
    expect(refused?.error).toMatch(/^host is locked by another halyard run \(run=[0-9a-f]{12} controller=\S+ pid=\d+ since=\S+\); wait for it or pass --lock-timeout$/);
    expect(refused?.tasks).toEqual([{ name: 'marked sleep', status: 'skipped', durationMs: 0, reason: 'host failed' }]);
    expect(winner.exitCode, winner.stderr).toBe(0);
    expect(winner.json?.hosts[name]).toMatchObject({ changed: 1, failed: 0 });

    const lines = await log();
    expect(lines).toHaveLength(2);
    expectNotInterleaved(lines);

    // The plain recap says the same in one line per host.
    const holder = apply('C', ...holding('C'));
    await waitForStart('C');
    const plain = await runCli(['apply', PLAYBOOK, '-i', inventory, '--known-hosts', knownHosts, '-e', 'run_label=D']);
    expect(plain.exitCode).toBe(1);
    expect(plain.stdout).toMatch(new RegExp(`^${name} \\| FAILED \\| host is locked by another halyard run \\(run=\\w+ controller=`, 'm'));
    expect(plain.stdout).toMatch(new RegExp(`^${name}\\s+FAILED\\s+ok=0 changed=0 failed=0 skipped=1 `, 'm'));
    await release('C');
    expect((await holder).exitCode).toBe(0);
  }, busyBudget(27));

  it('with --lock-timeout, the second run waits for the first and then succeeds, without interleaving', async () => {
    await labExec(container, 'rm -rf /tmp/hy-lock; mkdir -p /tmp/hy-lock');
    const first = apply('first', ...holding('first'));
    // The first run holds the lock before the second asks for it.
    await waitForStart('first');
    const second = apply('second', '--lock-timeout', '120', '-e', 'sleep_seconds=0');
    // However long the second takes to start, it finds the lock held until this release.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect(await log()).toEqual(['start first']);
    await release('first');
    const [one, two] = await Promise.all([first, second]);
    expect(one.exitCode, one.stderr).toBe(0);
    expect(two.exitCode, two.stdout + two.stderr).toBe(0);
    expect(two.json?.hosts[name]).toMatchObject({ changed: 1, failed: 0 });
    expect(two.json?.hosts[name]?.error).toBeUndefined();

    // The order that counts is the host's: the second's task ran only after the first's ended. (The
    // processes' own exits were compared here too, and flaked: the first releases the lock before it
    // closes its connection and exits, so under load the second ended in the same millisecond.)
    const lines = await log();
    expect(lines).toEqual(['start first', 'end first', 'start second', 'end second']);
    expectNotInterleaved(lines);
  }, busyBudget(15));

  // A daemon that begins to stop gives up its wait (the controller sends TERM on the channel; sshd
  // signals the session's process group). The guard must stay to stop the shell waiting in flock:
  // when the guard died of that TERM, the shell waited out its whole wait and its temp dir stayed.
  it('a lock wait given up: the waiting shell leaves the host at once, with its guard and temp dir', async () => {
    await labExec(container, 'rm -rf /tmp/hy-lock; mkdir -p /tmp/hy-lock');
    const holder = apply('H', ...holding('H'));
    await waitForStart('H');
    const guardDirs = async () => (await labExec(container, 'ls -d /tmp/halyard-run.* 2>/dev/null | sort || true')).stdout.trim();
    const holderDirs = await guardDirs();
    const pool = new SshPool({ knownHostsFile: knownHosts, sshConfigFile: null });
    try {
      const session = await pool.session({ name, address: fleet.hosts[0]!.address, port: fleet.hosts[0]!.port, user: fleet.user, privateKeyFile: fleet.keyFile, become: true, becomePassword: undefined });
      const stopping = new AbortController();
      const waiting = withHostLock(session, { label: 'backup', waitSeconds: 120, timeoutMs: 10_000, signal: stopping.signal }, async () => 'held');
      // The wait is under way on the host: a flock with the 120 s wait runs there.
      const flocks = async () => (await labExec(container, "pgrep -f '^flock -w 120 ' || true")).stdout.trim();
      for (let tries = 0; tries < 100 && !(await flocks()); tries += 1) await new Promise((resolve) => setTimeout(resolve, 100));
      expect(await flocks()).not.toBe('');
      stopping.abort(new Error('daemon shutting down'));
      await expect(waiting).rejects.toThrow('backup: stopped waiting for the host lock (daemon shutting down)');
      let left = await flocks();
      for (let tries = 0; tries < 50 && left; tries += 1) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        left = await flocks();
      }
      expect(left).toBe('');
      expect(await guardDirs()).toBe(holderDirs);
    } finally {
      await pool.closeAll();
    }
    await release('H');
    expect((await holder).exitCode).toBe(0);
  }, busyBudget(10));

  it('a local user can neither hold the lock nor fake its holder: a run goes ahead while they try', async () => {
    await labExec(container, 'rm -rf /tmp/hy-lock; mkdir -p /tmp/hy-lock; id mallory >/dev/null 2>&1 || useradd -m mallory');
    // mallory holds flocks on every world-writable place a lock used to live, and tries the new ones.
    const attempt = await labExec(
      container,
      [
        'runuser -u mallory -- sh -c "',
        '  mkdir -p /run/lock 2>/dev/null; for f in /run/lock/halyard.lock /tmp/halyard.lock; do',
        '    setsid flock \\$f sleep 60 </dev/null >/dev/null 2>&1 & echo \'run=fake controller=all-hosts-ok\' > \\$f.owner 2>/dev/null;',
        '  done;',
        '  mkdir /run/halyard 2>/dev/null && echo made-run-halyard;',
        '  flock -n /run/halyard/lock true 2>/dev/null && echo held-root-lock;',
        '  mkdir /home/halyard/.halyard 2>/dev/null && echo made-user-dir;',
        '  true"',
      ].join('\n'),
    );
    expect(attempt.stdout).not.toMatch(/made-run-halyard|held-root-lock|made-user-dir/);
    const run = await apply('while-mallory-tries');
    expect(run.exitCode, run.stdout + run.stderr).toBe(0);
    expect(run.json?.hosts[name]).toMatchObject({ changed: 1, failed: 0 });
    expect(await log()).toEqual(['start while-mallory-tries', 'end while-mallory-tries']);
    // Only root can even look at the root lock; the login user's lock directory is theirs alone.
    expect((await labExec(container, "stat -c '%U %a' /run/halyard /home/halyard/.halyard")).stdout).toBe('root 700\nhalyard 700\n');
    await labExec(container, 'pkill -u mallory || true');
  }, busyBudget(10));

  it('runs with and without become on one host exclude each other', async () => {
    // Both the login user and root write the log here.
    await labExec(container, 'rm -rf /tmp/hy-lock; mkdir -p -m 1777 /tmp/hy-lock; install -m 0666 /dev/null /tmp/hy-lock/log');
    const plainInventory = fleetInventory(fleet, {}, { hostVars: { [name]: { ansible_become: false } } });
    const applyPlain = (label: string, ...extra: string[]) =>
      runCli(['apply', PLAYBOOK, '-i', plainInventory, '--known-hosts', knownHosts, '-e', `run_label=${label}`, '--json', ...extra]);

    const become = apply('become', ...holding('become'));
    await waitForStart('become');
    const plain = await applyPlain('plain');
    expect(plain.exitCode, plain.stdout + plain.stderr).toBe(1);
    expect(plain.json?.hosts[name]).toMatchObject({ errorCode: 'E_HOST_LOCKED', error: expect.stringContaining('host is locked by another halyard run') });
    await release('become');
    expect((await become).exitCode).toBe(0);

    const plainHolder = applyPlain('plain-holder', ...holding('plain-holder'));
    await waitForStart('plain-holder');
    const becomeLater = await apply('become-later');
    expect(becomeLater.exitCode).toBe(1);
    expect(becomeLater.json?.hosts[name]?.errorCode).toBe('E_HOST_LOCKED');
    await release('plain-holder');
    expect((await plainHolder).exitCode).toBe(0);
    expectNotInterleaved(await log());
  }, busyBudget(15));

  it('a lock directory that is not the login user\'s own is refused for lack of permission, and says so', async () => {
    const plainInventory = fleetInventory(fleet, {}, { hostVars: { [name]: { ansible_become: false } } });
    await labExec(container, 'rm -rf /home/halyard/.halyard && mkdir -m 0755 /home/halyard/.halyard');
    const run = await runCli(['apply', PLAYBOOK, '-i', plainInventory, '--known-hosts', knownHosts, '-e', 'run_label=denied', '--json']);
    expect(run.exitCode).toBe(1);
    expect(run.json?.hosts[name]).toMatchObject({
      errorCode: 'E_HOST_LOCK_DENIED',
      error: "cannot take the host lock: /home/halyard/.halyard has owner and mode '0 755', expected uid 1000 and 700",
    });
    await labExec(container, 'rm -rf /home/halyard/.halyard');
  }, busyBudget(8));
});

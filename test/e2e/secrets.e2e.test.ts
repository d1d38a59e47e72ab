import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Scalar } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labExec } from '../../src/lab/index.js';
import { fleetInventory, freshKnownHosts, runCli, type CliRun } from '../support/cli.js';
import { startTestFleet, type TestFleet } from '../support/lab.js';
import { busyBudget } from '../support/budget.js';

const PLAYBOOK = 'test/e2e/playbooks/secrets.ts';
const SECRET_FILE = '/etc/hy-secrets.env';
const PUBLIC_FILE = '/etc/hy-public.conf';
const MASK = '********';
// Secret by its name (db_password) and by the !secret tag (session_cookie); plain characters only,
// so a leak cannot hide behind JSON escaping.
const DB_PASSWORD = 'hyDbPw-7f3a9c21-value';
const SESSION_COOKIE = 'hyCookie-c41e2b88-value';
const SECRET_CONTENT = `DB_PASSWORD=${DB_PASSWORD}\nSESSION_COOKIE=${SESSION_COOKIE}\n`;
// Forms a leak could take: the values, and the file as it travels (base64) inside step scripts.
const LEAKS = [DB_PASSWORD, SESSION_COOKIE, Buffer.from(SECRET_CONTENT).toString('base64').slice(0, 40)];
const STOP_POLL = '/run/hy-stop-poll';

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function expectNoLeak(text: string, where: string): void {
  for (const leak of LEAKS) expect(text.includes(leak), `${where} shows ${leak}`).toBe(false);
}

function expectRunClean(run: CliRun, what: string): void {
  expectNoLeak(run.stdout, `${what} stdout`);
  expectNoLeak(run.stderr, `${what} stderr`);
}

describe('secrets never leave their file: not in ps, output, --json, diffs or errors', () => {
  let fleet: TestFleet;
  let container: string;
  let hostName: string;
  let inventory: string;
  let knownHosts: string;
  const apply = (...extra: string[]) => runCli(['apply', PLAYBOOK, '-i', inventory, '--known-hosts', knownHosts, ...extra]);

  beforeAll(async () => {
    fleet = await startTestFleet({ count: 1, prefix: 'secrets' });
    const [host] = fleet.hosts;
    if (!host) throw new Error('no host');
    container = host.container;
    hostName = host.name;
    const tagged = new Scalar(SESSION_COOKIE);
    tagged.tag = '!secret';
    inventory = fleetInventory(fleet, { db_password: DB_PASSWORD, session_cookie: tagged });
    knownHosts = freshKnownHosts();
  });
  afterAll(() => fleet?.stop());

  // Runs `run` while `ps -eo args` is sampled every ~100 ms on the host (inside it) and on the controller.
  async function watchingPs(run: () => Promise<CliRun>): Promise<{ result: CliRun; host: string[]; controller: string[] }> {
    await labExec(container, `rm -f ${STOP_POLL}`);
    const hostPoll = labExec(
      container,
      `end=$(($(date +%s) + 40)); while [ ! -e ${STOP_POLL} ] && [ "$(date +%s)" -lt "$end" ]; do ps -eo args; echo '@@@'; sleep 0.1; done`,
      { timeoutMs: 60_000 },
    );
    const controller: string[] = [];
    let polling = true;
    const controllerPoll = (async () => {
      while (polling) {
        controller.push((await promisify(execFile)('ps', ['-eo', 'args'], { maxBuffer: 16 * 1024 * 1024 })).stdout);
        await pause(100);
      }
    })();
    await pause(300);
    let result: CliRun;
    try {
      result = await run();
    } finally {
      polling = false;
      await controllerPoll;
      await labExec(container, `touch ${STOP_POLL}`);
    }
    const polled = await hostPoll;
    expect(polled.exitCode, polled.stderr).toBe(0);
    return { result, host: polled.stdout.split('@@@\n'), controller };
  }

  it('keeps secrets out of process lists and every output, masking them in diffs, errors and inventory listings', async () => {
    // 1. A converging run, watched from both ends.
    const watched = await watchingPs(() => apply('--json'));
    const first = watched.result;
    expect(first.exitCode, first.stdout + first.stderr).toBe(0);
    expect(first.json?.hosts[hostName]).toMatchObject({ failed: 0, changed: 3 });
    expectRunClean(first, 'first run');
    // The samples cover the run: the slow command on the host, the CLI on the controller.
    expect(watched.host.length).toBeGreaterThan(20);
    expect(watched.host.some((sample) => /^sleep 3$/m.test(sample))).toBe(true);
    expect(watched.controller.some((sample) => sample.includes('bin/halyard.js apply'))).toBe(true);
    watched.host.forEach((sample, index) => expectNoLeak(sample, `host ps sample ${index}`));
    watched.controller.forEach((sample, index) => expectNoLeak(sample, `controller ps sample ${index}`));

    const onHost = await labExec(container, `stat -c '%U:%G %a' ${SECRET_FILE}; base64 -w0 ${SECRET_FILE}`);
    const [owner, base64] = onHost.stdout.split('\n');
    expect(owner).toBe('root:root 600');
    expect(Buffer.from(base64 ?? '', 'base64').toString('utf8')).toBe(SECRET_CONTENT);

    // 2. Plain (non-JSON) output of a rerun, verbose.
    const plain = await apply('-v');
    expect(plain.exitCode, plain.stdout + plain.stderr).toBe(0);
    expect(plain.stdout).toContain('RECAP');
    expectRunClean(plain, 'plain verbose run');

    // 3. Drift by hand, keeping the secrets in the old content; --check --diff must not show them.
    await labExec(container, `printf '# edited by hand\\n' >> ${SECRET_FILE} && printf 'leaked=%s\\n' '${DB_PASSWORD}' >> ${PUBLIC_FILE}`);
    const checkJson = await apply('--check', '--diff', '--json');
    expect(checkJson.exitCode, checkJson.stdout + checkJson.stderr).toBe(2);
    expectRunClean(checkJson, 'check --diff --json');
    const tasks = checkJson.json?.hosts[hostName]?.tasks ?? [];
    const secretDiff = tasks.find((task) => task.name === `file ${SECRET_FILE}`)?.diff?.text ?? '';
    expect(secretDiff).toContain('(content holds secrets; diff not shown)');
    const publicDiff = tasks.find((task) => task.name === `file ${PUBLIC_FILE}`)?.diff?.text ?? '';
    expect(publicDiff).toContain(`-leaked=${MASK}`);
    const checkPlain = await apply('--check', '--diff');
    expect(checkPlain.exitCode).toBe(2);
    expect(checkPlain.stdout).toContain(`-leaked=${MASK}`);
    expect(checkPlain.stdout).toContain(`+++ ${SECRET_FILE}`);
    expectRunClean(checkPlain, 'check --diff');

    // 4. A task failing with the secrets in its command text and its stderr, watched from both ends.
    const failing = await watchingPs(() => apply('--json', '-e', 'fail_loudly=1'));
    const failed = failing.result;
    expect(failed.exitCode).toBe(1);
    expectRunClean(failed, 'failing run --json');
    failing.host.forEach((sample, index) => expectNoLeak(sample, `host ps sample ${index} (failing run)`));
    failing.controller.forEach((sample, index) => expectNoLeak(sample, `controller ps sample ${index} (failing run)`));
    const failedTask = failed.json?.hosts[hostName]?.tasks.find((task) => task.status === 'failed');
    expect(failedTask?.error).toContain(`login failed: password ${MASK} cookie ${MASK}`);
    expect(failedTask?.name).toContain(MASK);
    const failedPlain = await apply('-e', 'fail_loudly=1');
    expect(failedPlain.exitCode).toBe(1);
    expectRunClean(failedPlain, 'failing run');
    expect(failedPlain.stdout).toMatch(new RegExp(`failed: .*\\n?.*login failed: password \\*{8} cookie \\*{8}`));

    // 5. The inventory listing masks both secrets, as text and as JSON.
    for (const extra of [[], ['--json']]) {
      const list = await runCli(['inventory', 'list', '-i', inventory, ...extra]);
      expect(list.exitCode, list.stderr).toBe(0);
      expectRunClean(list, `inventory list ${extra.join(' ')}`);
      expect(list.stdout).toContain(MASK);
      expect(list.stdout.split(MASK).length - 1).toBeGreaterThanOrEqual(2);
    }
  }, busyBudget(38));
});

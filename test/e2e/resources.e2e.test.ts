import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HostResult } from '../../src/engine/results.js';
import { labExec } from '../../src/lab/index.js';
import { fleetInventory, freshKnownHosts, runCli, type CliRun } from '../support/cli.js';
import { startTestFleet, type TestFleet } from '../support/lab.js';
import { CONFIG_PATH, DIR, HANDLER_LOG, LITERAL, SEEN_PATH, UNIT, UNIT_PATH } from './playbooks/resources-data.js';
import { busyBudget } from '../support/budget.js';

const PLAYBOOK = 'test/e2e/playbooks/resources.ts';
const GREETING = 'hello from the inventory';
const REVISION = 'r1';
const HANDLERS = ['handler: restart hy-demo', 'handler: log first', 'handler: log second'];

describe('every resource kind on a systemd lab host', () => {
  let fleet: TestFleet;
  let container: string;
  let hostName: string;
  let inventory: string;
  let knownHosts: string;

  beforeAll(async () => {
    fleet = await startTestFleet({ count: 1, systemd: true, prefix: 'res' });
    const [host] = fleet.hosts;
    if (!host) throw new Error('no host');
    container = host.container;
    hostName = host.name;
    inventory = fleetInventory(fleet, { greeting: GREETING, demo_revision: REVISION });
    knownHosts = freshKnownHosts();
  });
  afterAll(() => fleet?.stop());

  // Runs the playbook and returns the one host's result (asserting the document parsed).
  async function apply(): Promise<{ run: CliRun; host: HostResult }> {
    const run = await runCli(['apply', PLAYBOOK, '-i', inventory, '--known-hosts', knownHosts, '--json']);
    const host = run.json?.hosts[hostName];
    if (!host) throw new Error(`no JSON result for ${hostName}\nstdout: ${run.stdout}\nstderr: ${run.stderr}`);
    return { run, host };
  }

  async function sh(script: string): Promise<string> {
    const result = await labExec(container, script);
    if (result.exitCode !== 0) throw new Error(`${script}: exit ${result.exitCode}\n${result.stderr}`);
    return result.stdout;
  }

  // Everything the playbook manages, as the host reports it (one docker exec).
  function hostState(): Promise<string> {
    return sh(
      [
        'getent group hyops hyaux',
        'getent passwd hydemo',
        'id -gn hydemo; id -Gn hydemo',
        `stat -c '%n %U:%G %a %F' ${DIR} /home/hydemo ${DIR}/literal.txt ${DIR}/templated.conf ${UNIT_PATH} ${CONFIG_PATH}`,
        `test -e ${DIR}/obsolete && echo obsolete present || echo obsolete absent`,
        `dpkg-query -W -f='\${Status}\\n' tree; command -v tree`,
        'systemctl is-enabled hy-demo.service; systemctl is-active hy-demo.service',
      ].join('; '),
    );
  }

  const expectedState = [
    'hyops:x:4321:',
    'hyaux:x:4322:hydemo',
    'hydemo:x:4400:4321::/home/hydemo:/bin/bash',
    'hyops',
    'hyops adm hyaux',
    `${DIR} hydemo:hyops 750 directory`,
    '/home/hydemo hydemo:hyops 755 directory',
    `${DIR}/literal.txt hydemo:hyops 640 regular file`,
    `${DIR}/templated.conf root:root 644 regular file`,
    `${UNIT_PATH} root:root 644 regular file`,
    `${CONFIG_PATH} root:root 644 regular file`,
    'obsolete absent',
    'install ok installed',
    '/usr/bin/tree',
    'enabled',
    'active',
    '',
  ];

  // Byte-exact contents, through base64 so trailing newlines (or their absence) count.
  async function contentOf(path: string): Promise<string> {
    return Buffer.from(await sh(`base64 -w0 ${path}`), 'base64').toString('utf8');
  }

  async function handlerLog(): Promise<string[]> {
    return (await sh(`cat ${HANDLER_LOG} 2>/dev/null || true`)).split('\n').filter(Boolean);
  }

  async function mainProcess(): Promise<{ pid: string; started: string }> {
    const out = await sh('systemctl show -p MainPID -p ExecMainStartTimestampMonotonic hy-demo.service');
    const pid = /MainPID=(\d+)/.exec(out)?.[1] ?? '';
    const started = /ExecMainStartTimestampMonotonic=(\d+)/.exec(out)?.[1] ?? '';
    return { pid, started };
  }

  // Handler results come after every task result, once each, in declaration order.
  function expectHandlersRanOnceInOrder(host: HostResult, taskCount: number): void {
    const handlers = host.tasks.filter((task) => task.handler);
    expect(handlers.map((task) => task.name)).toEqual(HANDLERS);
    expect(handlers.every((task) => task.status === 'changed')).toBe(true);
    expect(host.tasks.slice(0, taskCount).some((task) => task.handler)).toBe(false);
    expect(host.tasks).toHaveLength(taskCount + HANDLERS.length);
  }

  // Two handler lines, first then second, both stamped after the last task's stamp.
  function expectHandlerLines(lines: string[], lastTaskNs: bigint): void {
    expect(lines.map((line) => line.split(' ')[0])).toEqual(['first', 'second']);
    const [first, second] = lines.map((line) => BigInt(line.split(' ')[1] ?? '0'));
    expect(first).toBeGreaterThan(lastTaskNs);
    expect(second).toBeGreaterThanOrEqual(first ?? 0n);
  }

  async function lastTaskStamp(): Promise<bigint> {
    const lines = (await sh(`cat ${DIR}/unless.log`)).split('\n').filter(Boolean);
    expect(lines).toHaveLength(1);
    return BigInt(lines[0] ?? '0');
  }

  it('converges, reruns in one exec, repairs hand-made drift of every kind, and runs handlers once, last, in order', async () => {
    // Run 1: everything is created; both notifying tasks changed, each handler runs once.
    const first = await apply();
    expect(first.run.exitCode, first.run.stdout + first.run.stderr).toBe(0);
    expect(first.host).toMatchObject({ failed: 0, unreachable: false });
    const taskCount = first.host.tasks.filter((task) => !task.handler).length;
    expect(taskCount).toBe(13);
    // Everything but the absent path (nothing there yet) changed.
    const notChanged = first.host.tasks.filter((task) => !task.handler && task.status !== 'changed');
    expect(notChanged.map((task) => `${task.name}: ${task.status}`)).toEqual([`absent ${DIR}/obsolete: ok`]);
    expectHandlersRanOnceInOrder(first.host, taskCount);

    expect(await hostState()).toBe(expectedState.join('\n'));
    expect(await contentOf(`${DIR}/literal.txt`)).toBe(LITERAL);
    expect(await contentOf(`${DIR}/templated.conf`)).toBe(`greeting=${GREETING}\nhost=${hostName}\n`);
    expect(await contentOf(UNIT_PATH)).toBe(UNIT);
    expect(await contentOf(CONFIG_PATH)).toBe(`revision=${REVISION}\n`);
    expect(await contentOf(SEEN_PATH)).toBe(`revision=${REVISION}\n`);
    const createdOnce = await sh(`cat ${DIR}/created-once`);
    expectHandlerLines(await handlerLog(), await lastTaskStamp());
    const afterFirst = await mainProcess();
    expect(afterFirst.pid).not.toBe('0');

    // Run 2: converged, one remote exec, no handler, the service untouched.
    const second = await apply();
    expect(second.run.exitCode).toBe(0);
    expect(second.host).toMatchObject({ changed: 0, failed: 0, execs: 1 });
    expect(second.host.tasks.some((task) => task.handler)).toBe(false);
    expect(await handlerLog()).toHaveLength(2);
    expect(await mainProcess()).toEqual(afterFirst);
    expect(await sh(`cat ${DIR}/created-once`)).toBe(createdOnce);

    // Run 3: only the config drifted; its handlers restart the service, which reads the repaired config.
    await sh(`printf 'revision=by-hand\\n' > ${CONFIG_PATH}`);
    const configRun = await apply();
    expect(configRun.run.exitCode).toBe(0);
    expect(configRun.host.tasks.filter((task) => task.status === 'changed').map((task) => task.name)).toEqual([
      `file ${CONFIG_PATH}`,
      ...HANDLERS,
    ]);
    const afterRestart = await mainProcess();
    expect(afterRestart.pid).not.toBe(afterFirst.pid);
    expect(BigInt(afterRestart.started)).toBeGreaterThan(BigInt(afterFirst.started));
    expect(await contentOf(SEEN_PATH)).toBe(`revision=${REVISION}\n`);
    const logAfterConfigRun = await handlerLog();
    expect(logAfterConfigRun.map((line) => line.split(' ')[0])).toEqual(['first', 'second', 'first', 'second']);

    // Run 4: drift that notifies nothing (a user's shell) is repaired without any handler.
    await sh('usermod -s /bin/sh hydemo');
    const quiet = await apply();
    expect(quiet.host.tasks.filter((task) => task.status === 'changed').map((task) => task.name)).toEqual(['user hydemo']);
    expect(await handlerLog()).toEqual(logAfterConfigRun);
    expect(await mainProcess()).toEqual(afterRestart);

    // Drift of every kind, by hand.
    await sh(
      [
        'set -e',
        'DEBIAN_FRONTEND=noninteractive apt-get remove -y -qq tree >/dev/null 2>&1',
        'groupmod -g 4999 hyops',
        'usermod -s /bin/sh hydemo',
        'gpasswd -d hydemo hyaux >/dev/null',
        `chmod 0777 ${DIR} && chown nobody ${DIR}`,
        `printf 'edited by hand\\n' >> ${DIR}/literal.txt`,
        `chmod 0600 ${DIR}/templated.conf && chown nobody:nogroup ${DIR}/templated.conf`,
        `mkdir -p ${DIR}/obsolete/inner && touch ${DIR}/obsolete/inner/file`,
        `rm ${DIR}/created-once ${DIR}/unless.log`,
        `printf '# edited by hand\\n' >> ${UNIT_PATH}`,
        `printf 'revision=by-hand\\n' > ${CONFIG_PATH}`,
        'systemctl stop hy-demo.service && systemctl disable --quiet hy-demo.service',
      ].join('\n'),
    );
    expect(await sh('command -v tree || echo gone; systemctl is-active hy-demo.service || true')).toBe('gone\ninactive\n');

    // Run 5: every task repairs its drift; the handlers run once each although two tasks notified them.
    const repair = await apply();
    expect(repair.run.exitCode, repair.run.stdout + repair.run.stderr).toBe(0);
    expect(repair.host.failed).toBe(0);
    // Every task but the one group left alone by hand repaired something.
    const unchanged = repair.host.tasks.filter((task) => !task.handler && task.status !== 'changed');
    expect(unchanged.map((task) => `${task.name}: ${task.status}`)).toEqual(['group hyaux: ok']);
    expectHandlersRanOnceInOrder(repair.host, taskCount);
    expect(await hostState()).toBe(expectedState.join('\n'));
    expect(await contentOf(`${DIR}/literal.txt`)).toBe(LITERAL);
    expect(await contentOf(UNIT_PATH)).toBe(UNIT);
    expect(await contentOf(SEEN_PATH)).toBe(`revision=${REVISION}\n`);
    expect(await sh(`cat ${DIR}/created-once`)).not.toBe(createdOnce);
    const repairedLog = await handlerLog();
    expect(repairedLog.slice(0, 4)).toEqual(logAfterConfigRun);
    expectHandlerLines(repairedLog.slice(4), await lastTaskStamp());

    // Run 6: converged again.
    const fourth = await apply();
    expect(fourth.run.exitCode).toBe(0);
    expect(fourth.host).toMatchObject({ changed: 0, failed: 0, execs: 1 });
    expect(await handlerLog()).toEqual(repairedLog);
  }, busyBudget(60));
});

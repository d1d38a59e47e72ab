// Secrets from AWS Secrets Manager (the test emulator, through the real SDK in the real CLI) laid
// down as 0600 files; a rotation changes the file and restarts exactly the service that reads it.
import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { LAB_PASSWORD_USER, LAB_SUDO_PASSWORD, labExec } from '../../src/lab/index.js';
import { startAwsEmulator, type AwsEmulator } from '../support/aws-emulator/index.js';
import { fleetInventory, freshKnownHosts, runCli, type CliRun } from '../support/cli.js';
import { startTestFleet, type TestFleet } from '../support/lab.js';
import { busyBudget } from '../support/budget.js';

const DB_V1 = 'db-pass-version-ONE';
const DB_V2 = 'db-pass-version-TWO';
const TOKEN = 'api-token-kept-SECRET';

describe('secrets from AWS Secrets Manager', () => {
  let fleet: TestFleet;
  let aws: AwsEmulator;
  let inventory: string;
  let knownHosts: string;
  const apply = (...extra: string[]) =>
    runCli(['apply', 'test/e2e/playbooks/aws-secrets.ts', '-i', inventory, '--known-hosts', knownHosts, ...extra], { env: aws.env });
  const expectNoValues = (run: CliRun) => {
    for (const value of [DB_V1, DB_V2, TOKEN]) expect(run.stdout + run.stderr).not.toContain(value);
  };

  beforeAll(async () => {
    aws = await startAwsEmulator();
    aws.putSecret('prod/app', { db_password: DB_V1, other: 'unused' });
    aws.putSecret('prod/token', TOKEN);
    fleet = await startTestFleet({ count: 1, prefix: 'awssec' });
    inventory = fleetInventory(fleet, {});
    // The token comes from the inventory as a tagged reference: api_token: !aws_secret prod/token
    const text = readFileSync(inventory, 'utf8').replace(/^(\s+)vars:\n/m, '$1vars:\n$1  api_token: !aws_secret prod/token\n');
    writeFileSync(inventory, text);
    expect(parse(text, { customTags: [{ tag: '!aws_secret', resolve: (v: string) => v }] }).all.vars.api_token).toBe('prod/token');
    knownHosts = freshKnownHosts();
  });
  afterAll(async () => {
    await fleet?.stop();
    await aws?.stop();
  });

  it('lays secrets down 0600, masks them everywhere, and a rotation restarts only the dependent service', async () => {
    const host = fleet.hosts[0];
    if (!host) throw new Error('no host');
    const first = await apply('--json');
    expect(first.exitCode, first.stderr).toBe(0);
    expectNoValues(first);
    expect(aws.countRequests({ service: 'secretsmanager' })).toBe(2);
    const files = await labExec(host.container, "cat /etc/hy-app/db.env /etc/hy-app/token; echo; stat -c '%a %U' /etc/hy-app/db.env /etc/hy-app/token; cat /var/log/hy-restarts");
    expect(files.stdout).toBe(`DB_PASSWORD=${DB_V1}\n${TOKEN}\n600 root\n600 nobody\napp\nworker\n`);

    const second = await apply('--json');
    expect(second.json?.hosts[host.name]).toMatchObject({ changed: 0, execs: 1 });

    // Rotation: a new version of prod/app.
    aws.putSecret('prod/app', { db_password: DB_V2, other: 'unused' });
    const check = await apply('--check', '--diff');
    expect(check.exitCode).toBe(2);
    expectNoValues(check);
    expect(check.stdout).toContain('content holds secrets; diff not shown');

    const rotated = await apply('--json');
    expect(rotated.exitCode, rotated.stderr).toBe(0);
    expectNoValues(rotated);
    const changed = rotated.json?.hosts[host.name]?.tasks.filter((task) => task.status === 'changed').map((task) => task.name);
    expect(changed).toEqual(['file /etc/hy-app/db.env', 'handler: restart app']);
    const after = await labExec(host.container, 'cat /etc/hy-app/db.env /var/log/hy-restarts');
    expect(after.stdout).toBe(`DB_PASSWORD=${DB_V2}\napp\nworker\napp\n`);

    const third = await apply('--json');
    expect(third.json?.hosts[host.name]).toMatchObject({ changed: 0, execs: 1 });
  }, busyBudget(21));

  it('lets -e override a play default, and fails the run naming a denied secret', async () => {
    const overridden = await runCli(['apply', 'test/e2e/playbooks/aws-secrets.ts', '-i', inventory, '--known-hosts', knownHosts, '-e', 'db_password=ignored'], {
      env: { ...aws.env },
    });
    // -e overrides the play's default reference, so only prod/token is fetched.
    expect(overridden.exitCode, overridden.stderr).toBe(0);
    aws.denySecret('prod/token');
    const denied = await apply();
    expect(denied.exitCode).toBe(1);
    expect(denied.stderr.trim().split('\n')).toHaveLength(1);
    expect(denied.stderr).toContain('prod/token');
    expectNoValues(denied);
  }, busyBudget(5));

  it('a sudo password as !aws_secret: exec and apply fetch it once, sudo takes it, no output shows it; a wrong one is sudo\'s refusal', async () => {
    const host = fleet.hosts[0];
    if (!host) throw new Error('no host');
    aws.putSecret('prod/sudo', { password: LAB_SUDO_PASSWORD });
    // The lab's second user needs its password for sudo; the inventory names it only by reference.
    const path = fleetInventory(fleet, {}, { hostVars: { [host.name]: { ansible_user: LAB_PASSWORD_USER, ansible_become: true } } });
    const text = readFileSync(path, 'utf8').replace(/^(\s+)ansible_become: true\n/m, '$1ansible_become: true\n$1ansible_become_password: !aws_secret prod/sudo#password\n');
    expect(text).toContain('ansible_become_password: !aws_secret prod/sudo#password');
    writeFileSync(path, text);
    const before = aws.countRequests({ service: 'secretsmanager' });

    const exec = await runCli(['exec', host.name, '-i', path, '--known-hosts', knownHosts, '--', 'id -u; whoami'], { env: aws.env });
    expect(exec.exitCode, exec.stdout + exec.stderr).toBe(0);
    expect(exec.stdout).toMatch(/^0$/m);
    expect(exec.stdout).toMatch(/^root$/m);
    expect(aws.countRequests({ service: 'secretsmanager' }) - before).toBe(1);

    const applied = await runCli(['apply', 'test/e2e/playbooks/cli-fleet.ts', '-i', path, '--known-hosts', knownHosts, '-e', 'cli_dir=/root/hy-sudo-ref', '--json'], { env: aws.env });
    expect(applied.exitCode, applied.stderr).toBe(0);
    expect((await labExec(host.container, "stat -c '%U' /root/hy-sudo-ref/greeting")).stdout.trim()).toBe('root');
    expect(aws.countRequests({ service: 'secretsmanager' }) - before).toBe(2);
    for (const run of [exec, applied]) expect(run.stdout + run.stderr).not.toContain(LAB_SUDO_PASSWORD);

    // A wrong password in the secret: sudo refuses it, and the run says so without the value.
    aws.putSecret('prod/sudo', { password: 'not-the-sudo-password' });
    const refused = await runCli(['exec', host.name, '-i', path, '--known-hosts', knownHosts, '--', 'id -u'], { env: aws.env });
    expect(refused.exitCode).not.toBe(0);
    expect(refused.stdout + refused.stderr).toMatch(/sudo/i);
    expect(refused.stdout + refused.stderr).not.toContain('not-the-sudo-password');
    // Budget: 12.2 s in a fresh-clone CI run with every lane busy (Dec 6), not yet under ci-under-load.sh.
  }, busyBudget(13));
});

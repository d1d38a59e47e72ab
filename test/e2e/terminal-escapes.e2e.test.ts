// Bytes from a host or an inventory never reach a terminal raw: command output, a lying
// sha256sum and a host name holding escape sequences are shown with their escapes visible
// (\x1b), in plain lines, the recap and listr2's live view; --json escapes them as JSON does.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { labExec } from '../../src/lab/index.js';
import { busyBudget } from '../support/budget.js';
import { fleetInventory, freshKnownHosts, runCli, runOnTty } from '../support/cli.js';
import { startTestFleet, type TestFleet } from '../support/lab.js';

const PLAYBOOK = 'test/e2e/playbooks/terminal-escapes.ts';
// Sequences a hostile host would use: set the window title, erase and move up a line, colour.
const TITLE = '\u001b]0;PWNED\u0007';
const HOST_NAME = `esc\u001b[2K\u001b[1Aname`;

describe('terminal escapes from hosts and inventories', () => {
  let fleet: TestFleet;
  let inventory: string;
  let knownHosts: string;

  beforeAll(async () => {
    fleet = await startTestFleet({ count: 1, prefix: 'escapes' });
    // The inventory names the host with escape sequences in its name.
    const base = parse(readFileSync(fleetInventory(fleet, {}), 'utf8')) as { all: { hosts: Record<string, unknown> } };
    const [original] = Object.values(base.all.hosts);
    base.all.hosts = { [HOST_NAME]: original };
    inventory = join(dirname(fleetInventory(fleet, {})), 'escapes.yml');
    writeFileSync(inventory, stringify(base));
    knownHosts = freshKnownHosts();
  });
  afterAll(() => fleet?.stop());

  it('plain output and the recap show every escape as \\x1b; --json keeps the bytes as JSON escapes', async () => {
    const plain = await runCli(['apply', PLAYBOOK, '-i', inventory, '--known-hosts', knownHosts]);
    const printed = plain.stdout + plain.stderr;
    expect(plain.exitCode, printed).toBe(1);
    expect(printed).not.toContain('\u001b');
    expect(printed).not.toContain('\r');
    expect(printed).not.toContain('\u0007');
    // The host name and the failure tail are both there, visible.
    expect(printed).toContain('esc\\x1b[2K\\x1b[1Aname');
    expect(printed).toContain('\\x1b]0;PWNED\\x07\\x1b[2K\\x1b[1A\\x0d\\x1b[32mall hosts OK');
    expect(printed).toMatch(/RECAP\nesc\\x1b\[2K\\x1b\[1Aname\s+FAILED/);

    const json = await runCli(['apply', PLAYBOOK, '-i', inventory, '--known-hosts', knownHosts, '--json']);
    expect(json.stdout).not.toContain('\u001b');
    const host = json.json?.hosts[HOST_NAME];
    expect(host?.tasks.find((task) => task.name === 'hostile output')?.error).toContain(`${TITLE}`);
  }, busyBudget(6));

  it("on a TTY, listr2's live view and the recap show the escapes instead of obeying them", async () => {
    const tty = await runOnTty(['apply', PLAYBOOK, '-i', inventory, '--known-hosts', knownHosts]);
    expect(tty.exitCode).toBe(1);
    // listr2 moves the cursor itself; the host's title sequence and its erase-line never get through.
    expect(tty.output).not.toContain(TITLE);
    expect(tty.output).not.toContain('PWNED\u0007');
    expect(tty.output).not.toContain('\u001b[1Aname');
    expect(tty.output).toContain('esc\\x1b[2K\\x1b[1Aname');
    expect(tty.output).toContain('\\x1b]0;PWNED\\x07');
  }, busyBudget(2));

  it('a sha256sum that prints escapes instead of a hash fails the host without echoing its bytes', async () => {
    const liar = await labExec(
      fleet.hosts[0]!.container,
      `printf '#!/bin/sh\\nprintf "\\\\033]0;PWNED\\\\007\\\\033[2K%%060d  -\\\\n" 0\\n' > /usr/local/bin/sha256sum && chmod 0755 /usr/local/bin/sha256sum && echo x | sha256sum | od -c | head -n 1`,
    );
    expect(liar.stdout, liar.stderr).toContain('033   ]   0   ;   P   W   N   E   D');
    const run = await runCli(['apply', PLAYBOOK, '-i', inventory, '--known-hosts', knownHosts, '--json']);
    expect(run.exitCode).toBe(1);
    const host = run.json?.hosts[HOST_NAME];
    expect(host?.error).toMatch(/sha256/);
    // Neither the terminal nor the JSON sees what the host printed in place of the hash.
    expect(run.stdout + run.stderr).not.toContain('PWNED');
    const plain = await runCli(['apply', PLAYBOOK, '-i', inventory, '--known-hosts', knownHosts]);
    expect(plain.stdout + plain.stderr).not.toContain('\u001b');
    expect(plain.stdout + plain.stderr).not.toContain('PWNED');
  }, busyBudget(7));
});

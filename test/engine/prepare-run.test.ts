// A play's `become` against the other places become is set, with Ansible's precedence: the
// inventory's (and -e's) ansible_become beats the play keyword, which beats -b and ansible.cfg.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PlaybookError } from '../../src/core/errors.js';
import { preparePlaybookRun } from '../../src/engine/prepare-run.js';

const dir = mkdtempSync(join(tmpdir(), 'hy-prepare-'));

// A playbook of plays (keywords as source text) each writing one file on every host.
function playbook(name: string, plays: string[]): string {
  const path = join(dir, `${name}.ts`);
  const body = plays.map((keywords, index) => `{ name: 'play ${index}', hosts: 'all', ${keywords} tasks: () => [file({ path: '/tmp/hy-${index}', content: 'x' })] }`);
  writeFileSync(path, `import { definePlaybook, file } from 'halyard';\nexport default definePlaybook([${body.join(', ')}]);\n`);
  return path;
}

function inventory(name: string, hostVars: string): string {
  const path = join(dir, `${name}.yml`);
  writeFileSync(path, `all:\n  hosts:\n    h1: {ansible_host: 10.0.0.1${hostVars}}\n`);
  return path;
}

async function becomeOf(plays: string[], hostVars = '', cliBecome?: boolean, extraVars?: Record<string, unknown>): Promise<boolean> {
  const name = `case-${Math.random().toString(36).slice(2)}`;
  const run = await preparePlaybookRun(playbook(name, plays), inventory(name, hostVars), {
    ...(cliBecome === undefined ? {} : { connectionDefaults: { become: cliBecome } }),
    ...(extraVars ? { extraVars } : {}),
  });
  return run.hosts[0]!.become;
}

describe('become: play keyword, inventory vars, -b', () => {
  it.each([
    ['a play with become and an inventory that says nothing', ['become: true,'], '', undefined, true],
    ['the inventory\'s ansible_become: false beats the play', ['become: true,'], ', ansible_become: false', undefined, false],
    ['halyard_become beats the play', ['become: false,'], ', halyard_become: true', undefined, true],
    ['the play beats -b', ['become: false,'], '', true, false],
    ['-b where the play says nothing', [''], '', true, true],
    ['nothing anywhere', [''], '', undefined, false],
    ["a play's vars ansible_become (below the inventory's, above the keyword)", ["vars: { ansible_become: true }, become: false,"], '', undefined, true],
    ['plays that agree', ['become: true,', 'become: true,'], '', undefined, true],
  ] as const)('%s', async (_name, plays, hostVars, cliBecome, expected) => {
    expect(await becomeOf([...plays], hostVars, cliBecome)).toBe(expected);
  });

  it('-e ansible_become=false beats the play', async () => {
    expect(await becomeOf(['become: true,'], '', undefined, { ansible_become: false })).toBe(false);
  });

  it('plays on one host that disagree are refused before connecting, naming both', async () => {
    await expect(becomeOf(['become: true,', ''])).rejects.toThrow(new PlaybookError('E_PLAYBOOK_BECOME', 'plays "play 0" and "play 1" both target h1, one with become and one without; halyard runs a host\'s plays in one session (set become on both, or ansible_become for the host)'));
  });

  it.each([
    ["becomeUser: 'postgres' as any,", 'play "play 0": becomeUser "postgres": halyard becomes root only'],
    ["becomeMethod: 'su' as any,", 'play "play 0": becomeMethod "su": halyard becomes root with sudo only'],
    ["...({ become_user: 'root' } as any),", 'play "play 0": write becomeUser, not become_user'],
    ["become: 'yes' as any,", 'play "play 0": become must be true or false, got "yes"'],
  ])('%s is refused with a clear error', async (keywords, message) => {
    await expect(becomeOf([keywords])).rejects.toThrow(message);
  });
});

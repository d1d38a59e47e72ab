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

// A playbook file from its source text (imports from 'halyard' resolve to this checkout).
function playbookSource(source: string): string {
  const path = join(dir, `src-${Math.random().toString(36).slice(2)}.ts`);
  writeFileSync(path, source);
  return path;
}

const WEB_ROLE = `
const web = defineRole({
  name: 'web',
  vars: z.object({ web_port: z.number().int().default(8080), web_tls: z.boolean().default(false) }),
  tasks: (host, vars) => [
    file({ path: '/etc/web.conf', content: 'port ' + vars.web_port + ' tls ' + vars.web_tls + '\\n' }, { notify: 'restart web' }),
  ],
  handlers: () => ({ 'restart web': command({ command: 'true' }, { name: 'restart web' }) }),
});
`;

describe('roles made with defineRole', () => {
  it("bring their typed vars, their tasks before the play's, and their handlers with no wiring", async () => {
    const path = playbookSource(`import { command, defineRole, definePlaybook, file, z } from 'halyard';
${WEB_ROLE}
export default definePlaybook({ name: 'site', hosts: 'all', roles: [web], tasks: () => [file({ path: '/etc/after', content: 'x' }, { notify: 'restart web' })] });
`);
    const run = await preparePlaybookRun(path, inventory(`roles-${Date.now()}`, ''), { extraVars: { web_port: '9090', web_tls: 'yes' } });
    const work = run.workFor(run.hosts[0]!).initial!;
    expect(work.tasks.map((task) => task.name)).toEqual(['file /etc/web.conf', 'file /etc/after']);
    expect((work.tasks[0]!.desired as { content: string }).content).toBe('port 9090 tls true\n');
    expect([...work.handlers.keys()]).toEqual(['restart web']);
  });

  it('a notify naming no handler fails before connecting, naming the task and the closest handler', async () => {
    const path = playbookSource(`import { command, defineRole, definePlaybook, file, z } from 'halyard';
${WEB_ROLE}
export default definePlaybook({ name: 'site', hosts: 'all', roles: [web], tasks: () => [file({ path: '/etc/after', content: 'x' }, { notify: 'restart wbe' })] });
`);
    await expect(preparePlaybookRun(path, inventory(`notify-${Date.now()}`, ''))).rejects.toThrow(
      new PlaybookError('E_UNKNOWN_HANDLER', 'task "file /etc/after" notifies "restart wbe", which is no handler (did you mean "restart web"?)'),
    );
  });

  it("a role var of the wrong type fails before connecting, naming the role and the var", async () => {
    const path = playbookSource(`import { command, defineRole, definePlaybook, file, z } from 'halyard';
${WEB_ROLE}
export default definePlaybook({ name: 'site', hosts: 'all', roles: [web] });
`);
    await expect(preparePlaybookRun(path, inventory(`vars-${Date.now()}`, ''), { extraVars: { web_port: 'eighty' } })).rejects.toThrow('role web: var web_port: Invalid input: expected number, received string');
  });

  it("a role's become applies where the inventory says nothing, and a play that says otherwise is refused", async () => {
    const needsRoot = `import { defineRole, definePlaybook, file } from 'halyard';
const root = defineRole({ name: 'root-files', become: true, tasks: () => [file({ path: '/etc/x', content: 'x' })] });
`;
    const withRole = playbookSource(`${needsRoot}export default definePlaybook({ name: 'site', hosts: 'all', roles: [root] });\n`);
    expect((await preparePlaybookRun(withRole, inventory(`rb-${Date.now()}`, ''))).hosts[0]!.become).toBe(true);
    expect((await preparePlaybookRun(withRole, inventory(`rb2-${Date.now()}`, ', ansible_become: false'))).hosts[0]!.become).toBe(false);
    const conflict = playbookSource(`${needsRoot}export default definePlaybook({ name: 'site', hosts: 'all', become: false, roles: [root] });\n`);
    await expect(preparePlaybookRun(conflict, inventory(`rc-${Date.now()}`, ''))).rejects.toThrow(
      'role root-files says become: true and play "site" says become: false; a host\'s tasks run in one session, as root or not',
    );
  });
});

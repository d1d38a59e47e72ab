// Input and usage errors through the real CLI: each is ONE line on stderr (file:line when there is
// one), never a stack trace, nothing on stdout, and a stable exit code (65 input, 64 usage).
// No lab host is needed: every error here is found before halyard connects anywhere. Tables of
// cases run through the CLI's main() in one Node process (runCliBatch); others spawn the CLI.
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli, runCliBatch, type CliRun } from '../support/cli.js';
import { busyBudget } from '../support/budget.js';

const PLAYBOOK = 'test/e2e/playbooks/cli-fleet.ts';

// A valid inventory whose only host would refuse connections (port 1): never reached by these tests.
const GOOD_INVENTORY = `all:
  hosts:
    web1:
      ansible_host: 127.0.0.1
      ansible_port: 1
`;

// Asserts the run printed exactly one error line and nothing else, and returns that line.
function expectOneErrorLine(run: CliRun, exitCode: number): string {
  const context = `stdout:\n${run.stdout}\nstderr:\n${run.stderr}`;
  expect(run.exitCode, context).toBe(exitCode);
  expect(run.stdout, context).toBe('');
  expect(run.stderr, context).toMatch(/^[^\n]+\n$/);
  expect(run.stderr, context).not.toMatch(/^\s*at /m);
  expect(run.stderr, context).not.toMatch(/internal error|TypeError|ReferenceError/);
  return run.stderr.trimEnd();
}

describe('halyard CLI errors', () => {
  let dir: string;
  const write = (name: string, text: string | Buffer): string => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'hy-cli-errors-'));
  });

  it('bad inventories exit 65 with one line naming file:line', async () => {
    const cases: { name: string; text: string | Buffer; args?: string[]; line?: number; message: RegExp }[] = [
      // Bytes that are not UTF-8 are refused where they are, never turned into another host name.
      {
        name: 'latin1.yml',
        text: Buffer.concat([Buffer.from('all:\n  hosts:\n    h'), Buffer.from([0xff, 0xfe]), Buffer.from('1: {ansible_host: 127.0.0.1}\n')]),
        line: 3,
        message: /not valid UTF-8 at line 3, column 6 \(byte \d+\); save the file as UTF-8$/,
      },
      // Two names for one address and port would run one machine twice at once.
      {
        name: 'same-endpoint.yml',
        text: 'all:\n  hosts:\n    web1: {ansible_host: 10.9.9.9}\n    web1-again: {ansible_host: 10.9.9.9}\n',
        message: /"web1", "web1-again" all connect to 10\.9\.9\.9:22: one machine would be run twice at once/,
      },
      { name: 'syntax.yml', text: 'all:\n  hosts:\n    web1: {ansible_host: 127.0.0.1\n  vars: x\n', line: 4, message: /YAML syntax error/ },
      {
        name: 'unknown-key.yml',
        text: 'all:\n  hosts:\n    web1:\n      ansible_host: 127.0.0.1\n  childs:\n    web: {}\n',
        line: 5,
        message: /unknown key "childs" in group "all".*did you mean "children"/,
      },
      { name: 'wrong-type.yml', text: 'all:\n  hosts:\n    web1:\n      ansible_port: abc\n', line: 4, message: /ansible_port must be a port number, got "abc"/ },
      { name: 'hosts-list.yml', text: 'all:\n  hosts: [web1, web2]\n', line: 2, message: /hosts/ },
      { name: 'empty-address.yml', text: 'all:\n  hosts:\n    web1:\n      ansible_host: ""\n', line: 4, message: /ansible_host is empty/ },
      {
        name: 'duplicate-host.yml',
        text: 'all:\n  hosts:\n    web1:\n      ansible_host: 127.0.0.1\n    web1:\n      ansible_host: 127.0.0.2\n',
        line: 5,
        message: /host "web1" is written twice/,
      },
      {
        name: 'cycle.yml',
        text: 'all:\n  children:\n    web:\n      hosts:\n        web1: {}\n      children:\n        db: {}\n    db:\n      children:\n        web: {}\n',
        line: 10,
        message: /cycle: web -> db -> web/,
      },
      { name: 'vault.yml', text: 'all:\n  hosts:\n    web1:\n      db: !vault abc\n', line: 4, message: /db: damaged ansible-vault data: not an ansible-vault header$/ },
      { name: 'port.ini', text: '[web]\nweb1 ansible_host=127.0.0.1 ansible_port=99999\n', line: 2, message: /out of range 1-65535/ },
      { name: 'empty.yml', text: '', message: /defines no hosts/ },
      { name: 'no-hosts.yml', text: 'all:\n  vars:\n    x: 1\n', message: /defines no hosts/ },
      { name: 'limit.yml', text: GOOD_INVENTORY, args: ['--limit', 'nosuchgroup'], message: /--limit: no host or group named "nosuchgroup"/ },
      { name: 'limit-glob.yml', text: GOOD_INVENTORY, args: ['--limit', 'db*'], message: /--limit: pattern "db\*" matches no host or group/ },
    ];
    // One Node process for the table (the CLI's main() per case); the cases below spawn the CLI.
    const runs = await runCliBatch(cases.map((entry) => ['apply', PLAYBOOK, '-i', write(entry.name, entry.text), ...(entry.args ?? [])]));
    for (const [index, entry] of cases.entries()) {
      const path = join(dir, entry.name);
      const line = expectOneErrorLine(runs[index]!, 65);
      expect(line, entry.name).toMatch(entry.message);
      if (entry.line !== undefined) expect(line, entry.name).toContain(`halyard: ${path}:${entry.line}: `);
      // Errors about the whole file name just the file.
      else expect(line, entry.name).toMatch(new RegExp(`^halyard: (${path}: |--limit: )`));
    }

    const missing = expectOneErrorLine(await runCli(['apply', PLAYBOOK, '-i', join(dir, 'nope.yml')]), 65);
    expect(missing).toBe(`halyard: ${join(dir, 'nope.yml')}: cannot read inventory (no such file)`);
    // A directory is read as Ansible reads it; one holding nothing Ansible would read is an error.
    const directory = join(dir, 'inventory.d');
    mkdirSync(directory);
    writeFileSync(join(directory, 'hosts.ini'), '[web]\nw1\n');
    expect(expectOneErrorLine(await runCli(['apply', PLAYBOOK, '-i', directory]), 65)).toBe(`halyard: ${directory}: no inventory file found (the directory holds none Ansible would read)`);
    // The same errors from `inventory list`.
    expect(expectOneErrorLine(await runCli(['inventory', 'list', '-i', join(dir, 'cycle.yml')]), 65)).toContain('cycle.yml:10: ');
  }, busyBudget(5));

  it('bad usage exits 64 with one line', async () => {
    const inventory = write('good.yml', GOOD_INVENTORY);
    const cases: [string[], RegExp][] = [
      [['apply', PLAYBOOK, '-i', inventory, '--bogus'], /unknown option '--bogus'/],
      [['apply', PLAYBOOK, '-i', inventory, '--frks', '2'], /unknown option '--frks'.*Did you mean --forks\?/],
      [['apply', PLAYBOOK], /^halyard: no inventory: pass -i, or set inventory in ansible\.cfg or ANSIBLE_INVENTORY$/],
      [['apply', '-i', inventory], /missing required argument 'playbook'/],
      [['apply', PLAYBOOK, '-i', inventory, '--forks', '0'], /--forks must be a positive whole number, got "0"/],
      [['apply', PLAYBOOK, '-i', inventory, '--forks', 'many'], /--forks must be a positive whole number/],
      [['apply', PLAYBOOK, '-i', inventory, '--serial', 'abc'], /--serial must be a number or a percentage like 30%, got "abc"/],
      [['apply', PLAYBOOK, '-i', inventory, '--max-fail-percent', '150'], /--max-fail-percent must be between 0 and 100/],
      [['apply', PLAYBOOK, '-i', inventory, '--lock-timeout', '-1'], /--lock-timeout must be a whole number of seconds/],
      [['apply', PLAYBOOK, '-i', inventory, '--connect-timeout', '0'], /--connect-timeout must be a positive number of seconds/],
      [['apply', PLAYBOOK, '-i', inventory, '-e', 'greeting=hello world'], /-e: expected key=value, got "world"/],
      [['apply', PLAYBOOK, '-i', inventory, '--forks'], /option '-f, --forks <n>' argument missing/],
      [['deploy'], /unknown command 'deploy'/],
    ];
    // The first case through the real launcher, the table through main() in one process.
    expect(expectOneErrorLine(await runCli(cases[0]![0]), 64)).toMatch(cases[0]![1]);
    const runs = await runCliBatch(cases.map(([args]) => args));
    for (const [index, [args, message]] of cases.entries()) {
      expect(expectOneErrorLine(runs[index]!, 64), args.join(' ')).toMatch(message);
    }
  }, busyBudget(3));

  it('a missing, unparsable or wrongly shaped playbook exits 65 with one line', async () => {
    const inventory = write('good-for-playbooks.yml', GOOD_INVENTORY);
    const syntax = write('syntax.ts', "import { definePlaybook } from 'halyard';\nexport default definePlaybook({ name: 'x', tasks: (h) => [ });\n");
    const noDefault = write('no-default.ts', "import { file } from 'halyard';\nexport const task = file;\n");
    const notPlaybook = write('not-playbook.ts', "export default { name: 'x', tasks: () => [] };\n");
    const throws = write('throws.ts', "throw new Error('cannot build the play');\nexport default 1;\n");
    const badImport = write('bad-import.ts', "import { nope } from './no-such-module.js';\nexport default nope;\n");
    // A numeric mode gets past the types with `as never` (or from JavaScript); the schema refuses it
    // before the port-1 host is dialled, naming the playbook's line.
    const badArguments = write(
      'bad-arguments.ts',
      "import { definePlaybook, file } from 'halyard';\nexport default definePlaybook({ name: 'x', tasks: () => [\n  file({ path: '/tmp/motd', content: 'hi\\n', mode: 644 as never }),\n] });\n",
    );
    const cases: [string, RegExp][] = [
      [join(dir, 'missing.ts'), /^halyard: cannot read playbook .*missing\.ts: no such file$/],
      [dir, new RegExp(`^halyard: cannot read playbook ${dir}: it is a directory \\(name the playbook file in it, e\\.g\\. ${dir}/site\\.ts\\)$`)],
      [syntax, new RegExp(`^halyard: cannot load playbook .*syntax\\.ts: ${syntax}:2:\\d+: Unexpected "\\}"$`)],
      [noDefault, /^halyard: .*no-default\.ts must `export default definePlaybook\(\{\.\.\.\}\)`$/],
      [notPlaybook, /^halyard: .*not-playbook\.ts must `export default definePlaybook/],
      [throws, /^halyard: cannot load playbook .*throws\.ts: cannot build the play$/],
      [badImport, new RegExp(`^halyard: cannot load playbook .*bad-import\\.ts: ${badImport}:1:\\d+: Could not resolve "\\./no-such-module\\.js"$`)],
      [badArguments, new RegExp(`^halyard: ${badArguments}:3: file: mode must be a string of octal digits like "0644", got the number 644 `)],
    ];
    const runs = await runCliBatch(cases.map(([playbook]) => ['apply', playbook, '-i', inventory]));
    for (const [index, [playbook, message]] of cases.entries()) {
      expect(expectOneErrorLine(runs[index]!, 65), playbook).toMatch(message);
    }
  }, busyBudget(3));

  it('a missing or wrongly typed role var exits 65 once, before connecting to any host; -e text is read as the number the role wants', async () => {
    // Two hosts that refuse connections: a run that got past its vars would exit 1 (unreachable).
    const inventory = write('two-hosts.yml', 'all:\n  hosts:\n    web1: {ansible_host: 127.0.0.1, ansible_port: 1}\n    web2: {ansible_host: 127.0.0.1, ansible_port: 2}\n');
    const playbook = write(
      'role-vars.ts',
      [
        "import { definePlaybook, file, roleVars, z } from 'halyard';",
        "const demoVars = z.object({ loki_port: z.number().int().describe('port Loki listens on') });",
        "export default definePlaybook({ name: 'x', hosts: 'all', tasks: (host) => {",
        "  const v = roleVars('demo', demoVars, host.vars);",
        "  return [file({ path: '/tmp/loki-port', content: `${v.loki_port}\\n` })];",
        '} });',
        '',
      ].join('\n'),
    );
    expect(expectOneErrorLine(await runCli(['apply', playbook, '-i', inventory, '-e', 'loki_port=31o1']), 65)).toBe('halyard: role demo: var loki_port: Invalid input: expected number, received string');
    expect(expectOneErrorLine(await runCli(['apply', playbook, '-i', inventory]), 65)).toBe('halyard: role demo: var loki_port: Invalid input: expected number, received undefined');
    const coerced = await runCli(['apply', playbook, '-i', inventory, '-e', 'loki_port=3101', '--json']);
    expect(coerced.exitCode, coerced.stderr).toBe(1);
    expect(coerced.json?.hosts.web1).toMatchObject({ unreachable: true });
  }, busyBudget(7));

  it("an Ansible repository's ansible.cfg: its inventory when -i is missing, remote_user and become below inventory vars, what halyard cannot honour refused or warned", async () => {
    const repo = mkdtempSync(join(tmpdir(), 'hy-ansible-repo-'));
    chmodSync(repo, 0o755);
    mkdirSync(join(repo, 'inventories'));
    writeFileSync(join(repo, 'inventories', 'production'), '[web]\nw1 ansible_host=10.1.0.1\nw2 ansible_host=10.1.0.2 ansible_user=admin ansible_become=false\n');
    writeFileSync(join(repo, 'ansible.cfg'), '[defaults]\ninventory = inventories/production\nremote_user = deploy\n[privilege_escalation]\nbecome = True\n');
    const listed = await runCli(['inventory', 'list', '--json'], { cwd: repo });
    expect(listed.exitCode, listed.stderr).toBe(0);
    expect(listed.stderr).toBe('');
    const hosts = (JSON.parse(listed.stdout) as { hosts: { name: string; user: string; become: boolean }[] }).hosts;
    expect(hosts.map(({ name, user, become }) => ({ name, user, become }))).toEqual([
      { name: 'w1', user: 'deploy', become: true },
      { name: 'w2', user: 'admin', become: false },
    ]);
    // ANSIBLE_INVENTORY beats the file, as in Ansible.
    writeFileSync(join(repo, 'inventories', 'staging'), '[web]\ns1\n');
    const staging = await runCli(['inventory', 'list', '--json'], { cwd: repo, env: { ANSIBLE_INVENTORY: 'inventories/staging' } });
    expect((JSON.parse(staging.stdout) as { hosts: { name: string }[] }).hosts.map((host) => host.name)).toEqual(['s1']);

    writeFileSync(join(repo, 'ansible.cfg'), '[defaults]\ninventory = inventories/production\nhost_key_checking = False\n');
    const warned = await runCli(['inventory', 'list'], { cwd: repo });
    expect(warned.exitCode, warned.stderr).toBe(0);
    expect(warned.stderr).toBe(`halyard: warning: ${join(repo, 'ansible.cfg')}: host_key_checking = False is ignored: halyard records a new host's key and refuses a changed one (--strict-host-keys refuses new ones too)\n`);

    writeFileSync(join(repo, 'ansible.cfg'), '[defaults]\ninventory = inventories/production\n[privilege_escalation]\nbecome_method = su\n');
    expect(expectOneErrorLine(await runCli(['apply', join(process.cwd(), PLAYBOOK)], { cwd: repo }), 65)).toBe(
      `halyard: ${join(repo, 'ansible.cfg')}: become_method = su: halyard becomes root with sudo only`,
    );
  }, busyBudget(8));

  it('inventory list prints hosts, groups and vars, in text and JSON, with secrets masked', async () => {
    const secrets = ['pg-S3cret-value', 'tagged-S3cret', 'listed-S3cret', 'sudo-S3cret'];
    const inventory = write(
      'secrets.yml',
      `halyard_secret_vars: [license]
all:
  vars:
    db_password: ${secrets[0]}
    region: eu-west-1
  children:
    web:
      hosts:
        web1:
          ansible_host: 10.0.0.5
          ansible_port: 2222
          ansible_user: deploy
          api: !secret ${secrets[1]}
          license: ${secrets[2]}
          ansible_become: yes
          ansible_become_password: ${secrets[3]}
    db:
      hosts:
        db1: {}
`,
    );
    const plain = await runCli(['inventory', 'list', '-i', inventory]);
    expect(plain.exitCode, plain.stderr).toBe(0);
    expect(plain.stderr).toBe('');
    for (const secret of secrets) expect(plain.stdout).not.toContain(secret);
    expect(plain.stdout).toContain('hosts (2):');
    expect(plain.stdout).toContain('address: 10.0.0.5:2222');
    expect(plain.stdout).toMatch(/db_password: \*{8}/);
    expect(plain.stdout).toMatch(/api: \*{8}/);
    expect(plain.stdout).toMatch(/license: \*{8}/);
    expect(plain.stdout).toContain('region: eu-west-1');

    const json = await runCli(['inventory', 'list', '-i', inventory, '--json']);
    expect(json.exitCode, json.stderr).toBe(0);
    for (const secret of secrets) expect(json.stdout).not.toContain(secret);
    const document = JSON.parse(json.stdout) as {
      source: string;
      hosts: { name: string; address: string; port: number; user: string | null; become: boolean; becomePassword: string | null; groups: string[]; vars: Record<string, unknown> }[];
      groups: { name: string; hosts: string[]; children: string[] }[];
    };
    expect(document.hosts.map((host) => host.name)).toEqual(['db1', 'web1']);
    const web1 = document.hosts.find((host) => host.name === 'web1');
    expect(web1).toMatchObject({ address: '10.0.0.5', port: 2222, user: 'deploy', become: true, becomePassword: '********', groups: ['all', 'web'] });
    expect(web1?.vars).toMatchObject({ db_password: '********', api: '********', license: '********', region: 'eu-west-1' });
    expect(document.groups.map((group) => group.name)).toEqual(['all', 'db', 'web']);
    expect(document.groups.find((group) => group.name === 'web')?.hosts).toEqual(['web1']);

    const limited = await runCli(['inventory', 'list', '-i', inventory, '--json', '--limit', 'db']);
    expect(limited.exitCode, limited.stderr).toBe(0);
    expect((JSON.parse(limited.stdout) as typeof document).hosts.map((host) => host.name)).toEqual(['db1']);

    // -i is repeatable: sources are read in order into one inventory, as Ansible reads them.
    const extra = write('extra.ini', '[db]\ndb2 ansible_host=10.0.0.7\n');
    const both = await runCli(['inventory', 'list', '-i', inventory, '-i', extra, '--json']);
    expect(both.exitCode, both.stderr).toBe(0);
    expect((JSON.parse(both.stdout) as typeof document).hosts.map((host) => host.name)).toEqual(['db1', 'db2', 'web1']);
  }, busyBudget(5));

  it('--list-hosts and --list-tasks show what a run would touch and do, connecting to no host', async () => {
    // Port 1: a run that connected would fail; listing exits 0.
    const inventory = write('list.yml', 'all:\n  hosts:\n    web1: {ansible_host: 127.0.0.1, ansible_port: 1}\n    web2: {ansible_host: 127.0.0.2, ansible_port: 1, fail_here: true}\n');
    const hostsText = await runCli(['apply', PLAYBOOK, '-i', inventory, '--list-hosts']);
    expect(hostsText.exitCode, hostsText.stderr).toBe(0);
    expect(hostsText.stdout).toBe(`playbook: ${PLAYBOOK}\n\n  play #1 (all): cli fleet\n    hosts (2):\n      web1\n      web2\n`);
    const tasks = await runCli(['apply', PLAYBOOK, '-i', inventory, '--list-tasks', '--limit', 'web2', '--json', '-e', 'cli_dir=/tmp/hy-list']);
    expect(tasks.exitCode, tasks.stderr).toBe(0);
    expect(JSON.parse(tasks.stdout)).toEqual({
      playbook: PLAYBOOK,
      plays: [{ name: 'cli fleet', pattern: 'all', roles: [], hosts: ['web2'] }],
      hosts: { web2: { tasks: ['directory /tmp/hy-list', 'file /tmp/hy-list/greeting', 'fail on purpose'], handlers: [] } },
    });
  }, busyBudget(5));

  it('--tags and --skip-tags select tasks as Ansible does, with role and play tags inherited', async () => {
    const inventory = write('tags.yml', 'all:\n  hosts:\n    web1: {ansible_host: 127.0.0.1, ansible_port: 1}\n');
    const cases: [string[], string[]][] = [
      [[], ['web config', 'web check', 'db config', 'flush handlers', 'always runs']],
      [['--tags', 'config'], ['web config', 'db config', 'flush handlers', 'always runs']],
      [['--tags', 'web', '--skip-tags', 'config'], ['web check', 'flush handlers', 'always runs']],
      [['--tags', 'debug'], ['flush handlers', 'always runs', 'debug only']],
      // `always` runs unless one of its tags is skipped: here the play's.
      [['--skip-tags', 'site'], ['flush handlers']],
      [['-t', 'db,web', '--skip-tags', 'always'], ['web config', 'web check', 'db config', 'flush handlers']],
    ];
    const runs = await runCliBatch(cases.map(([flags]) => ['apply', 'test/e2e/playbooks/tagged.ts', '-i', inventory, '--list-tasks', '--json', ...flags]));
    for (const [index, [flags, tasks]] of cases.entries()) {
      expect(runs[index]!.exitCode, `${flags.join(' ')}: ${runs[index]!.stderr}`).toBe(0);
      expect((JSON.parse(runs[index]!.stdout) as { hosts: Record<string, { tasks: string[] }> }).hosts.web1?.tasks, flags.join(' ')).toEqual(tasks);
    }
  }, busyBudget(5));
});

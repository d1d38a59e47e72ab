// `halyard check PLAYBOOK` through the real CLI, in a project of its own whose node_modules/halyard
// is this checkout: the project's tsconfig decides, type errors are file:line:col lines and exit
// 65, and a playbook that type-checks is listed (plays, roles, hosts, tasks, handlers) with no
// host contacted.
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { scaffoldFiles } from '../../src/init/scaffold.js';
import { runCli } from '../support/cli.js';

function project(): string {
  const dir = mkdtempSync(join(tmpdir(), 'hy-check-'));
  mkdirSync(join(dir, 'node_modules'));
  symlinkSync(resolve(import.meta.dirname, '../..'), join(dir, 'node_modules', 'halyard'));
  symlinkSync(resolve(import.meta.dirname, '../../node_modules/@types'), join(dir, 'node_modules', '@types'));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'ops', type: 'module' }));
  for (const [path, content] of Object.entries(scaffoldFiles())) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  writeFileSync(join(dir, 'inventory', 'hosts.yml'), 'all:\n  hosts:\n    web1: { ansible_host: 192.0.2.10 }\n');
  return dir;
}

describe('halyard check', () => {
  it("type-checks with the project's tsconfig and lists plays, roles, hosts, tasks and handlers without connecting", async () => {
    const dir = project();
    writeFileSync(
      join(dir, 'playbooks', 'web.ts'),
      `import { definePlaybook, defineRole, file, command, z } from 'halyard';
const web = defineRole({
  name: 'web',
  vars: z.object({ web_port: z.number().default(8080) }),
  tasks: (_host, vars) => [file({ path: '/etc/web.conf', content: \`port \${vars.web_port}\\n\` }, { notify: 'reload web' })],
  handlers: () => ({ 'reload web': command({ command: 'true' }, { name: 'reload web' }) }),
});
export default definePlaybook({ name: 'web', hosts: 'all', roles: [web] });
`,
    );
    const run = await runCli(['check', 'playbooks/web.ts'], { cwd: dir });
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stdout).toBe(
      [
        'type-checks: playbooks/web.ts (tsconfig.json)',
        'playbook: playbooks/web.ts',
        '',
        '  play #1 (all): web  roles: web',
        '    hosts (1):',
        '      web1',
        '',
        '  web1 (1 task):',
        '      file /etc/web.conf',
        '    handlers: reload web',
        '',
      ].join('\n'),
    );
  }, 30_000);

  it('a type error is a file:line:col line and exit 65, before anything is loaded or listed', async () => {
    const dir = project();
    writeFileSync(join(dir, 'playbooks', 'bad.ts'), `import { definePlaybook, file } from 'halyard';\nexport default definePlaybook({ name: 'bad', hosts: 'all', tasks: () => [file({ path: 1 })] });\n`);
    const run = await runCli(['check', 'playbooks/bad.ts'], { cwd: dir });
    expect(run.exitCode).toBe(65);
    expect(run.stderr).toBe("playbooks/bad.ts:2:81: error TS2322: Type 'number' is not assignable to type 'string'.\nhalyard: playbooks/bad.ts does not type-check: 1 error (above)\n");
    expect(run.stdout).toBe('');
  }, 30_000);
});

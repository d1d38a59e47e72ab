// The playbook loader's transpile cache (jiti's, in ~/.cache/halyard/jiti or under XDG_CACHE_HOME):
// a fresh process loading an unchanged playbook reads its earlier transpiled files and never loads
// the transpiler; an edited file is transpiled again, and only that file. Each load is a fresh
// `halyard apply --list-tasks` (dist/, as users run it) with its modules logged.
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadPlaybook, transpileCache, transpileCacheDir } from '../../src/playbook/load.js';
import { flattenTasks, type HostContext } from '../../src/playbook/types.js';
import { runLoggingModules } from '../support/module-log.js';

// jiti's transpiler (babel), which it requires only when a file is not in its cache.
const isTranspiler = (module: string) => /\/jiti\/dist\/babel\.cjs$/.test(module);

function project(): { dir: string; cache: string; list: () => ReturnType<typeof runLoggingModules> } {
  const dir = mkdtempSync(join(tmpdir(), 'hy-load-cache-'));
  const cacheHome = join(dir, 'cache-home');
  writeFileSync(join(dir, 'hosts.yml'), 'all:\n  hosts:\n    web-1: { ansible_host: 192.0.2.10 }\n');
  writeFileSync(
    join(dir, 'web-role.ts'),
    `import { defineRole, file } from 'halyard';
export const web = defineRole({ name: 'web', tasks: () => [file({ path: '/etc/web.conf', content: 'port 8080\\n' })] });
`,
  );
  writePlaybook(dir, '/etc/motd');
  const list = () => runLoggingModules(['apply', join(dir, 'play.ts'), '-i', join(dir, 'hosts.yml'), '--list-tasks'], { cwd: dir, env: { XDG_CACHE_HOME: cacheHome } });
  return { dir, cache: join(cacheHome, 'halyard', 'jiti'), list };
}

function writePlaybook(dir: string, motd: string): void {
  writeFileSync(
    join(dir, 'play.ts'),
    `import { definePlaybook, file } from 'halyard';
import { web } from './web-role.js';
const motd: string = '${motd}';
export default definePlaybook({ name: 'web', hosts: 'all', roles: [web], tasks: () => [file({ path: motd, content: 'hello\\n' })] });
`,
  );
}

// The cache file jiti keeps for a source file ("<folder>-<name>.<hash of the path>.mjs") and its state.
function cached(cache: string, name: string): { file: string; mtimeMs: number; text: string } {
  const matches = readdirSync(cache).filter((file) => file.includes(`-${name}.`));
  expect(matches, `cache files for ${name} in ${cache}`).toHaveLength(1);
  const file = join(cache, matches[0]!);
  return { file, mtimeMs: statSync(file).mtimeMs, text: readFileSync(file, 'utf8') };
}

describe('playbook transpile cache', () => {
  it('a second load of an unchanged playbook does not transpile; an edited file is transpiled again, and only it', async () => {
    const { dir, cache, list } = project();

    const first = await list();
    expect(first.exitCode, first.stderr).toBe(0);
    expect(first.stdout).toContain('file /etc/motd');
    expect(first.modules.some(isTranspiler)).toBe(true);
    expect(statSync(cache).mode & 0o777).toBe(0o700);
    const play = cached(cache, 'play');
    const role = cached(cache, 'web-role');

    const second = await list();
    expect(second.exitCode, second.stderr).toBe(0);
    expect(second.stdout).toBe(first.stdout);
    expect(second.modules.some(isTranspiler)).toBe(false);
    expect(cached(cache, 'play')).toEqual(play);
    expect(cached(cache, 'web-role')).toEqual(role);

    writePlaybook(dir, '/etc/issue');
    const third = await list();
    expect(third.exitCode, third.stderr).toBe(0);
    expect(third.stdout).toContain('file /etc/issue');
    expect(third.modules.some(isTranspiler)).toBe(true);
    const edited = cached(cache, 'play');
    expect(edited.file).toBe(play.file);
    expect(edited.text).not.toBe(play.text);
    expect(edited.text).toContain('/etc/issue');
    expect(cached(cache, 'web-role')).toEqual(role);
  });

  it('a second load in the same process (the daemon\'s drift job) reads the edited playbook and its TypeScript role again', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hy-load-again-'));
    writeFileSync(join(dir, 'role.ts'), "export const motd: string = 'one\\n';\n");
    writeFileSync(join(dir, 'helper.mjs'), "export const issue = 'one\\n';\n");
    writeFileSync(
      join(dir, 'play.ts'),
      `import { definePlaybook, file } from 'halyard';
import { motd } from './role.js';
import { issue } from './helper.mjs';
export default definePlaybook({ name: 'first', hosts: 'all', tasks: () => [file({ path: '/etc/motd', content: motd }), file({ path: '/etc/issue', content: issue })] });
`,
    );
    const contents = async () => {
      const playbook = await loadPlaybook(join(dir, 'play.ts'));
      // The tasks read no host context, so an empty one does.
      const tasks = flattenTasks(playbook.plays[0]!.tasks!({} as HostContext));
      return { name: playbook.name, contents: tasks.map((task) => (task.desired as { content: string }).content) };
    };
    expect(await contents()).toEqual({ name: 'first', contents: ['one\n', 'one\n'] });
    for (const [file, from, to] of [['play.ts', "'first'", "'second'"], ['role.ts', 'one', 'two'], ['helper.mjs', 'one', 'two']] as const) {
      writeFileSync(join(dir, file), readFileSync(join(dir, file), 'utf8').replace(from, to));
    }
    // A plain ES module is Node's own import, kept for the process's life (the README says so).
    expect(await contents()).toEqual({ name: 'second', contents: ['two\n', 'one\n'] });
  });

  it('lives under XDG_CACHE_HOME, else ~/.cache', () => {
    expect(transpileCacheDir({ XDG_CACHE_HOME: '/var/cache/ops' })).toBe('/var/cache/ops/halyard/jiti');
    expect(transpileCacheDir({ HOME: process.env.HOME })).toMatch(/\/\.cache\/halyard\/jiti$/);
  });

  it('is not used when others may write to it (code read from it runs), nor when it cannot be made', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hy-load-cache-'));
    expect(transpileCache(join(dir, 'private'))).toBe(join(dir, 'private'));
    expect(statSync(join(dir, 'private')).mode & 0o777).toBe(0o700);
    mkdirSync(join(dir, 'shared'));
    chmodSync(join(dir, 'shared'), 0o777);
    expect(transpileCache(join(dir, 'shared'))).toBe(false);
    writeFileSync(join(dir, 'a-file'), '');
    expect(transpileCache(join(dir, 'a-file', 'jiti'))).toBe(false);
  });
});

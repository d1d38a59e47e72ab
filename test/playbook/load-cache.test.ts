// The playbook loader's bundle cache (in ~/.cache/halyard/playbooks or under XDG_CACHE_HOME): a
// fresh process loading an unchanged playbook imports the bundle an earlier one wrote and never
// loads esbuild; an edited playbook or role is bundled again. Each load is a fresh
// `halyard apply --list-tasks` (dist/, as users run it) with its modules logged.
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadPlaybook, transpileCache, transpileCacheDir } from '../../src/playbook/load.js';
import { flattenTasks, type HostContext } from '../../src/playbook/types.js';
import { runLoggingModules } from '../support/module-log.js';

// esbuild's JavaScript API, which the loader imports only when no bundle in the cache is current.
const isBundler = (module: string) => /\/node_modules\/esbuild\/lib\/main\.js$/.test(module);

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
  return { dir, cache: join(cacheHome, 'halyard', 'playbooks'), list };
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

// The bundles kept for play.ts ("play.ts.<key>.<hash of the bundle>.mjs"), newest last, with their text.
function bundles(cache: string): { file: string; mtimeMs: number; text: string }[] {
  return readdirSync(cache)
    .filter((file) => file.startsWith('play.ts.') && file.endsWith('.mjs'))
    .map((file) => join(cache, file))
    .map((file) => ({ file, mtimeMs: statSync(file).mtimeMs, text: readFileSync(file, 'utf8') }))
    .sort((a, b) => a.mtimeMs - b.mtimeMs);
}

describe('playbook bundle cache', () => {
  it('a second load of an unchanged playbook imports its bundle without loading esbuild; an edit to the playbook or its role bundles it again', async () => {
    const { dir, cache, list } = project();

    const first = await list();
    expect(first.exitCode, first.stderr).toBe(0);
    expect(first.stdout).toContain('file /etc/motd');
    expect(first.stdout).toContain('file /etc/web.conf');
    expect(first.modules.some(isBundler)).toBe(true);
    expect(statSync(cache).mode & 0o777).toBe(0o700);
    const [built, ...others] = bundles(cache);
    expect(others).toEqual([]);
    // One module: the playbook and its TypeScript role inlined; halyard imported from dist/, not copied in.
    expect(built?.text).toContain('"/etc/motd"');
    expect(built?.text).toContain('port 8080');
    expect(built?.text).toMatch(/from "file:\/\/\/[^"]+\/dist\/index\.js"/);
    expect(statSync(built!.file).mode & 0o777).toBe(0o600);

    const second = await list();
    expect(second.exitCode, second.stderr).toBe(0);
    expect(second.stdout).toBe(first.stdout);
    expect(second.modules.some(isBundler)).toBe(false);
    expect(second.modules.filter((module) => module.endsWith(basename(built!.file)))).toHaveLength(1);
    expect(bundles(cache)).toEqual([built]);

    writePlaybook(dir, '/etc/issue');
    const third = await list();
    expect(third.exitCode, third.stderr).toBe(0);
    expect(third.stdout).toContain('file /etc/issue');
    expect(third.modules.some(isBundler)).toBe(true);
    const afterEdit = bundles(cache);
    expect(afterEdit).toHaveLength(2);
    expect(afterEdit[1]?.text).toContain('"/etc/issue"');

    writeFileSync(join(dir, 'web-role.ts'), readFileSync(join(dir, 'web-role.ts'), 'utf8').replace('port 8080', 'port 9090'));
    const fourth = await list();
    expect(fourth.exitCode, fourth.stderr).toBe(0);
    expect(fourth.modules.some(isBundler)).toBe(true);
    expect(bundles(cache).at(-1)?.text).toContain('port 9090');
  });

  it("a package upgraded in place whose entry moved (its old file still there) is loaded from its new entry: its package.json is an input", async () => {
    const { dir, list } = project();
    const pkg = join(dir, 'node_modules', 'motd-path');
    mkdirSync(pkg, { recursive: true });
    const release = (version: string, entry: string, path: string) => {
      writeFileSync(join(pkg, 'package.json'), JSON.stringify({ name: 'motd-path', version, main: entry }));
      writeFileSync(join(pkg, entry), `exports.motdPath = ${JSON.stringify(path)};\n`);
    };
    release('1.0.0', 'one.cjs', '/etc/motd-one');
    writeFileSync(
      join(dir, 'play.ts'),
      `import { definePlaybook, file } from 'halyard';
import { motdPath } from 'motd-path';
export default definePlaybook({ name: 'web', hosts: 'all', tasks: () => [file({ path: motdPath, content: 'hello\\n' })] });
`,
    );
    const first = await list();
    expect(first.exitCode, first.stderr).toBe(0);
    expect(first.stdout).toContain('file /etc/motd-one');
    // The upgrade leaves one.cjs behind (npm does when a file moves within a package it updates in place).
    release('2.0.0', 'two.cjs', '/etc/motd-two');
    const upgraded = await list();
    expect(upgraded.exitCode, upgraded.stderr).toBe(0);
    expect(upgraded.stdout).toContain('file /etc/motd-two');
    expect(upgraded.modules.some(isBundler)).toBe(true);
    // Unchanged since: the new bundle, without esbuild.
    const again = await list();
    expect(again.stdout).toContain('file /etc/motd-two');
    expect(again.modules.some(isBundler)).toBe(false);
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

  it("resolves a playbook's packages from its own folder, bundles its JSON and .mts files, keeps each file's import.meta, and names its lines in argument errors", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hy-load-imports-'));
    // A package only this project has (its "module" field is one Node ignores: "main" is what runs).
    mkdirSync(join(dir, 'node_modules', 'motd-text'), { recursive: true });
    writeFileSync(join(dir, 'node_modules', 'motd-text', 'package.json'), JSON.stringify({ name: 'motd-text', version: '1.0.0', main: 'main.cjs', module: 'missing.mjs' }));
    writeFileSync(join(dir, 'node_modules', 'motd-text', 'main.cjs'), "exports.motd = require('node:path').join('from', 'package') + '\\n';\n");
    writeFileSync(join(dir, 'settings.json'), JSON.stringify({ issue: 'from json\n' }));
    mkdirSync(join(dir, 'lib'));
    writeFileSync(join(dir, 'lib', 'modes.mts'), "#!/usr/bin/env -S node\nimport { readFileSync } from 'node:fs';\nexport const mode: string = readFileSync(new URL('./mode.txt', import.meta.url), 'utf8').trim();\nexport const here = [import.meta.dirname, import.meta.filename];\n");
    writeFileSync(join(dir, 'lib', 'mode.txt'), '0640\n');
    writeFileSync(
      join(dir, 'play.ts'),
      `import { definePlaybook, file } from 'halyard';
import { motd } from 'motd-text';
import settings from './settings.json';
import { here, mode } from './lib/modes.mjs';
export default definePlaybook({ name: 'imports', hosts: 'all', tasks: (host) => [
  file({ path: '/etc/motd', content: motd, mode }), file({ path: import.meta.dirname + '/here', content: here.join(',') }),
  file({ path: '/etc/issue', content: settings.issue }),
  (host as { vars: { broken?: boolean } }).vars.broken === true && file({ path: '/etc/x', content: '', mode: 644 as never }),
] });
`,
    );
    const playbook = await loadPlaybook(join(dir, 'play.ts'));
    const tasks = flattenTasks(playbook.plays[0]!.tasks!({ vars: {} } as unknown as HostContext));
    // import.meta is each file's own (a file beside it read by URL; dirname and filename), not the bundle's.
    expect(tasks.map((task) => task.desired)).toMatchObject([
      { path: '/etc/motd', content: 'from/package\n', mode: '0640' },
      { path: `${dir}/here`, content: `${join(dir, 'lib')},${join(dir, 'lib', 'modes.mts')}` },
      { path: '/etc/issue', content: 'from json\n' },
    ]);
    // The argument error names play.ts and its line, not the bundle the code ran from.
    expect(() => playbook.plays[0]!.tasks!({ vars: { broken: true } } as unknown as HostContext)).toThrow(new RegExp(`^${join(dir, 'play.ts')}:8: file: mode must be`));
  });

  it('lives under XDG_CACHE_HOME, else ~/.cache', () => {
    expect(transpileCacheDir({ XDG_CACHE_HOME: '/var/cache/ops' })).toBe('/var/cache/ops/halyard/playbooks');
    expect(transpileCacheDir({ HOME: process.env.HOME })).toMatch(/\/\.cache\/halyard\/playbooks$/);
  });

  it('is not used when others may write to it (code read from it runs), nor when it cannot be made', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hy-load-cache-'));
    expect(transpileCache(join(dir, 'private'))).toBe(join(dir, 'private'));
    expect(statSync(join(dir, 'private')).mode & 0o777).toBe(0o700);
    mkdirSync(join(dir, 'shared'));
    chmodSync(join(dir, 'shared'), 0o777);
    expect(transpileCache(join(dir, 'shared'))).toBe(false);
    writeFileSync(join(dir, 'a-file'), '');
    expect(transpileCache(join(dir, 'a-file', 'playbooks'))).toBe(false);
  });

  it('without a usable cache, loads through a temporary bundle it removes, and still names the playbook\'s lines', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hy-load-nocache-'));
    const shared = join(dir, 'cache-home', 'halyard', 'playbooks');
    mkdirSync(shared, { recursive: true });
    chmodSync(shared, 0o777);
    writeFileSync(
      join(dir, 'play.ts'),
      `import { definePlaybook, file } from 'halyard';
export default definePlaybook({ name: 'no cache', hosts: 'all', tasks: () => [
  file({ path: '/etc/motd', content: 'hi\\n', mode: 644 as never }),
] });
`,
    );
    const before = readdirSync(tmpdir()).filter((name) => name.startsWith('halyard-playbook-')).length;
    const saved = process.env['XDG_CACHE_HOME'];
    process.env['XDG_CACHE_HOME'] = join(dir, 'cache-home');
    try {
      const playbook = await loadPlaybook(join(dir, 'play.ts'));
      expect(() => playbook.plays[0]!.tasks!({} as HostContext)).toThrow(new RegExp(`^${join(dir, 'play.ts')}:3: file: mode must be`));
    } finally {
      if (saved === undefined) delete process.env['XDG_CACHE_HOME'];
      else process.env['XDG_CACHE_HOME'] = saved;
    }
    // Nothing written where others may write, and the temporary bundle is gone.
    expect(readdirSync(shared)).toEqual([]);
    expect(readdirSync(tmpdir()).filter((name) => name.startsWith('halyard-playbook-')).length).toBe(before);
  });
});

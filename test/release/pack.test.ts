import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { HALYARD_ROOT, buildRelease, halyardRelease, projectArchive } from '../../src/release/pack.js';

function temp(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

function write(path: string, content: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, content);
}

function listTar(file: string): string[] {
  return execFileSync('tar', ['-tzf', file], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 }).trim().split('\n').sort();
}

// A project where halyard is itself a dependency and its dependencies were hoisted beside it.
function hoistedProject(options: { withB?: boolean } = {}): string {
  const project = temp('hy-hoisted-');
  const halyard = join(project, 'node_modules', 'halyard');
  write(join(halyard, 'package.json'), JSON.stringify({ name: 'halyard', version: '9.8.7', dependencies: { a: '^1' }, optionalDependencies: { gone: '^1' } }));
  write(join(halyard, 'bin', 'halyard.js'), '#!/usr/bin/env node\nimport "../dist/cli/main.js";\n');
  write(join(halyard, 'dist', 'cli', 'main.js'), 'export {};\n');
  write(join(halyard, 'dist', 'cli', 'main.d.ts'), 'export {};\n');
  write(join(halyard, 'test', 'x.test.ts'), '');
  write(join(project, 'node_modules', 'a', 'package.json'), JSON.stringify({ name: 'a', version: '1.0.0', dependencies: { b: '^2' } }));
  write(join(project, 'node_modules', 'a', 'index.js'), '');
  if (options.withB !== false) {
    write(join(project, 'node_modules', 'a', 'node_modules', 'b', 'package.json'), JSON.stringify({ name: 'b', version: '2.0.0' }));
    write(join(project, 'node_modules', 'a', 'node_modules', 'b', 'index.js'), '');
  }
  write(join(project, 'node_modules', 'b', 'package.json'), JSON.stringify({ name: 'b', version: '1.0.0' }));
  write(join(project, 'node_modules', 'unrelated', 'package.json'), JSON.stringify({ name: 'unrelated' }));
  write(join(project, 'package.json'), JSON.stringify({ name: 'ops', dependencies: { halyard: '^9' } }));
  return project;
}

describe('halyardRelease', () => {
  test('this checkout: a tarball that runs offline with node alone (no npm install), the same bytes from a fresh cache', () => {
    const first = halyardRelease({ cacheDir: temp('hy-rel-cache-') });
    const second = halyardRelease({ cacheDir: temp('hy-rel-cache-') });
    expect(first.entry).toBe('bin/halyard.js');
    expect(second.sha256).toBe(first.sha256);
    const names = listTar(first.file);
    expect(names).toContain('dist/cli/main.js');
    expect(names).toContain('node_modules/ssh2/package.json');
    expect(names).toContain('node_modules/@aws-sdk/client-s3/package.json');
    // Developer-only parts stay home: tests, type declarations, dev dependencies.
    expect(names.filter((name) => name.startsWith('test/') || name.endsWith('.d.ts') || name.startsWith('node_modules/vitest/') || name.startsWith('node_modules/typescript/'))).toEqual([]);
    const tree = temp('hy-rel-tree-');
    execFileSync('tar', ['-xzf', first.file, '-C', tree]);
    const version = JSON.parse(execFileSync('node', ['-p', 'JSON.stringify(require("./package.json").version)'], { cwd: HALYARD_ROOT, encoding: 'utf8' })) as string;
    expect(execFileSync(process.execPath, [join(tree, first.entry), '--version'], { cwd: tree, encoding: 'utf8', env: { PATH: '/usr/bin:/bin', HOME: tree } }).trim()).toBe(version);
  });

  test('a project that installed halyard as a dependency: hoisted packages, nested versions, nothing unrelated', () => {
    const project = hoistedProject();
    const cache = temp('hy-rel-cache-');
    const release = halyardRelease({ root: join(project, 'node_modules', 'halyard'), cacheDir: cache });
    expect(release.entry).toBe('node_modules/halyard/bin/halyard.js');
    expect(release.version).toBe('9.8.7');
    expect(listTar(release.file)).toEqual([
      'node_modules/a/index.js',
      'node_modules/a/node_modules/b/index.js',
      'node_modules/a/node_modules/b/package.json',
      'node_modules/a/package.json',
      'node_modules/halyard/bin/halyard.js',
      'node_modules/halyard/dist/cli/main.js',
      'node_modules/halyard/package.json',
    ]);
    // The cache is keyed by the files: an unchanged tree reuses the tarball, a changed file makes a new one.
    const root = join(project, 'node_modules', 'halyard');
    const written = statSync(release.file).mtimeMs;
    expect(buildRelease(root, cache)).toEqual(release);
    expect(statSync(release.file).mtimeMs).toBe(written);
    write(join(project, 'node_modules', 'a', 'index.js'), 'module.exports = 2;\n');
    const changed = buildRelease(root, cache);
    expect(changed.sha256).not.toBe(release.sha256);
    expect(readdirSync(cache).sort()).toEqual([release.file, changed.file].map((file) => file.split('/').pop()).sort());
  });

  test('clear errors: a missing dependency, an unbuilt package, not halyard', () => {
    const project = hoistedProject({ withB: false });
    // a needs b: found hoisted at node_modules/b (Node's lookup), so this still works.
    expect(halyardRelease({ root: join(project, 'node_modules', 'halyard'), cacheDir: temp('hy-rel-cache-') }).files).toBe(6);
    const broken = hoistedProject();
    write(join(broken, 'node_modules', 'a', 'package.json'), JSON.stringify({ name: 'a', dependencies: { missing: '^1' } }));
    expect(() => halyardRelease({ root: join(broken, 'node_modules', 'halyard'), cacheDir: temp('hy-rel-cache-') })).toThrow('release: a needs missing, which is not installed (run npm ci)');
    const unbuilt = temp('hy-unbuilt-');
    write(join(unbuilt, 'package.json'), JSON.stringify({ name: 'halyard', version: '1.0.0' }));
    expect(() => halyardRelease({ root: unbuilt, cacheDir: temp('hy-rel-cache-') })).toThrow(`release: ${join(unbuilt, 'dist')} is not built; run \`npm run build\` first`);
    const other = temp('hy-other-');
    write(join(other, 'package.json'), JSON.stringify({ name: 'other' }));
    expect(() => halyardRelease({ root: other, cacheDir: temp('hy-rel-cache-') })).toThrow(`release: ${other} is not the halyard package`);
  });
});

describe('projectArchive', () => {
  test('the chosen paths only, without node_modules, .git, dist or tarballs; the same files give the same bytes', () => {
    const project = temp('hy-project-');
    write(join(project, 'playbooks', 'site.ts'), 'export default 1;\n');
    write(join(project, 'roles', 'motd', 'index.ts'), 'export const x = 1;\n');
    write(join(project, 'roles', 'motd', 'node_modules', 'dep', 'index.js'), '');
    write(join(project, 'roles', '.git', 'HEAD'), '');
    write(join(project, 'inventory', 'hosts.yml'), 'all: {}\n');
    write(join(project, 'inventory', 'old.tgz'), '');
    write(join(project, 'secrets.env'), 'TOKEN=x\n');
    const first = projectArchive(project, ['playbooks', 'roles', 'inventory'], { cacheDir: temp('hy-proj-cache-') });
    expect(listTar(first.file)).toEqual(['inventory/hosts.yml', 'playbooks/site.ts', 'roles/motd/index.ts']);
    expect(first.files).toBe(3);
    expect(projectArchive(project, ['playbooks', 'roles', 'inventory'], { cacheDir: temp('hy-proj-cache-') }).sha256).toBe(first.sha256);
    expect(() => projectArchive(project, ['../etc'])).toThrow('project archive: ../etc must be a path inside');
    expect(() => projectArchive(project, ['missing'])).toThrow(`project archive: ${join(project, 'missing')} does not exist`);
  });
});


import { describe, expect, it } from 'vitest';
import { InitError, SCAFFOLD_SCRIPTS, completeManifest, scaffoldFiles } from '../../src/init/scaffold.js';

const versions = { halyard: '^0.1.0', typescript: '^5.9.0', nodeTypes: '^20.19.0' };

describe('completeManifest', () => {
  it("npm init -y's package.json: every key kept in place, type module, halyard, typescript, node types and scripts added", () => {
    const npmInit = `{
  "name": "ops",
  "version": "1.0.0",
  "description": "",
  "main": "index.js",
  "scripts": {
    "test": "echo \\"Error: no test specified\\" && exit 1"
  },
  "keywords": [],
  "author": "",
  "license": "ISC",
  "type": "commonjs"
}
`;
    const { text, changes } = completeManifest(npmInit, { name: 'x', versions, ownJavaScript: [] });
    const manifest = JSON.parse(text);
    expect(Object.keys(manifest)).toEqual(['name', 'version', 'description', 'main', 'scripts', 'keywords', 'author', 'license', 'type', 'dependencies', 'devDependencies']);
    expect(manifest).toMatchObject({ name: 'ops', license: 'ISC', type: 'module', dependencies: { halyard: '^0.1.0' }, devDependencies: { typescript: '^5.9.0', '@types/node': '^20.19.0' } });
    expect(manifest.scripts).toEqual({ test: 'echo "Error: no test specified" && exit 1', ...SCAFFOLD_SCRIPTS });
    expect(changes).toEqual([
      '"type": "commonjs" -> "module" (the project has no JavaScript of its own)',
      'dependency halyard ^0.1.0',
      'devDependency typescript ^5.9.0',
      'devDependency @types/node ^20.19.0',
      'script typecheck',
      'script check',
      'script apply',
    ]);
    expect(text.startsWith('{\n  "name"')).toBe(true);
  });

  it('what the project already says wins: its halyard spec (a tarball), its typescript, its scripts, its indentation', () => {
    const existing = JSON.stringify({ name: 'ops', type: 'module', dependencies: { halyard: 'file:halyard-0.1.0.tgz' }, devDependencies: { typescript: '5.4.5' }, scripts: { check: 'make check' } }, null, 4);
    const { text, changes } = completeManifest(existing, { name: 'x', versions, ownJavaScript: ['lib/a.js'] });
    const manifest = JSON.parse(text);
    expect(manifest.dependencies).toEqual({ halyard: 'file:halyard-0.1.0.tgz' });
    expect(manifest.devDependencies).toEqual({ typescript: '5.4.5', '@types/node': '^20.19.0' });
    expect(manifest.scripts).toEqual({ check: 'make check', typecheck: 'tsc --noEmit', apply: 'halyard apply playbooks/site.ts' });
    expect(changes).toEqual(['devDependency @types/node ^20.19.0', 'script typecheck', 'script apply']);
    expect(text).toContain('\n    "name": "ops"');
  });

  it('a complete package.json is left byte for byte; a missing one is made', () => {
    const done = completeManifest(undefined, { name: 'infra', versions, ownJavaScript: [] });
    expect(JSON.parse(done.text)).toMatchObject({ name: 'infra', private: true, type: 'module' });
    const again = completeManifest(done.text, { name: 'infra', versions, ownJavaScript: [] });
    expect(again).toEqual({ text: done.text, changes: [] });
  });

  it.each([
    ['{ "name": ', /package.json is not valid JSON .*nothing was written/],
    ['[1, 2]', /must hold a JSON object/],
    ['{"type": "commonjs"}', /"type": "commonjs" and the project has JavaScript of its own \(bin\/run.js\).*rename CommonJS files to .cjs/i],
    ['{"type": "esm"}', /"type": "esm"; it must be "module"/],
    ['{"scripts": ["a"]}', /"scripts" must be an object/],
  ])('refuses %s with a clear message', (text, message) => {
    expect(() => completeManifest(text, { name: 'x', versions, ownJavaScript: ['bin/run.js'] })).toThrow(InitError);
    expect(() => completeManifest(text, { name: 'x', versions, ownJavaScript: ['bin/run.js'] })).toThrow(message);
  });
});

describe('scaffoldFiles', () => {
  it('names the files the issue lists, the playbook using the example role and halyard.yml naming the inventory', () => {
    const files = scaffoldFiles();
    expect(Object.keys(files).sort()).toEqual(['.gitignore', 'README.md', 'halyard.yml', 'inventory/group_vars/all.yml', 'inventory/hosts.yml', 'playbooks/site.ts', 'roles/baseline/index.ts', 'tsconfig.json']);
    expect(files['playbooks/site.ts']).toContain("import { baseline } from '../roles/baseline/index.js';");
    expect(files['halyard.yml']).toContain('inventory: inventory/hosts.yml\n');
    expect(files['roles/baseline/index.ts']).toContain("'restart journald'");
    expect(files['roles/baseline/index.ts']).toContain('host.facts.initSystem');
  });
});

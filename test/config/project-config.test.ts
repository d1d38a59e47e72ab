// halyard.yml: where it is found, how its paths resolve, and the one-line errors it gives.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findProjectConfig, formatProjectConfig, loadProjectConfig, parseProjectConfig, projectConfig, ProjectConfigError } from '../../src/config/project-config.js';

// A repository folder with a halyard.yml holding `text`, and a subfolder two levels down.
function repository(text: string): { root: string; file: string; deep: string } {
  const root = mkdtempSync(join(tmpdir(), 'hy-project-'));
  const deep = join(root, 'playbooks', 'web');
  mkdirSync(deep, { recursive: true });
  const file = join(root, 'halyard.yml');
  writeFileSync(file, text);
  return { root, file, deep };
}

// The message of what `run` throws (it must throw a ProjectConfigError).
function errorOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ProjectConfigError);
    expect((error as ProjectConfigError).exitCode).toBe(65);
    return (error as Error).message;
  }
  throw new Error('expected an error');
}

describe('findProjectConfig', () => {
  it('finds halyard.yml from a subdirectory upwards; the nearest one wins', () => {
    const { root, file, deep } = repository('forks: 5\n');
    expect(findProjectConfig(deep, {})).toBe(file);
    expect(findProjectConfig(root, {})).toBe(file);
    const nearer = join(root, 'playbooks', 'halyard.yml');
    writeFileSync(nearer, 'forks: 6\n');
    expect(findProjectConfig(deep, {})).toBe(nearer);
    expect(projectConfig({ cwd: deep, env: {} }).forks).toBe(6);
  });

  it('is undefined where no folder up to the root holds one (a folder named halyard.yml does not count)', () => {
    const root = mkdtempSync(join(tmpdir(), 'hy-project-none-'));
    mkdirSync(join(root, 'halyard.yml'));
    expect(findProjectConfig(root, {})).toBeUndefined();
    expect(projectConfig({ cwd: root, env: {} })).toEqual({});
  });

  it('HALYARD_CONFIG names the file (or a folder holding one), must exist, and "none" reads none', () => {
    const { root, file, deep } = repository('forks: 5\n');
    const elsewhere = mkdtempSync(join(tmpdir(), 'hy-project-env-'));
    const other = join(elsewhere, 'team.yml');
    writeFileSync(other, 'forks: 9\n');
    expect(findProjectConfig(deep, { HALYARD_CONFIG: other })).toBe(other);
    expect(findProjectConfig(elsewhere, { HALYARD_CONFIG: 'team.yml' })).toBe(other);
    expect(findProjectConfig(elsewhere, { HALYARD_CONFIG: root })).toBe(file);
    expect(projectConfig({ cwd: deep, env: { HALYARD_CONFIG: other } }).forks).toBe(9);
    expect(findProjectConfig(deep, { HALYARD_CONFIG: 'none' })).toBeUndefined();
    expect(projectConfig({ cwd: deep, env: { HALYARD_CONFIG: 'none' } })).toEqual({});
    expect(findProjectConfig(deep, { HALYARD_CONFIG: '' })).toBe(file);
    expect(errorOf(() => findProjectConfig(elsewhere, { HALYARD_CONFIG: 'missing.yml' }))).toBe(
      `${join(elsewhere, 'missing.yml')}: no such file (named by HALYARD_CONFIG=missing.yml; HALYARD_CONFIG=none reads none)`,
    );
  });
});

describe('loadProjectConfig', () => {
  it('reads every key; relative paths are relative to the file, ~ is the home folder', () => {
    const { root, file } = repository(
      [
        'inventory: inventory/prod.yml',
        'forks: 30',
        'known_hosts: .ssh/known_hosts',
        'strict_host_keys: true',
        'ssh_config: none',
        'connect_timeout: 5',
        'timeout: 600',
        'user: deploy',
        'private_key: ~/.ssh/deploy',
        'become: true',
        'vault_password_file: [/etc/halyard/vault-pass, secrets/pass.sh]',
        '',
      ].join('\n'),
    );
    expect(loadProjectConfig(file)).toEqual({
      file,
      inventory: [join(root, 'inventory/prod.yml')],
      forks: 30,
      knownHosts: join(root, '.ssh/known_hosts'),
      strictHostKeys: true,
      sshConfig: null,
      connectTimeout: 5,
      timeout: 600,
      user: 'deploy',
      privateKey: join(homedir(), '.ssh/deploy'),
      become: true,
      vaultPasswordFile: ['/etc/halyard/vault-pass', join(root, 'secrets/pass.sh')],
    });
  });

  it('takes a list of inventories in order, an ssh_config file, and an empty file as no settings', () => {
    const { root, file } = repository('inventory:\n  - hosts.yml\n  - ../shared/hosts.ini\nssh_config: ssh/config\n');
    expect(loadProjectConfig(file)).toEqual({ file, inventory: [join(root, 'hosts.yml'), join(root, '../shared/hosts.ini')], sshConfig: join(root, 'ssh/config') });
    expect(parseProjectConfig('', '/r/halyard.yml')).toEqual({ file: '/r/halyard.yml' });
    expect(parseProjectConfig('# nothing set yet\n', '/r/halyard.yml')).toEqual({ file: '/r/halyard.yml' });
  });

  it('an unknown key is one line with its file:line and the key it is closest to', () => {
    const file = '/repo/halyard.yml';
    expect(errorOf(() => parseProjectConfig('forks: 3\nknown_host: kh\n', file))).toBe(`${file}:2: unknown key "known_host"; did you mean "known_hosts"?`);
    expect(errorOf(() => parseProjectConfig('inventroy: hosts.yml\n', file))).toBe(`${file}:1: unknown key "inventroy"; did you mean "inventory"?`);
    // ansible.cfg's names point at halyard's.
    expect(errorOf(() => parseProjectConfig('remote_user: deploy\n', file))).toBe(`${file}:1: unknown key "remote_user"; did you mean "user"?`);
    expect(errorOf(() => parseProjectConfig('private_key_file: id\n', file))).toBe(`${file}:1: unknown key "private_key_file"; did you mean "private_key"?`);
    expect(errorOf(() => parseProjectConfig('colour: blue\n', file))).toBe(
      `${file}:1: unknown key "colour"; known keys: inventory, forks, known_hosts, strict_host_keys, ssh_config, connect_timeout, timeout, user, private_key, become, vault_password_file`,
    );
  });

  it('a value of the wrong type is one line with its file:line, the key, what it must be and what it is', () => {
    const file = '/repo/halyard.yml';
    const cases: Array<[string, string]> = [
      ['forks: many\n', '1: forks: must be a positive whole number, got "many"'],
      ['user: deploy\nforks: 0\n', '2: forks: must be a positive whole number, got 0'],
      ['forks: 2.5\n', '1: forks: must be a positive whole number, got 2.5'],
      ['strict_host_keys: yes\n', '1: strict_host_keys: must be true or false, got "yes"'],
      ['inventory: { web: 1 }\n', '1: inventory: must be a path or a list of paths, got a mapping'],
      ['inventory: [a.yml, 3]\n', '1: inventory: must be a path or a list of paths, got a list'],
      ['timeout: -1\n', '1: timeout: must be a positive number of seconds, got -1'],
      ['connect_timeout: "20"\n', '1: connect_timeout: must be a number of seconds, got "20"'],
      ['known_hosts:\n', '1: known_hosts: must be a path, got nothing'],
      ['become: 1\n', '1: become: must be true or false, got 1'],
    ];
    for (const [text, message] of cases) expect(errorOf(() => parseProjectConfig(text, file))).toBe(`${file}:${message}`);
  });

  it('YAML errors, a file that is not a mapping, and an unreadable file name the file', () => {
    const file = '/repo/halyard.yml';
    expect(errorOf(() => parseProjectConfig('forks: 3\nforks: 4\n', file))).toMatch(/^\/repo\/halyard\.yml:2: YAML: Map keys must be unique/);
    expect(errorOf(() => parseProjectConfig('- inventory\n', file))).toBe(`${file}:1: must be a mapping of settings (like "inventory: hosts.yml"), not a list`);
    expect(errorOf(() => loadProjectConfig('/nonexistent/halyard.yml'))).toBe('/nonexistent/halyard.yml: cannot read it (no such file)');
  });
});

describe('formatProjectConfig', () => {
  it('writes a file that reads back as written (for halyard init), and refuses what would not read', () => {
    const text = formatProjectConfig({ inventory: 'inventory/hosts.yml', forks: 10, known_hosts: '.ssh/known_hosts', vault_password_file: ['~/.vault-pass'] });
    expect(text).toBe('inventory: inventory/hosts.yml\nforks: 10\nknown_hosts: .ssh/known_hosts\nvault_password_file:\n  - ~/.vault-pass\n');
    expect(parseProjectConfig(text, '/r/halyard.yml')).toEqual({
      file: '/r/halyard.yml',
      inventory: ['/r/inventory/hosts.yml'],
      forks: 10,
      knownHosts: '/r/.ssh/known_hosts',
      vaultPasswordFile: [join(homedir(), '.vault-pass')],
    });
    expect(errorOf(() => formatProjectConfig({ forks: -1 }))).toBe('halyard.yml: forks: must be a positive whole number');
    expect(errorOf(() => formatProjectConfig({ fork: 1 } as never))).toBe('halyard.yml: fork: unknown key; did you mean "forks"?');
  });
});

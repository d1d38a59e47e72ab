import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { encryptVault } from '../../src/vault/vault.js';
import { InventoryError } from '../../src/core/errors.js';
import { ExitCode } from '../../src/core/exit-codes.js';
import { loadInventory, parseExtraVars } from '../../src/inventory/index.js';
import { tempFiles } from './temp-files.js';

const files = tempFiles();

interface BadInventory {
  label: string;
  code: string;
  /** Line the message must name; null when the error has no line (file-level). */
  line: number | null;
  content: string;
  /** File name (extension chooses YAML or INI). */
  name?: string;
  /** Text the message must contain besides file:line. */
  mentions?: string;
}

const BAD_INVENTORIES: BadInventory[] = [
  { label: 'YAML syntax error', code: 'E_INVENTORY_SYNTAX', line: 3, content: 'all:\n  hosts:\n    a: b: c\n', mentions: 'YAML syntax error' },
  { label: 'tab indentation', code: 'E_INVENTORY_SYNTAX', line: 2, content: 'all:\n\thosts:\n' },
  {
    label: 'unknown key in a group',
    code: 'E_INVENTORY_UNKNOWN_KEY',
    line: 4,
    content: 'all:\n  children:\n    web:\n      hostz:\n        w1:\n',
    mentions: 'did you mean "hosts"?',
  },
  { label: 'port is not a number', code: 'E_INVENTORY_TYPE', line: 4, content: 'all:\n  hosts:\n    a:\n      ansible_port: abc\n', mentions: 'ansible_port' },
  { label: 'hosts written as a list', code: 'E_INVENTORY_TYPE', line: 2, content: 'all:\n  hosts: [a, b]\n', mentions: 'hosts of group "all"' },
  { label: 'children written as a list', code: 'E_INVENTORY_TYPE', line: 2, content: 'all:\n  children: [a, b]\n' },
  { label: 'host vars given as a string', code: 'E_INVENTORY_TYPE', line: 3, content: 'all:\n  hosts:\n    web1: 10.0.0.1\n' },
  { label: 'top level is a list', code: 'E_INVENTORY_TYPE', line: 1, content: '- a\n- b\n' },
  { label: 'become is not a boolean', code: 'E_INVENTORY_TYPE', line: 3, content: 'all:\n  vars:\n    ansible_become: maybe\n  hosts: {a: }\n' },
  { label: 'halyard_secret_vars is not a list', code: 'E_INVENTORY_TYPE', line: 1, content: 'halyard_secret_vars: {a: 1}\nall:\n  hosts: {a: }\n' },
  { label: 'empty host name', code: 'E_INVENTORY_ADDRESS', line: 3, content: 'all:\n  hosts:\n    "":\n' },
  { label: 'host name with whitespace', code: 'E_INVENTORY_ADDRESS', line: 3, content: 'all:\n  hosts:\n    "web 1":\n' },
  { label: 'empty ansible_host', code: 'E_INVENTORY_ADDRESS', line: 4, content: 'all:\n  hosts:\n    a:\n      ansible_host: ""\n' },
  { label: 'address with whitespace', code: 'E_INVENTORY_ADDRESS', line: 4, content: 'all:\n  hosts:\n    a:\n      halyard_host: "10.0.0.1 10.0.0.2"\n' },
  { label: 'host defined twice in one group', code: 'E_INVENTORY_DUPLICATE_HOST', line: 4, content: 'all:\n  hosts:\n    a:\n    a:\n', mentions: 'first at line 3' },
  { label: 'nested key written twice', code: 'E_INVENTORY_DUPLICATE_KEY', line: 6, content: 'all:\n  hosts:\n    a:\n      app:\n        port: 1\n        port: 2\n' },
  { label: 'misspelt children', code: 'E_INVENTORY_UNKNOWN_KEY', line: 2, content: 'all:\n  childs:\n    web:\n', mentions: 'did you mean "children"?' },
  { label: 'var written twice', code: 'E_INVENTORY_DUPLICATE_KEY', line: 4, content: 'all:\n  vars:\n    x: 1\n    x: 2\n  hosts: {a: }\n' },
  {
    label: 'cyclic children',
    code: 'E_INVENTORY_CYCLE',
    line: 9,
    content: 'all:\n  children:\n    a:\n      hosts: {h: }\n      children:\n        b:\n    b:\n      children:\n        a:\n',
    mentions: 'a -> b -> a',
  },
  { label: 'group that is its own child', code: 'E_INVENTORY_CYCLE', line: 4, content: 'loop:\n  hosts: {h: }\n  children:\n    loop:\n', mentions: 'loop -> loop' },
  { label: 'all as a child', code: 'E_INVENTORY_CYCLE', line: 4, content: 'web:\n  hosts: {h: }\n  children:\n    all:\n', mentions: 'all -> web -> all' },
  { label: 'empty file', code: 'E_INVENTORY_EMPTY', line: null, content: '' },
  { label: 'groups but no hosts', code: 'E_INVENTORY_EMPTY', line: null, content: 'all:\n  children:\n    web:\n      vars: {x: 1}\n' },
  { label: 'port out of range', code: 'E_INVENTORY_PORT', line: 4, content: 'all:\n  hosts:\n    a:\n      ansible_port: 70000\n', mentions: '1-65535' },
  { label: 'port suffix out of range', code: 'E_INVENTORY_PORT', line: 3, content: 'all:\n  hosts:\n    a:99999:\n' },
  { label: 'host range that runs backwards', code: 'E_INVENTORY_RANGE', line: 3, content: 'all:\n  hosts:\n    web[3:1]:\n' },
  { label: 'Ansible Vault value without a password', code: 'E_VAULT', line: 3, content: 'all:\n  vars:\n    db: !vault |\n      $ANSIBLE_VAULT;1.1;AES256\n      3030\n  hosts: {a: }\n', mentions: 'db: damaged ansible-vault data' },
  { label: '!secret on a mapping', code: 'E_INVENTORY_TAG', line: 3, content: 'all:\n  vars:\n    db: !secret {a: 1}\n  hosts: {a: }\n' },
  { label: 'group name with whitespace', code: 'E_INVENTORY_GROUP_NAME', line: 1, content: '"web servers":\n  hosts: {a: }\n' },
  { label: 'ec2 inventory with a bad region', code: 'E_INVENTORY_EC2_CONFIG', line: 2, content: 'plugin: amazon.aws.aws_ec2\nregions: [ireland]\n', mentions: 'not an AWS region' },
  { label: 'kind: ec2 without regions', code: 'E_INVENTORY_EC2_CONFIG', line: 2, content: '# fleet\nkind: ec2\n', mentions: 'regions' },
  { label: 'unknown plugin', code: 'E_INVENTORY_KIND', line: 1, content: 'plugin: gcp_compute\n' },
  { label: 'INI unknown section kind', code: 'E_INVENTORY_UNKNOWN_KEY', line: 3, content: '[web]\nw1\n[web:varz]\nx=1\n', name: 'hosts.ini', mentions: 'did you mean "vars"?' },
  { label: 'INI host listed twice', code: 'E_INVENTORY_DUPLICATE_HOST', line: 3, content: '[web]\nw1\nw1 x=1\n', name: 'hosts.ini' },
  { label: 'INI vars line without =', code: 'E_INVENTORY_SYNTAX', line: 4, content: '[web]\nw1\n[web:vars]\njust-a-word\n', name: 'hosts.ini' },
  { label: 'INI bad port', code: 'E_INVENTORY_TYPE', line: 2, content: '[web]\nw1 ansible_port=ssh\n', name: 'hosts.ini' },
  { label: 'INI cycle', code: 'E_INVENTORY_CYCLE', line: 6, content: '[a]\nh\n[a:children]\nb\n[b:children]\na\n', name: 'hosts.ini', mentions: 'a -> b -> a' },
  // Ansible accepts these but reads them in a way halyard refuses to copy silently:
  {
    label: 'INI vars on a host named like its group (Ansible sets them on the group, for every host in it)',
    code: 'E_INVENTORY_HOST_IS_GROUP',
    line: 2,
    content: '[web]\nweb ansible_host=10.0.0.1\nw2\n',
    name: 'hosts.ini',
    mentions: 'host "web" is given vars, but a group is also named "web"',
  },
  {
    label: 'YAML vars on a host named like a group read before it',
    code: 'E_INVENTORY_HOST_IS_GROUP',
    line: 7,
    content: 'all:\n  children:\n    db:\n      hosts: {d1: }\n    web:\n      hosts:\n        db: {x: 1}\n',
    mentions: 'move the vars to host_vars/db.yml',
  },
  { label: 'hosts given as one string (Ansible reads it as one host)', code: 'E_INVENTORY_TYPE', line: 2, content: 'all:\n  hosts: w1\n', mentions: 'hosts of group "all" must be a mapping' },
  { label: '!unsafe (Ansible: text never templated)', code: 'E_INVENTORY_TAG', line: 3, content: 'all:\n  vars:\n    raw: !unsafe "{{ x }}"\n  hosts: {a: }\n', mentions: '"!unsafe"' },
];

async function loadError(path: string): Promise<InventoryError> {
  try {
    await loadInventory(path, {});
  } catch (error) {
    if (error instanceof InventoryError) return error;
    throw error;
  }
  throw new Error(`${path} loaded without an error`);
}

function expectOneLine(error: InventoryError): void {
  expect(error.message).not.toContain('\n');
  expect(error.message.length).toBeGreaterThan(0);
  expect(error.exitCode).toBe(ExitCode.InputError);
  expect(error.exitCode).toBe(65);
}

describe('bad inventories', () => {
  it('has a table of at least 10 cases', () => {
    expect(BAD_INVENTORIES.length).toBeGreaterThanOrEqual(10);
  });

  it.each(BAD_INVENTORIES)('$label -> $code', async ({ label, code, line, content, name, mentions }) => {
    const path = files.write(name ?? `${label}.yml`, content);
    const error = await loadError(path);
    expect(error.code).toBe(code);
    expectOneLine(error);
    expect(error.file).toBe(path);
    if (line === null) {
      expect(error.line).toBeUndefined();
      expect(error.message.startsWith(`${path}: `)).toBe(true);
    } else {
      expect(error.line).toBe(line);
      expect(error.message.startsWith(`${path}:${line}: `)).toBe(true);
    }
    if (mentions) expect(error.message).toContain(mentions);
  });

  it('a !vault value with no vault password given is one error at its file:line', async () => {
    const locked = encryptVault(Buffer.from('S3cret'), Buffer.from('team-password')).trimEnd().replace(/^/gm, '      ');
    const path = files.write('vaulted.yml', `all:\n  vars:\n    region: eu\n    db_password: !vault |\n${locked}\n  hosts: {a: }\n`);
    const error = await loadError(path);
    expect(error.code).toBe('E_VAULT');
    expectOneLine(error);
    expect(error.message).toBe(`${path}:4: db_password: holds ansible-vault data; pass --vault-password-file, --vault-id or --ask-vault-pass (or set vault_password_file in ansible.cfg)`);
  });

  it('reports a missing file as E_INVENTORY_READ', async () => {
    const path = join(files.dir, 'does-not-exist.yml');
    const error = await loadError(path);
    expect(error.code).toBe('E_INVENTORY_READ');
    expectOneLine(error);
    expect(error.message).toBe(`${path}: cannot read inventory (no such file)`);
  });

  it('a directory without any file Ansible would read as an inventory is E_INVENTORY_EMPTY', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hy-inv-dir-'));
    writeFileSync(join(dir, 'hosts.ini'), '[web]\nw1\n');
    writeFileSync(join(dir, 'README.md'), 'notes\n');
    const error = await loadError(dir);
    expect(error.code).toBe('E_INVENTORY_EMPTY');
    expectOneLine(error);
  });

  it('never echoes a bad become password in the message', async () => {
    const path = files.write('bad-pw.yml', 'all:\n  hosts:\n    a:\n      ansible_become_password: [do-not-print-me]\n');
    const error = await loadError(path);
    expect(error.code).toBe('E_INVENTORY_TYPE');
    expect(error.message).not.toContain('do-not-print-me');
  });

  it('names extra vars in errors about -e values', async () => {
    const path = files.write('fine.yml', 'all:\n  hosts: {a: }\n');
    await expect(loadInventory(path, { extraVars: { ansible_port: 'abc' } })).rejects.toMatchObject({
      code: 'E_INVENTORY_TYPE',
      message: 'extra vars (-e): ansible_port must be a port number, got "abc"',
      exitCode: 65,
    });
  });
});

describe('bytes that are not UTF-8', () => {
  it('in an inventory: refused at their line, never read as another host name', async () => {
    const path = join(files.dir, 'latin1.yml');
    writeFileSync(path, Buffer.concat([Buffer.from('all:\n  hosts:\n    h'), Buffer.from([0xff, 0xfe]), Buffer.from('1: {}\n')]));
    const error = await loadError(path);
    expect(error).toMatchObject({ code: 'E_INVENTORY_ENCODING', file: path, line: 3, exitCode: 65 });
    expect(error.message).toBe(`${path}:3: not valid UTF-8 at line 3, column 6 (byte 19); save the file as UTF-8`);
  });

  it('in an -e @vars file: refused the same way', () => {
    const path = join(files.dir, 'vars-latin1.yml');
    writeFileSync(path, Buffer.concat([Buffer.from('name: caf'), Buffer.from([0xe9]), Buffer.from('\n')]));
    expect(() => parseExtraVars([`@${path}`])).toThrow(`${path}:1: not valid UTF-8 at line 1, column 10 (byte 9); save the file as UTF-8`);
  });
});

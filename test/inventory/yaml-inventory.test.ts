import { describe, expect, it } from 'vitest';
import { loadInventory } from '../../src/inventory/index.js';
import type { Host, Inventory } from '../../src/inventory/types.js';
import { tempFiles } from './temp-files.js';

const files = tempFiles();

function hostNamed(inventory: Inventory, name: string): Host {
  const host = inventory.hosts.find((candidate) => candidate.name === name);
  if (!host) throw new Error(`no host ${name}`);
  return host;
}

describe('Ansible YAML inventory shape', () => {
  it('reads all/hosts/vars/children recursively', async () => {
    const path = files.write(
      'shape.yml',
      `all:
  hosts:
    bastion:
      ansible_host: 192.0.2.1
  vars:
    ntp: pool.ntp.org
  children:
    prod:
      children:
        web:
          hosts:
            web1:
            web2:
              http_port: 8080
        db:
          hosts:
            db1: {ansible_host: 10.0.0.5, ansible_port: 2222}
`,
    );
    const inventory = await loadInventory(path, {});
    expect(inventory.source).toBe(path);
    expect(inventory.hosts.map((host) => host.name)).toEqual(['bastion', 'web1', 'web2', 'db1']);
    expect(hostNamed(inventory, 'web1')).toMatchObject({
      address: 'web1',
      port: 22,
      user: undefined,
      become: false,
      becomePassword: undefined,
      groups: ['all', 'prod', 'web'],
      vars: { ntp: 'pool.ntp.org' },
    });
    expect(hostNamed(inventory, 'web2').vars).toEqual({ ntp: 'pool.ntp.org', http_port: 8080 });
    expect(hostNamed(inventory, 'db1')).toMatchObject({ address: '10.0.0.5', port: 2222 });
    expect(hostNamed(inventory, 'bastion')).toMatchObject({ address: '192.0.2.1', groups: ['all', 'ungrouped'] });
    expect(inventory.groups.get('prod')).toMatchObject({ hosts: [], children: ['web', 'db'] });
    expect(inventory.groups.get('web')?.hosts).toEqual(['web1', 'web2']);
    expect(inventory.groups.get('all')?.children).toEqual(['prod', 'ungrouped']);
    expect(inventory.groups.get('ungrouped')?.hosts).toEqual(['bastion']);
  });

  it('makes top-level groups other than all children of all', async () => {
    const path = files.write(
      'top-level.yml',
      `web:
  hosts:
    web1:
db:
  hosts:
    db1:
  vars:
    role: database
`,
    );
    const inventory = await loadInventory(path, {});
    expect(inventory.groups.get('all')?.children).toEqual(['web', 'db']);
    expect(hostNamed(inventory, 'db1')).toMatchObject({ groups: ['all', 'db'], vars: { role: 'database' } });
  });

  it('accepts null host entries, null groups and null vars', async () => {
    const path = files.write('nulls.yml', 'all:\n  hosts:\n    a:\n  vars:\n  children:\n    empty:\n');
    const inventory = await loadInventory(path, {});
    expect(inventory.hosts.map((host) => host.name)).toEqual(['a']);
    expect(inventory.groups.get('empty')).toMatchObject({ hosts: [], children: [], vars: {} });
  });

  it('keeps a host listed in two groups as one host in both', async () => {
    const path = files.write(
      'two-groups.yml',
      `web:
  hosts:
    shared: {from_web: 1}
db:
  hosts:
    shared: {from_db: 2}
`,
    );
    const inventory = await loadInventory(path, {});
    expect(inventory.hosts).toHaveLength(1);
    expect(hostNamed(inventory, 'shared')).toMatchObject({
      groups: ['all', 'db', 'web'],
      vars: { from_web: 1, from_db: 2 },
    });
  });

  it('expands host ranges and a :port suffix', async () => {
    const path = files.write(
      'ranges.yml',
      `all:
  hosts:
    web[01:03].example.com:
      ansible_user: deploy
    db[a:b]:2222:
`,
    );
    const inventory = await loadInventory(path, {});
    expect(inventory.hosts.map((host) => host.name)).toEqual([
      'web01.example.com',
      'web02.example.com',
      'web03.example.com',
      'dba',
      'dbb',
    ]);
    expect(hostNamed(inventory, 'web02.example.com').user).toBe('deploy');
    expect(hostNamed(inventory, 'dbb').port).toBe(2222);
  });

  it('reads booleans the way PyYAML (and so Ansible) does', async () => {
    const path = files.write('bools.yml', 'all:\n  hosts:\n    a:\n      on_flag: yes\n      off_flag: off\n      y: n\n');
    const host = hostNamed(await loadInventory(path, {}), 'a');
    expect(host.vars).toEqual({ on_flag: true, off_flag: false, y: 'n' });
  });

  it('resolves anchors and merge keys in vars', async () => {
    const path = files.write(
      'anchors.yml',
      `all:
  vars: &common
    region: eu-west-1
  hosts:
    a:
      <<: *common
      size: large
`,
    );
    expect(hostNamed(await loadInventory(path, {}), 'a').vars).toEqual({ region: 'eu-west-1', size: 'large' });
  });

  it('merges a group written in two places', async () => {
    const path = files.write(
      'group-twice.yml',
      `prod:
  children:
    web:
      hosts: {web1: }
      vars: {a: 1, b: 1}
staging:
  children:
    web:
      hosts: {web2: }
      vars: {b: 2}
`,
    );
    const inventory = await loadInventory(path, {});
    expect(inventory.groups.get('web')).toMatchObject({ hosts: ['web1', 'web2'], vars: { a: 1, b: 2 } });
    expect(hostNamed(inventory, 'web2').groups).toEqual(['all', 'prod', 'staging', 'web']);
  });
});

describe('connection vars', () => {
  const aliasCases: Array<{ name: string; value: string; field: keyof Host; expected: unknown }> = [
    { name: 'ansible_host', value: '10.0.0.1', field: 'address', expected: '10.0.0.1' },
    { name: 'ansible_ssh_host', value: '10.0.0.2', field: 'address', expected: '10.0.0.2' },
    { name: 'halyard_host', value: '10.0.0.3', field: 'address', expected: '10.0.0.3' },
    { name: 'ansible_port', value: '2201', field: 'port', expected: 2201 },
    { name: 'ansible_ssh_port', value: '2202', field: 'port', expected: 2202 },
    { name: 'halyard_port', value: '2203', field: 'port', expected: 2203 },
    { name: 'ansible_user', value: 'alice', field: 'user', expected: 'alice' },
    { name: 'ansible_ssh_user', value: 'bob', field: 'user', expected: 'bob' },
    { name: 'halyard_user', value: 'carol', field: 'user', expected: 'carol' },
    { name: 'ansible_ssh_private_key_file', value: '~/.ssh/a', field: 'privateKeyFile', expected: '~/.ssh/a' },
    { name: 'ansible_private_key_file', value: '~/.ssh/b', field: 'privateKeyFile', expected: '~/.ssh/b' },
    { name: 'halyard_key_file', value: '~/.ssh/c', field: 'privateKeyFile', expected: '~/.ssh/c' },
    { name: 'ansible_become', value: 'yes', field: 'become', expected: true },
    { name: 'ansible_become', value: 'true', field: 'become', expected: true },
    { name: 'halyard_become', value: 'true', field: 'become', expected: true },
    { name: 'halyard_become', value: 'no', field: 'become', expected: false },
  ];

  it.each(aliasCases)('$name: $value sets $field', async ({ name, value, field, expected }) => {
    const path = files.write(`alias-${name}-${value}.yml`, `all:\n  hosts:\n    h:\n      ${name}: ${value}\n`);
    const host = hostNamed(await loadInventory(path, {}), 'h');
    expect(host[field]).toEqual(expected);
    expect(host.vars[name]).toBeDefined();
  });

  it.each(['ansible_become_password', 'ansible_become_pass', 'halyard_become_password'])(
    '%s becomes Host.becomePassword as a Secret',
    async (name) => {
      const path = files.write(`become-${name}.yml`, `all:\n  hosts:\n    h:\n      ${name}: s3cret-pw\n`);
      const host = hostNamed(await loadInventory(path, {}), 'h');
      expect(host.becomePassword?.reveal()).toBe('s3cret-pw');
      expect(host.becomePassword?.label).toBe(name);
      expect(String(host.vars[name])).toBe('********');
    },
  );

  it("prefers halyard's name over Ansible's when both are given, whatever the level", async () => {
    const path = files.write(
      'both-names.yml',
      `all:
  vars:
    halyard_user: from-halyard
    halyard_port: 2300
  hosts:
    h:
      ansible_user: from-ansible
      ansible_port: 2400
      ansible_host: ansible.example
      halyard_host: halyard.example
      ansible_ssh_host: old.example
      ansible_become: no
      halyard_become: yes
      ansible_become_password: ansible-pw
      halyard_become_password: halyard-pw
      ansible_ssh_private_key_file: /a
      halyard_key_file: /h
`,
    );
    const host = hostNamed(await loadInventory(path, {}), 'h');
    expect(host).toMatchObject({
      address: 'halyard.example',
      port: 2300,
      user: 'from-halyard',
      become: true,
      privateKeyFile: '/h',
    });
    expect(host.becomePassword?.reveal()).toBe('halyard-pw');
  });

  it('prefers ansible_host over the old ansible_ssh_host', async () => {
    const path = files.write('ssh-alias.yml', 'all:\n  hosts:\n    h: {ansible_ssh_host: old, ansible_host: new, ansible_ssh_port: 1, ansible_port: 2}\n');
    expect(hostNamed(await loadInventory(path, {}), 'h')).toMatchObject({ address: 'new', port: 2 });
  });

  it('takes connection vars from group vars too', async () => {
    const path = files.write('group-conn.yml', 'web:\n  vars: {ansible_user: deploy, ansible_become: true}\n  hosts: {w1: }\n');
    expect(hostNamed(await loadInventory(path, {}), 'w1')).toMatchObject({ user: 'deploy', become: true });
  });
});

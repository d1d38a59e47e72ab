import { describe, expect, it } from 'vitest';
import { loadInventory } from '../../src/inventory/index.js';
import type { Secret } from '../../src/core/secret.js';
import { tempFiles } from './temp-files.js';

const files = tempFiles();

const INI = `# classic Ansible hosts file
bastion ansible_host=192.0.2.1

[web]
web[1:2].example.com ansible_user=deploy
web3.example.com:2222 http_port=8080 motd="hello world" ; trailing text is not a comment here

[db]
db1 ansible_become=true db_password=pw-1

[web:vars]
http_port = 80
greeting = "hi there"
enabled=True

[prod:children]
web
db
`;

describe('Ansible INI inventories', () => {
  it('reads hosts, ranges, vars, children and ungrouped hosts', async () => {
    const path = files.write('hosts.ini', INI.replace(' ; trailing text is not a comment here', ''));
    const inventory = await loadInventory(path, {});
    expect(inventory.hosts.map((host) => host.name)).toEqual([
      'bastion',
      'web1.example.com',
      'web2.example.com',
      'web3.example.com',
      'db1',
    ]);
    const byName = new Map(inventory.hosts.map((host) => [host.name, host]));
    expect(byName.get('bastion')).toMatchObject({ address: '192.0.2.1', groups: ['all', 'ungrouped'] });
    expect(byName.get('web1.example.com')).toMatchObject({
      user: 'deploy',
      groups: ['all', 'prod', 'web'],
      vars: { http_port: 80, greeting: 'hi there', enabled: true },
    });
    expect(byName.get('web3.example.com')).toMatchObject({ port: 2222, vars: { http_port: 8080, motd: 'hello world' } });
    expect(byName.get('db1')).toMatchObject({ become: true, groups: ['all', 'prod', 'db'] });
    expect((byName.get('db1')?.vars.db_password as Secret).reveal()).toBe('pw-1');
    expect(inventory.groups.get('prod')?.children).toEqual(['web', 'db']);
  });

  it('detects INI by content when the file has no extension', async () => {
    const path = files.write('hosts', '[web]\nweb1\nweb2\n');
    const inventory = await loadInventory(path, {});
    expect(inventory.groups.get('web')?.hosts).toEqual(['web1', 'web2']);
  });

  it('treats a bare list of hosts without extension as INI', async () => {
    const path = files.write('plain-hosts', 'alpha\nbeta ansible_port=2200\n');
    const inventory = await loadInventory(path, {});
    expect(inventory.hosts.map((host) => [host.name, host.port])).toEqual([
      ['alpha', 22],
      ['beta', 2200],
    ]);
  });

  it('reads a YAML file without extension as YAML', async () => {
    const path = files.write('inventory', 'all:\n  hosts:\n    y1:\n');
    expect((await loadInventory(path, {})).hosts.map((host) => host.name)).toEqual(['y1']);
  });

  it('types values as Ansible does: host lines after shlex (quotes gone), [group:vars] whole (quotes kept)', async () => {
    const path = files.write('quoted.ini', 'h port_text="8080" number=8080 octal=0755\n');
    const host = (await loadInventory(path, {})).hosts[0];
    expect(host?.vars).toEqual({ port_text: 8080, number: 8080, octal: '0755' });
  });
});

import { describe, expect, it } from 'vitest';
import { formatInventory, inventoryFromText } from '../../src/inventory/index.js';
import { compareNatural } from '../../src/inventory/list.js';

const SECRET_VALUES = ['hunter2-become', 'db-pass-91', 'tagged-7731', 'nested-tok-5', 'extra-cli-tok', 'listed-xyz'];

const INVENTORY = `halyard_secret_vars: [license]
all:
  vars:
    ntp: pool.ntp.org
    app:
      api_token: nested-tok-5
  children:
    web:
      vars:
        http_port: 8080
      hosts:
        web10:
        web2:
          ansible_host: 10.0.0.2
          ansible_user: deploy
          ansible_become: yes
          ansible_become_password: hunter2-become
          db_password: db-pass-91
          note: !secret tagged-7731
          license: listed-xyz
          ansible_ssh_private_key_file: ~/.ssh/deploy
`;

const inventory = inventoryFromText('fleet.yml', INVENTORY, { extraVars: { cli_token: 'extra-cli-tok' } });

describe('formatInventory', () => {
  it.each([false, true])('never prints a secret value (json: %s)', (json) => {
    const output = formatInventory(inventory, { json });
    for (const value of SECRET_VALUES) expect(output).not.toContain(value);
    expect(output).toContain('********');
  });

  it('prints a readable, sorted plain listing', () => {
    expect(formatInventory(inventory, { json: false })).toBe(`inventory: fleet.yml
hosts (2):
  web2
    address: 10.0.0.2:22
    user: deploy
    key file: ~/.ssh/deploy
    become: yes (password ********)
    groups: all, web
    vars:
      ansible_become: true
      ansible_become_password: ********
      ansible_host: 10.0.0.2
      ansible_ssh_private_key_file: ~/.ssh/deploy
      ansible_user: deploy
      app: {"api_token":"********"}
      cli_token: ********
      db_password: ********
      http_port: 8080
      license: ********
      note: ********
      ntp: pool.ntp.org
  web10
    address: web10:22
    user: (ssh default)
    become: no
    groups: all, web
    vars:
      app: {"api_token":"********"}
      cli_token: ********
      http_port: 8080
      ntp: pool.ntp.org
groups (2):
  all
    hosts: -
    children: web
    vars:
      app: {"api_token":"********"}
      ntp: pool.ntp.org
  web
    hosts: web2, web10
    children: -
    vars:
      http_port: 8080
`);
  });

  it('prints a JSON document with masked secrets', () => {
    const document = JSON.parse(formatInventory(inventory, { json: true })) as {
      source: string;
      hosts: Array<Record<string, unknown>>;
      groups: Array<Record<string, unknown>>;
    };
    expect(document.source).toBe('fleet.yml');
    expect(document.hosts.map((host) => host.name)).toEqual(['web2', 'web10']);
    expect(document.hosts[0]).toMatchObject({
      name: 'web2',
      address: '10.0.0.2',
      port: 22,
      user: 'deploy',
      privateKeyFile: '~/.ssh/deploy',
      become: true,
      becomePassword: '********',
      groups: ['all', 'web'],
    });
    expect(document.hosts[1]).toMatchObject({ user: null, becomePassword: null, privateKeyFile: null });
    expect((document.hosts[0]?.vars as Record<string, unknown>).db_password).toBe('********');
    expect(Object.keys(document.hosts[0]?.vars as object)).toEqual([...Object.keys(document.hosts[0]?.vars as object)].sort(compareNatural));
    expect(document.groups).toEqual([
      { name: 'all', hosts: [], children: ['web'], vars: { app: { api_token: '********' }, ntp: 'pool.ntp.org' } },
      { name: 'web', hosts: ['web2', 'web10'], children: [], vars: { http_port: 8080 } },
    ]);
  });

  it('is stable: the same inventory prints the same text', () => {
    const again = inventoryFromText('fleet.yml', INVENTORY, { extraVars: { cli_token: 'extra-cli-tok' } });
    expect(formatInventory(again, { json: false })).toBe(formatInventory(inventory, { json: false }));
    expect(formatInventory(again, { json: true })).toBe(formatInventory(inventory, { json: true }));
  });

  it('quotes strings that would read as another type or span lines', () => {
    const odd = inventoryFromText('odd.yml', 'all:\n  hosts:\n    h:\n      port_text: "8080"\n      multi: "a\\nb"\n      flag: "yes"\n');
    const output = formatInventory(odd, { json: false });
    expect(output).toContain('port_text: "8080"');
    expect(output).toContain('multi: "a\\nb"');
    expect(output).toContain('flag: "yes"');
  });
});

describe('compareNatural', () => {
  it('orders numbers inside names by value', () => {
    expect(['web10', 'web2', 'db1', 'web1'].sort(compareNatural)).toEqual(['db1', 'web1', 'web2', 'web10']);
  });
});

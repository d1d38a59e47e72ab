// Inventory vars that change how halyard connects: ssh arguments (route options read, options that
// other vars say refused) and ansible_connection (SSH only, anything else refused at file:line).
import { describe, expect, it } from 'vitest';
import { inventoryFromText } from '../../src/inventory/index.js';
import { readSshArgs } from '../../src/inventory/connection-vars.js';

describe('ssh arguments in inventory vars', () => {
  it.each([
    ['-o ProxyCommand="ssh -W %h:%p bastion"', { proxyCommand: 'ssh -W %h:%p bastion' }],
    ["-o 'ProxyJump=ops@bastion:2222'", { proxyJump: 'ops@bastion:2222' }],
    ['-J bastion1,bastion2 -o StrictHostKeyChecking=no', { proxyJump: 'bastion1,bastion2' }],
    ['-oProxyCommand=nc\\ %h\\ %p -o ProxyCommand=second', { proxyCommand: 'nc %h %p' }],
    ['-o UserKnownHostsFile=/tmp/kh -o ServerAliveInterval=30', {}],
    ['-o ProxyCommand=x -J y', { problem: 'both ProxyCommand and ProxyJump are set; keep one' }],
    ['-p 2222', { problem: '-p changes where or as whom ssh connects; set ansible_port, ansible_user or ansible_ssh_private_key_file instead' }],
    ['-o User=root', { problem: '-o User changes where or as whom ssh connects; set ansible_user instead' }],
  ])('%s', (text, expected) => {
    expect(readSshArgs(text)).toEqual(expected);
  });

  it('the route reaches the host; ansible_connection local runs on the controller, any other but SSH is refused where it is written', () => {
    const inventory = inventoryFromText('/inv/hosts.yml', 'all:\n  hosts:\n    h1:\n      ansible_ssh_common_args: -o ProxyCommand="aws ssm start-session --target %h"\n    h2: {}\n');
    expect(inventory.hosts.map((host) => host.route)).toEqual([{ proxyCommand: 'aws ssm start-session --target %h' }, undefined]);
    expect(inventoryFromText('/inv/hosts', '[ctl]\nlocalhost ansible_connection=local\n').hosts[0]).toMatchObject({ name: 'localhost', local: true });
    expect(() => inventoryFromText('/inv/hosts.yml', 'all:\n  hosts:\n    w1:\n      ansible_connection: winrm\n')).toThrow(/^\/inv\/hosts\.yml:4: ansible_connection "winrm" is not supported/);
    expect(() => inventoryFromText('/inv/hosts', '[web]\nw1 ansible_ssh_extra_args="-p 2222"\n')).toThrow(/^\/inv\/hosts:2: ansible_ssh_extra_args: -p changes where/);
  });
});

// INI values as Ansible itself reads them: the same file through Debian's ansible-inventory and
// halyard's loader, value by value, on host lines and in [group:vars].
import { describe, expect, it } from 'vitest';
import { loadInventory } from '../../src/inventory/index.js';
import { ansibleHostVars } from '../support/ansible-oracle.js';
import { tempFiles } from './temp-files.js';

const files = tempFiles();

// Values as written after `name=`; host lines go through shlex first, so some need no spaces.
const HOST_LINE_VALUES = ['8080', '"8080"', "'a b'", '1.5', '1e3', '0x1F', '010', 'True', 'true', 'yes', 'None', '[1,2]', '{"a":1}', '1,2', 'k=v', 'a#b', '"a#b"', '/srv/app', 'http://h/x?y=1'];
const VARS_VALUES = [...HOST_LINE_VALUES, '"quoted text"', "'8080'", '1 # note', 'foo # note', '[1, "x y"]', '{"k": [1, 2]}', 'a b c', '(1, 2)'];

describe('INI values against ansible-inventory', () => {
  it('every value has the type and value Ansible gives it', async () => {
    const hostLine = HOST_LINE_VALUES.map((value, index) => `v${index}=${value}`).join(' ');
    const groupVars = VARS_VALUES.map((value, index) => `g${index}=${value}`).join('\n');
    const path = files.write('typed.ini', `[web]\nh1 ${hostLine}\n\n[db]\nh2\n\n[db:vars]\n${groupVars}\n`);
    const ansible = ansibleHostVars(path);
    const inventory = await loadInventory(path, {});
    const ours = Object.fromEntries(inventory.hosts.map((host) => [host.name, JSON.parse(JSON.stringify(host.vars)) as Record<string, unknown>]));
    HOST_LINE_VALUES.forEach((value, index) => expect(ours.h1?.[`v${index}`], `host line v${index}=${value}`).toEqual(ansible.h1?.[`v${index}`]));
    VARS_VALUES.forEach((value, index) => expect(ours.h2?.[`g${index}`], `[db:vars] g${index}=${value}`).toEqual(ansible.h2?.[`g${index}`]));
  });
});

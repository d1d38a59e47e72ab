// Host patterns (--limit) against Debian's `ansible PATTERN --list-hosts` on one inventory: the same
// hosts for every pattern Ansible matches; where Ansible matches nothing (a warning), halyard
// refuses the pattern naming the term instead of running on no hosts.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadInventory, selectHosts } from '../../src/inventory/index.js';
import { SYSTEM_PYTHON } from '../support/ansible-oracle.js';

const INVENTORY = [
  'lonely',
  '[web]',
  'web1',
  'web2',
  'web3',
  '[db]',
  'db1',
  'db2',
  'web2',
  '[web:children]',
  'edge',
  '[edge]',
  'edge1',
  '[dbhost]',
  'db1',
  '[db1]',
  'web3',
  '',
].join('\n');

const PATTERNS = [
  'all', '*', 'web', 'db', 'edge', 'web:db', 'web,db', 'web:&db', 'web:!edge', '!web', '&db', 'web*', 'w?b1', 'web[12]', '*1',
  '~web', '~eb', '~web[13]', '~(db|edge)', 'web[0]', 'web[-1]', 'web[0:1]', 'web[1:]', 'web[2:0]', 'all[0:2]', 'db[1]',
  'db1', 'db1:web1', 'ungrouped', 'lonely', 'web:!web[0]', 'w*:&d*',
];

// Ansible's own InventoryManager (Debian's ansible-core, the code behind `ansible P --list-hosts`),
// in one Python process for every pattern: [] where Ansible matches nothing.
function ansibleHosts(inventory: string, patterns: string[]): string[][] {
  const program = [
    'import json, sys',
    'from ansible.errors import AnsibleError',
    'from ansible.inventory.manager import InventoryManager',
    'from ansible.parsing.dataloader import DataLoader',
    'inventory = InventoryManager(loader=DataLoader(), sources=[sys.argv[1]])',
    'out = []',
    'for pattern in json.load(sys.stdin):',
    '    try:',
    '        out.append([host.name for host in inventory.list_hosts(pattern)])',
    '    except AnsibleError:',
    '        out.append([])',
    'print(json.dumps(out))',
  ].join('\n');
  const stdout = execFileSync(SYSTEM_PYTHON, ['-c', program, inventory], { input: JSON.stringify(patterns), encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as string[][];
}

describe('host patterns against ansible --list-hosts', () => {
  it('every pattern selects the hosts Ansible selects', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hy-patterns-'));
    const path = join(dir, 'hosts');
    writeFileSync(path, INVENTORY);
    const inventory = await loadInventory(path, { playDir: dir });
    const answers = ansibleHosts(path, PATTERNS);
    let matchedSomething = 0;
    for (const [index, pattern] of PATTERNS.entries()) {
      const expected = [...new Set(answers[index])].sort();
      if (expected.length === 0) {
        // Ansible warns and runs nothing; halyard says which term matched nothing.
        expect(() => selectHosts(inventory, pattern), pattern).toThrow(/--limit/);
        continue;
      }
      matchedSomething++;
      expect(selectHosts(inventory, pattern).map((host) => host.name).sort(), pattern).toEqual(expected);
    }
    expect(matchedSomething).toBeGreaterThan(25);
  });
});

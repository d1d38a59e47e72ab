// ansible.cfg read as ansible-core reads it: each file through Debian's `ansible-config dump
// --only-changed` and through readAnsibleCfg, setting by setting.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readAnsibleCfg, type AnsibleSettings } from '../../src/config/ansible-cfg.js';

const CONFIGS = [
  '[defaults]\ninventory = ./inv, ~/other\nremote_user = deploy # not a comment\nforks = 7 ; an inline comment\nprivate_key_file = keys/id\nhost_key_checking = False\n[privilege_escalation]\nbecome = yes\nbecome_user = root\n',
  '# a comment\n; another\n[defaults]\nINVENTORY: /srv/inventory/production\nREMOTE_USER: "ubuntu"\n[ssh_connection]\nhost_key_checking = True\n[privilege_escalation]\nbecome = on\nbecome_method = sudo\n',
  '[defaults]\ninventory = hosts.ini\nforks=50\nvault_password_file = ~/.vault_pass\n[privilege_escalation]\nbecome = 0\n',
  '[defaults]\nhost_key_checking = false\n[ssh_connection]\nhost_key_checking = yes\n',
];

// Ansible's names for the settings halyard reads, and how to read its printed values.
const NAMES: Record<string, keyof AnsibleSettings> = {
  DEFAULT_HOST_LIST: 'inventory',
  DEFAULT_REMOTE_USER: 'remoteUser',
  DEFAULT_PRIVATE_KEY_FILE: 'privateKeyFile',
  DEFAULT_FORKS: 'forks',
  DEFAULT_BECOME: 'become',
  DEFAULT_BECOME_USER: 'becomeUser',
  DEFAULT_BECOME_METHOD: 'becomeMethod',
  HOST_KEY_CHECKING: 'hostKeyChecking',
  DEFAULT_VAULT_PASSWORD_FILE: 'vaultPasswordFile',
};

function ansibleView(file: string): Partial<AnsibleSettings> {
  // -t all adds the plugins' settings: the ssh connection's host_key_checking is the one that applies.
  const out = execFileSync('ansible-config', ['dump', '--only-changed', '-t', 'all'], { encoding: 'utf8', env: { ...process.env, ANSIBLE_CONFIG: file, ANSIBLE_NOCOLOR: '1' } });
  const view: Record<string, unknown> = {};
  let plugin = '';
  for (const line of out.split('\n')) {
    if (/^[a-z_]+:$/.test(line)) plugin = line.slice(0, -1);
    const sshChecking = /^host_key_checking\([^)]*\) = (True|False)$/.exec(line);
    if (plugin === 'ssh' && sshChecking) view.hostKeyChecking = sshChecking[1] === 'True';
    const match = /^([A-Z_]+)\([^)]*\) = (.*)$/.exec(line);
    if (!match || !(match[1]! in NAMES) || (match[1] === 'HOST_KEY_CHECKING' && 'hostKeyChecking' in view)) continue;
    const text = match[2]!;
    let value: unknown = text;
    if (text === 'True' || text === 'False') value = text === 'True';
    else if (/^\d+$/.test(text)) value = Number(text);
    else if (text.startsWith('[')) value = JSON.parse(text.replace(/'/g, '"')) as string[];
    view[NAMES[match[1]!]!] = value;
  }
  return view as Partial<AnsibleSettings>;
}

describe('ansible.cfg against ansible-config', () => {
  it.each(CONFIGS.map((text, index) => [index, text] as const))('config %i reads the same', (_index, text) => {
    const dir = mkdtempSync(join(tmpdir(), 'hy-cfg-'));
    chmodSync(dir, 0o755);
    const file = join(dir, 'ansible.cfg');
    writeFileSync(file, text);
    const expected = ansibleView(file);
    expect(Object.keys(expected).length).toBeGreaterThan(0);
    const { file: read, ...ours } = readAnsibleCfg(file);
    expect(read).toBe(file);
    expect(ours).toEqual(expected);
  });
});

import { describe, expect, it } from 'vitest';
import { Secret, isSecret } from '../../src/core/secret.js';
import { loadInventory } from '../../src/inventory/index.js';
import { looksLikeSecretName, markSecretVars } from '../../src/inventory/secrets.js';
import { tempFiles } from './temp-files.js';

const files = tempFiles();

describe('secret var names', () => {
  it.each([
    ['db_password', true],
    ['DB_PASSWORD', true],
    ['smtp_passwd', true],
    ['app_secret', true],
    ['github_token', true],
    ['stripe_api_key', true],
    ['tls_private_key', true],
    ['ansible_become_pass', true],
    ['ansible_ssh_pass', true],
    ['password_file', false],
    ['ansible_ssh_private_key_file', false],
    ['secret_santa_name', false],
    ['token_count', false],
    ['http_port', false],
  ])('%s -> %s', (name, expected) => {
    expect(looksLikeSecretName(name)).toBe(expected);
  });

  it('wraps every leaf of a secret var and leaves null alone', () => {
    const marked = markSecretVars({ db_password: 'pw', api_token: { primary: 'a', backup: 1 }, none_secret: null }, new Set());
    expect((marked.db_password as Secret).label).toBe('db_password');
    const tree = marked.api_token as Record<string, Secret>;
    expect(tree.primary?.reveal()).toBe('a');
    expect(tree.backup?.reveal()).toBe('1');
    expect(tree.primary?.label).toBe('api_token.primary');
    expect(marked.none_secret).toBeNull();
  });
});

describe('secrets in inventories', () => {
  it('wraps name-matched vars, !secret values and halyard_secret_vars names', async () => {
    const path = files.write(
      'secrets.yml',
      `halyard_secret_vars: [license_blob]
all:
  vars:
    db_password: hunter2-db
    plain: visible
    nested:
      deep: !secret tagged-deep
    halyard_secret_vars: [smtp_login]
  hosts:
    h:
      license_blob: lic-123
      smtp_login: smtp-user-x
      greeting: !secret tagged-top
`,
    );
    const host = (await loadInventory(path, {})).hosts[0];
    if (!host) throw new Error('no host');
    for (const name of ['db_password', 'license_blob', 'smtp_login', 'greeting']) {
      expect(isSecret(host.vars[name]), name).toBe(true);
      expect((host.vars[name] as Secret).label).toBe(name);
    }
    expect((host.vars.db_password as Secret).reveal()).toBe('hunter2-db');
    expect((host.vars.greeting as Secret).reveal()).toBe('tagged-top');
    const nested = host.vars.nested as { deep: Secret };
    expect(nested.deep.reveal()).toBe('tagged-deep');
    expect(nested.deep.label).toBe('nested.deep');
    expect(host.vars.plain).toBe('visible');
    expect('halyard_secret_vars' in host.vars).toBe(false);
  });

  it('marks secrets in group vars too', async () => {
    const path = files.write('group-secret.yml', 'web:\n  vars: {deploy_token: tok-1}\n  hosts: {w: }\n');
    const inventory = await loadInventory(path, {});
    expect(isSecret(inventory.groups.get('web')?.vars.deploy_token)).toBe(true);
  });

  it('marks secrets given as extra vars, by name and by halyard_secret_vars', async () => {
    const path = files.write('extra-secret.yml', 'all:\n  hosts: {h: }\n');
    const inventory = await loadInventory(path, {
      extraVars: { vault_token: 't-1', custom: 'c-1', halyard_secret_vars: ['custom'] },
    });
    const vars = inventory.hosts[0]?.vars ?? {};
    expect(isSecret(vars.vault_token)).toBe(true);
    expect(isSecret(vars.custom)).toBe(true);
  });

  it('makes a numeric become password a Secret string', async () => {
    const path = files.write('numeric-pw.yml', 'all:\n  hosts:\n    h: {ansible_become_password: 123456}\n');
    const host = (await loadInventory(path, {})).hosts[0];
    expect(host?.becomePassword?.reveal()).toBe('123456');
  });
});

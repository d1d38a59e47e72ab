// Vault in an Ansible repository, through the real CLI and against Debian's ansible tools: a
// value made by `halyard vault encrypt-string`, a group_vars file encrypted by `halyard vault
// encrypt` under a vault id, and an extra-vars file encrypted by ansible-vault, all read back as
// Ansible reads them, masked in every output; a wrong password is one line naming the file.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isSecret } from '../../src/core/secret.js';
import { loadInventory, parseExtraVars } from '../../src/inventory/index.js';
import { VaultKeyring, readPasswordSource } from '../../src/vault/keyring.js';
import { runCli } from '../support/cli.js';

describe('vault in an inventory', () => {
  it('encrypt-string, encrypt and ansible-vault files are read as Ansible reads them, and never printed', async () => {
    const repo = mkdtempSync(join(tmpdir(), 'hy-vault-repo-'));
    const pass = join(repo, '.vault_pass');
    writeFileSync(pass, 'team-password\n');
    mkdirSync(join(repo, 'group_vars'));
    mkdirSync(join(repo, 'host_vars'));
    writeFileSync(join(repo, 'hosts'), '[web]\nw1 ansible_host=10.2.0.1\n');

    const inline = await runCli(['vault', 'encrypt-string', '--vault-password-file', pass, '--name', 'api_token', 'tok-S3cret-123']);
    expect(inline.exitCode, inline.stderr).toBe(0);
    expect(inline.stdout).toMatch(/^api_token: !vault \|\n {10}\$ANSIBLE_VAULT;1\.1;AES256\n/);
    writeFileSync(join(repo, 'host_vars', 'w1.yml'), `region: eu-west-1\n${inline.stdout}`);

    writeFileSync(join(repo, 'group_vars', 'web.yml'), 'db_password: db-S3cret-456\nport: 5432\n');
    const encrypted = await runCli(['vault', 'encrypt', '--vault-id', `prod@${pass}`, join(repo, 'group_vars', 'web.yml')]);
    expect(encrypted.exitCode, encrypted.stderr).toBe(0);
    expect(readFileSync(join(repo, 'group_vars', 'web.yml'), 'utf8')).toMatch(/^\$ANSIBLE_VAULT;1\.2;AES256;prod\n/);

    writeFileSync(join(repo, 'extra.yml'), 'deploy_key: key-S3cret-789\n');
    execFileSync('ansible-vault', ['encrypt', '--vault-password-file', pass, join(repo, 'extra.yml')], { stdio: 'ignore' });

    // Ansible itself reads the same repository to the same values.
    const ansible = JSON.parse(
      execFileSync('ansible-inventory', ['-i', join(repo, 'hosts'), '--vault-id', `prod@${pass}`, '--list', '--playbook-dir', repo], { encoding: 'utf8', cwd: repo }),
    ) as { _meta: { hostvars: { w1: Record<string, unknown> } } };
    expect(ansible._meta.hostvars.w1).toMatchObject({ db_password: 'db-S3cret-456', port: 5432, region: 'eu-west-1' });

    const keyring = new VaultKeyring([readPasswordSource(pass, 'prod')]);
    const inventory = await loadInventory(join(repo, 'hosts'), { playDir: repo, vault: keyring, extraVars: parseExtraVars([`@${join(repo, 'extra.yml')}`], { vault: keyring }) });
    const vars = inventory.hosts[0]!.vars;
    expect(vars.port).toBe(5432);
    expect(vars.region).toBe('eu-west-1');
    for (const [name, plain] of [['db_password', 'db-S3cret-456'], ['api_token', 'tok-S3cret-123'], ['deploy_key', 'key-S3cret-789']] as const) {
      expect(isSecret(vars[name]), name).toBe(true);
      expect((vars[name] as { reveal(): string }).reveal()).toBe(plain);
    }

    const listed = await runCli(['inventory', 'list', '-i', join(repo, 'hosts'), '--vault-id', `prod@${pass}`, '-e', `@${join(repo, 'extra.yml')}`, '--json'], { cwd: repo });
    expect(listed.exitCode, listed.stderr).toBe(0);
    for (const secret of ['db-S3cret-456', 'tok-S3cret-123', 'key-S3cret-789']) expect(listed.stdout + listed.stderr).not.toContain(secret);
    expect(JSON.parse(listed.stdout).hosts[0].vars).toMatchObject({ db_password: '********', api_token: '********', deploy_key: '********', port: 5432 });

    const view = await runCli(['vault', 'view', '--vault-password-file', pass, join(repo, 'extra.yml')]);
    expect(view.stdout).toBe('deploy_key: key-S3cret-789\n');

    const wrong = join(repo, 'wrong');
    writeFileSync(wrong, 'not-it\n');
    const refused = await runCli(['inventory', 'list', '-i', join(repo, 'hosts'), '--vault-password-file', wrong], { cwd: repo });
    expect(refused.exitCode).toBe(65);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toMatch(/^halyard: [^\n]*group_vars\/web\.yml: no vault password given opens this ansible-vault data \(vault id "prod"\); tried 1 \(default\)\n$/);
    const none = await runCli(['inventory', 'list', '-i', join(repo, 'hosts')], { cwd: repo });
    expect(none.exitCode).toBe(65);
    expect(none.stderr).toMatch(/group_vars\/web\.yml: holds ansible-vault data; pass --vault-password-file/);
  }, 60_000);
});

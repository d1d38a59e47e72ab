// --ask-vault-pass on a real terminal (a pty, typed as a person would): the prompt, the password
// never echoed, the file opened; a wrong password one error naming the file; no terminal, a clear
// error rather than a hang.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { encryptVault } from '../../src/vault/vault.js';
import { runCli } from '../support/cli.js';
import { runCliOnTerminal } from '../support/pty.js';

const PASSWORD = 'tty-Vault-Pa55word';
const dir = mkdtempSync(join(tmpdir(), 'hy-ask-pass-'));
const vaulted = join(dir, 'secrets.yml');
writeFileSync(vaulted, encryptVault(Buffer.from('db_password: from-the-vault\n'), Buffer.from(PASSWORD)));
const inventory = join(dir, 'inventory.yml');
writeFileSync(inventory, `all:\n  hosts:\n    web1:\n      api_token: !vault |\n${encryptVault(Buffer.from('tok-123456789'), Buffer.from(PASSWORD)).replace(/^/gm, '        ')}\n`);

describe('--ask-vault-pass on a terminal', () => {
  it('prompts, does not echo the password, and opens the file', async () => {
    const run = await runCliOnTerminal(['vault', 'view', vaulted, '--ask-vault-pass'], [['Vault password: ', PASSWORD]]);
    expect(run.unanswered).toEqual([]);
    expect(run.exitCode, run.output).toBe(0);
    expect(run.output).toContain('Vault password: ');
    expect(run.output).toContain('db_password: from-the-vault');
    expect(run.output).not.toContain(PASSWORD);
  });

  it('an inventory with !vault values lists with the value masked', async () => {
    const run = await runCliOnTerminal(['inventory', 'vars', 'web1', '-i', inventory, '--ask-vault-pass'], [['Vault password: ', PASSWORD]]);
    expect(run.exitCode, run.output).toBe(0);
    expect(run.output).toMatch(/api_token/);
    expect(run.output).not.toContain('tok-123456789');
    expect(run.output).not.toContain(PASSWORD);
  });

  it('a wrong password is one error naming the file (exit 65), nothing printed from it', async () => {
    const run = await runCliOnTerminal(['vault', 'view', vaulted, '--ask-vault-pass'], [['Vault password: ', 'not-the-password']]);
    expect(run.exitCode).toBe(65);
    const lines = run.output.split(/\r?\n/).filter((line) => line.startsWith('halyard:'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(vaulted);
    expect(run.output).not.toContain('from-the-vault');
    expect(run.output).not.toContain('not-the-password');
  });

  it('without a terminal it says how to pass the password in scripts, and does not wait', async () => {
    const run = await runCli(['vault', 'view', vaulted, '--ask-vault-pass']);
    expect(run.exitCode).toBe(65);
    expect(run.stderr).toMatch(/needs a terminal \(use --vault-password-file in scripts and CI\)/);
  });
});

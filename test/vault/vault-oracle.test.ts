// ansible-vault's format both ways with Debian's ansible-vault: what halyard encrypts opens there,
// what it encrypts opens here, with vault ids (1.2) and with a wrong password refused.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { VaultKeyring, readPasswordSource } from '../../src/vault/keyring.js';
import { decryptVault, encryptVault, parseVaultText } from '../../src/vault/vault.js';
import { runCli } from '../support/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'hy-vault-'));
const passwordFile = join(dir, 'pass');
writeFileSync(passwordFile, 'correct horse battery staple\n');
const PLAINTEXTS = ['db_password: s3cr3t\n', '', 'x'.repeat(16), 'ünïcødé ✓ and a newline\n\n', 'a'.repeat(1000)];

function ansibleVault(args: string[], input?: string): string {
  return execFileSync('ansible-vault', args, { encoding: 'utf8', input, env: { ...process.env, ANSIBLE_NOCOLOR: '1' }, stdio: ['pipe', 'pipe', 'pipe'] });
}

describe('ansible-vault format', () => {
  it('what halyard encrypts, ansible-vault decrypts (1.1 and 1.2 with a vault id)', () => {
    const password = readPasswordSource(passwordFile).password;
    for (const [index, text] of PLAINTEXTS.entries()) {
      const file = join(dir, `ours-${index}.yml`);
      writeFileSync(file, encryptVault(Buffer.from(text), password, index % 2 === 0 ? undefined : 'prod'));
      const args = index % 2 === 0 ? ['--vault-password-file', passwordFile] : ['--vault-id', `prod@${passwordFile}`];
      expect(ansibleVault(['decrypt', ...args, '--output', '-', file]), `plaintext ${index}`).toBe(text);
    }
  });

  it('what ansible-vault encrypts, halyard decrypts; a wrong password opens nothing', () => {
    for (const [index, text] of PLAINTEXTS.entries()) {
      const file = join(dir, `theirs-${index}.yml`);
      writeFileSync(file, text);
      const args = index % 2 === 0 ? ['--vault-password-file', passwordFile] : ['--vault-id', `prod@${passwordFile}`];
      ansibleVault(['encrypt', ...args, file]);
      const envelope = parseVaultText(readFileSync(file, 'utf8'));
      expect(envelope.vaultId).toBe(index % 2 === 0 ? undefined : 'prod');
      expect(decryptVault(envelope, readPasswordSource(passwordFile).password)?.toString('utf8'), `plaintext ${index}`).toBe(text);
      expect(decryptVault(envelope, Buffer.from('wrong'))).toBeUndefined();
    }
    // encrypt_string's output (a !vault value) opens with the keyring.
    const inline = ansibleVault(['encrypt_string', '--vault-password-file', passwordFile, 'inline-S3cret']);
    const body = inline.replace(/^!vault \|\n/, '').replace(/^ +/gm, '');
    expect(new VaultKeyring([readPasswordSource(passwordFile)]).open(body, 'inline').toString()).toBe('inline-S3cret');
  });

  it('a password script is run for the password; a wrong password is one error naming where', () => {
    const script = join(dir, 'pass.sh');
    writeFileSync(script, `#!/bin/sh\ncat ${passwordFile}\n`);
    chmodSync(script, 0o755);
    const fromScript = readPasswordSource(script);
    expect(fromScript.password.toString()).toBe('correct horse battery staple');
    const locked = encryptVault(Buffer.from('x: 1\n'), fromScript.password);
    const wrong = join(dir, 'wrong');
    writeFileSync(wrong, 'nope\n');
    expect(() => new VaultKeyring([readPasswordSource(wrong, 'dev')]).open(locked, 'group_vars/all/vault.yml')).toThrow(
      'group_vars/all/vault.yml: no vault password given opens this ansible-vault data; tried 1 (dev)',
    );
    expect(() => new VaultKeyring([]).open(locked, 'host_vars/w1.yml')).toThrow(/^host_vars\/w1\.yml: holds ansible-vault data; pass --vault-password-file/);
  });

  it('a password script named by a bare file name is the file in the current directory, as for ansible-vault', async () => {
    const here = mkdtempSync(join(tmpdir(), 'hy-vault-cwd-'));
    writeFileSync(join(here, 'pass.sh'), `#!/bin/sh\necho 'pass.sh: asking the keyring' >&2\ncat ${passwordFile}\n`, { mode: 0o755 });
    writeFileSync(join(here, 'vault.yml'), encryptVault(Buffer.from('token: from-a-script\n'), Buffer.from('correct horse battery staple')));
    const theirs = execFileSync('ansible-vault', ['view', '--vault-password-file', 'pass.sh', 'vault.yml'], { cwd: here, encoding: 'utf8', env: { ...process.env, ANSIBLE_NOCOLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    const ours = await runCli(['vault', 'view', 'vault.yml', '--vault-password-file', 'pass.sh'], { cwd: here });
    expect(theirs).toBe('token: from-a-script\n');
    expect(ours).toMatchObject({ exitCode: 0, stdout: theirs, stderr: 'pass.sh: asking the keyring\n' });
  });
});

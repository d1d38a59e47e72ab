import type { Command } from 'commander';
import { UsageError } from '../core/errors.js';
import { addVaultFlags, type VaultFlags } from './common-flags.js';

// `halyard vault encrypt|decrypt|view|encrypt-string`: a team keeps its ansible-vault files without
// Ansible installed; what halyard writes opens with ansible-vault, and the other way round.
export function registerVaultCommands(program: Command): void {
  const vault = program.command('vault').description('ansible-vault files and values, without Ansible');
  const withPasswords = (command: Command) =>
    addVaultFlags(command).option('--encrypt-vault-id <label>', 'which --vault-id password encrypts (default: the first given)');

  withPasswords(vault.command('encrypt').description('encrypt files in place').argument('<files...>')).action(async (files: string[], flags: Flags) => {
    const { readFile, writeFile, rename } = await import('node:fs/promises');
    const { isVaultText, encryptVault } = await import('../vault/vault.js');
    const key = await encryptingPassword(flags);
    for (const file of files) {
      const bytes = await readFile(file);
      if (isVaultText(bytes)) throw new UsageError(`${file} is already under ansible-vault`);
      // Written beside the file and renamed over it: an interrupted run leaves the file whole.
      await writeFile(`${file}.halyard-vault`, encryptVault(bytes, key.password, key.label), { mode: 0o600 });
      await rename(`${file}.halyard-vault`, file);
      process.stderr.write(`Encryption successful: ${file}\n`);
    }
  });

  withPasswords(vault.command('decrypt').description('decrypt files in place').argument('<files...>')).action(async (files: string[], flags: Flags) => {
    const { readFile, writeFile, rename } = await import('node:fs/promises');
    const keyring = await passwords(flags);
    for (const file of files) {
      const plain = keyring.open(await readFile(file, 'utf8'), file);
      await writeFile(`${file}.halyard-vault`, plain, { mode: 0o600 });
      await rename(`${file}.halyard-vault`, file);
      process.stderr.write(`Decryption successful: ${file}\n`);
    }
  });

  withPasswords(vault.command('view').description('print a file decrypted').argument('<file>')).action(async (file: string, flags: Flags) => {
    const { readFile } = await import('node:fs/promises');
    process.stdout.write((await passwords(flags)).open(await readFile(file, 'utf8'), file));
  });

  withPasswords(
    vault
      .command('encrypt-string')
      .description('print a !vault value to paste into a YAML vars file (the string from the argument, or stdin)')
      .argument('[string]')
      .option('--name <var>', 'print it as "var: !vault |"'),
  ).action(async (text: string | undefined, flags: Flags & { name?: string }) => {
    const { encryptVault } = await import('../vault/vault.js');
    const key = await encryptingPassword(flags);
    const plain = text ?? (await readStdin());
    const indented = encryptVault(Buffer.from(plain), key.password, key.label).trimEnd().replace(/^/gm, '          ');
    process.stdout.write(`${flags.name ? `${flags.name}: ` : ''}!vault |\n${indented}\n`);
  });
}

type Flags = VaultFlags & { encryptVaultId?: string };

async function passwords(flags: Flags) {
  const { ansibleSettings } = await import('../config/ansible-cfg.js');
  const { vaultKeyring } = await import('./vault-flags.js');
  return vaultKeyring(flags, ansibleSettings());
}

// The password that encrypts: --encrypt-vault-id's, else the first one given.
async function encryptingPassword(flags: Flags): Promise<{ password: Buffer; label: string }> {
  const keyring = await passwords(flags);
  const chosen = flags.encryptVaultId === undefined ? keyring.passwords[0] : keyring.passwords.find((entry) => entry.label === flags.encryptVaultId);
  if (!chosen) {
    throw new UsageError(flags.encryptVaultId === undefined ? 'no vault password: pass --vault-password-file, --vault-id or --ask-vault-pass' : `no --vault-id labelled "${flags.encryptVaultId}"`);
  }
  return { password: chosen.password, label: chosen.label };
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

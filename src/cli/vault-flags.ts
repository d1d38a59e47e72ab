// The vault flags read at run time; common-flags.ts defines them (loaded at start-up, kept light).
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import type { AnsibleSettings } from '../config/ansible-cfg.js';
import { projectConfig, type ProjectConfig } from '../config/project-config.js';
import { UsageError } from '../core/errors.js';
import { Secret } from '../core/secret.js';
import type { VaultKeyring, VaultPassword } from '../vault/keyring.js';
import type { VaultFlags } from './common-flags.js';

// The run's passwords in Ansible's order: --vault-id, --vault-password-file, ansible.cfg's
// vault_password_file, --ask-vault-pass. halyard.yml's vault_password_file takes ansible.cfg's
// place, and only when no vault flag is given (a flag beats the project's file, which may name a
// file this user does not have). Scripts run and prompts are asked now, before anything is read,
// as Ansible does.
export async function vaultKeyring(flags: VaultFlags, settings: AnsibleSettings = {}, project: ProjectConfig = projectConfig()): Promise<VaultKeyring> {
  // Loaded only when a command reads inventories (start-up of other commands stays small).
  const { VaultError, VaultKeyring, readPasswordSource } = await import('../vault/keyring.js');
  const passwords: VaultPassword[] = [];
  for (const id of flags.vaultId ?? []) {
    const at = id.indexOf('@');
    const label = at < 0 ? 'default' : id.slice(0, at);
    const source = at < 0 ? id : id.slice(at + 1);
    passwords.push(source === 'prompt' ? await prompted(label, VaultError) : readPasswordSource(source, label));
  }
  for (const file of flags.vaultPasswordFile ?? []) passwords.push(readPasswordSource(file));
  if (project.vaultPasswordFile !== undefined) {
    if (!vaultFlagGiven(flags)) for (const file of project.vaultPasswordFile) passwords.push(fromProject(file, project, readPasswordSource, VaultError));
  } else if (settings.vaultPasswordFile !== undefined) passwords.push(readPasswordSource(settings.vaultPasswordFile));
  if (flags.askVaultPass) passwords.push(await prompted('default', VaultError));
  return new VaultKeyring(passwords);
}

// A password file halyard.yml names; a failure says which halyard.yml named it.
function fromProject(file: string, project: ProjectConfig, read: (path: string) => VaultPassword, VaultError: new (message: string, where?: string) => Error): VaultPassword {
  try {
    return read(file);
  } catch (error) {
    throw new VaultError(`vault_password_file: ${(error as Error).message}`, project.file);
  }
}

// Whether the command line names a vault password itself.
function vaultFlagGiven(flags: VaultFlags): boolean {
  return (flags.vaultId?.length ?? 0) > 0 || (flags.vaultPasswordFile?.length ?? 0) > 0 || flags.askVaultPass === true;
}

// `-K`: the sudo password, asked on the terminal once per run, as Ansible asks it.
export async function askBecomePassword(): Promise<Secret> {
  if (!process.stdin.isTTY) throw new UsageError('-K asks on a terminal; in scripts set ansible_become_password (a !vault or !secret value)');
  return new Secret(await readHidden('BECOME password: '), 'become password');
}

// Reads a password from the terminal without echoing it.
async function prompted(label: string, VaultError: new (message: string) => Error): Promise<VaultPassword> {
  if (!process.stdin.isTTY) throw new VaultError('asking for a vault password needs a terminal (use --vault-password-file in scripts and CI)');
  const answer = await readHidden(label === 'default' ? 'Vault password: ' : `Vault password (${label}): `);
  if (answer === '') throw new VaultError('the vault password is empty');
  return { label, password: Buffer.from(answer), source: 'prompt' };
}

async function readHidden(question: string): Promise<string> {
  let muted = false;
  const output = new Writable({
    write(chunk: Buffer, _encoding, done) {
      if (!muted) process.stderr.write(chunk);
      done();
    },
  });
  const reader = createInterface({ input: process.stdin, output, terminal: true });
  const answer = await new Promise<string>((resolve) => {
    reader.question(question, resolve);
    muted = true;
  });
  reader.close();
  process.stderr.write('\n');
  return answer;
}

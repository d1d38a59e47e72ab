// halyard.yml through the CLI's own main(): the commands that read it, and a flag beating it.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.js';

interface Run {
  exitCode: number;
  stdout: string;
  stderr: string;
}

// Runs `halyard ARGS` in this process with HALYARD_CONFIG (and other variables) set.
async function cli(env: Record<string, string>, ...args: string[]): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const saved = { ...process.env };
  Object.assign(process.env, env);
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout += String(chunk);
    return true;
  });
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stderr += String(chunk);
    return true;
  });
  try {
    await main(['node', 'halyard', ...args]);
  } finally {
    out.mockRestore();
    err.mockRestore();
    for (const key of Object.keys(env)) delete process.env[key];
    Object.assign(process.env, saved);
  }
  const exitCode = Number(process.exitCode ?? 0);
  process.exitCode = undefined;
  return { exitCode, stdout, stderr };
}

// A repository: halyard.yml (text), two inventories and a vault password file.
function repository(text: string): string {
  const root = mkdtempSync(join(tmpdir(), 'hy-project-cli-'));
  writeFileSync(join(root, 'halyard.yml'), text);
  writeFileSync(join(root, 'prod.yml'), 'all:\n  hosts:\n    prod-1: { ansible_host: 10.0.0.1 }\n');
  writeFileSync(join(root, 'staging.yml'), 'all:\n  hosts:\n    staging-1: { ansible_host: 10.0.0.2 }\n');
  writeFileSync(join(root, 'vault-pass'), 'correct horse\n', { mode: 0o600 });
  return root;
}

afterEach(() => {
  process.exitCode = undefined;
});

describe('halyard.yml in the CLI', () => {
  it("inventory list reads halyard.yml's inventory without -i; -i beats it; it beats ANSIBLE_INVENTORY", async () => {
    const root = repository('inventory: prod.yml\n');
    const env = { HALYARD_CONFIG: join(root, 'halyard.yml') };
    const fromFile = await cli(env, 'inventory', 'list');
    expect(fromFile.stderr).toBe('');
    expect(fromFile.exitCode).toBe(0);
    expect(fromFile.stdout).toContain('prod-1');

    const fromFlag = await cli(env, 'inventory', 'list', '-i', join(root, 'staging.yml'));
    expect(fromFlag.stdout).toContain('staging-1');
    expect(fromFlag.stdout).not.toContain('prod-1');

    const overAnsible = await cli({ ...env, ANSIBLE_INVENTORY: join(root, 'staging.yml') }, 'inventory', 'list');
    expect(overAnsible.stdout).toContain('prod-1');
    expect(overAnsible.stdout).not.toContain('staging-1');

    const none = await cli({ HALYARD_CONFIG: 'none', ANSIBLE_INVENTORY: join(root, 'staging.yml') }, 'inventory', 'list');
    expect(none.stdout).toContain('staging-1');
  });

  it("vault encrypt and view use halyard.yml's vault_password_file", async () => {
    const root = repository('vault_password_file: vault-pass\n');
    const env = { HALYARD_CONFIG: join(root, 'halyard.yml') };
    const secret = join(root, 'secrets.yml');
    writeFileSync(secret, 'db_password: hunter2-and-more\n');
    expect((await cli(env, 'vault', 'encrypt', secret)).exitCode).toBe(0);
    expect(readFileSync(secret, 'utf8')).toMatch(/^\$ANSIBLE_VAULT;1\.1;AES256\n/);
    const view = await cli(env, 'vault', 'view', secret);
    expect(view).toMatchObject({ exitCode: 0, stdout: 'db_password: hunter2-and-more\n' });
  });

  it('a bad halyard.yml stops the command with one line naming file:line and the key (exit 65)', async () => {
    const root = repository('inventory: prod.yml\nfork: 10\n');
    const run = await cli({ HALYARD_CONFIG: join(root, 'halyard.yml') }, 'inventory', 'list');
    expect(run).toEqual({ exitCode: 65, stdout: '', stderr: `halyard: ${join(root, 'halyard.yml')}:2: unknown key "fork"; did you mean "forks"?\n` });
    const missing = await cli({ HALYARD_CONFIG: join(root, 'nope.yml') }, 'inventory', 'list');
    expect(missing.exitCode).toBe(65);
    expect(missing.stderr).toBe(`halyard: ${join(root, 'nope.yml')}: no such file (named by HALYARD_CONFIG=${join(root, 'nope.yml')}; HALYARD_CONFIG=none reads none)\n`);
  });
});

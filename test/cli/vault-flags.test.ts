// Which vault passwords a command gets from its flags, halyard.yml and ansible.cfg.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { vaultKeyring } from '../../src/cli/vault-flags.js';

function passwordFile(dir: string, name: string, password: string): string {
  const path = join(dir, name);
  writeFileSync(path, `${password}\n`, { mode: 0o600 });
  return path;
}

describe('vaultKeyring with halyard.yml', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hy-vault-flags-'));
  const flagFile = passwordFile(dir, 'flag-pass', 'from-flag');
  const projectFile = passwordFile(dir, 'project-pass', 'from-project');
  const cfgFile = passwordFile(dir, 'cfg-pass', 'from-cfg');
  const sources = async (...args: Parameters<typeof vaultKeyring>) => (await vaultKeyring(...args)).passwords.map((entry) => [entry.source, entry.password.toString()]);

  it("halyard.yml's vault_password_file is read when no vault flag is given, in place of ansible.cfg's", async () => {
    const project = { file: join(dir, 'halyard.yml'), vaultPasswordFile: [projectFile] };
    expect(await sources({}, { vaultPasswordFile: cfgFile }, project)).toEqual([[projectFile, 'from-project']]);
  });

  it('a vault flag beats halyard.yml (whose file this user may not have)', async () => {
    const project = { file: join(dir, 'halyard.yml'), vaultPasswordFile: [join(dir, 'missing')] };
    expect(await sources({ vaultPasswordFile: [flagFile] }, {}, project)).toEqual([[flagFile, 'from-flag']]);
    expect(await sources({ vaultId: [`ops@${flagFile}`] }, {}, project)).toEqual([[flagFile, 'from-flag']]);
  });

  it("without halyard.yml's, ansible.cfg's is read after the flags' (as before)", async () => {
    expect(await sources({ vaultPasswordFile: [flagFile] }, { vaultPasswordFile: cfgFile }, {})).toEqual([
      [flagFile, 'from-flag'],
      [cfgFile, 'from-cfg'],
    ]);
  });

  it('a password file halyard.yml names that cannot be read is an error naming halyard.yml', async () => {
    const project = { file: join(dir, 'halyard.yml'), vaultPasswordFile: [join(dir, 'missing')] };
    await expect(vaultKeyring({}, {}, project)).rejects.toThrow(`${join(dir, 'halyard.yml')}: vault_password_file: cannot read the vault password from ${join(dir, 'missing')} (ENOENT)`);
  });
});

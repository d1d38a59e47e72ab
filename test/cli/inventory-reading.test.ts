// Commands whose inventory comes from a file rather than -i (a backup file's, a daemon job's, and
// `daemon --check` of them) read it as `halyard apply -i` does: vault passwords from the vault flags (backups) or ansible.cfg's
// vault_password_file, connection defaults from ansible.cfg. The host listens nowhere (port 1)
// and HOME holds no key, so each run stops at the first thing after reading the inventory: the
// SSH login, whose error names the user the connection defaults gave.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { encryptVault } from '../../src/vault/vault.js';
import { runCli } from '../support/cli.js';

const PASSWORD = 'reading-vault-pw';

function project(): { dir: string; env: Record<string, string> } {
  const dir = mkdtempSync(join(tmpdir(), 'hy-reading-'));
  const vaulted = encryptVault(Buffer.from('gr4fana-S3cret'), Buffer.from(PASSWORD))
    .split('\n')
    .map((line) => `      ${line}`)
    .join('\n');
  writeFileSync(
    join(dir, 'hosts.yml'),
    `all:\n  hosts:\n    web-1: { ansible_host: 127.0.0.1, ansible_port: 1 }\n  vars:\n    postgres_password: plain\n    grafana_password: !vault |\n${vaulted}\n`,
  );
  writeFileSync(join(dir, 'pass.txt'), `${PASSWORD}\n`);
  writeFileSync(join(dir, 'deploy.cfg'), `[defaults]\nvault_password_file = ${join(dir, 'pass.txt')}\nremote_user = deploy\n`);
  writeFileSync(
    join(dir, 'backup.yml'),
    'inventory: hosts.yml\nbucket: halyard-backups\nendpoint: http://127.0.0.1:9\nregion: us-east-1\nvolumes:\n  - { name: data, kind: dir, hosts: all, path: /srv/data }\n',
  );
  mkdirSync(join(dir, 'state'));
  writeFileSync(
    join(dir, 'daemon.yml'),
    `aws: { region: us-east-1, endpoint: http://127.0.0.1:9 }\ncloudwatch: false\nstate_dir: ${join(dir, 'state')}\njobs:\n` +
      `  - { name: drift, kind: drift, schedule: "0 0 * * * *", playbook: ${resolve(import.meta.dirname, '../../playbooks/examples/stack-files.ts')}, inventory: hosts.yml }\n`,
  );
  mkdirSync(join(dir, 'home'));
  // No key in HOME and no agent: the login fails before any packet, naming the user it would be.
  return { dir, env: { HOME: join(dir, 'home'), SSH_AUTH_SOCK: '', ANSIBLE_CONFIG: '', AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'y' } };
}

describe('inventories read by backups and the daemon', () => {
  it('backup run: a vaulted var needs a password, which --vault-password-file or ansible.cfg gives; ansible.cfg gives remote_user', async () => {
    const { dir, env } = project();
    const bare = await runCli(['backup', 'run', '-c', 'backup.yml', '--json'], { cwd: dir, env });
    expect(bare.exitCode).toBe(65);
    expect(bare.stderr).toContain('grafana_password: holds ansible-vault data; pass --vault-password-file');

    const flagged = await runCli(['backup', 'run', '-c', 'backup.yml', '--json', '--vault-password-file', 'pass.txt'], { cwd: dir, env });
    expect(flagged.exitCode, flagged.stderr).toBe(1);
    expect(flagged.stdout).toContain('no credentials to offer for root');

    const configured = await runCli(['backup', 'run', '-c', 'backup.yml', '--json'], { cwd: dir, env: { ...env, ANSIBLE_CONFIG: join(dir, 'deploy.cfg') } });
    expect(configured.exitCode, configured.stderr).toBe(1);
    expect(configured.stdout).toContain('no credentials to offer for deploy');
    expect(`${flagged.stdout}${configured.stdout}`).not.toContain('gr4fana-S3cret');
  });

  it("backup restore takes the same vault flags (it reads the host's vars before anything else)", async () => {
    const { dir, env } = project();
    const bare = await runCli(['backup', 'restore', '-c', 'backup.yml', '--host', 'web-1', '--volume', 'data'], { cwd: dir, env });
    expect(bare.exitCode).toBe(65);
    expect(bare.stderr).toContain('holds ansible-vault data');
    const flagged = await runCli(['backup', 'restore', '-c', 'backup.yml', '--host', 'web-1', '--volume', 'data', '--vault-password-file', 'pass.txt'], { cwd: dir, env });
    // Past the inventory: the next step connects to the host (the backup is looked up once it
    // answers), with no key to offer here.
    expect(flagged.exitCode, flagged.stderr).toBe(1);
    expect(flagged.stderr).toContain('no credentials to offer for');
    expect(flagged.stderr).not.toContain('ansible-vault');
  });

  it("daemon: a drift job reads its vaulted inventory with ansible.cfg's vault_password_file, as apply does from the daemon's directory", async () => {
    const { dir, env } = project();
    const bare = await runCli(['daemon', '-c', 'daemon.yml', '--run', 'drift'], { cwd: dir, env });
    expect(bare.exitCode).toBe(1);
    expect(bare.stdout).toContain('holds ansible-vault data');
    const configured = await runCli(['daemon', '-c', 'daemon.yml', '--run', 'drift'], { cwd: dir, env: { ...env, ANSIBLE_CONFIG: join(dir, 'deploy.cfg') } });
    expect(configured.stdout).not.toContain('holds ansible-vault data');
    // Past the inventory: the host is checked, and unreachable counts as drift.
    const drift = configured.stdout.split('\n').filter((line) => line.includes('"event":"drift"'));
    expect(drift, configured.stdout).toHaveLength(1);
    expect(JSON.parse(drift[0]!)).toMatchObject({ hosts: 1, drifted: ['web-1'] });
    expect(configured.stdout).not.toContain('gr4fana-S3cret');
  });

  it('daemon --check reads the inventories as the jobs will: a vaulted one is fine with the password, a bad file without it', async () => {
    const { dir, env } = project();
    const bare = await runCli(['daemon', '-c', 'daemon.yml', '--check'], { cwd: dir, env });
    expect(bare.exitCode).toBe(65);
    expect(bare.stdout).toContain(`${join(dir, 'hosts.yml')} (job drift): ${join(dir, 'hosts.yml')}:6: grafana_password: holds ansible-vault data`);
    const configured = await runCli(['daemon', '-c', 'daemon.yml', '--check'], { cwd: dir, env: { ...env, ANSIBLE_CONFIG: join(dir, 'deploy.cfg') } });
    expect(configured.exitCode, configured.stdout).toBe(0);
    expect(configured.stdout).toContain(`${join(dir, 'hosts.yml')} (job drift): ok`);
  });
});

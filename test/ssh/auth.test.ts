import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConnectError } from '../../src/core/errors.js';
import { cachedKeyLoader, defaultIdentityFiles, loadPrivateKey, planAuthentication } from '../../src/ssh/auth.js';
import { generateEd25519OpenSshKey } from '../../src/lab/keys.js';

describe('planAuthentication', () => {
  let home: string;
  let goodKey: string;
  beforeAll(async () => {
    home = await mkdtemp(join(tmpdir(), 'halyard-auth-'));
    await mkdir(join(home, '.ssh'), { mode: 0o700 });
    goodKey = join(home, 'good');
    await writeFile(goodKey, generateEd25519OpenSshKey('test'), { mode: 0o600 });
  });
  afterAll(async () => {
    await rm(home, { recursive: true, force: true });
  });
  const endpoint = (files: string[], explicit: boolean) => ({ user: 'deploy', identityFiles: files, identityFilesExplicit: explicit, identitiesOnly: false });

  it('uses the explicit key file, plus the agent when SSH_AUTH_SOCK points somewhere', async () => {
    const agent = join(home, 'agent.sock');
    await writeFile(agent, '');
    const plan = await planAuthentication(endpoint([goodKey], true), { SSH_AUTH_SOCK: agent }, home);
    expect(plan.sources).toEqual([goodKey, 'ssh-agent']);
    expect(plan.methods.map((method) => [method.type, method.username])).toEqual([
      ['publickey', 'deploy'],
      ['agent', 'deploy'],
    ]);
  });

  it('fails E_KEY_FILE when the explicit key is missing, unreadable or not a key', async () => {
    const notAKey = join(home, 'not-a-key');
    await writeFile(notAKey, 'hello');
    for (const file of [join(home, 'missing'), notAKey]) {
      const error = await planAuthentication(endpoint([file], true), {}, home).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConnectError);
      expect((error as ConnectError).code).toBe('E_KEY_FILE');
    }
  });

  // Root reads any file whatever its mode, so "unreadable" is shown with a path that cannot be read as a file.
  it('fails E_KEY_FILE for a key path that cannot be read (a directory)', async () => {
    const directory = join(home, 'a-directory');
    await mkdir(directory, { recursive: true });
    await expect(planAuthentication(endpoint([directory], true), {}, home)).rejects.toMatchObject({ code: 'E_KEY_FILE' });
  });

  it('skips missing ssh_config IdentityFiles and offers the ones that exist', async () => {
    const plan = await planAuthentication(endpoint([join(home, 'nope'), goodKey], false), {}, home);
    expect(plan.sources).toEqual([goodKey]);
  });

  it('tries the default ~/.ssh keys that exist, skipping encrypted ones with a note', async () => {
    await writeFile(join(home, '.ssh', 'id_ed25519'), generateEd25519OpenSshKey('default'), { mode: 0o600 });
    let encryptedMade = false;
    try {
      execFileSync('ssh-keygen', ['-q', '-t', 'ecdsa', '-N', 'passphrase', '-f', join(home, '.ssh', 'id_ecdsa')]);
      encryptedMade = true;
    } catch {
      // ssh-keygen missing: the encrypted case is covered only where it exists.
    }
    const plan = await planAuthentication(endpoint([], false), {}, home);
    expect(plan.sources).toEqual([join(home, '.ssh', 'id_ed25519')]);
    if (encryptedMade) expect(plan.skipped.join()).toContain('encrypted');
    expect(defaultIdentityFiles(home)).toEqual(['id_ed25519', 'id_ecdsa', 'id_rsa'].map((name) => join(home, '.ssh', name)));
  });

  it('with nothing to offer: E_AUTH_FAILED, or E_KEY_FILE when keys exist but none is usable', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'halyard-auth-empty-'));
    try {
      await expect(planAuthentication(endpoint([], false), {}, empty)).rejects.toMatchObject({ code: 'E_AUTH_FAILED' });
      const bad = join(empty, 'bad');
      await writeFile(bad, 'garbage');
      await expect(planAuthentication(endpoint([bad], false), {}, empty)).rejects.toMatchObject({ code: 'E_KEY_FILE' });
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });
});

describe('cachedKeyLoader', () => {
  it('reads and parses each key file once for all connections of a run, missing files included', async () => {
    const home = await mkdtemp(join(tmpdir(), 'halyard-auth-'));
    try {
      const key = join(home, 'id_ed25519');
      await writeFile(key, generateEd25519OpenSshKey('test'), { mode: 0o600 });
      const reads: string[] = [];
      const load = cachedKeyLoader((file) => {
        reads.push(file);
        return loadPrivateKey(file);
      });
      const endpoint = { user: 'deploy', identityFiles: [key], identityFilesExplicit: true, identitiesOnly: true };
      const plans = await Promise.all(Array.from({ length: 5 }, () => planAuthentication(endpoint, {}, home, load)));
      expect(plans.map((plan) => plan.sources)).toEqual(Array.from({ length: 5 }, () => [key]));
      expect(await load(join(home, 'missing'))).toMatchObject({ ok: false, missing: true });
      await load(join(home, 'missing'));
      expect(reads).toEqual([key, join(home, 'missing')]);
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  });
});

import { execFileSync } from 'node:child_process';
import { createHmac, generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HostKeyError } from '../../src/core/errors.js';
import {
  appendKnownHost,
  checkHostKey,
  entryMatchesHost,
  fingerprintSha256,
  formatKnownHostsLine,
  hashKnownHostsName,
  keyTypeOfBlob,
  knownHostsName,
  knownKeyTypesFor,
  parseKnownHosts,
  readKnownHostsFile,
  readKnownHostsTable,
  KnownHostsTable,
  verifyHostKey,
} from '../../src/ssh/known-hosts.js';

// SSH wire-format blobs for real key types, built the way sshd sends them.
function sshString(value: Buffer | string): Buffer {
  const data = typeof value === 'string' ? Buffer.from(value) : value;
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  return Buffer.concat([length, data]);
}
function ed25519Blob(): Buffer {
  const { publicKey } = generateKeyPairSync('ed25519');
  return Buffer.concat([sshString('ssh-ed25519'), sshString(publicKey.export({ type: 'spki', format: 'der' }).subarray(-32))]);
}
function ecdsaBlob(): Buffer {
  return Buffer.concat([sshString('ecdsa-sha2-nistp256'), sshString('nistp256'), sshString(randomBytes(65))]);
}
function rsaBlob(): Buffer {
  return Buffer.concat([sshString('ssh-rsa'), sshString(Buffer.from([1, 0, 1])), sshString(randomBytes(257))]);
}
function line(host: string, blob: Buffer): string {
  return `${host} ${keyTypeOfBlob(blob)} ${blob.toString('base64')}`;
}

describe('known_hosts names and fingerprints', () => {
  it('uses the bare host on port 22 and [host]:port otherwise, lower-cased', () => {
    expect(knownHostsName('Web1.Example.com', 22)).toBe('web1.example.com');
    expect(knownHostsName('127.0.0.1', 2201)).toBe('[127.0.0.1]:2201');
  });

  it('reads the key type from the blob', () => {
    expect(keyTypeOfBlob(ed25519Blob())).toBe('ssh-ed25519');
    expect(keyTypeOfBlob(ecdsaBlob())).toBe('ecdsa-sha2-nistp256');
    expect(keyTypeOfBlob(rsaBlob())).toBe('ssh-rsa');
    expect(keyTypeOfBlob(Buffer.from([0, 0]))).toBe('');
  });

  it('prints SHA256 fingerprints like OpenSSH (unpadded base64)', () => {
    // ssh-keygen -lf for this fixed blob: the digest of the blob bytes, base64 without '='.
    const blob = Buffer.concat([sshString('ssh-ed25519'), sshString(Buffer.alloc(32, 7))]);
    const fingerprint = fingerprintSha256(blob);
    expect(fingerprint).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
    expect(fingerprint.endsWith('=')).toBe(false);
  });
});

describe('parseKnownHosts', () => {
  it('parses plain, comma lists, [host]:port, markers, comments and skips garbage', () => {
    const a = ed25519Blob();
    const b = ecdsaBlob();
    const c = rsaBlob();
    const text = [
      '# a comment',
      '',
      line('web1,10.0.0.5', a),
      line('[127.0.0.1]:2201', b) + ' trailing comment here',
      `@revoked ${line('*', c)}`,
      `@cert-authority ${line('*.example.com', a)}`,
      '@bogus-marker host ssh-ed25519 AAAA',
      'only-two-fields ssh-ed25519',
      `mismatched-type ssh-rsa ${a.toString('base64')}`,
      '   ' + line('indented', a),
    ].join('\n');
    const entries = parseKnownHosts(text);
    expect(entries.map((entry) => [entry.line, entry.marker, entry.patterns, entry.keyType])).toEqual([
      [3, undefined, ['web1', '10.0.0.5'], 'ssh-ed25519'],
      [4, undefined, ['[127.0.0.1]:2201'], 'ecdsa-sha2-nistp256'],
      [5, 'revoked', ['*'], 'ssh-rsa'],
      [6, 'cert-authority', ['*.example.com'], 'ssh-ed25519'],
      [10, undefined, ['indented'], 'ssh-ed25519'],
    ]);
  });

  it('matches hashed entries built with HMAC-SHA1 of the host string', () => {
    const blob = ed25519Blob();
    const salt = randomBytes(20);
    const hash = createHmac('sha1', salt).update('[127.0.0.1]:2201').digest();
    const hashed = `|1|${salt.toString('base64')}|${hash.toString('base64')}`;
    const [entry] = parseKnownHosts(line(hashed, blob));
    expect(entry?.hashed).toBeDefined();
    expect(entryMatchesHost(entry!, '127.0.0.1', 2201)).toBe(true);
    expect(entryMatchesHost(entry!, '127.0.0.1', 22)).toBe(false);
    expect(entryMatchesHost(entry!, '127.0.0.2', 2201)).toBe(false);
    // Our own hasher produces the same format ssh-keygen -H does.
    const ours = hashKnownHostsName('web1', salt);
    expect(ours).toBe(`|1|${salt.toString('base64')}|${createHmac('sha1', salt).update('web1').digest('base64')}`);
    const [mine] = parseKnownHosts(line(ours, blob));
    expect(entryMatchesHost(mine!, 'WEB1', 22)).toBe(true);
  });

  it('applies wildcards and negation; a plain host only matches port 22', () => {
    const blob = ed25519Blob();
    const [wild] = parseKnownHosts(line('*.example.com,!bad.example.com', blob));
    expect(entryMatchesHost(wild!, 'web.example.com', 22)).toBe(true);
    expect(entryMatchesHost(wild!, 'bad.example.com', 22)).toBe(false);
    expect(entryMatchesHost(wild!, 'web.example.com', 2222)).toBe(false);
    const [ported] = parseKnownHosts(line('[web?.example.com]:2222', blob));
    expect(entryMatchesHost(ported!, 'web1.example.com', 2222)).toBe(true);
    expect(entryMatchesHost(ported!, 'web1.example.com', 22)).toBe(false);
  });
});

describe('checkHostKey', () => {
  const ed = ed25519Blob();
  const edOther = ed25519Blob();
  const ec = ecdsaBlob();

  it('says match, mismatch or unknown; a host known under any key type must present a known key', () => {
    const entries = parseKnownHosts([line('[127.0.0.1]:2201', ed), line('[127.0.0.1]:2202', ec)].join('\n'));
    expect(checkHostKey(entries, '127.0.0.1', 2201, ed)).toEqual({ status: 'match', line: 1 });
    expect(checkHostKey(entries, '127.0.0.1', 2201, edOther)).toEqual({ status: 'mismatch', line: 1, knownType: 'ssh-ed25519' });
    // Only a key of another type than the known one: a changed identity, as OpenSSH refuses it
    // (checked against ssh itself in test/e2e/cli-hostkeys.e2e.test.ts).
    expect(checkHostKey(entries, '127.0.0.1', 2201, ec)).toEqual({ status: 'mismatch', line: 1, knownType: 'ssh-ed25519' });
    expect(checkHostKey(entries, '127.0.0.1', 2203, ed)).toEqual({ status: 'unknown' });
  });

  it('names a same-type entry before another type when both differ', () => {
    const entries = parseKnownHosts([line('web1', ec), line('web1', edOther)].join('\n'));
    expect(checkHostKey(entries, 'web1', 22, ed)).toEqual({ status: 'mismatch', line: 2, knownType: 'ssh-ed25519' });
    // A server presents one key per connection, and it must be one of the keys known for the host.
    expect(checkHostKey(parseKnownHosts(line('web1', ec)), 'web1', 22, ed)).toEqual({ status: 'mismatch', line: 1, knownType: 'ecdsa-sha2-nistp256' });
  });

  it('prefers a matching line over an older different key of the same type', () => {
    const entries = parseKnownHosts([line('web1', edOther), line('web1', ed)].join('\n'));
    expect(checkHostKey(entries, 'web1', 22, ed)).toEqual({ status: 'match', line: 2 });
  });

  it('refuses a revoked key even when another line accepts it; ignores cert-authority lines', () => {
    const entries = parseKnownHosts([line('web1', ed), `@revoked ${line('*', ed)}`, `@cert-authority ${line('*', edOther)}`].join('\n'));
    expect(checkHostKey(entries, 'web1', 22, ed)).toEqual({ status: 'revoked', line: 2 });
    expect(checkHostKey(entries, 'web2', 22, edOther)).toEqual({ status: 'unknown' });
  });

  it('lists the key types known for a host', () => {
    const entries = parseKnownHosts([line('web1', ed), line('web1', ec), line('web2', edOther)].join('\n'));
    expect(knownKeyTypesFor(entries, 'web1', 22)).toEqual(['ssh-ed25519', 'ecdsa-sha2-nistp256']);
  });
});

describe('KnownHostsTable (one parse per file, plain names indexed)', () => {
  const ed = ed25519Blob();
  const edOther = ed25519Blob();
  const ec = ecdsaBlob();
  const text = [
    line('[127.0.0.1]:2201', ed),
    line('web1,WEB2,10.0.0.5', ec),
    `${hashKnownHostsName('web3')} ${keyTypeOfBlob(edOther)} ${edOther.toString('base64')}`,
    line('*.example.com,!bad.example.com', ed),
    `@revoked ${line('web1', ed)}`,
    line('[127.0.0.1]:2201', ec),
    `@cert-authority ${line('*', edOther)}`,
    line('web?', edOther),
  ].join('\n');

  it('gives checkHostKey and knownKeyTypesFor the answers of a full scan, in file order', () => {
    const entries = parseKnownHosts(text);
    const table = new KnownHostsTable(entries);
    const targets: Array<[string, number]> = [['127.0.0.1', 2201], ['web1', 22], ['web2', 22], ['10.0.0.5', 22], ['web3', 22], ['a.example.com', 22], ['bad.example.com', 22], ['web9', 22], ['other', 22], ['127.0.0.1', 2202]];
    for (const [host, port] of targets) {
      expect(knownKeyTypesFor(table.candidates(host, port), host, port)).toEqual(knownKeyTypesFor(entries, host, port));
      for (const blob of [ed, edOther, ec]) expect(checkHostKey(table.candidates(host, port), host, port, blob)).toEqual(checkHostKey(entries, host, port, blob));
    }
    expect(table.candidates('WEB2', 22).map((entry) => entry.line)).toEqual([2, 7, 8]);
  });

  it('looks a plain name up without scanning the other hosts', () => {
    const table = new KnownHostsTable(parseKnownHosts(Array.from({ length: 1000 }, (_, i) => line(`[127.0.0.1]:${30000 + i}`, ed)).join('\n')));
    expect(table.candidates('127.0.0.1', 30500).map((entry) => entry.line)).toEqual([501]);
    expect(table.candidates('127.0.0.1', 29999)).toEqual([]);
  });

  it('parses a file once, and again after it changes', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'halyard-kh-'));
    try {
      const file = join(dir, 'known_hosts');
      expect((await readKnownHostsTable(file)).entries).toEqual([]);
      await writeFile(file, `${line('web1', ed)}\n`);
      const together = await Promise.all([readKnownHostsTable(file), readKnownHostsTable(file)]);
      expect(together[1]).toBe(together[0]);
      const first = await readKnownHostsTable(file);
      expect(first).toBe(together[0]);
      await appendKnownHost(file, 'web2', 22, ec);
      const second = await readKnownHostsTable(file);
      expect(second).not.toBe(first);
      expect(second.candidates('web2', 22).map((entry) => entry.keyType)).toEqual(['ecdsa-sha2-nistp256']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('recording and policies', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'halyard-kh-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('formats lines in [host]:port form for non-22 ports', () => {
    const blob = ed25519Blob();
    expect(formatKnownHostsLine('127.0.0.1', 2201, blob)).toBe(`[127.0.0.1]:2201 ssh-ed25519 ${blob.toString('base64')}`);
    expect(formatKnownHostsLine('Web1', 22, blob)).toBe(`web1 ssh-ed25519 ${blob.toString('base64')}`);
    expect(formatKnownHostsLine('web1', 22, blob, { hash: true })).toMatch(/^\|1\|[A-Za-z0-9+/=]{28}\|[A-Za-z0-9+/=]{28} ssh-ed25519 /);
  });

  it('creates the dir 0700 and the file 0600, and appends after a line without newline', async () => {
    const file = join(dir, 'nested', '.ssh', 'known_hosts');
    const first = ed25519Blob();
    const second = ecdsaBlob();
    await appendKnownHost(file, '127.0.0.1', 2201, first);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, 'nested', '.ssh'))).mode & 0o777).toBe(0o700);
    await writeFile(file, `${await readFile(file, 'utf8')}# no newline at end`);
    await appendKnownHost(file, 'web1', 22, second);
    expect(await readFile(file, 'utf8')).toBe(
      `[127.0.0.1]:2201 ssh-ed25519 ${first.toString('base64')}\n# no newline at end\nweb1 ecdsa-sha2-nistp256 ${second.toString('base64')}\n`,
    );
  });

  it('accept-new records an unknown key once even under parallel first connections', async () => {
    const file = join(dir, 'known_hosts');
    const blob = ed25519Blob();
    const request = { knownHostsFile: file, policy: 'accept-new' as const, hostLabel: 'web1', host: '127.0.0.1', port: 2201, keyBlob: blob };
    const outcomes = await Promise.all([verifyHostKey(request), verifyHostKey(request), verifyHostKey(request)]);
    expect(outcomes.sort()).toEqual(['match', 'match', 'recorded']);
    expect((await readKnownHostsFile(file)).length).toBe(1);
  });

  it('strict refuses an unknown key with E_HOSTKEY_UNKNOWN', async () => {
    const file = join(dir, 'known_hosts');
    await writeFile(file, '');
    const error = await verifyHostKey({ knownHostsFile: file, policy: 'strict', hostLabel: 'web1', host: '127.0.0.1', port: 2201, keyBlob: ed25519Blob() }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HostKeyError);
    expect((error as HostKeyError).code).toBe('E_HOSTKEY_UNKNOWN');
    expect(await readFile(file, 'utf8')).toBe('');
  });

  it('refuses a changed key under every checking policy, naming host, port, type, fingerprint, file and line', async () => {
    const file = join(dir, 'known_hosts');
    const old = ed25519Blob();
    const presented = ed25519Blob();
    await writeFile(file, `# header\n${line('[127.0.0.1]:2201', old)}\n`);
    for (const policy of ['accept-new', 'strict'] as const) {
      const error = await verifyHostKey({ knownHostsFile: file, policy, hostLabel: 'web1', host: '127.0.0.1', port: 2201, keyBlob: presented }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(HostKeyError);
      const { code, message } = error as HostKeyError;
      expect(code).toBe('E_HOSTKEY_CHANGED');
      expect(message).toContain('web1 (127.0.0.1 port 2201)');
      expect(message).toContain('ssh-ed25519');
      expect(message).toContain(fingerprintSha256(presented));
      expect(message).toContain(`${file}:2`);
    }
    // Nothing was appended.
    expect((await readKnownHostsFile(file)).length).toBe(1);
  });

  it('off accepts anything without touching the file', async () => {
    const file = join(dir, 'known_hosts');
    expect(await verifyHostKey({ knownHostsFile: file, policy: 'off', hostLabel: 'x', host: 'x', port: 22, keyBlob: ed25519Blob() })).toBe('unchecked');
    await expect(stat(file)).rejects.toThrow();
  });
});

// .ci/run installs openssh-client; a missing ssh-keygen must fail here, not skip.
describe('agrees with OpenSSH ssh-keygen', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'halyard-kh-ossh-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('fingerprints, hashed entries (ssh-keygen -H) and appended lines (ssh-keygen -F) agree', async () => {
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'key')]);
    const publicLine = (await readFile(join(dir, 'key.pub'), 'utf8')).trim();
    const blob = Buffer.from(publicLine.split(' ')[1] ?? '', 'base64');
    const theirs = execFileSync('ssh-keygen', ['-l', '-f', join(dir, 'key.pub')], { encoding: 'utf8' }).split(' ')[1];
    expect(fingerprintSha256(blob)).toBe(theirs);

    const file = join(dir, 'known_hosts');
    await appendKnownHost(file, '127.0.0.1', 2201, blob);
    await appendKnownHost(file, 'web1.example.com', 22, blob);
    expect(execFileSync('ssh-keygen', ['-F', '[127.0.0.1]:2201', '-f', file], { encoding: 'utf8' })).toContain('[127.0.0.1]:2201 ssh-ed25519');
    expect(execFileSync('ssh-keygen', ['-F', 'web1.example.com', '-f', file], { encoding: 'utf8' })).toContain('web1.example.com ssh-ed25519');

    execFileSync('ssh-keygen', ['-H', '-f', file], { stdio: 'ignore' });
    const hashed = await readKnownHostsFile(file);
    expect(hashed.every((entry) => entry.hashed !== undefined)).toBe(true);
    expect(checkHostKey(hashed, '127.0.0.1', 2201, blob)).toEqual({ status: 'match', line: 1 });
    expect(checkHostKey(hashed, 'web1.example.com', 22, blob)).toEqual({ status: 'match', line: 2 });
    expect(checkHostKey(hashed, 'web1.example.com', 2201, blob)).toEqual({ status: 'unknown' });
  });
});

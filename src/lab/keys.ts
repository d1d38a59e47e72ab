import { generateKeyPairSync } from 'node:crypto';
import { chmod, link, mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LabError } from './errors.js';
import { labStateDir } from './paths.js';

// The lab's SSH client key: one ed25519 pair per machine, baked into host images' authorized_keys.
export interface LabKey {
  privateKeyFile: string;
  publicKeyFile: string;
  /** The `ssh-ed25519 AAAA... comment` line. */
  publicKey: string;
}

const KEY_COMMENT = 'halyard-lab';

// Returns the lab key pair, generating it once (atomically, safe against parallel callers).
export async function ensureLabKey(stateDir: string = labStateDir()): Promise<LabKey> {
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  const privateKeyFile = join(stateDir, 'id_ed25519');
  const publicKeyFile = `${privateKeyFile}.pub`;
  let pem = await readFile(privateKeyFile, 'utf8').catch(() => undefined);
  if (pem === undefined) {
    const temp = `${privateKeyFile}.tmp-${process.pid}-${Date.now()}`;
    await writeFile(temp, generateEd25519OpenSshKey(KEY_COMMENT), { mode: 0o600 });
    try {
      await link(temp, privateKeyFile); // fails with EEXIST when another process won the race
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    } finally {
      await unlink(temp).catch(() => {});
    }
    pem = await readFile(privateKeyFile, 'utf8');
  }
  await chmod(privateKeyFile, 0o600);
  const publicKey = openSshPublicKeyFromPrivate(pem);
  const current = await readFile(publicKeyFile, 'utf8').catch(() => '');
  if (current.trim() !== publicKey) await writeFile(publicKeyFile, `${publicKey}\n`, { mode: 0o644 });
  return { privateKeyFile, publicKeyFile, publicKey };
}

// Makes an unencrypted ed25519 private key in OpenSSH's own format (what ssh2 and OpenSSH both read).
export function generateEd25519OpenSshKey(comment: string): string {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const pub = publicKey.export({ type: 'spki', format: 'der' }).subarray(-32);
  const seed = privateKey.export({ type: 'pkcs8', format: 'der' }).subarray(-32);
  const keyType = Buffer.from('ssh-ed25519');
  const publicBlob = Buffer.concat([sshString(keyType), sshString(pub)]);
  const check = Buffer.alloc(4);
  check.writeUInt32BE(Math.floor(Math.random() * 0xffffffff));
  let secret = Buffer.concat([
    check,
    check,
    sshString(keyType),
    sshString(pub),
    sshString(Buffer.concat([seed, pub])),
    sshString(Buffer.from(comment)),
  ]);
  const padding: number[] = [];
  for (let i = 1; (secret.length + padding.length) % 8 !== 0; i++) padding.push(i);
  secret = Buffer.concat([secret, Buffer.from(padding)]);
  const nkeys = Buffer.alloc(4);
  nkeys.writeUInt32BE(1);
  const body = Buffer.concat([
    Buffer.from('openssh-key-v1\0'),
    sshString(Buffer.from('none')),
    sshString(Buffer.from('none')),
    sshString(Buffer.alloc(0)),
    nkeys,
    sshString(publicBlob),
    sshString(secret),
  ]);
  const lines = body.toString('base64').match(/.{1,70}/g) ?? [];
  return `-----BEGIN OPENSSH PRIVATE KEY-----\n${lines.join('\n')}\n-----END OPENSSH PRIVATE KEY-----\n`;
}

// Reads the public key line out of an unencrypted OpenSSH-format private key.
export function openSshPublicKeyFromPrivate(pem: string): string {
  const base64 = pem
    .replace(/-----(BEGIN|END) OPENSSH PRIVATE KEY-----/g, '')
    .replace(/\s+/g, '');
  const body = Buffer.from(base64, 'base64');
  const magic = 'openssh-key-v1\0';
  if (body.subarray(0, magic.length).toString('latin1') !== magic) {
    throw new LabError('E_LAB_BAD_INPUT', 'lab key is not an OpenSSH private key');
  }
  let offset = magic.length;
  const next = (): Buffer => {
    const length = body.readUInt32BE(offset);
    const value = body.subarray(offset + 4, offset + 4 + length);
    offset += 4 + length;
    return value;
  };
  next(); // cipher
  next(); // kdf
  next(); // kdf options
  offset += 4; // number of keys
  const publicBlob = next();
  const keyType = publicBlob.subarray(4, 4 + publicBlob.readUInt32BE(0)).toString('latin1');
  return `${keyType} ${publicBlob.toString('base64')} ${KEY_COMMENT}`;
}

function sshString(value: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(value.length);
  return Buffer.concat([length, value]);
}

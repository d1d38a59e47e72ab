import { createCipheriv, createDecipheriv, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';

// ansible-vault's format, byte for byte (ansible/parsing/vault, VaultAES256), so files halyard
// writes open with ansible-vault and the other way round:
//   $ANSIBLE_VAULT;1.1;AES256            (1.2 adds ";<vault id>")
//   hex( hex(salt) \n hex(hmac) \n hex(ciphertext) ), in lines of 80
// PBKDF2-HMAC-SHA256 (10000 rounds) of the password and a 32-byte salt gives the AES-256 key, the
// HMAC-SHA256 key and the CTR counter; the plaintext is PKCS#7-padded to 16 bytes.

export const VAULT_HEADER = '$ANSIBLE_VAULT';

// One vault envelope, parsed.
export interface VaultEnvelope {
  version: string;
  cipher: string;
  /** The label of a 1.2 envelope ("prod" in `--vault-id prod@...`). */
  vaultId?: string;
  salt: Buffer;
  hmac: string;
  ciphertext: Buffer;
}

/** Why a text is not a vault envelope, or could not be opened. */
export class VaultFormatError extends Error {}

// Whether text (a file, or a `!vault` value) starts with the vault header.
export function isVaultText(text: string | Buffer): boolean {
  return (typeof text === 'string' ? text : text.subarray(0, VAULT_HEADER.length).toString('latin1')).trimStart().startsWith(VAULT_HEADER);
}

// Reads the envelope; throws VaultFormatError on anything else.
export function parseVaultText(text: string): VaultEnvelope {
  const lines = text.trim().split(/\r?\n/);
  const header = (lines[0] ?? '').trim().split(';').map((part) => part.trim());
  if (header[0] !== VAULT_HEADER || header.length < 3) throw new VaultFormatError('not an ansible-vault header');
  const [, version, cipher, vaultId] = header;
  if (version !== '1.1' && version !== '1.2') throw new VaultFormatError(`vault format ${version} is not supported (1.1 and 1.2 are)`);
  if (cipher !== 'AES256') throw new VaultFormatError(`vault cipher ${cipher} is not supported (AES256 is)`);
  const body = unhex(lines.slice(1).join('').replace(/\s+/g, ''), 'the vault body').toString('latin1');
  const [saltHex, hmac, cipherHex, ...rest] = body.split('\n');
  if (saltHex === undefined || hmac === undefined || cipherHex === undefined || rest.length > 0) throw new VaultFormatError('the vault body does not hold salt, hmac and ciphertext');
  return {
    version: version!,
    cipher: cipher!,
    ...(version === '1.2' && vaultId ? { vaultId } : {}),
    salt: unhex(saltHex, 'the salt'),
    hmac: hmac.trim().toLowerCase(),
    ciphertext: unhex(cipherHex, 'the ciphertext'),
  };
}

function unhex(text: string, what: string): Buffer {
  if (!/^(?:[0-9a-fA-F]{2})*$/.test(text)) throw new VaultFormatError(`${what} is not hexadecimal`);
  return Buffer.from(text, 'hex');
}

function keys(password: Buffer, salt: Buffer): { aes: Buffer; hmac: Buffer; iv: Buffer } {
  const derived = pbkdf2Sync(password, salt, 10_000, 80, 'sha256');
  return { aes: derived.subarray(0, 32), hmac: derived.subarray(32, 64), iv: derived.subarray(64, 80) };
}

// The plaintext, or undefined when the password is not the one it was locked with.
export function decryptVault(envelope: VaultEnvelope, password: Buffer): Buffer | undefined {
  const key = keys(password, envelope.salt);
  const expected = createHmac('sha256', key.hmac).update(envelope.ciphertext).digest();
  const given = Buffer.from(envelope.hmac, 'hex');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
  const decipher = createDecipheriv('aes-256-ctr', key.aes, key.iv);
  const padded = Buffer.concat([decipher.update(envelope.ciphertext), decipher.final()]);
  const pad = padded[padded.length - 1] ?? 0;
  if (pad < 1 || pad > 16 || padded.length < pad || !padded.subarray(padded.length - pad).every((byte) => byte === pad)) {
    throw new VaultFormatError('the decrypted data has no valid padding');
  }
  return padded.subarray(0, padded.length - pad);
}

// Encrypts as ansible-vault encrypt does: 1.1, or 1.2 with a vault id other than "default".
export function encryptVault(plaintext: Buffer, password: Buffer, vaultId?: string): string {
  const salt = randomBytes(32);
  const key = keys(password, salt);
  const pad = 16 - (plaintext.length % 16);
  const cipher = createCipheriv('aes-256-ctr', key.aes, key.iv);
  const ciphertext = Buffer.concat([cipher.update(Buffer.concat([plaintext, Buffer.alloc(pad, pad)])), cipher.final()]);
  const hmac = createHmac('sha256', key.hmac).update(ciphertext).digest('hex');
  const body = Buffer.from(`${salt.toString('hex')}\n${hmac}\n${ciphertext.toString('hex')}`, 'latin1').toString('hex');
  const header = vaultId && vaultId !== 'default' ? `${VAULT_HEADER};1.2;AES256;${vaultId}` : `${VAULT_HEADER};1.1;AES256`;
  return `${header}\n${body.replace(/(.{80})/g, '$1\n').replace(/\n$/, '')}\n`;
}

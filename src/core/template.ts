import { createHash } from 'node:crypto';
import { SECRET_MASK, Secret, isSecret } from './secret.js';

/** Brand shared by every copy of this module, as for Secret. */
const SECRET_TEXT_BRAND = Symbol.for('halyard.secret-text');

// Whether a value is a SecretText, from any copy of this module.
export function isSecretText(value: unknown): value is SecretText {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[SECRET_TEXT_BRAND] === true;
}

// Text assembled from plain parts and secrets: lays down real bytes, prints only masks.
export class SecretText {
  readonly parts: readonly (string | Secret)[];
  readonly [SECRET_TEXT_BRAND] = true;

  constructor(parts: readonly (string | Secret)[]) {
    this.parts = parts;
  }

  /** The real text, for sending to a host on stdin. */
  reveal(): string {
    return this.parts.map((part) => (isSecret(part) ? part.reveal() : part)).join('');
  }

  /** The text with every secret replaced by the mask, safe to print or diff. */
  masked(): string {
    return this.parts.map((part) => (isSecret(part) ? SECRET_MASK : part)).join('');
  }

  get hasSecrets(): boolean {
    return this.parts.some(isSecret);
  }

  toString(): string {
    return this.masked();
  }

  toJSON(): string {
    return this.masked();
  }
}

// What a file resource may hold: plain text, raw bytes, one secret, or a template result.
export type FileContent = string | Buffer | Secret | SecretText;

// Tagged template for typed templates: `template\`PASSWORD=${vars.password}\n\`` keeps secrets typed.
export function template(strings: TemplateStringsArray, ...values: unknown[]): SecretText {
  const parts: (string | Secret)[] = [];
  strings.forEach((text, index) => {
    if (text) parts.push(text);
    if (index < values.length) parts.push(...templateValueParts(values[index]));
  });
  return new SecretText(parts);
}

function templateValueParts(value: unknown): (string | Secret)[] {
  if (isSecret(value)) return [value];
  if (isSecretText(value)) return [...value.parts];
  if (value === undefined || value === null) return [''];
  if (typeof value === 'object') return [JSON.stringify(value)];
  return [String(value)];
}

// The bytes a host must end up with.
export function contentBytes(content: FileContent): Buffer {
  if (Buffer.isBuffer(content)) return content;
  if (typeof content === 'string') return Buffer.from(content, 'utf8');
  return Buffer.from(content.reveal(), 'utf8');
}

// True when printing the content (or a diff of it) would leak a secret.
export function contentIsSecret(content: FileContent): boolean {
  if (isSecret(content)) return true;
  if (isSecretText(content)) return content.hasSecrets;
  return false;
}

// Text safe to show in a diff: secrets masked; undefined for binary content.
export function contentForDisplay(content: FileContent): string | undefined {
  if (Buffer.isBuffer(content)) return isProbablyText(content) ? content.toString('utf8') : undefined;
  if (typeof content === 'string') return content;
  if (isSecret(content)) return SECRET_MASK;
  return content.masked();
}

// sha256 hex of the content's bytes, compared with the host's sha256sum.
export function contentSha256(content: FileContent): string {
  return createHash('sha256').update(contentBytes(content)).digest('hex');
}

function isProbablyText(bytes: Buffer): boolean {
  return !bytes.subarray(0, 8000).includes(0);
}

import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { statSync } from 'node:fs';
import { mkdir, open, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { HostKeyError } from '../core/errors.js';
import type { HostKeyPolicy } from './types.js';

/** One key line of a known_hosts file (comments and blank lines are skipped). */
export interface KnownHostEntry {
  /** 1-based line number, for messages that point at the line to fix. */
  line: number;
  marker: 'revoked' | 'cert-authority' | undefined;
  /** Host patterns of a plain entry (`web1,10.0.0.5,[web1]:2222`, `*.example.com`, `!bad`). */
  patterns: string[] | undefined;
  /** Salt and HMAC-SHA1 of a hashed entry (`|1|salt|hash`). */
  hashed: { salt: Buffer; hash: Buffer } | undefined;
  keyType: string;
  keyBlob: Buffer;
}

/** What known_hosts says about a key a host presented. */
export type HostKeyVerdict =
  | { status: 'match'; line: number }
  | { status: 'mismatch'; line: number; knownType: string }
  | { status: 'revoked'; line: number }
  | { status: 'unknown' };

// The name OpenSSH looks up and records: `host` on port 22, `[host]:port` otherwise.
export function knownHostsName(host: string, port: number): string {
  const lower = host.toLowerCase();
  return port === 22 ? lower : `[${lower}]:${port}`;
}

// Parses known_hosts text; malformed lines are skipped as OpenSSH does, never fatal.
export function parseKnownHosts(text: string): KnownHostEntry[] {
  const entries: KnownHostEntry[] = [];
  const lines = text.split('\n');
  for (let index = 0; index < lines.length; index += 1) {
    const entry = parseKnownHostsLine(lines[index] ?? '', index + 1);
    if (entry) entries.push(entry);
  }
  return entries;
}

// Parses one known_hosts line, or returns undefined for comments, blanks and malformed lines.
export function parseKnownHostsLine(rawLine: string, lineNumber: number): KnownHostEntry | undefined {
  const trimmed = rawLine.trim();
  if (trimmed === '' || trimmed.startsWith('#')) return undefined;
  const fields = trimmed.split(/[ \t]+/);
  let marker: KnownHostEntry['marker'];
  if (fields[0]?.startsWith('@')) {
    const name = fields.shift();
    if (name === '@revoked') marker = 'revoked';
    else if (name === '@cert-authority') marker = 'cert-authority';
    else return undefined;
  }
  const [hostField, keyType, keyBase64] = fields;
  if (!hostField || !keyType || !keyBase64) return undefined;
  const keyBlob = Buffer.from(keyBase64, 'base64');
  if (keyBlob.length === 0) return undefined;
  // A key blob starts with its own type; a line whose two disagree is corrupt.
  if (keyTypeOfBlob(keyBlob) !== keyType) return undefined;

  if (hostField.startsWith('|')) {
    const hashed = parseHashedHost(hostField);
    if (!hashed) return undefined;
    return { line: lineNumber, marker, patterns: undefined, hashed, keyType, keyBlob };
  }
  return { line: lineNumber, marker, patterns: hostField.split(','), hashed: undefined, keyType, keyBlob };
}

function parseHashedHost(field: string): { salt: Buffer; hash: Buffer } | undefined {
  const parts = field.split('|');
  // ['', '1', salt, hash]
  if (parts.length !== 4 || parts[1] !== '1' || !parts[2] || !parts[3]) return undefined;
  const salt = Buffer.from(parts[2], 'base64');
  const hash = Buffer.from(parts[3], 'base64');
  if (salt.length !== 20 || hash.length !== 20) return undefined;
  return { salt, hash };
}

// Hashes a known_hosts name the way `ssh-keygen -H` does: `|1|base64(salt)|base64(HMAC-SHA1(salt, name))`.
export function hashKnownHostsName(name: string, salt: Buffer = randomBytes(20)): string {
  const hash = createHmac('sha1', salt).update(name).digest();
  return `|1|${salt.toString('base64')}|${hash.toString('base64')}`;
}

// True when an entry names this host and port (patterns with wildcards and `!negation`, or a hashed name).
export function entryMatchesHost(entry: KnownHostEntry, host: string, port: number): boolean {
  const name = knownHostsName(host, port);
  if (entry.hashed) {
    const hash = createHmac('sha1', entry.hashed.salt).update(name).digest();
    return timingSafeEqual(hash, entry.hashed.hash);
  }
  let matched = false;
  for (const pattern of entry.patterns ?? []) {
    const negated = pattern.startsWith('!');
    const body = (negated ? pattern.slice(1) : pattern).toLowerCase();
    if (!globMatches(body, name)) continue;
    if (negated) return false;
    matched = true;
  }
  return matched;
}

// OpenSSH host pattern matching: `*` any run of characters, `?` exactly one.
function globMatches(pattern: string, text: string): boolean {
  if (!pattern.includes('*') && !pattern.includes('?')) return pattern === text;
  const source = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${source}$`, 's').test(text);
}

// Decides what known_hosts says about a key: revoked beats match, and a host known under any key
// must present one of its known keys. Offering only other types (an RSA key where an ed25519 key
// is known) is a changed identity, refused like a changed key; a same-type entry is named first.
export function checkHostKey(entries: readonly KnownHostEntry[], host: string, port: number, keyBlob: Buffer): HostKeyVerdict {
  const keyType = keyTypeOfBlob(keyBlob);
  let sameType: KnownHostEntry | undefined;
  let otherType: KnownHostEntry | undefined;
  let matchLine: number | undefined;
  for (const entry of entries) {
    if (entry.marker === 'cert-authority') continue;
    if (!entryMatchesHost(entry, host, port)) continue;
    const sameKey = entry.keyBlob.equals(keyBlob);
    if (entry.marker === 'revoked') {
      if (sameKey) return { status: 'revoked', line: entry.line };
      continue;
    }
    if (sameKey) matchLine ??= entry.line;
    else if (entry.keyType === keyType) sameType ??= entry;
    else otherType ??= entry;
  }
  if (matchLine !== undefined) return { status: 'match', line: matchLine };
  const known = sameType ?? otherType;
  if (known) return { status: 'mismatch', line: known.line, knownType: known.keyType };
  return { status: 'unknown' };
}

// Key types known_hosts holds for a host, so the client can ask for those first (as OpenSSH does).
export function knownKeyTypesFor(entries: readonly KnownHostEntry[], host: string, port: number): string[] {
  const types: string[] = [];
  for (const entry of entries) {
    if (entry.marker !== undefined || !entryMatchesHost(entry, host, port)) continue;
    if (!types.includes(entry.keyType)) types.push(entry.keyType);
  }
  return types;
}

// Reads the key type from an SSH wire-format public key: its first length-prefixed string.
export function keyTypeOfBlob(keyBlob: Buffer): string {
  if (keyBlob.length < 4) return '';
  const length = keyBlob.readUInt32BE(0);
  if (length === 0 || length > 64 || 4 + length > keyBlob.length) return '';
  return keyBlob.subarray(4, 4 + length).toString('latin1');
}

// The fingerprint OpenSSH prints: `SHA256:` and unpadded base64 of the key blob's SHA-256.
export function fingerprintSha256(keyBlob: Buffer): string {
  return `SHA256:${createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '')}`;
}

// One known_hosts line for a host key, in the `[host]:port` form when the port is not 22.
export function formatKnownHostsLine(host: string, port: number, keyBlob: Buffer, options: { hash?: boolean } = {}): string {
  const name = knownHostsName(host, port);
  const hostField = options.hash ? hashKnownHostsName(name) : name;
  return `${hostField} ${keyTypeOfBlob(keyBlob)} ${keyBlob.toString('base64')}`;
}

// Reads and parses a known_hosts file; a missing file is an empty one.
export async function readKnownHostsFile(file: string): Promise<KnownHostEntry[]> {
  try {
    return parseKnownHosts(await readFile(file, 'utf8'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

// A parsed known_hosts file with its plain host names indexed: every connection of a run looks its
// host up twice, and a fleet's file holds a line or two per host, so parsing and scanning it each
// time costs O(hosts²) (measured on a 1000-host no-op: ~9 of the controller's 25 s of main-thread
// CPU, and its garbage took peak RSS to 451 MB; 166 MB with the table).
export class KnownHostsTable {
  readonly entries: readonly KnownHostEntry[];
  /** Entries by each of their names, for entries that list plain names only. */
  readonly #byName = new Map<string, KnownHostEntry[]>();
  /** Hashed entries and entries with wildcards or negations: matched one by one, as OpenSSH does. */
  readonly #scanned: KnownHostEntry[] = [];
  /** Candidates by looked-up name: a connection looks its host up twice, and a hashed line costs an HMAC each time. */
  readonly #looked = new Map<string, readonly KnownHostEntry[]>();

  constructor(entries: readonly KnownHostEntry[]) {
    this.entries = entries;
    for (const entry of entries) {
      const patterns = entry.patterns;
      if (patterns === undefined || patterns.some((pattern) => /[*?!]/.test(pattern))) {
        this.#scanned.push(entry);
        continue;
      }
      for (const name of new Set(patterns.map((pattern) => pattern.toLowerCase()))) {
        const list = this.#byName.get(name);
        if (list) list.push(entry);
        else this.#byName.set(name, [entry]);
      }
    }
  }

  // The entries that may name this host and port, in file order (checkHostKey and
  // knownKeyTypesFor still match each one, so the answer is the full scan's). Hashed lines are
  // still tried one by one per host, as OpenSSH does: a hashed file of N lines costs N HMACs.
  candidates(host: string, port: number): readonly KnownHostEntry[] {
    const name = knownHostsName(host, port);
    const named = this.#byName.get(name) ?? [];
    if (this.#scanned.length === 0) return named;
    let found = this.#looked.get(name);
    if (found === undefined) {
      const scanned = this.#scanned.filter((entry) => entryMatchesHost(entry, host, port));
      found = named.length === 0 ? scanned : [...named, ...scanned].sort((a, b) => a.line - b.line);
      this.#looked.set(name, found);
    }
    return found;
  }
}

// Parsed files by path, with the identity of the file they were read from; the promise is kept,
// so connections that start together share one read.
const tables = new Map<string, { identity: string; table: Promise<KnownHostsTable> }>();

// The table of a known_hosts file, parsed again only when the file changed (inode, size, mtime or
// ctime differ: an append by this run, an edit by hand); a missing file is an empty table.
export async function readKnownHostsTable(file: string): Promise<KnownHostsTable> {
  // statSync on purpose: ~10 µs, where the promise's thread-pool round trip measured ~0.5 ms of
  // main-thread time per connection under a 1000-host run's crypto load.
  const info = statSync(file, { bigint: true, throwIfNoEntry: false });
  if (info === undefined) return new KnownHostsTable([]);
  const identity = `${info.ino}:${info.size}:${info.mtimeNs}:${info.ctimeNs}`;
  const cached = tables.get(file);
  if (cached?.identity === identity) return cached.table;
  const table = readKnownHostsFile(file).then((entries) => new KnownHostsTable(entries));
  tables.set(file, { identity, table });
  // A failed read is not kept: the next connection tries again.
  table.catch(() => {
    if (tables.get(file)?.table === table) tables.delete(file);
  });
  return table;
}

// Appends one line with a single O_APPEND write (never a partial line), creating the dir 0700 and file 0600.
export async function appendKnownHost(file: string, host: string, port: number, keyBlob: Buffer): Promise<void> {
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  const handle = await open(file, 'a+', 0o600);
  try {
    const { size } = await handle.stat();
    let prefix = '';
    if (size > 0) {
      const last = Buffer.alloc(1);
      await handle.read(last, 0, 1, size - 1);
      if (last[0] !== 0x0a) prefix = '\n';
    }
    await handle.appendFile(`${prefix}${formatKnownHostsLine(host, port, keyBlob)}\n`);
  } finally {
    await handle.close();
  }
}

/** Where a host key came from, for messages. */
export interface HostKeyCheckRequest {
  knownHostsFile: string;
  policy: HostKeyPolicy;
  /** Inventory name, for messages. */
  hostLabel: string;
  host: string;
  port: number;
  keyBlob: Buffer;
}

// Serializes accept-new writes per file so parallel first connections record a key once.
const fileQueues = new Map<string, Promise<unknown>>();

function inFileQueue<T>(file: string, work: () => Promise<T>): Promise<T> {
  const previous = fileQueues.get(file) ?? Promise.resolve();
  const next = previous.then(work, work);
  const settled = next.catch(() => undefined);
  fileQueues.set(file, settled);
  void settled.then(() => {
    if (fileQueues.get(file) === settled) fileQueues.delete(file);
  });
  return next;
}

// Applies the host-key policy to a presented key; throws HostKeyError to refuse, records it under accept-new.
export async function verifyHostKey(request: HostKeyCheckRequest): Promise<'match' | 'recorded' | 'unchecked'> {
  if (request.policy === 'off') return 'unchecked';
  const decide = async (): Promise<'match' | 'recorded'> => {
    const table = await readKnownHostsTable(request.knownHostsFile);
    const verdict = checkHostKey(table.candidates(request.host, request.port), request.host, request.port, request.keyBlob);
    if (verdict.status === 'match') return 'match';
    if (verdict.status === 'mismatch') throw new HostKeyError('E_HOSTKEY_CHANGED', describeChangedKey(request, verdict.line, verdict.knownType));
    if (verdict.status === 'revoked') throw new HostKeyError('E_HOSTKEY_CHANGED', describeRevokedKey(request, verdict.line));
    if (request.policy === 'strict') {
      throw new HostKeyError('E_HOSTKEY_UNKNOWN', describeUnknownKey(request));
    }
    await appendKnownHost(request.knownHostsFile, request.host, request.port, request.keyBlob);
    return 'recorded';
  };
  // Only accept-new writes; reading alone needs no queue.
  return request.policy === 'accept-new' ? inFileQueue(request.knownHostsFile, decide) : decide();
}

function describeTarget(request: HostKeyCheckRequest): string {
  const where = `${request.host} port ${request.port}`;
  return request.hostLabel && request.hostLabel !== request.host ? `${request.hostLabel} (${where})` : where;
}

function describeRevokedKey(request: HostKeyCheckRequest, line: number): string {
  return (
    `host key for ${describeTarget(request)} is REVOKED: the server presents ${keyTypeOfBlob(request.keyBlob)} key ` +
    `${fingerprintSha256(request.keyBlob)}, which ${request.knownHostsFile}:${line} marks @revoked. Refusing to connect.`
  );
}

// One message for every changed identity: a different key of the same type, or only keys of types
// known_hosts does not hold for this host.
function describeChangedKey(request: HostKeyCheckRequest, line: number, knownType: string): string {
  const name = knownHostsName(request.host, request.port);
  return (
    `host key for ${describeTarget(request)} has CHANGED: the server now presents ${keyTypeOfBlob(request.keyBlob)} key ` +
    `${fingerprintSha256(request.keyBlob)}, but ${request.knownHostsFile}:${line} holds a different ${knownType} key for it. ` +
    `Someone may be intercepting the connection, or the host was rebuilt. Refusing to connect. If the change is expected, ` +
    `remove the old key (ssh-keygen -R '${name}' -f ${request.knownHostsFile}) and connect again.`
  );
}

function describeUnknownKey(request: HostKeyCheckRequest): string {
  return (
    `host key for ${describeTarget(request)} is not in ${request.knownHostsFile} and strict host key checking is on: ` +
    `the server presents ${keyTypeOfBlob(request.keyBlob)} key ${fingerprintSha256(request.keyBlob)}. ` +
    `Verify it and add it (ssh-keyscan -p ${request.port} ${request.host} >> ${request.knownHostsFile}), ` +
    `or connect once without --strict-host-keys.`
  );
}

import { timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';

// Checks AWS Signature Version 4 on an incoming request by signing the same canonical request
// with the secret key the emulator knows for the access key id, using the SDK's own signer.

export interface TestCredentials {
  accessKeyId: string;
  secretAccessKey: string;
}

/** The parts of `Authorization: AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...`. */
export interface ParsedAuthorization {
  accessKeyId: string;
  date: string;
  region: string;
  service: string;
  signedHeaders: string[];
  signature: string;
}

export type SignatureCheck =
  | { ok: true; auth: ParsedAuthorization }
  | { ok: false; reason: 'missing' | 'malformed' | 'unknown-key' | 'mismatch'; auth?: ParsedAuthorization };

export function parseAuthorization(header: string | undefined): ParsedAuthorization | undefined {
  if (!header) return undefined;
  const match =
    /^AWS4-HMAC-SHA256\s+Credential=([^/,\s]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request,\s*SignedHeaders=([^,\s]+),\s*Signature=([0-9a-f]{64})$/.exec(
      header.trim(),
    );
  if (!match) return undefined;
  const [, accessKeyId, date, region, service, signedHeaders, signature] = match;
  return {
    accessKeyId: accessKeyId!,
    date: date!,
    region: region!,
    service: service!,
    signedHeaders: signedHeaders!.split(';'),
    signature: signature!,
  };
}

/** `20260102T030405Z` → Date. */
function parseAmzDate(value: string | undefined): Date | undefined {
  const match = value ? /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value) : null;
  if (!match) return undefined;
  const [, y, mo, d, h, mi, s] = match.map(Number) as number[];
  return new Date(Date.UTC(y!, mo! - 1, d!, h!, mi!, s!));
}

export async function verifySignature(
  request: { method: string; url: string; headers: IncomingHttpHeaders; body: Buffer },
  keys: Map<string, string>,
  /** S3 signs the path as sent (no second URI-encoding) and the payload hash is its x-amz-content-sha256 header. */
  options: { uriEscapePath?: boolean } = {},
): Promise<SignatureCheck> {
  const header = request.headers.authorization;
  if (!header) return { ok: false, reason: 'missing' };
  const auth = parseAuthorization(header);
  if (!auth) return { ok: false, reason: 'malformed' };
  const secretAccessKey = keys.get(auth.accessKeyId);
  if (secretAccessKey === undefined) return { ok: false, reason: 'unknown-key', auth };
  const signingDate = parseAmzDate(headerValue(request.headers['x-amz-date']));
  if (!signingDate || !auth.signedHeaders.includes('host')) return { ok: false, reason: 'malformed', auth };

  // Only the headers the client signed take part, exactly as it sent them.
  const headers: Record<string, string> = {};
  for (const name of auth.signedHeaders) {
    const value = headerValue(request.headers[name]);
    if (value === undefined) return { ok: false, reason: 'mismatch', auth };
    headers[name] = value;
  }
  const url = new URL(request.url, `http://${headers.host}`);
  const query: Record<string, string | string[]> = {};
  for (const [key, value] of url.searchParams) {
    const existing = query[key];
    query[key] = existing === undefined ? value : Array.isArray(existing) ? [...existing, value] : [existing, value];
  }
  const signer = new SignatureV4({
    credentials: { accessKeyId: auth.accessKeyId, secretAccessKey },
    region: auth.region,
    service: auth.service,
    sha256: Sha256,
    uriEscapePath: options.uriEscapePath ?? true,
  });
  const signed = await signer.sign(
    {
      method: request.method,
      protocol: 'http:',
      hostname: url.hostname,
      port: url.port ? Number(url.port) : undefined,
      path: url.pathname,
      query,
      headers,
      body: request.body,
    },
    { signingDate, signingRegion: auth.region, signingService: auth.service },
  );
  const expected = parseAuthorization(signed.headers.authorization);
  if (!expected) return { ok: false, reason: 'mismatch', auth };
  const a = Buffer.from(expected.signature);
  const b = Buffer.from(auth.signature);
  const same = a.length === b.length && timingSafeEqual(a, b) && expected.signedHeaders.join(';') === auth.signedHeaders.join(';');
  return same ? { ok: true, auth } : { ok: false, reason: 'mismatch', auth };
}

function headerValue(value: string | string[] | undefined): string | undefined {
  if (value === undefined) return undefined;
  // Canonical form joins repeated headers with commas and trims runs of spaces (SigV4 rules).
  return (Array.isArray(value) ? value.join(',') : value).trim().replace(/\s+/g, ' ');
}

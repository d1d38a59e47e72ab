import { randomUUID } from 'node:crypto';

// Wire-format helpers shared by the emulated services: form bodies (awsQuery, ec2Query), XML
// responses, and the error shapes of each protocol.

/** What a service handler answers; the server writes it. */
export interface WireResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** An error a handler throws; each protocol renders it in its own shape. */
export class ServiceError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
    /** Query "Type": Sender for client mistakes, Receiver for server faults. */
    readonly type: 'Sender' | 'Receiver' = status >= 500 ? 'Receiver' : 'Sender',
    /** awsJson `__type` when it differs from the code (CloudWatch's query-compatible shapes). */
    readonly jsonType?: string,
  ) {
    super(message);
  }
}

// --- form bodies -------------------------------------------------------------------------------

/** A decoded `application/x-www-form-urlencoded` body, flat (`Filter.1.Value.2` stays one key). */
export type FormParams = Map<string, string>;

export function parseForm(body: string): FormParams {
  const params: FormParams = new Map();
  for (const [key, value] of new URLSearchParams(body)) params.set(key, value);
  return params;
}

/** Values of a flattened or member list: `Name.1`, `Name.2` (ec2Query) or `Name.member.1` (awsQuery). */
export function formList(params: FormParams, prefix: string): string[] {
  return indexedKeys(params, prefix).map((base) => params.get(base) ?? '');
}

/** Structures of a list: for `Filter.1.Name`, `Filter.1.Value.1` returns bases `Filter.1`, `Filter.2`. */
export function indexedKeys(params: FormParams, prefix: string): string[] {
  const found = new Map<number, string>();
  const pattern = new RegExp(`^${escapeRegExp(prefix)}\\.(?:member\\.|entry\\.)?(\\d+)(?:\\.|$)`);
  for (const key of params.keys()) {
    const match = pattern.exec(key);
    if (!match?.[1]) continue;
    const index = Number(match[1]);
    const base = key.slice(0, match[0].endsWith('.') ? match[0].length - 1 : match[0].length);
    found.set(index, base);
  }
  return [...found.entries()].sort((a, b) => a[0] - b[0]).map(([, base]) => base);
}

/** `Tags.member.N.Key/Value` (awsQuery) as [key, value] pairs in order. */
export function formTags(params: FormParams, prefix = 'Tags'): Array<{ Key: string; Value: string }> {
  return indexedKeys(params, prefix).map((base) => ({
    Key: params.get(`${base}.Key`) ?? '',
    Value: params.get(`${base}.Value`) ?? '',
  }));
}

/** `Attributes.entry.N.key/value` (awsQuery maps). */
export function formMap(params: FormParams, prefix: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const base of indexedKeys(params, prefix)) {
    const key = params.get(`${base}.key`);
    if (key !== undefined) out[key] = params.get(`${base}.value`) ?? '';
  }
  return out;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

// --- XML -------------------------------------------------------------------------------------

export function xmlEscape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

/** An XML element; `undefined` content omits the element, an array holds already rendered children. */
export function el(name: string, content: string | number | boolean | undefined | null | string[]): string {
  if (content === undefined || content === null) return '';
  if (Array.isArray(content)) return `<${name}>${content.join('')}</${name}>`;
  return `<${name}>${xmlEscape(String(content))}</${name}>`;
}

export function requestId(): string {
  return randomUUID();
}

/** The success envelope of awsQuery (SNS): `<XResponse><XResult>...</XResult><ResponseMetadata>`. */
export function queryResponse(action: string, xmlns: string, result: string): WireResponse {
  const id = requestId();
  const body =
    `<?xml version="1.0" encoding="UTF-8"?>\n<${action}Response xmlns="${xmlns}">` +
    `${result === '' ? '' : `<${action}Result>${result}</${action}Result>`}` +
    `<ResponseMetadata><RequestId>${id}</RequestId></ResponseMetadata></${action}Response>`;
  return { status: 200, headers: { 'content-type': 'text/xml', 'x-amzn-requestid': id }, body };
}

/** awsQuery error envelope (SNS). */
export function queryError(error: ServiceError, xmlns: string): WireResponse {
  const id = requestId();
  const body =
    `<?xml version="1.0" encoding="UTF-8"?>\n<ErrorResponse xmlns="${xmlns}"><Error>` +
    `<Type>${error.type}</Type><Code>${xmlEscape(error.code)}</Code><Message>${xmlEscape(error.message)}</Message>` +
    `</Error><RequestId>${id}</RequestId></ErrorResponse>`;
  return { status: error.status, headers: { 'content-type': 'text/xml', 'x-amzn-requestid': id }, body };
}

/** ec2Query success: `<XResponse xmlns><requestId>..` with the result members directly inside. */
export function ec2Response(action: string, members: string): WireResponse {
  const id = requestId();
  const body =
    `<?xml version="1.0" encoding="UTF-8"?>\n<${action}Response xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">` +
    `<requestId>${id}</requestId>${members}</${action}Response>`;
  return { status: 200, headers: { 'content-type': 'text/xml;charset=UTF-8' }, body };
}

/** ec2Query error: `<Response><Errors><Error><Code>` with `<RequestID>`. */
export function ec2Error(error: ServiceError): WireResponse {
  const body =
    `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>${xmlEscape(error.code)}</Code>` +
    `<Message>${xmlEscape(error.message)}</Message></Error></Errors><RequestID>${requestId()}</RequestID></Response>`;
  return { status: error.status, headers: { 'content-type': 'text/xml;charset=UTF-8' }, body };
}

// --- JSON ------------------------------------------------------------------------------------

export function jsonResponse(version: '1.0' | '1.1', output: unknown): WireResponse {
  return {
    status: 200,
    headers: { 'content-type': `application/x-amz-json-${version}`, 'x-amzn-requestid': requestId() },
    body: JSON.stringify(output ?? {}),
  };
}

/**
 * awsJson error: `{"__type": ..., "message": ...}`. In query-compatible mode (CloudWatch) the
 * header `x-amzn-query-error: Code;Sender` carries the awsQuery code the SDK reports.
 */
export function jsonError(version: '1.0' | '1.1', error: ServiceError, options: { queryCompatible?: boolean; messageKey?: string } = {}): WireResponse {
  const headers: Record<string, string> = {
    'content-type': `application/x-amz-json-${version}`,
    'x-amzn-requestid': requestId(),
  };
  if (options.queryCompatible) headers['x-amzn-query-error'] = `${error.code};${error.type}`;
  const body = { __type: error.jsonType ?? error.code, [options.messageKey ?? 'message']: error.message };
  return { status: error.status, headers, body: JSON.stringify(body) };
}

/** Epoch seconds, as awsJson protocols write timestamps. */
export function epochSeconds(date: Date): number {
  return Math.floor(date.getTime()) / 1000;
}

/** Simple glob of EC2 filter values: `*` any run, `?` one character. */
export function globMatch(pattern: string, text: string): boolean {
  const regex = new RegExp(`^${pattern.split('').map((c) => (c === '*' ? '.*' : c === '?' ? '.' : escapeRegExp(c))).join('')}$`, 's');
  return regex.test(text);
}

/** An opaque pagination token holding an offset and what the listing was for. */
export function encodeToken(offset: number, scope: string): string {
  return Buffer.from(JSON.stringify({ offset, scope })).toString('base64');
}

export function decodeToken(token: string, scope: string): number | undefined {
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64').toString('utf8')) as { offset?: unknown; scope?: unknown };
    if (typeof parsed.offset === 'number' && parsed.scope === scope && parsed.offset >= 0) return parsed.offset;
  } catch {
    // fall through
  }
  return undefined;
}

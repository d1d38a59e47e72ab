import { createHash, createHmac, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { crc32 } from 'node:zlib';
import type { ParsedAuthorization } from './sigv4.js';
import { ServiceError, xmlEscape } from './wire.js';

// S3 over restXml, path-style (`http://host/bucket/key`), for SDK clients with `forcePathStyle: true`.
// Bodies stream to temp files (never whole in memory) while their sha256/md5 are computed;
// aws-chunked bodies (STREAMING-AWS4-HMAC-SHA256-PAYLOAD with chunk signatures, and
// STREAMING-UNSIGNED-PAYLOAD-TRAILER with a checksum trailer) are decoded so stored bytes are exact.
// Operations: CreateBucket, HeadBucket, PutObject (If-None-Match: *, If-Match: etag),
// GetObject (Range), HeadObject, DeleteObject, ListObjectsV2 (prefix, delimiter, max-keys,
// continuation-token, start-after), Create/Upload/Complete/AbortMultipartUpload,
// ListMultipartUploads (prefix, delimiter, max-uploads, key-marker, upload-id-marker).

export interface S3Object {
  key: string;
  file: string;
  size: number;
  etag: string;
  lastModified: Date;
  contentType: string;
}

interface S3Part {
  file: string;
  size: number;
  etag: string;
}

/** A multipart upload neither completed nor aborted (tests may move `initiated` back to age it). */
export interface S3Upload {
  bucket: string;
  key: string;
  uploadId: string;
  initiated: Date;
  parts: Map<number, S3Part>;
  contentType: string;
}

export interface S3Bucket {
  name: string;
  objects: Map<string, S3Object>;
}

/** A stored object's bytes and the bucket state, for tests. */
export class S3State {
  readonly buckets = new Map<string, S3Bucket>();
  readonly uploads = new Map<string, S3Upload>();
  readonly dir = mkdtempSync(join(tmpdir(), 'hy-s3emu-'));
  #files = 0;

  newFile(): string {
    this.#files += 1;
    return join(this.dir, `f${this.#files}-${randomUUID()}`);
  }

  bucket(name: string): S3Bucket {
    const bucket = this.buckets.get(name);
    if (!bucket) throw new ServiceError('NoSuchBucket', 'The specified bucket does not exist', 404);
    return bucket;
  }

  createBucket(name: string): S3Bucket {
    let bucket = this.buckets.get(name);
    if (!bucket) {
      bucket = { name, objects: new Map() };
      this.buckets.set(name, bucket);
    }
    return bucket;
  }

  /** Keys of a bucket, sorted. */
  keys(bucket: string, prefix = ''): string[] {
    return [...(this.buckets.get(bucket)?.objects.keys() ?? [])].filter((key) => key.startsWith(prefix)).sort();
  }

  /** Multipart uploads begun and neither completed nor aborted. */
  openUploads(): number {
    return this.uploads.size;
  }

  clear(): void {
    this.buckets.clear();
    this.uploads.clear();
    for (const name of readdirSync(this.dir)) rmSync(join(this.dir, name), { force: true });
  }

  dispose(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** What the S3 handler needs from the server: signature inputs for aws-chunked chunk signatures. */
export interface S3RequestContext {
  auth: ParsedAuthorization;
  secretAccessKey: string;
  amzDate: string;
  /** Operation name, already determined by s3Operation(). */
  operation: string;
}

/** The operation a request is, from method, path and query (also used for fault matching). */
export function s3Operation(method: string, url: URL): string {
  const { bucket, key } = splitPath(url);
  const q = url.searchParams;
  if (!bucket) return method === 'GET' ? 'ListBuckets' : 'Unknown';
  if (key === '') {
    if (method === 'PUT') return 'CreateBucket';
    if (method === 'HEAD') return 'HeadBucket';
    if (method === 'DELETE') return 'DeleteBucket';
    if (method === 'GET') return q.has('uploads') ? 'ListMultipartUploads' : q.get('list-type') === '2' ? 'ListObjectsV2' : 'ListObjects';
    if (method === 'POST' && q.has('delete')) return 'DeleteObjects';
    return 'Unknown';
  }
  if (method === 'PUT') return q.has('uploadId') ? 'UploadPart' : 'PutObject';
  if (method === 'POST') return q.has('uploads') ? 'CreateMultipartUpload' : q.has('uploadId') ? 'CompleteMultipartUpload' : 'Unknown';
  if (method === 'DELETE') return q.has('uploadId') ? 'AbortMultipartUpload' : 'DeleteObject';
  if (method === 'GET') return q.has('uploadId') ? 'ListParts' : 'GetObject';
  if (method === 'HEAD') return 'HeadObject';
  return 'Unknown';
}

function splitPath(url: URL): { bucket: string; key: string } {
  const path = url.pathname.replace(/^\//, '');
  const slash = path.indexOf('/');
  if (slash < 0) return { bucket: decodeURIComponent(path), key: '' };
  return { bucket: decodeURIComponent(path.slice(0, slash)), key: decodeURIComponent(path.slice(slash + 1)) };
}

/** An S3 error as S3 sends it (no body for HEAD). */
export function s3ErrorResponse(res: ServerResponse, error: ServiceError, method: string): void {
  const body =
    method === 'HEAD'
      ? ''
      : `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${xmlEscape(error.code)}</Code><Message>${xmlEscape(error.message)}</Message><RequestId>${randomUUID()}</RequestId></Error>`;
  if (!res.headersSent) res.writeHead(error.status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body), 'x-amz-request-id': randomUUID() });
  res.end(body);
}

function xml(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  const text = `<?xml version="1.0" encoding="UTF-8"?>\n${body}`;
  res.writeHead(status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

const S3_NS = 'xmlns="http://s3.amazonaws.com/doc/2006-03-01/"';
// The canonical user id S3 reports as owner and initiator (64 hex digits).
const ACCOUNT_CANONICAL_ID = createHash('sha256').update('halyard-test-account').digest('hex');

/** Handles one S3 request (the signature of its headers was already checked). */
export async function handleS3(state: S3State, req: IncomingMessage, res: ServerResponse, url: URL, context: S3RequestContext): Promise<void> {
  const method = req.method ?? 'GET';
  const { bucket: bucketName, key } = splitPath(url);
  const q = url.searchParams;
  switch (context.operation) {
    case 'CreateBucket': {
      await drain(req);
      if (state.buckets.has(bucketName)) throw new ServiceError('BucketAlreadyOwnedByYou', 'Your previous request to create the named bucket succeeded and you already own it.', 409);
      state.createBucket(bucketName);
      res.writeHead(200, { location: `/${bucketName}`, 'content-length': 0 });
      res.end();
      return;
    }
    case 'HeadBucket': {
      state.bucket(bucketName);
      res.writeHead(200, { 'content-length': 0 });
      res.end();
      return;
    }
    case 'PutObject': {
      const bucket = state.bucket(bucketName);
      checkPutConditions(bucket, key, req);
      const body = await receiveBody(state, req, context);
      try {
        // Checked again once the body is in: the condition holds at commit time (two writers, one wins).
        checkPutConditions(bucket, key, req);
      } catch (error) {
        await rm(body.file, { force: true });
        throw error;
      }
      const etag = `"${body.md5}"`;
      replaceObject(bucket, { key, file: body.file, size: body.size, etag, lastModified: new Date(), contentType: String(req.headers['content-type'] ?? 'binary/octet-stream') });
      res.writeHead(200, { etag, 'content-length': 0 });
      res.end();
      return;
    }
    case 'GetObject':
    case 'HeadObject': {
      const bucket = state.bucket(bucketName);
      const object = bucket.objects.get(key);
      if (!object) {
        await drain(req);
        throw new ServiceError('NoSuchKey', 'The specified key does not exist.', 404);
      }
      const ifMatch = req.headers['if-match'];
      if (ifMatch !== undefined && ifMatch !== object.etag && ifMatch !== '*') throw new ServiceError('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', 412);
      const headers: Record<string, string | number> = {
        etag: object.etag,
        'last-modified': object.lastModified.toUTCString(),
        'content-type': object.contentType,
        'accept-ranges': 'bytes',
      };
      let start = 0;
      let end = object.size - 1;
      let status = 200;
      const range = req.headers.range;
      if (context.operation === 'GetObject' && range) {
        const match = /^bytes=(\d*)-(\d*)$/.exec(range);
        if (!match || (match[1] === '' && match[2] === '')) throw new ServiceError('InvalidRange', 'The requested range is not satisfiable', 416);
        if (match[1] === '') {
          start = Math.max(0, object.size - Number(match[2]));
        } else {
          start = Number(match[1]);
          if (match[2] !== '') end = Math.min(end, Number(match[2]));
        }
        if (start >= object.size || start > end) throw new ServiceError('InvalidRange', 'The requested range is not satisfiable', 416);
        status = 206;
        headers['content-range'] = `bytes ${start}-${end}/${object.size}`;
      }
      headers['content-length'] = object.size === 0 ? 0 : end - start + 1;
      res.writeHead(status, headers);
      if (context.operation === 'HeadObject' || object.size === 0) {
        res.end();
        return;
      }
      await pipeline(createReadStream(object.file, { start, end }), res);
      return;
    }
    case 'DeleteObject': {
      const bucket = state.bucket(bucketName);
      const object = bucket.objects.get(key);
      if (object) {
        bucket.objects.delete(key);
        await rm(object.file, { force: true });
      }
      res.writeHead(204);
      res.end();
      return;
    }
    case 'ListObjectsV2': {
      const bucket = state.bucket(bucketName);
      const prefix = q.get('prefix') ?? '';
      const delimiter = q.get('delimiter') ?? '';
      const maxKeys = Math.min(1000, Math.max(0, Number(q.get('max-keys') ?? '1000') || 0));
      const token = q.get('continuation-token');
      let after = q.get('start-after') ?? '';
      if (token !== null) {
        try {
          after = Buffer.from(token, 'base64url').toString('utf8');
        } catch {
          throw new ServiceError('InvalidArgument', 'The continuation token provided is incorrect');
        }
      }
      const keys = [...bucket.objects.keys()].filter((k) => k.startsWith(prefix) && k > after).sort();
      const contents: S3Object[] = [];
      const commonPrefixes: string[] = [];
      let last = '';
      let truncated = false;
      for (const k of keys) {
        if (contents.length + commonPrefixes.length >= maxKeys) {
          truncated = true;
          break;
        }
        if (delimiter) {
          const at = k.indexOf(delimiter, prefix.length);
          if (at >= 0) {
            const common = k.slice(0, at + delimiter.length);
            if (!commonPrefixes.includes(common)) commonPrefixes.push(common);
            last = common + '\uffff';
            continue;
          }
        }
        contents.push(bucket.objects.get(k)!);
        last = k;
      }
      // Keys under an already listed common prefix are skipped by the next page.
      const nextAfter = last;
      const parts = [
        `<ListBucketResult ${S3_NS}>`,
        `<Name>${xmlEscape(bucketName)}</Name>`,
        `<Prefix>${xmlEscape(prefix)}</Prefix>`,
        delimiter ? `<Delimiter>${xmlEscape(delimiter)}</Delimiter>` : '',
        `<MaxKeys>${maxKeys}</MaxKeys>`,
        `<KeyCount>${contents.length + commonPrefixes.length}</KeyCount>`,
        `<IsTruncated>${truncated}</IsTruncated>`,
        token !== null ? `<ContinuationToken>${xmlEscape(token)}</ContinuationToken>` : '',
        truncated ? `<NextContinuationToken>${Buffer.from(nextAfter, 'utf8').toString('base64url')}</NextContinuationToken>` : '',
        ...contents.map(
          (o) =>
            `<Contents><Key>${xmlEscape(o.key)}</Key><LastModified>${o.lastModified.toISOString()}</LastModified><ETag>${xmlEscape(o.etag)}</ETag><Size>${o.size}</Size><StorageClass>STANDARD</StorageClass></Contents>`,
        ),
        ...commonPrefixes.map((p) => `<CommonPrefixes><Prefix>${xmlEscape(p)}</Prefix></CommonPrefixes>`),
        '</ListBucketResult>',
      ];
      xml(res, 200, parts.join(''));
      return;
    }
    case 'ListMultipartUploads': {
      state.bucket(bucketName);
      await drain(req);
      const prefix = q.get('prefix') ?? '';
      const delimiter = q.get('delimiter') ?? '';
      const maxText = q.get('max-uploads');
      const maxUploads = maxText === null ? 1000 : Number(maxText);
      if (!Number.isInteger(maxUploads) || maxUploads < 0) throw new ServiceError('InvalidArgument', 'Argument max-uploads must be an integer between 0 and 2147483647');
      const limit = Math.min(1000, maxUploads);
      const keyMarker = q.get('key-marker') ?? '';
      // upload-id-marker counts only with key-marker: uploads of that key listed after that upload.
      const uploadIdMarker = keyMarker ? (q.get('upload-id-marker') ?? '') : '';
      // By key, then (one key begun several times) by initiation time, as S3 sorts them.
      const all = [...state.uploads.values()]
        .filter((u) => u.bucket === bucketName && u.key.startsWith(prefix))
        .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.initiated.getTime() - b.initiated.getTime() || (a.uploadId < b.uploadId ? -1 : 1)));
      let candidates = all.filter((u) => u.key > keyMarker);
      if (uploadIdMarker) {
        const sameKey = all.filter((u) => u.key === keyMarker);
        const at = sameKey.findIndex((u) => u.uploadId === uploadIdMarker);
        candidates = [...(at >= 0 ? sameKey.slice(at + 1) : []), ...candidates];
      }
      const listed: S3Upload[] = [];
      const commonPrefixes: string[] = [];
      let truncated = false;
      let nextKey = '';
      let nextUploadId = '';
      for (const upload of candidates) {
        const common = delimiter ? commonPrefixOf(upload.key, prefix, delimiter) : undefined;
        if (common !== undefined && commonPrefixes.includes(common)) continue;
        if (listed.length + commonPrefixes.length >= limit) {
          truncated = true;
          break;
        }
        if (common !== undefined) {
          commonPrefixes.push(common);
          // The next page starts after every key under this common prefix.
          nextKey = `${common}\uffff`;
          nextUploadId = '';
          continue;
        }
        listed.push(upload);
        nextKey = upload.key;
        nextUploadId = upload.uploadId;
      }
      const owner = `<ID>${ACCOUNT_CANONICAL_ID}</ID><DisplayName>halyard-test</DisplayName>`;
      const parts = [
        `<ListMultipartUploadsResult ${S3_NS}>`,
        `<Bucket>${xmlEscape(bucketName)}</Bucket>`,
        `<KeyMarker>${xmlEscape(keyMarker)}</KeyMarker>`,
        `<UploadIdMarker>${xmlEscape(uploadIdMarker)}</UploadIdMarker>`,
        truncated ? `<NextKeyMarker>${xmlEscape(nextKey)}</NextKeyMarker>` : '',
        truncated ? `<NextUploadIdMarker>${xmlEscape(nextUploadId)}</NextUploadIdMarker>` : '',
        `<Prefix>${xmlEscape(prefix)}</Prefix>`,
        delimiter ? `<Delimiter>${xmlEscape(delimiter)}</Delimiter>` : '',
        `<MaxUploads>${limit}</MaxUploads>`,
        `<IsTruncated>${truncated}</IsTruncated>`,
        ...listed.map(
          (u) =>
            `<Upload><Key>${xmlEscape(u.key)}</Key><UploadId>${xmlEscape(u.uploadId)}</UploadId><Initiator>${owner}</Initiator><Owner>${owner}</Owner><StorageClass>STANDARD</StorageClass><Initiated>${u.initiated.toISOString()}</Initiated></Upload>`,
        ),
        ...commonPrefixes.map((p) => `<CommonPrefixes><Prefix>${xmlEscape(p)}</Prefix></CommonPrefixes>`),
        '</ListMultipartUploadsResult>',
      ];
      xml(res, 200, parts.join(''));
      return;
    }
    case 'CreateMultipartUpload': {
      state.bucket(bucketName);
      await drain(req);
      const uploadId = randomUUID().replace(/-/g, '');
      state.uploads.set(uploadId, { bucket: bucketName, key, uploadId, initiated: new Date(), parts: new Map(), contentType: String(req.headers['content-type'] ?? 'binary/octet-stream') });
      xml(res, 200, `<InitiateMultipartUploadResult ${S3_NS}><Bucket>${xmlEscape(bucketName)}</Bucket><Key>${xmlEscape(key)}</Key><UploadId>${uploadId}</UploadId></InitiateMultipartUploadResult>`);
      return;
    }
    case 'UploadPart': {
      const upload = uploadOf(state, q.get('uploadId'), bucketName, key);
      const partNumber = Number(q.get('partNumber'));
      if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > 10_000) throw new ServiceError('InvalidArgument', 'Part number must be an integer between 1 and 10000, inclusive');
      const body = await receiveBody(state, req, context);
      if (!state.uploads.has(q.get('uploadId') ?? '')) {
        await rm(body.file, { force: true });
        throw new ServiceError('NoSuchUpload', 'The specified upload does not exist.', 404);
      }
      const previous = upload.parts.get(partNumber);
      if (previous) await rm(previous.file, { force: true });
      const etag = `"${body.md5}"`;
      upload.parts.set(partNumber, { file: body.file, size: body.size, etag });
      res.writeHead(200, { etag, 'content-length': 0 });
      res.end();
      return;
    }
    case 'CompleteMultipartUpload': {
      const uploadId = q.get('uploadId') ?? '';
      const upload = uploadOf(state, uploadId, bucketName, key);
      const bucket = state.bucket(bucketName);
      const text = (await readAll(req)).toString('utf8');
      const listed = [...text.matchAll(/<Part>([\s\S]*?)<\/Part>/g)].map((m) => ({
        number: Number(/<PartNumber>(\d+)<\/PartNumber>/.exec(m[1]!)?.[1]),
        etag: (/<ETag>([\s\S]*?)<\/ETag>/.exec(m[1]!)?.[1] ?? '').replace(/&quot;/g, '"').replace(/&#34;/g, '"'),
      }));
      if (listed.length === 0) throw new ServiceError('MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema');
      let previousNumber = 0;
      for (const part of listed) {
        if (part.number <= previousNumber) throw new ServiceError('InvalidPartOrder', 'The list of parts was not in ascending order. Parts must be ordered by part number.');
        previousNumber = part.number;
        const stored = upload.parts.get(part.number);
        const etag = part.etag.startsWith('"') ? part.etag : `"${part.etag}"`;
        if (!stored || stored.etag !== etag) throw new ServiceError('InvalidPart', 'One or more of the specified parts could not be found.');
      }
      checkPutConditions(bucket, key, req);
      // Concatenate parts into one file (streamed, file to file).
      const file = state.newFile();
      const out = createWriteStream(file);
      const md5s: Buffer[] = [];
      let size = 0;
      for (const part of listed) {
        const stored = upload.parts.get(part.number)!;
        md5s.push(Buffer.from(stored.etag.replace(/"/g, ''), 'hex'));
        size += stored.size;
        for await (const chunk of createReadStream(stored.file)) {
          if (!out.write(chunk)) await once(out, 'drain');
        }
      }
      await new Promise<void>((done, fail) => out.end((error?: Error | null) => (error ? fail(error) : done())));
      try {
        checkPutConditions(bucket, key, req);
      } catch (error) {
        await rm(file, { force: true });
        throw error;
      }
      const etag = `"${createHash('md5').update(Buffer.concat(md5s)).digest('hex')}-${listed.length}"`;
      replaceObject(bucket, { key, file, size, etag, lastModified: new Date(), contentType: upload.contentType });
      state.uploads.delete(uploadId);
      for (const part of upload.parts.values()) await rm(part.file, { force: true });
      xml(res, 200, `<CompleteMultipartUploadResult ${S3_NS}><Location>/${xmlEscape(bucketName)}/${xmlEscape(key)}</Location><Bucket>${xmlEscape(bucketName)}</Bucket><Key>${xmlEscape(key)}</Key><ETag>${xmlEscape(etag)}</ETag></CompleteMultipartUploadResult>`);
      return;
    }
    case 'AbortMultipartUpload': {
      await drain(req);
      const uploadId = q.get('uploadId') ?? '';
      const upload = uploadOf(state, uploadId, bucketName, key);
      state.uploads.delete(uploadId);
      for (const part of upload.parts.values()) await rm(part.file, { force: true });
      res.writeHead(204);
      res.end();
      return;
    }
    default:
      await drain(req);
      throw new ServiceError('NotImplemented', `${method} ${url.pathname} (${context.operation}) is not implemented by the emulator`, 501);
  }
}

// The common prefix a key rolls up into (prefix up to and including the next delimiter), if any.
function commonPrefixOf(key: string, prefix: string, delimiter: string): string | undefined {
  const at = key.indexOf(delimiter, prefix.length);
  return at >= 0 ? key.slice(0, at + delimiter.length) : undefined;
}

function uploadOf(state: S3State, uploadId: string | null, bucket: string, key: string): S3Upload {
  const upload = state.uploads.get(uploadId ?? '');
  if (!upload || upload.bucket !== bucket || upload.key !== key) throw new ServiceError('NoSuchUpload', 'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.', 404);
  return upload;
}

function replaceObject(bucket: S3Bucket, object: S3Object): void {
  const previous = bucket.objects.get(object.key);
  bucket.objects.set(object.key, object);
  if (previous) rmSync(previous.file, { force: true });
}

// If-None-Match: * fails when the key exists; If-Match: ETAG fails when it differs (404 when absent).
function checkPutConditions(bucket: S3Bucket, key: string, req: IncomingMessage): void {
  const existing = bucket.objects.get(key);
  const ifNoneMatch = req.headers['if-none-match'];
  if (ifNoneMatch !== undefined) {
    if (ifNoneMatch !== '*') throw new ServiceError('NotImplemented', 'If-None-Match on writes supports only *', 501);
    if (existing) throw new ServiceError('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', 412);
  }
  const ifMatch = req.headers['if-match'];
  if (ifMatch !== undefined) {
    if (!existing) throw new ServiceError('NoSuchKey', 'The specified key does not exist.', 404);
    if (ifMatch !== existing.etag) throw new ServiceError('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', 412);
  }
}

async function drain(req: IncomingMessage): Promise<void> {
  for await (const _chunk of req) {
    // discarded
  }
}

async function readAll(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

interface ReceivedBody {
  file: string;
  size: number;
  md5: string;
}

// Streams a request body to a temp file, decoding aws-chunked framing and checking every hash
// the client sent: x-amz-content-sha256 (hex), chunk signatures, Content-MD5, CRC32 checksums.
async function receiveBody(state: S3State, req: IncomingMessage, context: S3RequestContext): Promise<ReceivedBody> {
  const contentSha = String(req.headers['x-amz-content-sha256'] ?? '');
  const streaming = contentSha.startsWith('STREAMING-');
  const file = state.newFile();
  const sha256 = createHash('sha256');
  const md5 = createHash('md5');
  let crc = 0;
  let size = 0;
  const hasher = new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      sha256.update(chunk);
      md5.update(chunk);
      crc = crc32(chunk, crc);
      size += chunk.length;
      callback(null, chunk);
    },
  });
  const decoder = streaming ? new AwsChunkedDecoder(contentSha, context) : undefined;
  try {
    if (decoder) await pipeline(req, decoder, hasher, createWriteStream(file));
    else await pipeline(req, hasher, createWriteStream(file));
  } catch (error) {
    await rm(file, { force: true });
    if (error instanceof ServiceError) throw error;
    throw new ServiceError('IncompleteBody', `The request body ended early: ${String(error)}`);
  }
  const fail = async (error: ServiceError): Promise<never> => {
    await rm(file, { force: true });
    throw error;
  };
  const md5Hex = md5.digest('hex');
  if (/^[0-9a-f]{64}$/.test(contentSha) && sha256.digest('hex') !== contentSha) {
    await fail(new ServiceError('XAmzContentSHA256Mismatch', 'The provided x-amz-content-sha256 header does not match what was computed.'));
  }
  const decodedLength = req.headers['x-amz-decoded-content-length'];
  if (streaming && decodedLength !== undefined && Number(decodedLength) !== size) {
    await fail(new ServiceError('IncompleteBody', `decoded ${size} bytes, x-amz-decoded-content-length says ${String(decodedLength)}`));
  }
  const contentMd5 = req.headers['content-md5'];
  if (typeof contentMd5 === 'string' && Buffer.from(contentMd5, 'base64').toString('hex') !== md5Hex) {
    await fail(new ServiceError('BadDigest', 'The Content-MD5 you specified did not match what we received.'));
  }
  const crcSent = req.headers['x-amz-checksum-crc32'] ?? decoder?.trailers.get('x-amz-checksum-crc32');
  if (typeof crcSent === 'string') {
    const crcBuffer = Buffer.alloc(4);
    crcBuffer.writeUInt32BE(crc >>> 0);
    if (crcBuffer.toString('base64') !== crcSent) await fail(new ServiceError('BadDigest', 'The CRC32 you specified did not match the calculated checksum.'));
  }
  return { file, size, md5: md5Hex };
}

const EMPTY_SHA256 = createHash('sha256').digest('hex');

/** The SigV4 signing key for a date/region/service. */
function signingKey(secretAccessKey: string, auth: ParsedAuthorization): Buffer {
  const kDate = createHmac('sha256', `AWS4${secretAccessKey}`).update(auth.date).digest();
  const kRegion = createHmac('sha256', kDate).update(auth.region).digest();
  const kService = createHmac('sha256', kRegion).update(auth.service).digest();
  return createHmac('sha256', kService).update('aws4_request').digest();
}

// Decodes `aws-chunked`: `<hex size>[;chunk-signature=<sig>]\r\n<data>\r\n` ... `0[;...]\r\n<trailers>\r\n`.
// Signed variants check each chunk's signature, chained from the request's seed signature.
export class AwsChunkedDecoder extends Transform {
  readonly trailers = new Map<string, string>();
  readonly #signed: boolean;
  readonly #key: Buffer | undefined;
  readonly #scope: string;
  readonly #amzDate: string;
  #previousSignature: string;
  #buffer: Buffer = Buffer.alloc(0);
  #state: 'header' | 'data' | 'data-crlf' | 'trailers' | 'done' = 'header';
  #remaining = 0;
  #chunkSignature = '';
  #chunkHash = createHash('sha256');

  constructor(mode: string, context: S3RequestContext) {
    super();
    this.#signed = mode.startsWith('STREAMING-AWS4-HMAC-SHA256-PAYLOAD');
    this.#key = this.#signed ? signingKey(context.secretAccessKey, context.auth) : undefined;
    this.#scope = `${context.auth.date}/${context.auth.region}/${context.auth.service}/aws4_request`;
    this.#amzDate = context.amzDate;
    this.#previousSignature = context.auth.signature;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    try {
      this.#consume();
      callback();
    } catch (error) {
      callback(error as Error);
    }
  }

  override _flush(callback: TransformCallback): void {
    if (this.#state !== 'done') {
      callback(new ServiceError('IncompleteBody', 'The aws-chunked body ended before its final chunk'));
      return;
    }
    callback();
  }

  #consume(): void {
    for (;;) {
      if (this.#state === 'header' || this.#state === 'trailers') {
        const end = this.#buffer.indexOf('\r\n');
        if (end < 0) {
          if (this.#buffer.length > 4096) throw new ServiceError('InvalidChunkSizeError', 'aws-chunked header line too long');
          return;
        }
        const line = this.#buffer.subarray(0, end).toString('latin1');
        this.#buffer = this.#buffer.subarray(end + 2);
        if (this.#state === 'trailers') {
          if (line === '') {
            this.#state = 'done';
            return;
          }
          const colon = line.indexOf(':');
          if (colon > 0) this.trailers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
          continue;
        }
        const [sizeText, ...extensions] = line.split(';');
        const size = Number.parseInt(sizeText ?? '', 16);
        if (!Number.isFinite(size) || size < 0) throw new ServiceError('InvalidChunkSizeError', `bad aws-chunked size line ${JSON.stringify(line.slice(0, 80))}`);
        this.#chunkSignature = extensions.find((e) => e.startsWith('chunk-signature='))?.slice('chunk-signature='.length) ?? '';
        if (this.#signed && !this.#chunkSignature) throw new ServiceError('SignatureDoesNotMatch', 'aws-chunked chunk without a chunk-signature', 403);
        this.#chunkHash = createHash('sha256');
        this.#remaining = size;
        if (size === 0) {
          this.#verifyChunk();
          // Trailers (or the final empty line) follow the last chunk.
          this.#state = 'trailers';
          continue;
        }
        this.#state = 'data';
        continue;
      }
      if (this.#state === 'data') {
        if (this.#buffer.length === 0) return;
        const take = Math.min(this.#remaining, this.#buffer.length);
        const piece = this.#buffer.subarray(0, take);
        this.#buffer = this.#buffer.subarray(take);
        this.#chunkHash.update(piece);
        this.push(Buffer.from(piece));
        this.#remaining -= take;
        if (this.#remaining === 0) this.#state = 'data-crlf';
        continue;
      }
      if (this.#state === 'data-crlf') {
        if (this.#buffer.length < 2) return;
        if (this.#buffer[0] !== 0x0d || this.#buffer[1] !== 0x0a) throw new ServiceError('IncompleteBody', 'aws-chunked chunk not followed by CRLF');
        this.#buffer = this.#buffer.subarray(2);
        this.#verifyChunk();
        this.#state = 'header';
        continue;
      }
      return; // done: anything after is ignored
    }
  }

  #verifyChunk(): void {
    if (!this.#signed || !this.#key) return;
    const stringToSign = ['AWS4-HMAC-SHA256-PAYLOAD', this.#amzDate, this.#scope, this.#previousSignature, EMPTY_SHA256, this.#chunkHash.digest('hex')].join('\n');
    const expected = createHmac('sha256', this.#key).update(stringToSign).digest('hex');
    if (expected !== this.#chunkSignature) throw new ServiceError('SignatureDoesNotMatch', 'The chunk signature does not match', 403);
    this.#previousSignature = expected;
  }
}

import {
  AbortMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { Readable } from 'node:stream';
import { HalyardError } from '../core/errors.js';
import { awsFailure, clientConfig, describeAwsError, isAwsError, type AwsClientOptions } from './client-config.js';
import { DEFAULT_PART_SIZING, uploadStream, type PartSizing, type PutStreamOptions, type StoredStream } from './multipart-upload.js';

export { UPLOAD_PART_SIZE, UPLOAD_QUEUE_SIZE, type PartSizing, type PutStreamOptions, type StoredStream } from './multipart-upload.js';

// Objects in one S3 bucket behind a small interface: streamed uploads of unknown length (multipart,
// bounded memory), streamed reads, listing by prefix, conditional writes for leases, and listing and
// aborting multipart uploads left incomplete (a process killed mid-upload).

export interface ObjectInfo {
  key: string;
  size: number;
  etag: string;
  lastModified: Date;
}

/** A multipart upload begun and neither completed nor aborted; its parts are stored (and billed) until it is aborted. */
export interface UploadInfo {
  key: string;
  uploadId: string;
  initiated: Date;
}

/** The outcome of a conditional write: ok false when the condition did not hold (nothing written). */
export interface ConditionalPutResult {
  ok: boolean;
  /** The new object's ETag when ok. */
  etag?: string;
}

export interface ObjectStore {
  readonly bucket: string;
  /** Uploads a stream of unknown length (multipart above one part), hashing and counting it; a failure removes the parts. */
  putStream(key: string, body: Readable, options?: PutStreamOptions): Promise<StoredStream>;
  /** Writes a small object in one request. */
  putBytes(key: string, body: string | Uint8Array, options?: { contentType?: string }): Promise<{ etag: string }>;
  /** Writes only when no object has this key (`If-None-Match: *`); a store that ignores the header writes anyway (daemon/lease.ts checks for that). */
  putIfAbsent(key: string, body: string | Uint8Array): Promise<ConditionalPutResult>;
  /** Writes only when the object's ETag is still `etag` (`If-Match`); ok false when it changed or is gone. */
  putIfMatch(key: string, body: string | Uint8Array, etag: string): Promise<ConditionalPutResult>;
  /** The object's bytes as a stream; E_S3_NOT_FOUND when absent. */
  getStream(key: string, range?: { start: number; end?: number }): Promise<Readable>;
  /** A small object's bytes, or undefined when absent. */
  getBytes(key: string): Promise<Buffer | undefined>;
  /** Size and ETag, or undefined when absent. */
  head(key: string): Promise<ObjectInfo | undefined>;
  /** Every object under a prefix, in key order, page by page. */
  list(prefix: string, options?: { pageSize?: number }): AsyncIterable<ObjectInfo>;
  /** Deletes one object (no error when absent). */
  delete(key: string): Promise<void>;
  /** Multipart uploads under a prefix not completed nor aborted yet, in key order, page by page; E_S3_UNSUPPORTED from a store without ListMultipartUploads. */
  listUploads(prefix: string, options?: { pageSize?: number }): AsyncIterable<UploadInfo>;
  /** Aborts a multipart upload (its parts are deleted); no error when it is gone already; E_S3_UNSUPPORTED from a store that refuses aborts. */
  abortUpload(key: string, uploadId: string): Promise<void>;
}

export interface S3StoreOptions extends AwsClientOptions {
  bucket: string;
  /** Path-style URLs (`endpoint/bucket/key`) for S3-compatible servers; default: true when an endpoint is set. */
  forcePathStyle?: boolean;
  /** Overrides how streams are cut into parts (tests); default DEFAULT_PART_SIZING. */
  partSizing?: Partial<PartSizing>;
}

// Checksums only where S3 requires them: with the SDK default (WHEN_SUPPORTED), streamed bodies
// travel aws-chunked with a CRC trailer, which some S3-compatible servers store framing and all.
// halyard computes its own sha256 of every backup and checks it on verify.
// No `Expect: 100-continue`: the SDK sends it with bodies of 2 MiB and more, and sends each such
// request on a new connection closed after its answer, so every 8 MiB part of a backup paid a TCP
// (on S3, also a TLS) handshake and a round trip waiting for "100 Continue". A store refusing a part
// (expired credentials) still answers with its error, read before the connection closes.
export function createS3Client(options: Omit<S3StoreOptions, 'bucket'> = {}): S3Client {
  const endpoint = options.endpoint ?? process.env['AWS_ENDPOINT_URL_S3'] ?? process.env['AWS_ENDPOINT_URL'];
  const client = new S3Client({
    ...clientConfig(options),
    forcePathStyle: options.forcePathStyle ?? endpoint !== undefined,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    expectContinueHeader: false,
  });
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (UPLOADS.has(context.commandName ?? '')) unsignPayloadOverTls(args.request);
      return next(args);
    },
    { step: 'build', name: 'halyardUnsignedPayloadOverTls' },
  );
  // The deserialize step runs inside the SDK's retries (finalizeRequest): once per attempt.
  client.middlewareStack.add((next, context) => async (args) => next(UPLOADS.has(context.commandName ?? '') ? { ...args, request: slicedBodyOverTls(args.request) } : args), {
    step: 'deserialize',
    name: 'halyardSlicedBodyOverTls',
  });
  return client;
}

/** The size of the pieces an upload's body is handed to a TLS socket in. */
export const TLS_BODY_SLICE = 256 * 1024;

// Node's TLS encrypts what it is given at once and keeps the ciphertext until the socket takes it,
// so an 8 MiB part written in one piece held an 8 MiB copy per part in flight (a backup over HTTPS
// peaked at 139-151 MiB against 112-119 MiB over plain HTTP). Each attempt of an upload over HTTPS
// sends a fresh stream of TLS_BODY_SLICE views of its Buffer instead, written as the socket drains;
// the Buffer itself stays, for the next attempt.
function slicedBodyOverTls(request: unknown): unknown {
  const http = request as { protocol?: unknown; body?: unknown } | undefined;
  const body = http?.body;
  if (http?.protocol !== 'https:' || !(body instanceof Uint8Array) || body.byteLength <= TLS_BODY_SLICE) return request;
  const bytes: Uint8Array = body;
  const slices = function* (): Generator<Buffer> {
    for (let at = 0; at < bytes.byteLength; at += TLS_BODY_SLICE) yield Buffer.from(bytes.buffer, bytes.byteOffset + at, Math.min(TLS_BODY_SLICE, bytes.byteLength - at));
  };
  const copy = Object.create(Object.getPrototypeOf(http) as object) as Record<string, unknown>;
  return Object.assign(copy, http, { body: Readable.from(slices(), { objectMode: false }) });
}

/** The SigV4 payload value of uploads sent over HTTPS (the signer then skips hashing the body). */
export const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';
const UPLOADS = new Set(['PutObjectCommand', 'UploadPartCommand']);

// SigV4 signs a hash of each body by default, a second sha256 of every byte a backup sends (the
// first is halyard's own, kept in the manifest). Over HTTPS, TLS already protects the body in
// transit and S3 accepts UNSIGNED-PAYLOAD, so uploads skip that pass there (in a V8 profile of a
// 200 MiB backup the two passes took 357 ms of a main thread busy for 2.3 s); over plain HTTP (a
// MinIO or s3rver on a LAN) the payload stays signed, so the server still refuses a body altered
// on the way.
function unsignPayloadOverTls(request: unknown): void {
  const http = request as { protocol?: unknown; headers?: Record<string, string> } | undefined;
  if (http?.protocol === 'https:' && http.headers) http.headers['x-amz-content-sha256'] = UNSIGNED_PAYLOAD;
}

export function sdkObjectStore(options: S3StoreOptions, client: S3Client = createS3Client(options)): ObjectStore {
  const Bucket = options.bucket;
  const sizing: PartSizing = { ...DEFAULT_PART_SIZING, ...options.partSizing };
  const fail = (what: string, key: string, error: unknown): HalyardError =>
    isUnsupported(error)
      ? new HalyardError('E_S3_UNSUPPORTED', `S3 ${what} s3://${Bucket}/${key}: this store does not implement it (${describeAwsError(error)})`, { cause: error })
      : awsFailure(`S3 ${what} s3://${Bucket}/${key}`, error, 'E_AWS_S3');

  const conditionalPut = async (key: string, body: string | Uint8Array, condition: { IfNoneMatch?: string; IfMatch?: string }): Promise<ConditionalPutResult> => {
    try {
      const out = await client.send(new PutObjectCommand({ Bucket, Key: key, Body: body, ...condition }));
      return { ok: true, etag: out.ETag ?? '' };
    } catch (error) {
      if (isAwsError(error, 'PreconditionFailed', 'NoSuchKey', 'ConditionalRequestConflict') || statusOf(error) === 412 || statusOf(error) === 409) return { ok: false };
      throw fail('conditional PutObject', key, error);
    }
  };

  return {
    bucket: Bucket,
    async putStream(key, body, streamOptions = {}) {
      try {
        return await uploadStream(client, { Bucket, Key: key, ContentType: streamOptions.contentType ?? 'application/octet-stream' }, body, sizing, streamOptions);
      } catch (error) {
        throw fail('upload', key, error);
      }
    },
    async putBytes(key, body, putOptions = {}) {
      try {
        const out = await client.send(new PutObjectCommand({ Bucket, Key: key, Body: body, ContentType: putOptions.contentType }));
        return { etag: out.ETag ?? '' };
      } catch (error) {
        throw fail('PutObject', key, error);
      }
    },
    putIfAbsent: (key, body) => conditionalPut(key, body, { IfNoneMatch: '*' }),
    putIfMatch: (key, body, etag) => conditionalPut(key, body, { IfMatch: etag }),
    async getStream(key, range) {
      try {
        const out = await client.send(
          new GetObjectCommand({ Bucket, Key: key, ...(range ? { Range: `bytes=${range.start}-${range.end ?? ''}` } : {}) }),
        );
        return out.Body as Readable;
      } catch (error) {
        if (isAwsError(error, 'NoSuchKey', 'NotFound')) throw new HalyardError('E_S3_NOT_FOUND', `s3://${Bucket}/${key} does not exist`, { cause: error });
        throw fail('GetObject', key, error);
      }
    },
    async getBytes(key) {
      try {
        const out = await client.send(new GetObjectCommand({ Bucket, Key: key }));
        return Buffer.from(await out.Body!.transformToByteArray());
      } catch (error) {
        if (isAwsError(error, 'NoSuchKey', 'NotFound')) return undefined;
        throw fail('GetObject', key, error);
      }
    },
    async head(key) {
      try {
        const out = await client.send(new HeadObjectCommand({ Bucket, Key: key }));
        return { key, size: out.ContentLength ?? 0, etag: out.ETag ?? '', lastModified: out.LastModified ?? new Date(0) };
      } catch (error) {
        if (isAwsError(error, 'NotFound', 'NoSuchKey') || statusOf(error) === 404) return undefined;
        throw fail('HeadObject', key, error);
      }
    },
    async *list(prefix, listOptions = {}) {
      let token: string | undefined;
      do {
        let page;
        try {
          page = await client.send(new ListObjectsV2Command({ Bucket, Prefix: prefix, ContinuationToken: token, MaxKeys: listOptions.pageSize }));
        } catch (error) {
          throw fail('ListObjectsV2', prefix, error);
        }
        for (const entry of page.Contents ?? []) {
          if (entry.Key === undefined) continue;
          yield { key: entry.Key, size: entry.Size ?? 0, etag: entry.ETag ?? '', lastModified: entry.LastModified ?? new Date(0) };
        }
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
    },
    async delete(key) {
      try {
        await client.send(new DeleteObjectCommand({ Bucket, Key: key }));
      } catch (error) {
        throw fail('DeleteObject', key, error);
      }
    },
    async *listUploads(prefix, listOptions = {}) {
      let keyMarker: string | undefined;
      let uploadIdMarker: string | undefined;
      do {
        let page;
        try {
          page = await client.send(new ListMultipartUploadsCommand({ Bucket, Prefix: prefix, KeyMarker: keyMarker, UploadIdMarker: uploadIdMarker, MaxUploads: listOptions.pageSize }));
        } catch (error) {
          throw fail('ListMultipartUploads', prefix, error);
        }
        for (const upload of page.Uploads ?? []) {
          // One that cannot be dated is never reported (it could be an upload still running).
          if (upload.Key === undefined || upload.UploadId === undefined || upload.Initiated === undefined) continue;
          yield { key: upload.Key, uploadId: upload.UploadId, initiated: upload.Initiated };
        }
        keyMarker = page.IsTruncated ? page.NextKeyMarker : undefined;
        uploadIdMarker = page.IsTruncated ? page.NextUploadIdMarker : undefined;
      } while (keyMarker);
    },
    async abortUpload(key, uploadId) {
      try {
        await client.send(new AbortMultipartUploadCommand({ Bucket, Key: key, UploadId: uploadId }));
      } catch (error) {
        if (isAwsError(error, 'NoSuchUpload') || statusOf(error) === 404) return;
        throw fail('AbortMultipartUpload', key, error);
      }
    },
  };
}

/** Lease helper: writes `body` at `key` only when nothing is there. */
export function putIfAbsent(store: ObjectStore, key: string, body: string | Uint8Array): Promise<ConditionalPutResult> {
  return store.putIfAbsent(key, body);
}

/** Lease helper: replaces the object at `key` only while its ETag is still `etag`. */
export function putIfMatch(store: ObjectStore, key: string, body: string | Uint8Array, etag: string): Promise<ConditionalPutResult> {
  return store.putIfMatch(key, body, etag);
}

// An operation the server lacks (S3-compatible servers: s3rver answers ListMultipartUploads with
// 501 NotImplemented and AbortMultipartUpload with 405 MethodNotAllowed): asking again will not help.
function isUnsupported(error: unknown): boolean {
  return isAwsError(error, 'NotImplemented', 'MethodNotAllowed') || statusOf(error) === 501 || statusOf(error) === 405;
}

function statusOf(error: unknown): number | undefined {
  return (error as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata?.httpStatusCode;
}

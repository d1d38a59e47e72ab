import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  UploadPartCommand,
  type CompletedPart,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { Readable } from 'node:stream';
import { formatBytes } from '../core/bytes.js';
import { HalyardError } from '../core/errors.js';
import { StreamTally } from '../core/stream-tally.js';

// A streamed upload of unknown length into S3 with a memory bound (fixed for the first 7.8 GiB),
// which also hashes and counts what it stores: the one consumer of a backup's bytes on the
// controller (each stream stage between the SSH channel and the HTTP request costs CPU per chunk,
// and the controller's CPU is what bounds a fleet's concurrent backups).

/** Size of a streamed upload's first parts (memory held: about that size * (UPLOAD_QUEUE_SIZE + 1)). */
export const UPLOAD_PART_SIZE = 8 * 1024 * 1024;
/** Parts in flight at once. */
export const UPLOAD_QUEUE_SIZE = 2;
/** Parts of one size before the size doubles (see partSizeFor). */
export const PARTS_PER_SIZE = 1000;
/** S3's most parts in one multipart upload. */
export const MAX_PARTS = 10_000;
/** The largest part halyard makes: 1 GiB (S3 allows 5 GiB; Node's Buffers end at 4 GiB). */
export const MAX_PART_SIZE = 1024 * 1024 * 1024;

// How a stream of unknown length is cut into parts.
export interface PartSizing {
  /** Size of the first parts. */
  first: number;
  /** Parts of each size before it doubles. */
  partsPerSize: number;
  /** Most parts the store takes in one upload. */
  maxParts: number;
}

export const DEFAULT_PART_SIZING: PartSizing = { first: UPLOAD_PART_SIZE, partsPerSize: PARTS_PER_SIZE, maxParts: MAX_PARTS };

/**
 * The size of part `number` (1-based): `first`, doubled after every `partsPerSize` parts, at most
 * MAX_PART_SIZE. S3 takes at most 10,000 parts, so fixed 8 MiB parts would end a stream at 78 GiB
 * (after hours of streaming); doubling every 1000 parts reaches about 3.9 TiB, while streams under
 * 7.8 GiB keep 8 MiB parts and their fixed memory. Undefined past `maxParts`.
 */
export function partSizeFor(number: number, sizing: PartSizing = DEFAULT_PART_SIZING): number | undefined {
  if (!Number.isInteger(number) || number < 1 || number > sizing.maxParts) return undefined;
  const doublings = Math.floor((number - 1) / sizing.partsPerSize);
  return Math.min(sizing.first * 2 ** doublings, Math.max(MAX_PART_SIZE, sizing.first));
}

export interface PutStreamOptions {
  contentType?: string;
  /** Bytes sent so far, as parts complete. */
  onProgress?: (bytesSent: number) => void;
  /** Aborts the upload (its parts are removed). */
  signal?: AbortSignal;
  /**
   * Awaited once the body has ended, before the object is made to exist (the multipart upload
   * completed, or the single PutObject sent): a rejection aborts the upload. A backup checks there
   * that the command producing the bytes exited 0, so a failed `tar` never leaves an object.
   */
  beforeComplete?: () => Promise<void>;
}

/** What a streamed upload stored. */
export interface StoredStream {
  etag: string;
  /** Bytes stored. */
  bytes: number;
  /** sha256 (hex) of the bytes stored. */
  sha256: string;
}

/**
 * Uploads `body` to Bucket/Key: queueSize + 1 part buffers, allocated once per part size and reused
 * (bytes are copied in as they arrive; a buffer is refilled only after its UploadPart, retries
 * included, has finished); parts grow as partSizeFor says. lib-storage's Upload does the same job
 * but concatenates every part into a fresh buffer and keeps remainders alive, which measured about
 * 55 MB more peak RSS for a 200 MB stream. Less than one part: one PutObject. A stream longer than
 * `maxParts` parts fails with E_UPLOAD_TOO_LARGE. Any failure aborts the multipart upload (its
 * parts are deleted) before the error is thrown. A young-generation collection every few MiB
 * bounds the RSS that short-lived chunks (SSH packets) would otherwise pile up (core/memory.ts).
 */
export async function uploadStream(
  client: S3Client,
  params: { Bucket: string; Key: string; ContentType: string },
  body: Readable,
  sizing: PartSizing = DEFAULT_PART_SIZING,
  options: PutStreamOptions = {},
): Promise<StoredStream> {
  // Buffers of the size parts have now; a free buffer of an earlier, smaller size is dropped.
  let free: Buffer[] = [];
  const takeBuffer = (size: number): Buffer => {
    free = free.filter((buffer) => buffer.length === size);
    return free.pop() ?? Buffer.allocUnsafe(size);
  };
  const tally = new StreamTally();
  let current = takeBuffer(sizing.first);
  let filled = 0;
  let uploadId: string | undefined;
  let partNumber = 0;
  let sent = 0;
  // Bytes handed to parts so far (sent or in flight).
  let parted = 0;
  const parts: CompletedPart[] = [];
  const inFlight = new Set<Promise<void>>();
  let failure: unknown;
  const signal = options.signal;
  const sendOptions = signal ? { abortSignal: signal } : {};

  const sendPart = (buffer: Buffer, length: number): void => {
    partNumber += 1;
    parted += length;
    const number = partNumber;
    const task = (async () => {
      const out = await client.send(
        new UploadPartCommand({ Bucket: params.Bucket, Key: params.Key, UploadId: uploadId, PartNumber: number, Body: buffer.subarray(0, length), ContentLength: length }),
        sendOptions,
      );
      parts.push({ PartNumber: number, ETag: out.ETag });
      sent += length;
      options.onProgress?.(sent);
    })()
      .catch((error: unknown) => {
        failure ??= error;
      })
      .finally(() => {
        free.push(buffer);
        inFlight.delete(task);
      });
    inFlight.add(task);
  };

  // A full buffer becomes a part: the upload is created on the first one, and at most queueSize
  // parts are in flight; reading the stream waits (backpressure) until a buffer is free again.
  const flushFull = async (): Promise<void> => {
    if (uploadId === undefined) {
      const created = await client.send(new CreateMultipartUploadCommand(params), sendOptions);
      uploadId = created.UploadId;
      if (!uploadId) throw new Error('CreateMultipartUpload returned no UploadId');
    }
    sendPart(current, filled);
    while (inFlight.size >= UPLOAD_QUEUE_SIZE && failure === undefined) await Promise.race(inFlight);
    if (failure !== undefined) throw failure;
    const nextSize = partSizeFor(partNumber + 1, sizing);
    if (nextSize === undefined) {
      throw new HalyardError('E_UPLOAD_TOO_LARGE', `s3://${params.Bucket}/${params.Key}: the stream is longer than the ${sizing.maxParts} parts of an upload hold (${formatBytes(parted)}, parts growing from ${formatBytes(sizing.first)} to at most ${formatBytes(MAX_PART_SIZE)}); nothing was stored`);
    }
    current = takeBuffer(nextSize);
    filled = 0;
  };

  try {
    for await (const chunk of body as AsyncIterable<Buffer | string>) {
      let data = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      tally.add(data);
      while (data.length > 0) {
        // The buffer is flushed only when more data arrives, so the last part is never empty.
        if (filled === current.length) await flushFull();
        const take = Math.min(current.length - filled, data.length);
        data.copy(current, filled, 0, take);
        filled += take;
        data = data.subarray(take);
      }
      if (signal?.aborted) throw signal.reason ?? new Error('upload aborted');
    }
    const stored = (etag: string | undefined): StoredStream => ({ etag: etag ?? '', bytes: tally.bytes, sha256: tally.digest() });
    if (uploadId === undefined) {
      await options.beforeComplete?.();
      const out = await client.send(new PutObjectCommand({ ...params, Body: current.subarray(0, filled), ContentLength: filled }), sendOptions);
      return stored(out.ETag);
    }
    if (filled > 0) sendPart(current, filled);
    await Promise.all([...inFlight]);
    if (failure !== undefined) throw failure;
    await options.beforeComplete?.();
    parts.sort((a, b) => (a.PartNumber ?? 0) - (b.PartNumber ?? 0));
    const out = await client.send(
      new CompleteMultipartUploadCommand({ Bucket: params.Bucket, Key: params.Key, UploadId: uploadId, MultipartUpload: { Parts: parts } }),
      sendOptions,
    );
    return stored(out.ETag);
  } catch (error) {
    await Promise.all([...inFlight]);
    if (uploadId !== undefined) {
      await client.send(new AbortMultipartUploadCommand({ Bucket: params.Bucket, Key: params.Key, UploadId: uploadId })).catch(() => undefined);
    }
    throw error;
  }
}

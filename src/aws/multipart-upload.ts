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
import { StreamTally } from '../core/stream-tally.js';

// A streamed upload of unknown length into S3 with a fixed memory bound, which also hashes and
// counts what it stores: the one consumer of a backup's bytes on the controller (each stream stage
// between the SSH channel and the HTTP request costs CPU per chunk, and the controller's CPU is
// what bounds a fleet's concurrent backups).

/** Multipart part size for streamed uploads (memory held: about partSize * (UPLOAD_QUEUE_SIZE + 1)). */
export const UPLOAD_PART_SIZE = 8 * 1024 * 1024;
/** Parts in flight at once. */
export const UPLOAD_QUEUE_SIZE = 2;

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
 * Uploads `body` to Bucket/Key: queueSize + 1 part buffers, allocated once and reused (bytes are
 * copied in as they arrive; a buffer is refilled only after its UploadPart, retries included, has
 * finished). lib-storage's Upload does the same job but concatenates every part into a fresh buffer
 * and keeps remainders alive, which measured about 55 MB more peak RSS for a 200 MB stream. Less
 * than one part: one PutObject. Any failure aborts the multipart upload (its parts are deleted)
 * before the error is thrown. A young-generation collection every few MiB bounds the RSS that
 * short-lived chunks (SSH packets) would otherwise pile up (core/memory.ts).
 */
export async function uploadStream(
  client: S3Client,
  params: { Bucket: string; Key: string; ContentType: string },
  body: Readable,
  partSize: number,
  options: PutStreamOptions = {},
): Promise<StoredStream> {
  const free: Buffer[] = [];
  const takeBuffer = (): Buffer => free.pop() ?? Buffer.allocUnsafe(partSize);
  const tally = new StreamTally();
  let current = takeBuffer();
  let filled = 0;
  let uploadId: string | undefined;
  let partNumber = 0;
  let sent = 0;
  const parts: CompletedPart[] = [];
  const inFlight = new Set<Promise<void>>();
  let failure: unknown;
  const signal = options.signal;
  const sendOptions = signal ? { abortSignal: signal } : {};

  const sendPart = (buffer: Buffer, length: number): void => {
    partNumber += 1;
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
    current = takeBuffer();
    filled = 0;
  };

  try {
    for await (const chunk of body as AsyncIterable<Buffer | string>) {
      let data = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      tally.add(data);
      while (data.length > 0) {
        // The buffer is flushed only when more data arrives, so the last part is never empty.
        if (filled === partSize) await flushFull();
        const take = Math.min(partSize - filled, data.length);
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

import { createHash, createHmac, randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import { Readable } from 'node:stream';
import { CreateMultipartUploadCommand, ListMultipartUploadsCommand, PutObjectCommand, S3Client, UploadPartCommand } from '@aws-sdk/client-s3';
import { beforeEach, describe, expect, it } from 'vitest';
import { TLS_BODY_SLICE, UNSIGNED_PAYLOAD, createS3Client, putIfAbsent, putIfMatch, sdkObjectStore, type ObjectStore } from '../../src/aws/objects.js';
import { HalyardError } from '../../src/core/errors.js';
import { UPLOAD_QUEUE_SIZE } from '../../src/aws/multipart-upload.js';
import { useAwsEmulator } from '../support/aws-emulator/per-file.js';
import { useS3rver } from '../support/s3rver.js';

// src/aws/objects.ts against the emulator's S3 (path-style, SigV4 checked, bodies on disk), and
// against s3rver, an S3-compatible server that lacks parts of S3.

const BUCKET = 'halyard-objects-test';
const aws = useAwsEmulator();
let store: ObjectStore;

beforeEach(() => {
  aws.createBucket(BUCKET);
  store = sdkObjectStore({ bucket: BUCKET, partSizing: { first: 5 * 1024 * 1024 } });
});

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

// A stream of unknown length, in odd-sized chunks.
function chunked(data: Buffer, size = 100_003): Readable {
  let offset = 0;
  return new Readable({
    read() {
      if (offset >= data.length) this.push(null);
      else {
        this.push(data.subarray(offset, offset + size));
        offset += size;
      }
    },
  });
}

describe('sdkObjectStore', () => {
  it('streams a multipart upload of unknown length and reads it back byte-identical, with ranges', async () => {
    const data = randomBytes(12 * 1024 * 1024 + 12_345);
    const { etag, bytes, sha256: digest } = await store.putStream('a/big.bin', chunked(data));
    expect(etag).toMatch(/-3"$/); // three parts of 5 MiB
    expect({ bytes, digest }).toEqual({ bytes: data.length, digest: sha256(data) });
    expect(aws.countRequests({ service: 's3', operation: 'UploadPart' })).toBe(3);
    expect(sha256(await readAll(await store.getStream('a/big.bin')))).toBe(sha256(data));
    expect(await readAll(await store.getStream('a/big.bin', { start: 10, end: 19 }))).toEqual(data.subarray(10, 20));
    const head = await store.head('a/big.bin');
    expect(head).toMatchObject({ key: 'a/big.bin', size: data.length, etag });
    expect(aws.s3.openUploads()).toBe(0);
  });

  it('parts double after partsPerSize parts (S3 takes 10,000): sizes as partSizeFor says, bytes identical', async () => {
    const client = createS3Client();
    const sizes: number[] = [];
    client.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'UploadPartCommand') sizes.push(Number((args.input as { ContentLength?: number }).ContentLength));
        return next(args);
      },
      { step: 'initialize', name: 'recordPartSizes' },
    );
    const MiB = 1024 * 1024;
    const growing = sdkObjectStore({ bucket: BUCKET, partSizing: { first: 5 * MiB, partsPerSize: 2 } }, client);
    const data = randomBytes(33 * MiB + 7);
    const { bytes, sha256: digest } = await growing.putStream('grown.bin', chunked(data, 1_048_573));
    expect(sizes.sort((a, b) => a - b)).toEqual([3 * MiB + 7, 5 * MiB, 5 * MiB, 10 * MiB, 10 * MiB]);
    expect({ bytes, digest }).toEqual({ bytes: data.length, digest: sha256(data) });
    expect(sha256(await readAll(await growing.getStream('grown.bin')))).toBe(sha256(data));
    expect(aws.s3.openUploads()).toBe(0);
  });

  it('a stream longer than the store\'s parts hold fails E_UPLOAD_TOO_LARGE, its upload aborted, nothing stored', async () => {
    const MiB = 1024 * 1024;
    const capped = sdkObjectStore({ bucket: BUCKET, partSizing: { first: 5 * MiB, maxParts: 2 } });
    // Exactly two full parts fit.
    expect(await capped.putStream('fits.bin', chunked(randomBytes(10 * MiB)))).toMatchObject({ bytes: 10 * MiB });
    const failed = await capped.putStream('too-big.bin', chunked(randomBytes(10 * MiB + 1))).catch((error: unknown) => error);
    expect(failed).toBeInstanceOf(HalyardError);
    expect(failed).toMatchObject({ code: 'E_UPLOAD_TOO_LARGE', message: `s3://${BUCKET}/too-big.bin: the stream is longer than the 2 parts of an upload hold (10.0 MiB, parts growing from 5.0 MiB to at most 1.00 GiB); nothing was stored` });
    expect(await capped.head('too-big.bin')).toBeUndefined();
    expect(aws.s3.openUploads()).toBe(0);
  });

  it('stores a small stream with one PutObject; head and get of a missing key', async () => {
    expect(await store.putStream('small', chunked(Buffer.from('hello'), 2))).toMatchObject({ bytes: 5, sha256: sha256(Buffer.from('hello')) });
    expect(aws.countRequests({ service: 's3', operation: 'PutObject' })).toBe(1);
    expect(aws.countRequests({ service: 's3', operation: 'CreateMultipartUpload' })).toBe(0);
    expect((await store.getBytes('small'))?.toString()).toBe('hello');
    expect(await store.head('missing')).toBeUndefined();
    expect(await store.getBytes('missing')).toBeUndefined();
    await expect(store.getStream('missing')).rejects.toMatchObject({ code: 'E_S3_NOT_FOUND' });
  });

  it('lists every page under a prefix, in key order, and deletes', async () => {
    for (let i = 0; i < 7; i++) await store.putBytes(`p/${i}`, `v${i}`);
    await store.putBytes('other/x', 'x');
    const keys: string[] = [];
    for await (const info of store.list('p/', { pageSize: 3 })) keys.push(info.key);
    expect(keys).toEqual(['p/0', 'p/1', 'p/2', 'p/3', 'p/4', 'p/5', 'p/6']);
    expect(aws.countRequests({ service: 's3', operation: 'ListObjectsV2' })).toBe(3);
    await store.delete('p/3');
    await store.delete('p/never');
    expect(aws.s3.keys(BUCKET, 'p/')).toHaveLength(6);
  });

  it('conditional writes for leases: If-None-Match * and If-Match', async () => {
    const first = await putIfAbsent(store, 'lease', 'owner-a');
    expect(first.ok).toBe(true);
    expect(await putIfAbsent(store, 'lease', 'owner-b')).toEqual({ ok: false });
    expect(await putIfMatch(store, 'lease', 'owner-b', '"0000"')).toEqual({ ok: false });
    const renewed = await putIfMatch(store, 'lease', 'owner-a2', first.etag!);
    expect(renewed.ok).toBe(true);
    expect(await putIfMatch(store, 'lease', 'owner-c', first.etag!)).toEqual({ ok: false });
    expect(await putIfMatch(store, 'gone', 'x', renewed.etag!)).toEqual({ ok: false });
    expect((await store.getBytes('lease'))?.toString()).toBe('owner-a2');
    // Two racing writers: exactly one wins.
    const race = await Promise.all([store.putIfAbsent('race', 'a'), store.putIfAbsent('race', 'b')]);
    expect(race.filter((r) => r.ok)).toHaveLength(1);
  });

  it('a part failing on every retry fails the upload, removes its parts, and leaves no object', async () => {
    aws.failNext({ service: 's3', operation: 'UploadPart', kind: '500', after: 1, count: 20 });
    await expect(store.putStream('killed', chunked(randomBytes(11 * 1024 * 1024)))).rejects.toBeInstanceOf(HalyardError);
    expect(await store.head('killed')).toBeUndefined();
    expect(aws.s3.openUploads()).toBe(0);
    aws.failNext({ service: 's3', operation: 'UploadPart', kind: 'drop', afterBytes: 1024, count: 20 });
    await expect(store.putStream('dropped', chunked(randomBytes(6 * 1024 * 1024)))).rejects.toBeInstanceOf(HalyardError);
    expect(await store.head('dropped')).toBeUndefined();
  });

  it('lists incomplete multipart uploads under a prefix page by page (one key twice: by initiation time) and aborts them', async () => {
    const s3 = createS3Client({});
    const begin = async (key: string, initiated: string): Promise<string> => {
      const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: key }));
      aws.s3.uploads.get(UploadId!)!.initiated = new Date(initiated);
      return UploadId!;
    };
    const later = await begin('p/b', '2026-01-02T00:00:00.000Z');
    const earlier = await begin('p/b', '2026-01-01T00:00:00.000Z');
    const a = await begin('p/a', '2026-01-03T00:00:00.000Z');
    const c = await begin('p/c/deep', '2026-01-04T00:00:00.000Z');
    await begin('q/a', '2026-01-01T00:00:00.000Z');
    const listed: Array<[string, string, string]> = [];
    for await (const upload of store.listUploads('p/', { pageSize: 2 })) listed.push([upload.key, upload.uploadId, upload.initiated.toISOString()]);
    expect(listed).toEqual([
      ['p/a', a, '2026-01-03T00:00:00.000Z'],
      ['p/b', earlier, '2026-01-01T00:00:00.000Z'],
      ['p/b', later, '2026-01-02T00:00:00.000Z'],
      ['p/c/deep', c, '2026-01-04T00:00:00.000Z'],
    ]);
    expect(aws.countRequests({ service: 's3', operation: 'ListMultipartUploads' })).toBe(2);
    // The wire shape, as the SDK parses it: delimiter roll-up, markers, truncation.
    const page = await s3.send(new ListMultipartUploadsCommand({ Bucket: BUCKET, Prefix: 'p/', Delimiter: '/', MaxUploads: 2 }));
    expect(page).toMatchObject({ Bucket: BUCKET, Prefix: 'p/', Delimiter: '/', MaxUploads: 2, IsTruncated: true, NextKeyMarker: 'p/b', NextUploadIdMarker: earlier });
    expect(page.Uploads?.map((u) => u.Key)).toEqual(['p/a', 'p/b']);
    const rest = await s3.send(new ListMultipartUploadsCommand({ Bucket: BUCKET, Prefix: 'p/', Delimiter: '/', KeyMarker: page.NextKeyMarker, UploadIdMarker: page.NextUploadIdMarker }));
    expect(rest).toMatchObject({ IsTruncated: false, KeyMarker: 'p/b', UploadIdMarker: earlier, CommonPrefixes: [{ Prefix: 'p/c/' }] });
    expect(rest.Uploads?.map((u) => u.UploadId)).toEqual([later]);
    expect(rest.Uploads?.[0]?.Initiator?.ID).toMatch(/^[0-9a-f]{64}$/);

    await store.abortUpload('p/b', earlier);
    await store.abortUpload('p/b', earlier); // gone already: no error
    expect(aws.s3.uploads.has(earlier)).toBe(false);
    expect(aws.s3.openUploads()).toBe(4);
    await expect(store.abortUpload('p/a', 'not-an-upload')).resolves.toBeUndefined();
    aws.failNext({ service: 's3', operation: 'AbortMultipartUpload', kind: '500', count: 20 });
    await expect(store.abortUpload('p/a', a)).rejects.toMatchObject({ code: 'E_AWS_S3' });
    aws.clearFaults();
    expect(aws.s3.uploads.has(a)).toBe(true);
  });

  it('an operation the server lacks (501 NotImplemented, 405 MethodNotAllowed) is E_S3_UNSUPPORTED, asked once (no retries)', async () => {
    aws.failNext({ service: 's3', operation: 'ListMultipartUploads', kind: 'not-implemented', count: 5 });
    const listing = async () => {
      for await (const upload of store.listUploads('p/')) void upload;
    };
    await expect(listing()).rejects.toMatchObject({ code: 'E_S3_UNSUPPORTED', message: expect.stringMatching(/^S3 ListMultipartUploads s3:\/\/halyard-objects-test\/p\/: this store does not implement it \(NotImplemented/) });
    expect(aws.countRequests({ service: 's3', operation: 'ListMultipartUploads' })).toBe(1);
    aws.failNext({ service: 's3', operation: 'AbortMultipartUpload', kind: 'method-not-allowed', count: 5 });
    await expect(store.abortUpload('p/a', 'some-upload')).rejects.toMatchObject({ code: 'E_S3_UNSUPPORTED', message: expect.stringContaining('(MethodNotAllowed') });
    expect(aws.countRequests({ service: 's3', operation: 'AbortMultipartUpload' })).toBe(1);
  });

  it('beforeComplete runs after the last byte and before the object exists; when it fails, nothing is stored', async () => {
    const order: string[] = [];
    const check = (verdict: 'ok' | 'fail') => async () => {
      order.push(`check: ${aws.countRequests({ service: 's3', operation: 'CompleteMultipartUpload' }) + aws.countRequests({ service: 's3', operation: 'PutObject' })} completed`);
      if (verdict === 'fail') throw new Error('tar exited 2');
    };
    await store.putStream('checked/big', chunked(randomBytes(6 * 1024 * 1024)), { beforeComplete: check('ok') });
    expect(order).toEqual(['check: 0 completed']);
    expect(await store.head('checked/big')).toMatchObject({ size: 6 * 1024 * 1024 });
    // A failed producer: neither the multipart upload nor the single PutObject leaves anything.
    await expect(store.putStream('checked/failed-big', chunked(randomBytes(6 * 1024 * 1024)), { beforeComplete: check('fail') })).rejects.toThrow('tar exited 2');
    await expect(store.putStream('checked/failed-small', chunked(Buffer.from('partial')), { beforeComplete: check('fail') })).rejects.toThrow('tar exited 2');
    expect(await store.head('checked/failed-big')).toBeUndefined();
    expect(await store.head('checked/failed-small')).toBeUndefined();
    expect(aws.s3.openUploads()).toBe(0);
  });

  it('uploads over HTTPS skip the SigV4 payload hash (UNSIGNED-PAYLOAD); over HTTP the payload stays signed', async () => {
    const sentHeaders = async (endpoint: string, send: (client: S3Client) => Promise<unknown>): Promise<Record<string, string>> => {
      const client = createS3Client({ endpoint, region: 'us-east-1' });
      let seen: Record<string, string> = {};
      // The request as signed, answered here instead of over the network.
      (client.config as unknown as { requestHandler: unknown }).requestHandler = {
        handle: async (request: { headers: Record<string, string> }) => {
          seen = request.headers;
          return { response: { statusCode: 200, headers: { etag: '"e"' }, body: Readable.from([]) } };
        },
      };
      await send(client);
      return seen;
    };
    const body = Buffer.from('part bytes');
    const part = (client: S3Client) => client.send(new UploadPartCommand({ Bucket: BUCKET, Key: 'k', UploadId: 'u', PartNumber: 1, Body: body, ContentLength: body.length }));
    const put = (client: S3Client) => client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'k', Body: body }));
    for (const command of [part, put]) {
      const overTls = await sentHeaders('https://s3.example.test', command);
      expect(overTls['x-amz-content-sha256']).toBe(UNSIGNED_PAYLOAD);
      expect(overTls['authorization']).toMatch(/SignedHeaders=[^,]*x-amz-content-sha256/);
    }
    for (const command of [part, put]) expect((await sentHeaders('http://s3.example.test', command))['x-amz-content-sha256']).toBe(sha256(body));
    // Other calls keep the SDK's own payload hash even over HTTPS.
    const listed = await sentHeaders('https://s3.example.test', (client) => client.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: 'k' })));
    expect(listed['x-amz-content-sha256']).toBe(sha256(Buffer.alloc(0)));
  });

  it('over HTTPS each attempt of an upload gets a fresh body in TLS_BODY_SLICE pieces, the whole part again after a retry; over HTTP the Buffer itself', async () => {
    const part = randomBytes(3 * TLS_BODY_SLICE + 1000);
    const attempts = async (endpoint: string): Promise<Array<{ pieces: number[]; bytes: Buffer; buffer: boolean }>> => {
      const client = createS3Client({ endpoint, region: 'us-east-1' });
      const seen: Array<{ pieces: number[]; bytes: Buffer; buffer: boolean }> = [];
      // The first attempt reads the whole body and fails with a 500, which the SDK retries.
      (client.config as unknown as { requestHandler: unknown }).requestHandler = {
        handle: async (request: { body: unknown }) => {
          const pieces: number[] = [];
          const chunks: Buffer[] = [];
          if (Buffer.isBuffer(request.body)) chunks.push(request.body);
          else for await (const chunk of request.body as AsyncIterable<Buffer>) chunks.push(chunk);
          for (const chunk of chunks) pieces.push(chunk.length);
          seen.push({ pieces, bytes: Buffer.concat(chunks), buffer: Buffer.isBuffer(request.body) });
          const statusCode = seen.length === 1 ? 500 : 200;
          return { response: { statusCode, headers: statusCode === 200 ? { etag: '"e"' } : {}, body: Readable.from(statusCode === 200 ? [] : [Buffer.from('<Error><Code>InternalError</Code></Error>')]) } };
        },
      };
      await client.send(new UploadPartCommand({ Bucket: BUCKET, Key: 'k', UploadId: 'u', PartNumber: 1, Body: part, ContentLength: part.length }));
      return seen;
    };
    const overTls = await attempts('https://s3.example.test');
    expect(overTls).toHaveLength(2);
    for (const attempt of overTls) {
      expect(attempt.buffer).toBe(false);
      expect(attempt.pieces).toEqual([TLS_BODY_SLICE, TLS_BODY_SLICE, TLS_BODY_SLICE, 1000]);
      expect(attempt.bytes.equals(part)).toBe(true);
    }
    const plain = await attempts('http://s3.example.test');
    expect(plain.map((attempt) => [attempt.buffer, attempt.bytes.equals(part)])).toEqual([[true, true], [true, true]]);
  });

  // The SDK sends bodies of 2 MiB and more with `Expect: 100-continue`, each on a new connection
  // that is closed after its answer (a TCP and, on real S3, a TLS handshake per part, plus a round
  // trip waiting for "100 Continue"); createS3Client turns the header off, so parts reuse sockets.
  it('sends the parts of a multipart upload over kept-alive connections, at most one per part in flight', async () => {
    const data = randomBytes(5 * 5 * 1024 * 1024);
    await store.putStream('a/parts.bin', chunked(data));
    const calls = aws.requests.filter((request) => request.service === 's3');
    expect(calls.filter((request) => request.operation === 'UploadPart')).toHaveLength(5);
    expect(new Set(calls.map((request) => request.connection)).size).toBeLessThanOrEqual(UPLOAD_QUEUE_SIZE);
  });

  it('a source stream that errors fails the upload', async () => {
    const source = new Readable({ read() {} });
    source.push(randomBytes(1000));
    setTimeout(() => source.destroy(new Error('tar died')), 20);
    await expect(store.putStream('broken', source)).rejects.toThrow(/tar died/);
    expect(await store.head('broken')).toBeUndefined();
  });
});

describe('emulator S3 wire checks', () => {
  it('rejects a wrong secret, and decodes aws-chunked bodies with CRC trailers (SDK default checksums)', async () => {
    const bad = new S3Client({ forcePathStyle: true, credentials: { accessKeyId: aws.credentials.accessKeyId, secretAccessKey: 'wrong' } });
    await expect(bad.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'k', Body: 'x' }))).rejects.toMatchObject({ name: 'SignatureDoesNotMatch' });
    // Default client: WHEN_SUPPORTED checksums, a stream body goes aws-chunked with an x-amz-checksum-crc32 trailer.
    const defaults = new S3Client({ forcePathStyle: true });
    const data = randomBytes(300_000);
    await defaults.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'chunked', Body: chunked(data, 65_536), ContentLength: data.length }));
    expect(sha256((await store.getBytes('chunked'))!)).toBe(sha256(data));
    expect(createS3Client({}).config.forcePathStyle).toBe(true);
  });

  // STREAMING-AWS4-HMAC-SHA256-PAYLOAD: the body is aws-chunked, each chunk signed, chained from the
  // request's seed signature (as SDKs for other languages and some tools send it).
  it('decodes signed aws-chunked bodies and rejects a tampered chunk', async () => {
    const { accessKeyId, secretAccessKey } = aws.credentials;
    const url = new URL(aws.url);
    const send = async (key: string, data: Buffer, tamper: boolean): Promise<{ status: number; body: string }> => {
      const pieces = [data.subarray(0, 70_000), data.subarray(70_000)];
      const encodedLength = [...pieces, Buffer.alloc(0)].reduce((sum, p) => sum + p.length.toString(16).length + ';chunk-signature='.length + 64 + 4 + p.length, 0) + 2;
      const signer = new SignatureV4({ credentials: { accessKeyId, secretAccessKey }, region: aws.region, service: 's3', sha256: Sha256, uriEscapePath: false });
      const signed = await signer.sign({
        method: 'PUT',
        protocol: 'http:',
        hostname: url.hostname,
        port: Number(url.port),
        path: `/${BUCKET}/${key}`,
        query: {},
        headers: {
          host: url.host,
          'content-encoding': 'aws-chunked',
          'x-amz-content-sha256': 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
          'x-amz-decoded-content-length': String(data.length),
          'content-length': String(encodedLength),
        },
      });
      const authorization = String(signed.headers['authorization']);
      const amzDate = String(signed.headers['x-amz-date']);
      const scope = `${amzDate.slice(0, 8)}/${aws.region}/s3/aws4_request`;
      let previous = /Signature=([0-9a-f]{64})/.exec(authorization)![1]!;
      const hmac = (k: Buffer | string, text: string) => createHmac('sha256', k).update(text).digest();
      const signingKey = hmac(hmac(hmac(hmac(`AWS4${secretAccessKey}`, amzDate.slice(0, 8)), aws.region), 's3'), 'aws4_request');
      const empty = sha256(Buffer.alloc(0));
      const frames: Buffer[] = [];
      for (const piece of [...pieces, Buffer.alloc(0)]) {
        const signature = hmac(signingKey, ['AWS4-HMAC-SHA256-PAYLOAD', amzDate, scope, previous, empty, sha256(piece)].join('\n')).toString('hex');
        previous = signature;
        const sent = tamper && piece.length > 0 ? Buffer.from(piece) : piece;
        if (tamper && sent.length > 0) sent[0] = sent[0]! ^ 0xff;
        frames.push(Buffer.from(`${piece.length.toString(16)};chunk-signature=${signature}\r\n`), sent, Buffer.from('\r\n'));
      }
      frames.push(Buffer.from('\r\n'));
      const body = Buffer.concat(frames);
      expect(body.length).toBe(encodedLength);
      return new Promise((done, fail) => {
        const req = httpRequest({ method: 'PUT', host: url.hostname, port: url.port, path: `/${BUCKET}/${key}`, headers: signed.headers }, (res) => {
          let text = '';
          res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
          res.on('end', () => done({ status: res.statusCode ?? 0, body: text }));
        });
        req.on('error', fail);
        req.end(body);
      });
    };
    const data = randomBytes(100_000);
    expect((await send('signed', data, false)).status).toBe(200);
    expect(sha256((await store.getBytes('signed'))!)).toBe(sha256(data));
    const tampered = await send('tampered', data, true);
    expect(tampered.status).toBe(403);
    expect(tampered.body).toContain('<Code>SignatureDoesNotMatch</Code>');
    expect(await store.head('tampered')).toBeUndefined();
  });
});

describe('sdkObjectStore against s3rver', () => {
  useS3rver([BUCKET]);

  it('streams byte-exact (checksums only WHEN_REQUIRED), lacks ListMultipartUploads and aborts (E_S3_UNSUPPORTED), ignores If-None-Match', async () => {
    // Parts of two sizes (5 MiB, then 10 MiB), as a stream past 1000 parts has them.
    const s3rverStore = sdkObjectStore({ bucket: BUCKET, partSizing: { first: 5 * 1024 * 1024, partsPerSize: 1 } });
    const big = randomBytes(16 * 1024 * 1024 + 7);
    expect(await s3rverStore.putStream('a/big.bin', chunked(big))).toMatchObject({ bytes: big.length, sha256: sha256(big) });
    expect(sha256(await readAll(await s3rverStore.getStream('a/big.bin')))).toBe(sha256(big));
    const small = randomBytes(1000);
    await s3rverStore.putStream('a/small.bin', chunked(small, 300));
    expect(await s3rverStore.getBytes('a/small.bin')).toEqual(small);
    // Why createS3Client turns the SDK's default checksums off: a streamed PutObject with them is
    // stored aws-chunked, framing and CRC trailer inside the object.
    const defaults = new S3Client({ forcePathStyle: true });
    const data = randomBytes(100_000);
    await defaults.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'framed', Body: chunked(data, 65_536), ContentLength: data.length }));
    const stored = (await s3rverStore.getBytes('framed'))!;
    expect(stored.length).toBeGreaterThan(data.length);
    expect(stored.toString('latin1')).toMatch(/^[0-9a-f]+\r\n/);

    const listing = async () => {
      for await (const upload of s3rverStore.listUploads('a/')) void upload;
    };
    await expect(listing()).rejects.toMatchObject({ code: 'E_S3_UNSUPPORTED', message: expect.stringContaining('(NotImplemented') });
    const { UploadId } = await createS3Client({}).send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: 'a/open' }));
    await expect(s3rverStore.abortUpload('a/open', UploadId!)).rejects.toMatchObject({ code: 'E_S3_UNSUPPORTED', message: expect.stringContaining('(MethodNotAllowed') });
    // Both conditional writes succeed: no lease can rest on this store (daemon/lease.ts checks).
    expect(await s3rverStore.putIfAbsent('lease', 'a')).toMatchObject({ ok: true });
    expect(await s3rverStore.putIfAbsent('lease', 'b')).toMatchObject({ ok: true });
    expect((await s3rverStore.getBytes('lease'))!.toString()).toBe('b');
  });
});

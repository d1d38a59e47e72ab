// src/aws/deferred-store.ts: a store handed out before its S3 client has loaded (a backup connects
// meanwhile). Calls made early wait for the load and then reach a real S3 server (s3rver); a load
// that fails fails each call with its own error and leaves no unhandled rejection.
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { deferredObjectStore } from '../../src/aws/deferred-store.js';
import { sdkObjectStore, type ObjectStore } from '../../src/aws/objects.js';
import { useS3rver } from '../support/s3rver.js';

const BUCKET = 'deferred';
const s3rver = useS3rver([BUCKET]);

// A load that finishes only when the test says so, and says how often it was started.
function gatedLoad(make: () => ObjectStore): { load: () => Promise<ObjectStore>; open: () => void; starts: () => number } {
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  let starts = 0;
  return {
    load: async () => {
      starts += 1;
      await gate;
      return make();
    },
    open,
    starts: () => starts,
  };
}

describe('deferredObjectStore', () => {
  it('starts loading at once, holds calls made meanwhile, then serves every kind of call from the loaded store', async () => {
    const gated = gatedLoad(() => sdkObjectStore({ bucket: BUCKET, endpoint: s3rver.url, region: 'us-east-1' }));
    const store = deferredObjectStore(BUCKET, gated.load);
    expect(gated.starts()).toBe(1);
    expect(store.bucket).toBe(BUCKET);

    let settled = false;
    const early = store.putStream('early/data', Readable.from([Buffer.from('streamed '), Buffer.from('bytes')])).then((result) => {
      settled = true;
      return result;
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(settled).toBe(false);
    gated.open();
    expect((await early).etag).not.toBe('');

    await store.putBytes('early/manifest.json', '{"ok":true}\n', { contentType: 'application/json' });
    expect((await store.getBytes('early/data'))?.toString()).toBe('streamed bytes');
    expect((await store.head('early/manifest.json'))?.size).toBe(12);
    const listed: string[] = [];
    for await (const object of store.list('early/')) listed.push(object.key);
    expect(listed).toEqual(['early/data', 'early/manifest.json']);
    await store.delete('early/data');
    expect(await store.getBytes('early/data')).toBeUndefined();
    expect(await s3rver.keys(BUCKET, 'early/')).toEqual(['early/manifest.json']);
    expect(gated.starts()).toBe(1);
  });

  it('with startWhen, starts loading once it settles (even rejected) or at the first call, whichever comes first, and once', async () => {
    const make = () => sdkObjectStore({ bucket: BUCKET, endpoint: s3rver.url, region: 'us-east-1' });
    let connected!: () => void;
    const gated = gatedLoad(make);
    deferredObjectStore(BUCKET, gated.load, { startWhen: new Promise<void>((resolve) => (connected = resolve)) });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(gated.starts()).toBe(0);
    connected();
    await new Promise((resolve) => setImmediate(resolve));
    expect(gated.starts()).toBe(1);

    const failed = gatedLoad(make);
    deferredObjectStore(BUCKET, failed.load, { startWhen: Promise.reject(new Error('the host refused the connection')) });
    await new Promise((resolve) => setImmediate(resolve));
    expect(failed.starts()).toBe(1);

    const called = gatedLoad(make);
    const store = deferredObjectStore(BUCKET, called.load, { startWhen: new Promise<void>(() => undefined) });
    const head = store.head('nothing/here');
    expect(called.starts()).toBe(1);
    called.open();
    expect(await head).toBeUndefined();
    await store.head('nothing/there');
    expect(called.starts()).toBe(1);
  });

  it('fails each call with the load error, and an unused store that failed to load raises nothing', async () => {
    const broken = deferredObjectStore(BUCKET, async () => {
      throw new Error('cannot load the S3 client');
    });
    await expect(broken.putBytes('k', 'v')).rejects.toThrow('cannot load the S3 client');
    await expect(broken.head('k')).rejects.toThrow('cannot load the S3 client');
    const listing = (async () => {
      for await (const object of broken.list('')) return object;
      return undefined;
    })();
    await expect(listing).rejects.toThrow('cannot load the S3 client');

    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      deferredObjectStore(BUCKET, async () => {
        throw new Error('never used');
      });
      await new Promise((resolve) => setTimeout(resolve, 50));
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
    expect(unhandled).toEqual([]);
  });
});

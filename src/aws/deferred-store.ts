import type { Readable } from 'node:stream';
import type { ConditionalPutResult, ObjectInfo, ObjectStore, PutStreamOptions, UploadInfo } from './objects.js';

// An object store usable at once while its client still loads: loading the S3 SDK takes ~0.2 s
// of a backup command's start-up, and a backup needs the store only after it has connected to the
// host, locked it and inspected the volume. The load starts when `startWhen` settles (a backup: its
// first connection is up) or at the first call, whichever comes first; without `startWhen`, at
// once. Each call waits for it, and a failed load fails each call with its error.
export function deferredObjectStore(bucket: string, load: () => Promise<ObjectStore>, timing: { startWhen?: Promise<unknown> } = {}): ObjectStore {
  let loading: Promise<ObjectStore> | undefined;
  const start = (): Promise<ObjectStore> => {
    if (loading === undefined) {
      loading = load();
      // Nothing may call the store (a backup that fails on the host first): not an unhandled rejection.
      loading.catch(() => undefined);
    }
    return loading;
  };
  if (timing.startWhen === undefined) start();
  else timing.startWhen.then(start, start);
  return {
    bucket,
    putStream: async (key: string, body: Readable, options?: PutStreamOptions) => (await start()).putStream(key, body, options),
    putBytes: async (key: string, body: string | Uint8Array, options?: { contentType?: string }) => (await start()).putBytes(key, body, options),
    putIfAbsent: async (key: string, body: string | Uint8Array): Promise<ConditionalPutResult> => (await start()).putIfAbsent(key, body),
    putIfMatch: async (key: string, body: string | Uint8Array, etag: string): Promise<ConditionalPutResult> => (await start()).putIfMatch(key, body, etag),
    getStream: async (key: string, range?: { start: number; end?: number }) => (await start()).getStream(key, range),
    getBytes: async (key: string) => (await start()).getBytes(key),
    head: async (key: string) => (await start()).head(key),
    async *list(prefix: string, options?: { pageSize?: number }): AsyncIterable<ObjectInfo> {
      yield* (await start()).list(prefix, options);
    },
    delete: async (key: string) => (await start()).delete(key),
    async *listUploads(prefix: string, options?: { pageSize?: number }): AsyncIterable<UploadInfo> {
      yield* (await start()).listUploads(prefix, options);
    },
    abortUpload: async (key: string, uploadId: string) => (await start()).abortUpload(key, uploadId),
  };
}

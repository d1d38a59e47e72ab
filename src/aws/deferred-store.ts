import type { Readable } from 'node:stream';
import type { ConditionalPutResult, ObjectInfo, ObjectStore, PutStreamOptions, UploadInfo } from './objects.js';

// An object store usable at once while its client still loads: loading the S3 SDK takes ~0.2 s
// of a backup command's start-up, and a backup needs the store only after it has connected to the
// host, locked it and inspected the volume, so the SDK loads while the handshake is in flight.
// `load` starts now; each call waits for it, and a failed load fails each call with its error.
export function deferredObjectStore(bucket: string, load: () => Promise<ObjectStore>): ObjectStore {
  const ready = load();
  // Nothing may call the store (a backup that fails on the host first): not an unhandled rejection.
  ready.catch(() => undefined);
  return {
    bucket,
    putStream: async (key: string, body: Readable, options?: PutStreamOptions) => (await ready).putStream(key, body, options),
    putBytes: async (key: string, body: string | Uint8Array, options?: { contentType?: string }) => (await ready).putBytes(key, body, options),
    putIfAbsent: async (key: string, body: string | Uint8Array): Promise<ConditionalPutResult> => (await ready).putIfAbsent(key, body),
    putIfMatch: async (key: string, body: string | Uint8Array, etag: string): Promise<ConditionalPutResult> => (await ready).putIfMatch(key, body, etag),
    getStream: async (key: string, range?: { start: number; end?: number }) => (await ready).getStream(key, range),
    getBytes: async (key: string) => (await ready).getBytes(key),
    head: async (key: string) => (await ready).head(key),
    async *list(prefix: string, options?: { pageSize?: number }): AsyncIterable<ObjectInfo> {
      yield* (await ready).list(prefix, options);
    },
    delete: async (key: string) => (await ready).delete(key),
    async *listUploads(prefix: string, options?: { pageSize?: number }): AsyncIterable<UploadInfo> {
      yield* (await ready).listUploads(prefix, options);
    },
    abortUpload: async (key: string, uploadId: string) => (await ready).abortUpload(key, uploadId),
  };
}

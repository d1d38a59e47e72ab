import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll } from 'vitest';
import { clientConfig } from '../../src/aws/client-config.js';
import { sdkObjectStore } from '../../src/aws/objects.js';

// s3rver 3.7.1 (npm), a second, independent S3-compatible server for tests: in a child process, on
// 127.0.0.1 and a free port, objects in a temporary directory, buckets made at start (its
// `--configure-bucket`). What it lacks, measured (test/backup/backup-local.test.ts,
// test/daemon/lease-check.test.ts and test/e2e/halyard-daemon.e2e.test.ts rely on it):
// - it accepts only the access key id S3RVER (secret S3RVER) and checks no signature;
// - with the SDK's default checksums a streamed PutObject is stored with its aws-chunked framing
//   (silent corruption): clients need `requestChecksumCalculation: 'WHEN_REQUIRED'` (src/aws/objects.ts sets it);
// - ListMultipartUploads answers 501 NotImplemented, AbortMultipartUpload 405 MethodNotAllowed;
// - `If-None-Match: *` on PUT is ignored: both writes succeed (the daemon's lease check refuses it).

/** The only credentials s3rver accepts. */
export const S3RVER_ACCESS_KEY_ID = 'S3RVER';
export const S3RVER_SECRET_ACCESS_KEY = 'S3RVER';

export interface S3rverServer {
  /** `http://127.0.0.1:PORT` */
  url: string;
  /** Where the objects are stored. */
  directory: string;
  /**
   * SDK settings that send S3 here (AWS_ENDPOINT_URL_S3, which wins over AWS_ENDPOINT_URL) with
   * s3rver's credentials; other services keep their endpoint (the emulator's, with
   * `aws.addAccessKey(S3RVER_ACCESS_KEY_ID, S3RVER_SECRET_ACCESS_KEY)`).
   */
  env: Record<string, string>;
  /** Keys of a bucket under a prefix, listed with s3rver's credentials whatever this process's AWS_* say. */
  keys(bucket: string, prefix?: string): Promise<string[]>;
  /** Empties every bucket (deletes them and makes the configured ones again). */
  reset(): Promise<void>;
  stop(): Promise<void>;
}

// s3rver runs in a child process (s3rver-child.mjs says why), asked over IPC to reset and stop.
export async function startS3rver(options: { buckets: string[] }): Promise<S3rverServer> {
  const directory = mkdtempSync(join(tmpdir(), 'hy-s3rver-'));
  const child = fork(join(import.meta.dirname, 's3rver-child.mjs'), [directory, JSON.stringify(options.buckets)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const reply = <T>(match: (message: Record<string, unknown>) => boolean): Promise<T> =>
    new Promise((resolve, reject) => {
      const onMessage = (message: Record<string, unknown>) => {
        if (!match(message)) return;
        cleanup();
        if (typeof message['error'] === 'string') reject(new Error(`s3rver: ${message['error']}`));
        else resolve(message as T);
      };
      const onExit = (code: number | null) => {
        cleanup();
        reject(new Error(`s3rver's process exited (${code})`));
      };
      const cleanup = () => {
        child.off('message', onMessage);
        child.off('exit', onExit);
      };
      child.on('message', onMessage);
      child.on('exit', onExit);
    });
  const ask = async (what: 'reset' | 'stop'): Promise<void> => {
    const answered = reply<{ done: string }>((message) => message['done'] === what);
    child.send(what);
    await answered;
  };
  const { port } = await reply<{ port: number }>((message) => typeof message['port'] === 'number');
  const url = `http://127.0.0.1:${port}`;
  // Its own client: tests that keep the emulator's keys in AWS_* still read s3rver.
  const client = new S3Client({
    ...clientConfig({ endpoint: url, region: 'us-east-1' }),
    forcePathStyle: true,
    credentials: { accessKeyId: S3RVER_ACCESS_KEY_ID, secretAccessKey: S3RVER_SECRET_ACCESS_KEY },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  return {
    url,
    directory,
    env: {
      AWS_ENDPOINT_URL_S3: url,
      AWS_ACCESS_KEY_ID: S3RVER_ACCESS_KEY_ID,
      AWS_SECRET_ACCESS_KEY: S3RVER_SECRET_ACCESS_KEY,
      AWS_REGION: 'us-east-1',
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    },
    async keys(bucket, prefix = '') {
      const keys: string[] = [];
      for await (const object of sdkObjectStore({ bucket }, client).list(prefix)) keys.push(object.key);
      return keys;
    },
    async reset() {
      await ask('reset');
    },
    async stop() {
      client.destroy();
      if (child.exitCode === null) await ask('stop').catch(() => child.kill());
      rmSync(directory, { recursive: true, force: true });
    },
  };
}

/**
 * One s3rver for the tests of a describe block (or file), with this process's S3 clients pointed at
 * it meanwhile (its `env` set; the previous values back after). Returns a stand-in that forwards
 * to the running server.
 */
export function useS3rver(buckets: string[]): S3rverServer {
  let current: S3rverServer | undefined;
  const saved = new Map<string, string | undefined>();
  beforeAll(async () => {
    current = await startS3rver({ buckets });
    for (const [name, value] of Object.entries(current.env)) {
      saved.set(name, process.env[name]);
      process.env[name] = value;
    }
  });
  afterAll(async () => {
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    await current?.stop();
  });
  return new Proxy({} as S3rverServer, {
    get(_target, key) {
      if (!current) throw new Error('s3rver is used before beforeAll started it');
      const value: unknown = Reflect.get(current, key);
      return typeof value === 'function' ? value.bind(current) : value;
    },
  });
}

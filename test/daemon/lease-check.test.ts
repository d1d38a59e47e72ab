import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { sdkObjectStore } from '../../src/aws/objects.js';
import { parseDaemonConfig, type DaemonConfig } from '../../src/daemon/config.js';
import { startDaemon } from '../../src/daemon/daemon.js';
import { LEASE_CHECK_FOLDER, LeaseStoreError } from '../../src/daemon/lease.js';
import { memoryLogger } from '../../src/daemon/log.js';
import { startAwsEmulator, useEmulatorEnv, type AwsEmulator } from '../support/aws-emulator/index.js';
import { runCli } from '../support/cli.js';
import { S3RVER_ACCESS_KEY_ID, S3RVER_SECRET_ACCESS_KEY, startS3rver, type S3rverServer } from '../support/s3rver.js';

// The lease rests on the bucket refusing a second conditional write. At start (and with
// `daemon --check`) the daemon proves it: the emulator honours If-None-Match: * (412), s3rver
// ignores it, so a daemon whose lease lives there refuses to start.

const BUCKET = 'halyard-leases';
let aws: AwsEmulator;
let s3rver: S3rverServer;
let restoreEnv: () => void;
let dir: string;

beforeAll(async () => {
  aws = await startAwsEmulator();
  s3rver = await startS3rver({ buckets: [BUCKET] });
  // One identity for both servers: s3rver accepts only S3RVER, the emulator learns it too.
  aws.addAccessKey(S3RVER_ACCESS_KEY_ID, S3RVER_SECRET_ACCESS_KEY);
  restoreEnv = useEmulatorEnv(aws, { AWS_ACCESS_KEY_ID: S3RVER_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY: S3RVER_SECRET_ACCESS_KEY });
  aws.createBucket(BUCKET);
  dir = mkdtempSync(join(tmpdir(), 'hy-lease-check-'));
});
afterAll(async () => {
  restoreEnv?.();
  await aws?.stop();
  await s3rver?.stop();
});

// A daemon file whose lease (and every other AWS client) uses this endpoint; no CloudWatch, no SNS.
function daemonFile(name: string, endpoint: string): { file: string; config: DaemonConfig } {
  const file = join(dir, `${name}.yml`);
  const text = [
    `aws: { region: us-east-1, endpoint: "${endpoint}" }`,
    'cloudwatch: false',
    'http: { port: 0, docker_bridge: false }',
    `state_dir: ${dir}`,
    `lease: { bucket: ${BUCKET}, prefix: ha/leases }`,
    'jobs:',
    '  - { name: tidy, kind: command, schedule: "0 0 4 * * 0", command: ["true"] }',
    '',
  ].join('\n');
  writeFileSync(file, text);
  return { file, config: parseDaemonConfig(text, file) };
}

async function keysIn(endpoint: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const object of sdkObjectStore({ bucket: BUCKET, endpoint }).list('')) keys.push(object.key);
  return keys;
}

const cliEnv = (): Record<string, string> => ({ ...aws.env, AWS_ACCESS_KEY_ID: S3RVER_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY: S3RVER_SECRET_ACCESS_KEY });

describe('the lease store must honour conditional writes', () => {
  test('emulated S3 answers the second If-None-Match: * with 412: the daemon starts, the probe key is gone', async () => {
    const { config } = daemonFile('emulator', aws.url);
    const logger = memoryLogger();
    const daemon = await startDaemon(config, { logger });
    await daemon.stop();
    expect(logger.records.map((r) => r.event)).toEqual(['scheduled', 'started', 'shutdown', 'stopped']);
    const puts = aws.requests.filter((r) => r.service === 's3' && r.operation === 'PutObject');
    expect(puts.map((r) => [r.status, r.errorCode])).toEqual([
      [200, undefined],
      [412, 'PreconditionFailed'],
    ]);
    expect(aws.countRequests({ service: 's3', operation: 'DeleteObject' })).toBe(1);
    expect(await keysIn(aws.url)).toEqual([]);
  });

  test('s3rver ignores it: the daemon refuses to start with one line naming the bucket, the endpoint and the fix; the probe key is gone', async () => {
    const { config } = daemonFile('s3rver', s3rver.url);
    const logger = memoryLogger();
    const error = await startDaemon(config, { logger }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LeaseStoreError);
    expect(error).toMatchObject({ code: 'E_LEASE_UNSAFE', exitCode: 65 });
    expect((error as Error).message).toMatch(
      new RegExp(`^lease store s3://${BUCKET}/ha/leases/ at ${s3rver.url.replace(/\./g, '\\.')} ignores conditional writes: a second PUT of ha/leases/${LEASE_CHECK_FOLDER}/[0-9a-f]+ with If-None-Match: \\* succeeded .*; use a store that honours conditional writes \\(AWS S3 does\\) for lease\\.bucket, or remove lease: from the daemon file and run a single daemon$`),
    );
    expect(logger.records).toEqual([]);
    expect(await keysIn(s3rver.url)).toEqual([]);
  });

  test('CLI: `daemon --check` runs the same check (exit 65 on s3rver); `daemon` itself exits 65 with that line', async () => {
    const good = daemonFile('emulator-cli', aws.url);
    const ok = await runCli(['daemon', '-c', good.file, '--check'], { env: cliEnv() });
    expect(ok.exitCode, ok.stderr).toBe(0);
    const okLines = ok.stdout.trim().split('\n');
    expect(okLines[0]).toBe(`${good.file}: ok, 1 job`);
    expect(okLines.at(-1)).toBe(`  lease s3://${BUCKET}/ha/leases/ at ${aws.url}: ok, conditional writes are honoured`);

    const bad = daemonFile('s3rver-cli', s3rver.url);
    const check = await runCli(['daemon', '-c', bad.file, '--check'], { env: cliEnv() });
    expect(check.exitCode).toBe(65);
    const lines = check.stdout.trim().split('\n');
    expect(lines[0]).toBe(`${bad.file}: unsafe lease store, 1 job`);
    expect(lines.at(-1)).toMatch(new RegExp(`^  lease store s3://${BUCKET}/ha/leases/ at http://127\\.0\\.0\\.1:\\d+ ignores conditional writes: .* run a single daemon$`));

    const start = await runCli(['daemon', '-c', bad.file], { env: cliEnv() });
    expect(start.exitCode).toBe(65);
    expect(start.stdout).toBe('');
    expect(start.stderr).toMatch(new RegExp(`^halyard: lease store s3://${BUCKET}/ha/leases/ at http://127\\.0\\.0\\.1:\\d+ ignores conditional writes: [^\\n]* run a single daemon\\n$`));
    expect(await keysIn(s3rver.url)).toEqual([]);
  }, 30_000);
});

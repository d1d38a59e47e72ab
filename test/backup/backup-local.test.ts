import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateMultipartUploadCommand, UploadPartCommand } from '@aws-sdk/client-s3';
import { beforeEach, describe, expect, it } from 'vitest';
import { createS3Client, sdkObjectStore, type ObjectStore } from '../../src/aws/objects.js';
import { parseBackupConfig, type BackupConfig, type VolumeSpec } from '../../src/backup/config.js';
import { backupId } from '../../src/backup/plan.js';
import { backupVolume, findBackup, listBackups, restoreVolume, verifyBackup, type BackupContext } from '../../src/backup/run.js';
import { withHostLock } from '../../src/engine/locked-host.js';
import type { Host } from '../../src/inventory/types.js';
import { useAwsEmulator } from '../support/aws-emulator/per-file.js';
import { runCli } from '../support/cli.js';
import { localSession } from './local-session.js';

// The backup engine against the emulator's S3, with scripts run locally instead of over SSH.

const BUCKET = 'halyard-backups-test';
const aws = useAwsEmulator();
let work: string;
let store: ObjectStore;

const host: Host = { name: 'local-1', address: '127.0.0.1', port: 22, user: undefined, privateKeyFile: undefined, become: false, becomePassword: undefined, groups: ['all'], vars: {} };

function config(extra = ''): BackupConfig {
  return parseBackupConfig(
    `inventory: inv.yml\nbucket: ${BUCKET}\nprefix: hb\nretention: { last: 2, daily: 0, weekly: 0, monthly: 0 }\n${extra}volumes:\n  - { name: data, kind: dir, path: ${join(work, 'data')} }\n`,
    join(work, 'backup.yml'),
  );
}

function context(cfg: BackupConfig, env: Record<string, string> = {}, now?: () => Date): BackupContext & { session: () => Promise<ReturnType<typeof localSession>> } {
  const session = localSession(host.name, env);
  // Locks and undo records of these local "hosts" live under the test's dir, not this machine's /run and /var/lib.
  const lockPaths = { rootDir: join(work, 'run-halyard'), userHome: join(work, 'home'), undoDir: join(work, 'undo') };
  mkdirSync(lockPaths.userHome, { recursive: true });
  return { config: cfg, store, session: async () => session, lockPaths, ...(now ? { now } : {}) };
}

function treeDigest(dir: string): string {
  return execFileSync('sh', ['-c', `cd '${dir}' && find . -type f -print0 | LC_ALL=C sort -z | xargs -0r sha256sum | sha256sum`], { encoding: 'utf8' });
}

beforeEach(() => {
  aws.createBucket(BUCKET);
  store = sdkObjectStore({ bucket: BUCKET, partSize: 5 * 1024 * 1024 });
  work = mkdtempSync(join(tmpdir(), 'hy-backup-'));
  mkdirSync(join(work, 'data/sub'), { recursive: true });
  writeFileSync(join(work, 'data/a.txt'), 'alpha\n');
  writeFileSync(join(work, 'data/sub/b.bin'), randomBytes(12_000_000));
  chmodSync(join(work, 'data/a.txt'), 0o640);
  return () => rmSync(work, { recursive: true, force: true });
});

describe('backup, list, verify, restore (local scripts, emulated S3)', () => {
  it('round-trips a directory byte-identical, manifest last, restore replaces the directory', async () => {
    const cfg = config();
    const spec = cfg.volumes[0]!;
    const before = treeDigest(join(work, 'data'));
    const outcome = await backupVolume(context(cfg), host, spec);
    expect(outcome).toMatchObject({ ok: true, host: 'local-1', volume: 'data' });
    const manifest = outcome.manifest!;
    expect(manifest).toMatchObject({ tool: 'halyard', kind: 'dir', compression: 'zstd', host: 'local-1', volume: 'data', source: join(work, 'data') });
    // The manifest was the last object written (after the multipart upload completed).
    const writes = aws.requests.filter((r) => r.service === 's3' && ['PutObject', 'CompleteMultipartUpload'].includes(r.operation));
    expect(writes.at(-1)).toMatchObject({ operation: 'PutObject', status: 200 });
    expect(aws.s3.keys(BUCKET)).toEqual([manifest.dataKey, outcome.manifestKey]);

    const listed = await listBackups(store, 'hb');
    expect(listed.map((b) => b.manifest.id)).toEqual([manifest.id]);
    expect((await verifyBackup(store, listed[0]!)).ok).toBe(true);

    // Damage the directory, then restore: extra files go, changed files come back.
    writeFileSync(join(work, 'data/a.txt'), 'changed\n');
    writeFileSync(join(work, 'data/new.txt'), 'not in the backup\n');
    await restoreVolume(context(cfg), host, spec, await findBackup(store, 'hb', 'local-1', 'data'));
    expect(treeDigest(join(work, 'data'))).toBe(before);
    expect(readFileSync(join(work, 'data/a.txt'), 'utf8')).toBe('alpha\n');
    expect(execFileSync('stat', ['-c', '%a', join(work, 'data/a.txt')], { encoding: 'utf8' }).trim()).toBe('640');
  });

  it('an upload killed midway leaves no listed backup and no parts; the next run succeeds', async () => {
    const cfg = config('compression: none\n');
    const spec = cfg.volumes[0]!;
    // Part 2 fails on every retry (the SDK tries 5 times).
    aws.failNext({ service: 's3', operation: 'UploadPart', kind: '500', after: 1, count: 20 });
    const failed = await backupVolume(context(cfg), host, spec);
    expect(failed.ok).toBe(false);
    expect(failed.error).toMatch(/InternalError/);
    expect(await listBackups(store, 'hb')).toEqual([]);
    expect(aws.s3.keys(BUCKET)).toEqual([]);
    expect(aws.s3.openUploads()).toBe(0);

    aws.clearFaults();
    const next = await backupVolume(context(cfg), host, spec);
    expect(next.ok).toBe(true);
    expect((await listBackups(store, 'hb')).map((b) => b.manifest.id)).toEqual([next.manifest!.id]);
  });

  it('a data object without its manifest (manifest write failed) is not a backup; a failing tar is a failed backup', async () => {
    const cfg = config();
    const spec = cfg.volumes[0]!;
    aws.failNext({ service: 's3', operation: 'PutObject', kind: '500', count: 5 });
    const failed = await backupVolume(context(cfg), host, spec);
    expect(failed.ok).toBe(false);
    expect(aws.s3.keys(BUCKET)).toHaveLength(1); // the data object alone
    expect(await listBackups(store, 'hb')).toEqual([]);
    await expect(findBackup(store, 'hb', 'local-1', 'data')).rejects.toMatchObject({ code: 'E_BACKUP_NOT_FOUND' });

    const missing: VolumeSpec = { ...spec, kind: 'dir', path: join(work, 'nope') } as VolumeSpec;
    expect((await backupVolume(context(cfg), host, missing)).error).toMatch(/does not exist/);
    // tar fails midway (an unreadable file for a non-root tar is hard to make as root: a fake tar).
    const bin = join(work, 'bin');
    mkdirSync(bin);
    writeFileSync(join(bin, 'tar'), '#!/bin/sh\nhead -c 7000000 /dev/urandom\necho "tar: boom" >&2\nexit 2\n', { mode: 0o755 });
    const broken = await backupVolume(context(cfg, { PATH: `${bin}:${process.env.PATH}` }), host, spec);
    expect(broken.ok).toBe(false);
    expect(broken.error).toMatch(/tar exited 2/);
    expect(await listBackups(store, 'hb')).toEqual([]);
    expect(aws.s3.openUploads()).toBe(0);
  });

  it('stops listed containers and labelled ones that mount the data for the copy, and starts them again, also when the backup fails', async () => {
    const bin = join(work, 'bin');
    mkdirSync(bin);
    const log = join(work, 'docker.log');
    const id1 = '1'.repeat(64);
    const id2 = '2'.repeat(64);
    const id3 = '3'.repeat(64);
    // A fake docker: `ps` finds two labelled containers (one mounts a subdirectory of the data,
    // the other something else) and one listed container; every call is logged.
    writeFileSync(
      join(bin, 'docker'),
      `#!/bin/sh\necho "$*" >> '${log}'\ncase "$1 $*" in\n  "info "*) exit 0 ;;\n  *label=halyard.backup.stop=true*) echo ${id1}; echo ${id3} ;;\n  "inspect "*${id1}*) echo /var/lib/other; echo ${join(work, 'data/sub')} ;;\n  "inspect "*${id3}*) echo /var/lib/other ;;\n  *name=*app*) echo ${id2} ;;\nesac\nexit 0\n`,
      { mode: 0o755 },
    );
    const cfg = parseBackupConfig(
      `inventory: i.yml\nbucket: ${BUCKET}\nprefix: hb\nvolumes:\n  - { name: data, kind: dir, path: ${join(work, 'data')}, stop: [app] }\n`,
      join(work, 'b.yml'),
    );
    const env = { PATH: `${bin}:${process.env.PATH}` };
    const ok = await backupVolume(context(cfg, env), host, cfg.volumes[0]!);
    expect(ok.ok).toBe(true);
    expect(ok.stopped).toEqual([id1, id2]);
    aws.failNext({ service: 's3', operation: 'UploadPart', kind: '500', after: 1, count: 20 });
    writeFileSync(log, '');
    const failed = await backupVolume(context({ ...cfg, compression: 'none' }, env), host, cfg.volumes[0]!);
    expect(failed.ok).toBe(false);
    aws.clearFaults();
    const calls = readFileSync(log, 'utf8').split('\n').filter((line) => /^(stop|start)/.test(line));
    expect(calls).toEqual([`stop -t 30 ${id1} ${id2}`, `start ${id1}`, `start ${id2}`]);
  });

  it('an abort mid-upload (Ctrl-C, SIGTERM) aborts the multipart upload, starts the stopped container again and leaves no record', async () => {
    const bin = join(work, 'bin');
    mkdirSync(bin);
    const log = join(work, 'docker.log');
    const id2 = '2'.repeat(64);
    writeFileSync(join(bin, 'docker'), `#!/bin/sh\necho "$*" >> '${log}'\ncase "$1 $*" in\n  "info "*) exit 0 ;;\n  *name=*app*) echo ${id2} ;;\nesac\nexit 0\n`, { mode: 0o755 });
    const cfg = parseBackupConfig(`inventory: i.yml\nbucket: ${BUCKET}\nprefix: hb\ncompression: none\nvolumes:\n  - { name: data, kind: dir, path: ${join(work, 'data')}, stop: [app] }\n`, join(work, 'b.yml'));
    const aborter = new AbortController();
    // The store sees the first bytes of the stream, then the user presses Ctrl-C.
    const interrupting: ObjectStore = Object.create(store) as ObjectStore;
    interrupting.putStream = (key, body, options) => {
      body.once('data', () => setImmediate(() => aborter.abort(new Error('interrupted by SIGINT'))));
      return store.putStream(key, body, options);
    };
    const outcome = await backupVolume({ ...context(cfg, { PATH: `${bin}:${process.env.PATH}` }), store: interrupting, signal: aborter.signal }, host, cfg.volumes[0]!);
    expect(outcome).toMatchObject({ ok: false, error: 'interrupted by SIGINT' });
    expect(aws.s3.openUploads()).toBe(0);
    expect(aws.s3.keys(BUCKET)).toEqual([]);
    expect(readFileSync(log, 'utf8').split('\n').filter((line) => /^(stop|start)/.test(line))).toEqual([`stop -t 30 ${id2}`, `start ${id2}`]);
    expect(readdirSync(join(work, 'undo'))).toEqual([]);
  });

  it('takes the host lock: a backup waits for the run holding it, or fails naming it', async () => {
    const cfg = config();
    const holding = context(cfg);
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let held!: () => void;
    const isHeld = new Promise<void>((resolve) => (held = resolve));
    const holder = withHostLock(await holding.session(), { label: 'apply', waitSeconds: 0, timeoutMs: 10_000, lockPaths: holding.lockPaths!, owner: { runId: 'holder1', controller: 'ctl', pid: 1, startedAt: 'then' } }, async () => {
      held();
      await released;
    });
    await isHeld;
    const refused = await backupVolume({ ...context(cfg), lockWaitSeconds: 0 }, host, cfg.volumes[0]!);
    expect(refused).toMatchObject({ ok: false });
    expect(refused.error).toMatch(/^host is locked by another halyard run \(run=holder1 controller=ctl pid=1 since=then\)/);
    const waiting = backupVolume({ ...context(cfg), lockWaitSeconds: 30 }, host, cfg.volumes[0]!);
    setTimeout(release, 500);
    await holder;
    expect(await waiting).toMatchObject({ ok: true });
  });

  it('retention prunes with a fake clock, deleting only what halyard made', async () => {
    const cfg = config();
    const spec = cfg.volumes[0]!;
    writeFileSync(join(work, 'data/sub/b.bin'), 'small now\n');
    await store.putBytes('hb/local-1/data/notes.txt', 'a file someone put here');
    await store.putBytes('hb/local-1/data/20200101T000000.000Z/data.tar.gz', 'an orphan data object without manifest');
    let clock = Date.parse('2026-02-01T00:00:00Z');
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) {
      clock += 3_600_000;
      const outcome = await backupVolume(context(cfg, {}, () => new Date(clock)), host, spec);
      expect(outcome.ok).toBe(true);
      ids.push(outcome.manifest!.id);
      expect(outcome.pruned).toEqual(i >= 2 ? [ids[i - 2]] : []);
      // The orphan (years past the grace period) goes with the first prune.
      expect(outcome.orphans).toEqual(i === 0 ? ['hb/local-1/data/20200101T000000.000Z/data.tar.gz'] : []);
    }
    expect((await listBackups(store, 'hb')).map((b) => b.manifest.id)).toEqual(ids.slice(2));
    const keys = aws.s3.keys(BUCKET);
    expect(keys).toContain('hb/local-1/data/notes.txt');
    expect(keys).not.toContain('hb/local-1/data/20200101T000000.000Z/data.tar.gz');
    expect(keys).toHaveLength(1 + 2 * 2);
  });

  it('the prune step deletes old orphaned data and aborts old incomplete uploads of its volume, nothing else', async () => {
    const cfg = config();
    const spec = cfg.volumes[0]!;
    writeFileSync(join(work, 'data/sub/b.bin'), 'small now\n');
    const HOUR = 3_600_000;
    const now = Date.parse('2026-03-10T12:00:00.000Z');
    const ago = (hours: number) => backupId(new Date(now - hours * HOUR));
    const lines: string[] = [];
    // A real backup three days back: its folder has a manifest, so its data is never an orphan.
    const first = await backupVolume({ ...context(cfg, {}, () => new Date(now - 72 * HOUR)), log: (line) => lines.push(line) }, host, spec);
    expect(first).toMatchObject({ ok: true, orphans: [], abortedUploads: [] });

    const oldOrphan = `hb/local-1/data/${ago(48)}/data.tar.zst`; // upload done, manifest never written
    const freshOrphan = `hb/local-1/data/${ago(2)}/data.tar.gz`; // another run may be about to write its manifest
    const foreign = [
      'hb/local-1/data/notes.txt',
      `hb/local-1/data/${ago(48)}/readme.txt`, // next to the orphan, not a name halyard writes
      `hb/local-1/data/${ago(48)}/sub/data.tar`,
      `hb/local-1/other/${ago(48)}/data.tar`, // another volume
      `hb/local-2/data/${ago(48)}/data.tar`, // another host
      `elsewhere/local-1/data/${ago(48)}/data.tar`, // outside the prefix
    ];
    for (const key of [oldOrphan, freshOrphan, ...foreign]) await store.putBytes(key, `planted ${key}`);

    // Incomplete multipart uploads, begun through the SDK, then dated back (the emulator's own clock is real time).
    const s3 = createS3Client({});
    const begin = async (key: string, hoursAgo: number): Promise<string> => {
      const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: key }));
      await s3.send(new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId, PartNumber: 1, Body: randomBytes(1024) }));
      aws.s3.uploads.get(UploadId!)!.initiated = new Date(now - hoursAgo * HOUR);
      return UploadId!;
    };
    const oldUploadKey = `hb/local-1/data/${ago(30)}/data.tar.zst`; // a run killed mid-upload
    const oldUpload = await begin(oldUploadKey, 30);
    const freshUpload = await begin(`hb/local-1/data/${ago(1)}/data.tar.zst`, 1); // a run still uploading
    const foreignUpload = await begin(`hb/local-1/data/${ago(100)}/disk.img`, 100);
    const otherVolumeUpload = await begin(`hb/local-1/other/${ago(100)}/data.tar`, 100);
    const before = aws.s3.keys(BUCKET);

    const outcome = await backupVolume({ ...context(cfg, {}, () => new Date(now)), log: (line) => lines.push(line) }, host, spec);
    expect(outcome).toMatchObject({ ok: true, pruned: [], orphans: [oldOrphan], abortedUploads: [oldUploadKey] });
    expect(outcome.error).toBeUndefined();
    // Exactly the old orphan is gone; the new backup's two objects came.
    expect(aws.s3.keys(BUCKET)).toEqual([...before.filter((key) => key !== oldOrphan), outcome.manifest!.dataKey, outcome.manifestKey!].sort());
    expect([...aws.s3.uploads.keys()].sort()).toEqual([freshUpload, foreignUpload, otherVolumeUpload].sort());
    expect(aws.s3.uploads.has(oldUpload)).toBe(false);
    expect((await listBackups(store, 'hb')).map((b) => b.manifest.id)).toEqual([first.manifest!.id, outcome.manifest!.id]);
    expect(lines).toContain(`local-1/data: deleted 1 orphaned data object(s) without a manifest: ${oldOrphan}`);
    expect(lines).toContain(`local-1/data: aborted 1 incomplete upload(s): ${oldUploadKey}`);

    // A day later the fresh orphan and the fresh upload are past the grace period too.
    const later = await backupVolume(context(cfg, {}, () => new Date(now + 24 * HOUR)), host, spec);
    expect(later).toMatchObject({ ok: true, orphans: [freshOrphan], abortedUploads: [`hb/local-1/data/${ago(1)}/data.tar.zst`] });
    expect([...aws.s3.uploads.keys()].sort()).toEqual([foreignUpload, otherVolumeUpload].sort());
    for (const key of foreign) expect(aws.s3.keys(BUCKET)).toContain(key);
  });

  it('orphan_grace_hours holds the sweep off; a failing sweep is logged and the backup still succeeds', async () => {
    const now = Date.parse('2026-03-10T12:00:00.000Z');
    const orphan = `hb/local-1/data/${backupId(new Date(now - 30 * 3_600_000))}/data.tar.zst`;
    await store.putBytes(orphan, 'left by a killed run');
    const cfg = config('orphan_grace_hours: 48\n');
    const spec = cfg.volumes[0]!;
    writeFileSync(join(work, 'data/sub/b.bin'), 'small now\n');
    const kept = await backupVolume(context(cfg, {}, () => new Date(now)), host, spec);
    expect(kept).toMatchObject({ ok: true, orphans: [], abortedUploads: [] });
    expect(aws.s3.keys(BUCKET)).toContain(orphan);

    // ListMultipartUploads refused on every retry (say, a bucket policy without s3:ListBucketMultipartUploads).
    aws.failNext({ service: 's3', operation: 'ListMultipartUploads', kind: '500', count: 20 });
    const lines: string[] = [];
    const swept = await backupVolume({ ...context(cfg, {}, () => new Date(now + 20 * 3_600_000)), log: (line) => lines.push(line) }, host, spec);
    aws.clearFaults();
    expect(swept).toMatchObject({ ok: true, orphans: [], abortedUploads: [] });
    expect(swept.error).toBeUndefined();
    expect(lines.filter((line) => line.includes('orphan sweep failed'))).toEqual([expect.stringMatching(/^local-1\/data: orphan sweep failed \(the backup is fine\): .*ListMultipartUploads.*InternalError/)]);
    expect(aws.s3.keys(BUCKET)).toContain(orphan);
    // The next backup sweeps it.
    const next = await backupVolume(context(cfg, {}, () => new Date(now + 21 * 3_600_000)), host, spec);
    expect(next.orphans).toEqual([orphan]);
  });

  it('CLI: list and verify read the bucket; a bad file is one line and exit 65', async () => {
    const cfg = config();
    const outcome = await backupVolume(context(cfg), host, cfg.volumes[0]!);
    const file = join(work, 'backup.yml');
    writeFileSync(file, `inventory: inv.yml\nbucket: ${BUCKET}\nprefix: hb\nvolumes:\n  - { name: data, kind: dir, path: ${join(work, 'data')} }\n`);
    const list = await runCli(['backup', 'list', '-c', file, '--json'], { env: aws.env });
    expect(list.exitCode, list.stderr).toBe(0);
    expect(JSON.parse(list.stdout)).toEqual([{ ...outcome.manifest, manifestKey: outcome.manifestKey }]);
    const verify = await runCli(['backup', 'verify', '-c', file, '--json'], { env: aws.env });
    expect(JSON.parse(verify.stdout)).toMatchObject({ ok: true, results: [{ host: 'local-1', volume: 'data', ok: true }] });
    // A changed object fails verify.
    await store.putBytes(outcome.manifest!.dataKey, 'tampered');
    const bad = await runCli(['backup', 'verify', '-c', file], { env: aws.env });
    expect(bad.exitCode).toBe(1);
    expect(bad.stdout).toMatch(/MISMATCH/);

    writeFileSync(file, 'inventory: inv.yml\nbucket: B\nvolumes: []\n');
    const invalid = await runCli(['backup', 'run', '-c', file], { env: aws.env });
    expect(invalid.exitCode).toBe(65);
    expect(invalid.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^halyard: .*backup\.yml: bucket: an S3 bucket name$/)]);
  });
});

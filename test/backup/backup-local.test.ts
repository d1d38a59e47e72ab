import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { createServer, type ServerResponse } from 'node:http';
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { CreateMultipartUploadCommand, UploadPartCommand } from '@aws-sdk/client-s3';
import { beforeEach, describe, expect, it } from 'vitest';
import { createS3Client, sdkObjectStore, type ObjectStore } from '../../src/aws/objects.js';
import { parseBackupConfig, type BackupConfig, type VolumeSpec } from '../../src/backup/config.js';
import { backupId, backupKeys, listLine } from '../../src/backup/plan.js';
import { formatBytes } from '../../src/core/bytes.js';
import { MANIFEST_READS_AT_ONCE, backupVolume, findBackup, listBackups, restoreFromStore, restoreVolume, verifyBackup, type BackupContext } from '../../src/backup/run.js';
import { withHostLock } from '../../src/engine/locked-host.js';
import type { Host } from '../../src/inventory/types.js';
import { useAwsEmulator } from '../support/aws-emulator/per-file.js';
import { runCli } from '../support/cli.js';
import { useS3rver, type S3rverServer } from '../support/s3rver.js';
import { localSession } from './local-session.js';

// The backup engine with scripts run locally instead of over SSH, against the emulator's S3 and,
// for what depends on the store (backup, list, verify, restore, retention, the orphan sweep, the
// CLI), against s3rver too: an independent S3-compatible server without ListMultipartUploads.

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
  // This machine's own Docker engine is no part of these tests: its socket is out of the scripts' reach.
  const session = localSession(host.name, { DOCKER_HOST: `unix://${join(work, 'no-engine.sock')}`, ...env });
  // Locks and undo records of these local "hosts" live under the test's dir, not this machine's /run and /var/lib.
  const lockPaths = { rootDir: join(work, 'run-halyard'), userHome: join(work, 'home'), undoDir: join(work, 'undo') };
  mkdirSync(lockPaths.userHome, { recursive: true });
  return { config: cfg, store, session: async () => session, lockPaths, ...(now ? { now } : {}) };
}

// Another run (an apply) holding the local host's lock until `release()`; `holder` settles after.
// The holder failing (its own lock request timing out on a loaded machine) is the test's error, not a hang.
async function holdHostLock(cfg: BackupConfig, runId: string): Promise<{ release: () => void; holder: Promise<void> }> {
  const holding = context(cfg);
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let held!: () => void;
  const isHeld = new Promise<void>((resolve) => (held = resolve));
  const holder = withHostLock(await holding.session(), { label: 'apply', waitSeconds: 0, timeoutMs: 10_000, lockPaths: holding.lockPaths!, owner: { runId, controller: 'ctl', pid: 1, startedAt: 'then' } }, async () => {
    held();
    await released;
  });
  await Promise.race([isHeld, holder]);
  return { release, holder };
}

// Every key in the bucket, through the store under test (either server), in key order.
async function keysOf(prefix = ''): Promise<string[]> {
  const keys: string[] = [];
  for await (const object of store.list(prefix)) keys.push(object.key);
  return keys;
}

// A fake `docker` first on the scripts' PATH: `cases` are branches of `case "$1 $*" in` (each
// ending `;;`), and every call is logged. `calls(/^(stop|start)/)` reads back the matching calls.
function fakeDocker(cases: string[]): { env: Record<string, string>; bin: string; log: string; calls(match: RegExp): string[] } {
  const bin = join(work, 'bin');
  mkdirSync(bin, { recursive: true });
  const log = join(work, 'docker.log');
  writeFileSync(join(bin, 'docker'), `#!/bin/sh\nprintf '%s\\n' "$*" >> '${log}'\ncase "$1 $*" in\n${cases.map((branch) => `  ${branch}\n`).join('')}esac\nexit 0\n`, { mode: 0o755 });
  return {
    env: { PATH: `${bin}:${process.env.PATH}` },
    bin,
    log,
    calls: (match) => (existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter((line) => match.test(line)) : []),
  };
}

// A PATH with every command of this one but `name` (symlinks in `dir`): a host without zstd.
function pathWithout(dir: string, name: string): string {
  mkdirSync(dir, { recursive: true });
  for (const from of (process.env.PATH ?? '').split(':')) {
    let entries: string[] = [];
    try {
      entries = readdirSync(from);
    } catch {
      continue;
    }
    for (const entry of entries) {
      if (entry === name) continue;
      try {
        symlinkSync(join(from, entry), join(dir, entry));
      } catch {
        // An earlier PATH entry has it already.
      }
    }
  }
  return dir;
}

function treeDigest(dir: string): string {
  return execFileSync('sh', ['-c', 'cd "$1" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0r sha256sum | sha256sum', 'sh', dir], { encoding: 'utf8' });
}

beforeEach(() => {
  aws.createBucket(BUCKET);
  store = sdkObjectStore({ bucket: BUCKET, partSizing: { first: 5 * 1024 * 1024 } });
  work = mkdtempSync(join(tmpdir(), 'hy-backup-'));
  mkdirSync(join(work, 'data/sub'), { recursive: true });
  writeFileSync(join(work, 'data/a.txt'), 'alpha\n');
  writeFileSync(join(work, 'data/sub/b.bin'), randomBytes(12_000_000));
  chmodSync(join(work, 'data/a.txt'), 0o640);
  return () => rmSync(work, { recursive: true, force: true });
});

describe('failures, stops, aborts, locks and the orphan sweep in detail (local scripts, emulated S3 with fault injection)', () => {
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

  it("a directory written while tar reads it (tar's exit 1) is backed up: a warning names the files and the way to a consistent copy, the manifest counts them, the restore says so", async () => {
    const cfg = config();
    const spec = cfg.volumes[0]!;
    // tar as a live directory makes it answer: the whole archive, then its messages and exit 1
    // (backup-stream.test.ts has the real tar on a directory being written).
    const realTar = execFileSync('sh', ['-c', 'command -v tar'], { encoding: 'utf8' }).trim();
    const bin = join(work, 'bin');
    mkdirSync(bin);
    writeFileSync(join(bin, 'tar'), `#!/bin/sh\n'${realTar}' "$@" || exit 2\necho "tar: ./a.txt: file changed as we read it" >&2\necho "tar: ./b.txt: File removed before we read it" >&2\nexit 1\n`, { mode: 0o755 });
    const warnings: string[] = [];
    const env = { PATH: `${bin}:${process.env.PATH}` };
    const backup = await backupVolume({ ...context(cfg, env), warn: (line) => warnings.push(line) }, host, spec);
    expect(backup).toMatchObject({ ok: true, changedWhileRead: 2, manifest: { changedWhileRead: 2 } });
    expect(warnings).toEqual([
      'local-1/data: backed up while being written: 2 files changed as tar read them (tar: ./a.txt: file changed as we read it; tar: ./b.txt: File removed before we read it); this copy may hold them torn. For a consistent copy, stop what writes there: list it under the entry\'s stop: or label it halyard.backup.stop=true',
    ]);
    const [listed] = await listBackups(store, 'hb');
    expect(listed?.manifest.changedWhileRead).toBe(2);
    expect(listLine(listed!.manifest).split('\t').slice(3)).toEqual(['dir', formatBytes(listed!.manifest.size), listed!.manifest.compression, listed!.manifest.sha256.slice(0, 12), '2 changed while read']);
    const before = treeDigest(join(work, 'data'));
    writeFileSync(join(work, 'data', 'a.txt'), 'changed\n');
    const lines: string[] = [];
    await restoreVolume({ ...context(cfg), log: (line) => lines.push(line) }, host, spec, listed!);
    expect(treeDigest(join(work, 'data'))).toBe(before);
    expect(lines.at(-1)).toMatch(/^local-1\/data: restored \S+ .*; taken while being written, 2 files changed as it was read$/);

    // A clean copy carries no count.
    const clean = await backupVolume(context(cfg), host, spec);
    expect(clean.ok).toBe(true);
    expect(clean.changedWhileRead).toBeUndefined();
    expect(clean.manifest).not.toHaveProperty('changedWhileRead');
  });

  it('stops listed containers and labelled ones that mount the data for the copy, and starts them again, also when the backup fails', async () => {
    const id1 = '1'.repeat(64);
    const id2 = '2'.repeat(64);
    const id3 = '3'.repeat(64);
    const id4 = '4'.repeat(64);
    // `ps` finds two labelled containers (one mounts a subdirectory of the data, the other
    // something else) and two listed ones; `inspect` prints "mount=ID SOURCE" per mount of each id given.
    const docker = fakeDocker([
      `*label=halyard.backup.stop=true*) echo ${id1}; echo ${id3} ;;`,
      `"inspect "*) for c in "$@"; do case $c in ${id1}) echo "mount=${id1} /var/lib/other"; echo "mount=${id1} ${join(work, 'data/sub')}" ;; ${id3}) echo "mount=${id3} /var/lib/other" ;; esac; done ;;`,
      `*name=*app*name=*worker*) echo ${id2}; echo ${id4} ;;`,
    ]);
    const { env } = docker;
    const cfg = parseBackupConfig(
      `inventory: i.yml\nbucket: ${BUCKET}\nprefix: hb\nvolumes:\n  - { name: data, kind: dir, path: ${join(work, 'data')}, stop: [app, worker] }\n`,
      join(work, 'b.yml'),
    );
    const ok = await backupVolume(context(cfg, env), host, cfg.volumes[0]!);
    expect(ok.ok).toBe(true);
    expect(ok.stopped).toEqual([id1, id2, id4]);
    // Three docker calls find them, however many there are: the labelled, the listed, the mounts of the labelled.
    expect(docker.calls(/^(ps|inspect)/).sort()).toEqual([
      `inspect -f {{range .Mounts}}mount={{$.Id}} {{.Source}}{{"\\n"}}{{end}} ${id1} ${id3}`,
      'ps -q --no-trunc --filter label=halyard.backup.stop=true',
      'ps -q --no-trunc --filter name=^/app$ --filter name=^/worker$',
    ]);
    aws.failNext({ service: 's3', operation: 'UploadPart', kind: '500', after: 1, count: 20 });
    writeFileSync(docker.log, '');
    const failed = await backupVolume(context({ ...cfg, compression: 'none' }, env), host, cfg.volumes[0]!);
    expect(failed.ok).toBe(false);
    aws.clearFaults();
    expect(docker.calls(/^(stop|start)/)).toEqual([`stop -t 30 ${id1} ${id2} ${id4}`, `start ${id1} ${id2} ${id4}`]);

    // A full /tmp: the temp files are made, but what docker writes into them is lost (here mktemp
    // names files whose writes fail: their folder does not exist). An empty list would stop
    // nothing without a word; the inspect fails instead.
    const realMktemp = execFileSync('sh', ['-c', 'command -v mktemp'], { encoding: 'utf8' }).trim();
    writeFileSync(join(docker.bin, 'mktemp'), `#!/bin/sh\ncase "$*" in *-d*) exec '${realMktemp}' "$@" ;; esac\necho '${join(work, 'gone')}/tmp.1'\n`, { mode: 0o755 });
    writeFileSync(docker.log, '');
    const lost = await backupVolume(context(cfg, env), host, cfg.volumes[0]!);
    expect(lost).toMatchObject({ ok: false, stopped: [] });
    expect(lost.error).toBe(`local-1/data: the docker CLI's list of containers could not be kept in a temp file on the host (is its /tmp full?); nothing was stopped`);
    expect(docker.calls(/^(stop|start)/)).toEqual([]);
  });

  it("asks the Docker engine's API with curl where the CLI would use its socket: the labelled container mounting the volume and the listed one stop, no other docker call", async () => {
    const socket = join(work, 'engine.sock');
    const data = join(work, 'data');
    const [inside, holding, outside, listed] = ['c', 'd', 'e', 'f'].map((digit) => digit.repeat(64)) as [string, string, string, string];
    const requests: string[] = [];
    const json = (res: ServerResponse, value: unknown) => res.setHeader('content-type', 'application/json').end(`${JSON.stringify(value)}\n`);
    const engine = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://docker');
      requests.push(`${url.pathname} ${url.searchParams.get('filters') ?? ''}`.trim());
      const filters = JSON.parse(url.searchParams.get('filters') ?? '{}') as { label?: string[]; name?: string[] };
      // A label named Mountpoint comes before the real one, as Docker orders the keys.
      if (url.pathname === '/volumes/appvol') json(res, { CreatedAt: 'now', Driver: 'local', Labels: { note: '"Mountpoint":"/elsewhere"' }, Mountpoint: data, Name: 'appvol', Options: {}, Scope: 'local' });
      else if (url.pathname === '/containers/json' && filters.label) json(res, [{ Id: inside, Mounts: [{ Source: join(data, 'sub') }] }, { Id: holding, Mounts: [{ Source: work }] }, { Id: outside, Mounts: [{ Source: `${data}-other` }, { Source: '' }] }]);
      else if (url.pathname === '/containers/json' && filters.name) json(res, [{ Id: listed, Mounts: null }]);
      else res.writeHead(404).end('{"message":"no such thing"}\n');
    });
    await new Promise<void>((resolve) => engine.listen(socket, resolve));
    try {
      const docker = fakeDocker([]);
      const cfg = parseBackupConfig(`inventory: i.yml\nbucket: ${BUCKET}\nprefix: hb\ncompression: none\nvolumes:\n  - { name: app, kind: volume, volume: appvol, stop: [app, worker] }\n`, join(work, 'b.yml'));
      const outcome = await backupVolume(context(cfg, { ...docker.env, DOCKER_HOST: `unix://${socket}` }), host, cfg.volumes[0]!);
      expect(outcome).toMatchObject({ ok: true, stopped: [inside, holding, listed] });
      expect(outcome.manifest!.source).toBe(data);
      expect(requests).toEqual(['/containers/json {"label":["halyard.backup.stop=true"]}', '/volumes/appvol', '/containers/json {"name":["^/app$","^/worker$"]}']);
      expect(docker.calls(/./)).toEqual([`stop -t 30 ${inside} ${holding} ${listed}`, `start ${inside} ${holding} ${listed}`]);

      // A label named "Mountpoint" makes the volume's JSON ambiguous to the shell: the docker CLI is asked for its directory.
      engine.removeAllListeners('request');
      engine.on('request', (req, res) => (req.url?.startsWith('/volumes/') ? json(res, { Driver: 'local', Labels: { Mountpoint: '/elsewhere' }, Mountpoint: data, Name: 'appvol' }) : json(res, [])));
      const asking = fakeDocker([`"volume "*) echo '${data}' ;;`]);
      writeFileSync(asking.log, '');
      const fallback = await backupVolume(context(cfg, { ...asking.env, DOCKER_HOST: `unix://${socket}` }), host, cfg.volumes[0]!);
      expect(fallback).toMatchObject({ ok: true, stopped: [] });
      expect(fallback.manifest!.source).toBe(data);
      expect(asking.calls(/./)).toEqual(['volume inspect -f {{.Mountpoint}}{{"\\n"}}{{if ne .Driver "local"}}driver {{.Driver}}{{else if index .Options "device"}}{{index .Options "type"}}|{{index .Options "o"}}|{{index .Options "device"}}{{end}} appvol']);

      // A volume bound to a directory (`o: bind`): Docker mounts it on its Mountpoint only while a
      // container uses it, so the directory it is bound to is copied, and a labelled container that
      // mounts the Mountpoint stops for the copy.
      const mountpoint = join(work, 'volumes/appvol/_data');
      mkdirSync(mountpoint, { recursive: true });
      engine.removeAllListeners('request');
      engine.on('request', (req, res) => {
        if (req.url?.startsWith('/volumes/')) json(res, { Driver: 'local', Labels: null, Mountpoint: mountpoint, Name: 'appvol', Options: { device: data, o: 'bind', type: 'none' } });
        else json(res, req.url?.includes('label') ? [{ Id: inside, Mounts: [{ Source: mountpoint }] }] : []);
      });
      const binding = fakeDocker([`"volume "*) printf '%s\\n%s\\n' '${mountpoint}' 'none|bind|${data}' ;;`]);
      writeFileSync(binding.log, '');
      const bound = await backupVolume(context(cfg, { ...binding.env, DOCKER_HOST: `unix://${socket}` }), host, cfg.volumes[0]!);
      expect(bound).toMatchObject({ ok: true, stopped: [inside], manifest: { source: data } });
      expect(bound.manifest!.size).toBeGreaterThan(12_000_000);
      expect(binding.calls(/./)).toEqual([
        'volume inspect -f {{.Mountpoint}}{{"\\n"}}{{if ne .Driver "local"}}driver {{.Driver}}{{else if index .Options "device"}}{{index .Options "type"}}|{{index .Options "o"}}|{{index .Options "device"}}{{end}} appvol',
        `stop -t 30 ${inside}`,
        `start ${inside}`,
      ]);
      // Any other mount (here NFS) or another driver: refused before anything stops.
      for (const [how, reason] of [
        ['nfs|addr=10.0.0.5,rw|:/exports/app', 'Docker mounts it (type nfs, options addr=10.0.0.5,rw) from :/exports/app only while a container uses it'],
        ['driver rexray/ebs', 'its driver is rexray/ebs'],
      ] as const) {
        const remote = fakeDocker([`"volume "*) printf '%s\\n%s\\n' '${mountpoint}' '${how}' ;;`]);
        writeFileSync(remote.log, '');
        const refusedRemote = await backupVolume(context(cfg, { ...remote.env, DOCKER_HOST: `unix://${socket}` }), host, cfg.volumes[0]!);
        expect(refusedRemote).toMatchObject({ ok: false, stopped: [] });
        expect(refusedRemote.error).toBe(`local-1/app: the Docker volume appvol is not on the host's disk: ${reason}; nothing was stopped. Back up its data where it lives (a kind: dir entry on the host that holds it)`);
        expect(remote.calls(/^(stop|start)/)).toEqual([]);
      }

      // An answer that is not a list of containers fails the backup before anything stops.
      engine.removeAllListeners('request');
      engine.on('request', (req, res) => (req.url?.startsWith('/volumes/') ? json(res, { Driver: 'local', Mountpoint: data }) : json(res, { message: 'not a list' })));
      writeFileSync(docker.log, '');
      const refused = await backupVolume(context(cfg, { ...docker.env, DOCKER_HOST: `unix://${socket}` }), host, cfg.volumes[0]!);
      expect(refused).toMatchObject({ ok: false, stopped: [] });
      expect(refused.error).toMatch(/the Docker engine's list of the labelled containers is not a list of containers/);
      expect(docker.calls(/./)).toEqual([]);
    } finally {
      await new Promise((resolve) => engine.close(resolve));
    }
  });

  it('a restore stages the data while the containers run, stops them only to swap it in, starts them before it deletes the data it replaced, and leaves none of it', async () => {
    const data = join(work, 'data');
    const id2 = '2'.repeat(64);
    // `docker stop` notes whether the staging is complete, `docker start` whether the replaced data is still there.
    const docker = fakeDocker([
      `*name=*app*) echo ${id2} ;;`,
      `"stop "*) if [ -f '${data}.halyard-restore/a.txt' ]; then echo "stop, staged" >> '${join(work, 'order.log')}'; else echo "stop, not staged" >> '${join(work, 'order.log')}'; fi ;;`,
      `"start "*) if [ -e '${data}.halyard-old' ]; then echo "start, replaced data present" >> '${join(work, 'order.log')}'; else echo "start, replaced data gone" >> '${join(work, 'order.log')}'; fi ;;`,
    ]);
    const cfg = parseBackupConfig(`inventory: i.yml\nbucket: ${BUCKET}\nprefix: hb\ncompression: none\nvolumes:\n  - { name: data, kind: dir, path: ${data}, stop: [app] }\n`, join(work, 'b.yml'));
    expect(await backupVolume(context(cfg, docker.env), host, cfg.volumes[0]!)).toMatchObject({ ok: true });
    const before = treeDigest(data);
    writeFileSync(join(data, 'a.txt'), 'changed\n');
    writeFileSync(docker.log, '');
    writeFileSync(join(work, 'order.log'), '');
    const restoring = context(cfg, docker.env);
    const restored = await restoreVolume(restoring, host, cfg.volumes[0]!, await findBackup(store, 'hb', 'local-1', 'data'));
    expect(restored.stopped).toEqual([id2]);
    expect(readFileSync(join(work, 'order.log'), 'utf8')).toBe('stop, staged\nstart, replaced data present\n');
    // Three requests to the locked shell, each a round trip across a network: the lock with the
    // inspect, the staging's record (sent beside the stream), the commit.
    expect((await restoring.session()).shellRequests).toBe(3);
    expect(docker.calls(/^(stop|start)/)).toEqual([`stop -t 30 ${id2}`, `start ${id2}`]);
    expect(treeDigest(data)).toBe(before);
    expect(readdirSync(join(work, 'undo'))).toEqual([]);
    // The replaced data is deleted in the background, after the commit answered.
    for (const started = Date.now(); readdirSync(work).some((name) => name.startsWith('data.')); ) {
      expect(Date.now() - started).toBeLessThan(10_000);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  });

  it('a path through a symlink (data moved to another disk) restores into the real directory: the symlink stays, the data stays on its disk', async () => {
    const data = join(work, 'data');
    const link = join(work, 'link');
    symlinkSync(data, link);
    const cfg = parseBackupConfig(`inventory: i.yml\nbucket: ${BUCKET}\nprefix: hb\nvolumes:\n  - { name: data, kind: dir, path: ${link} }\n`, join(work, 'b.yml'));
    const spec = cfg.volumes[0]!;
    expect(await backupVolume(context(cfg), host, spec)).toMatchObject({ ok: true, manifest: { source: link } });
    const before = treeDigest(data);
    writeFileSync(join(data, 'a.txt'), 'changed\n');
    await restoreVolume(context(cfg), host, spec, await findBackup(store, 'hb', 'local-1', 'data'));
    expect(treeDigest(data)).toBe(before);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readlinkSync(link)).toBe(data);
    for (const started = Date.now(); readdirSync(work).some((name) => name.includes('.halyard-')); ) {
      expect(Date.now() - started).toBeLessThan(10_000);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  });

  it('a directory that is a mount point is restored by staging inside it: its entries swapped, nothing renamed beside it (a mountpoint stand-in says so)', async () => {
    const data = join(work, 'data');
    const cfg = config();
    const spec = cfg.volumes[0]!;
    expect(await backupVolume(context(cfg), host, spec)).toMatchObject({ ok: true });
    const before = treeDigest(data);
    writeFileSync(join(data, 'a.txt'), 'changed\n');
    writeFileSync(join(data, '.added'), 'not in the backup\n');
    // util-linux's mountpoint, answering yes for the data directory alone (test/backup/backup-lab.e2e.test.ts has a real mount).
    const bin = join(work, 'bin');
    mkdirSync(bin);
    writeFileSync(join(bin, 'mountpoint'), `#!/bin/sh\n[ "$1" = -q ] && [ "$2" = '${data}' ]\n`, { mode: 0o755 });
    const restoring = context(cfg, { PATH: `${bin}:${process.env.PATH}` });
    const inode = statSync(data).ino;
    const restored = await restoreVolume(restoring, host, spec, await findBackup(store, 'hb', 'local-1', 'data'));
    expect(restored.bytes).toBeGreaterThan(0);
    expect(treeDigest(data)).toBe(before);
    // The same directory, its entries replaced (a rename would have put the staging in its place).
    expect(statSync(data).ino).toBe(inode);
    expect(readdirSync(data).sort()).toEqual(['a.txt', 'sub']);
    // Nothing beside the directory, ever: the staging and the replaced data were inside it.
    expect(readdirSync(work).filter((name) => name.startsWith('data'))).toEqual(['data']);
    expect(readdirSync(join(work, 'undo'))).toEqual([]);
    expect((await restoring.session()).shellRequests).toBe(3);
  });

  it("a directory named with blanks, quotes, a backslash and $(...) backs up and restores byte-identical, nothing of its name run", async () => {
    const data = join(work, `it's "my" da\\ta $(touch pwned)  `);
    mkdirSync(join(data, 'sub'), { recursive: true });
    writeFileSync(join(data, 'a.txt'), 'alpha\n');
    writeFileSync(join(data, 'sub/b.bin'), randomBytes(300_000));
    const id2 = '2'.repeat(64);
    const docker = fakeDocker([`*name=*app*) echo ${id2} ;;`]);
    const cfg = parseBackupConfig(`inventory: i.yml\nbucket: ${BUCKET}\nprefix: hb\nvolumes:\n  - name: data\n    kind: dir\n    path: ${JSON.stringify(data)}\n    stop: [app]\n`, join(work, 'b.yml'));
    expect(cfg.volumes[0]).toMatchObject({ path: data });
    const backup = await backupVolume(context(cfg, docker.env), host, cfg.volumes[0]!);
    expect(backup).toMatchObject({ ok: true, manifest: { source: data } });
    const before = treeDigest(data);
    writeFileSync(join(data, 'a.txt'), 'changed\n');
    writeFileSync(join(data, 'new.txt'), 'not in the backup\n');
    const restored = await restoreVolume(context(cfg, docker.env), host, cfg.volumes[0]!, await findBackup(store, 'hb', 'local-1', 'data'));
    expect(restored.stopped).toEqual([id2]);
    expect(docker.calls(/^(stop|start)/)).toEqual([`stop -t 30 ${id2}`, `start ${id2}`, `stop -t 30 ${id2}`, `start ${id2}`]);
    expect(treeDigest(data)).toBe(before);
    expect(readdirSync(join(work, 'undo'))).toEqual([]);
    for (const started = Date.now(); readdirSync(work).some((name) => name.startsWith(`${basename(data)}.`)); ) {
      expect(Date.now() - started).toBeLessThan(10_000);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(readdirSync(work).filter((name) => name.includes('pwned'))).toEqual([basename(data)]);
    expect(existsSync(join(process.cwd(), 'pwned'))).toBe(false);
  });

  it('a restore whose containers do not stop swaps nothing in: the data stays, the staging goes, they are started, the error names the stop', async () => {
    const data = join(work, 'data');
    const id2 = '2'.repeat(64);
    const docker = fakeDocker([`*name=*app*) echo ${id2} ;;`, `"stop "*) echo "Error response from daemon: cannot stop container" >&2; exit 1 ;;`]);
    const cfg = parseBackupConfig(`inventory: i.yml\nbucket: ${BUCKET}\nprefix: hb\ncompression: none\nvolumes:\n  - { name: data, kind: dir, path: ${data} }\n`, join(work, 'b.yml'));
    expect(await backupVolume(context(cfg, docker.env), host, cfg.volumes[0]!)).toMatchObject({ ok: true });
    writeFileSync(join(data, 'a.txt'), 'changed\n');
    const current = treeDigest(data);
    const stopping = { ...cfg, volumes: [{ ...cfg.volumes[0]!, stop: ['app'] }] };
    await expect(restoreVolume(context(stopping, docker.env), host, stopping.volumes[0]!, await findBackup(store, 'hb', 'local-1', 'data'))).rejects.toMatchObject({
      code: 'E_REMOTE_FAILED',
      message: 'restore local-1/data: stop exited 1: Error response from daemon: cannot stop container',
    });
    expect(treeDigest(data)).toBe(current);
    expect(docker.calls(/^(stop|start)/)).toEqual([`stop -t 30 ${id2}`, `start ${id2}`]);
    expect(readdirSync(work).filter((name) => name.startsWith('data.'))).toEqual([]);
    expect(readdirSync(join(work, 'undo'))).toEqual([]);
  });

  it('compression zstd on a host without zstd fails before anything is stopped, and a zstd backup is not restored there', async () => {
    const data = join(work, 'data');
    const docker = fakeDocker([`*name=*app*) echo ${'2'.repeat(64)} ;;`]);
    const cfg = parseBackupConfig(`inventory: i.yml\nbucket: ${BUCKET}\nprefix: hb\ncompression: zstd\nvolumes:\n  - { name: data, kind: dir, path: ${data}, stop: [app] }\n`, join(work, 'b.yml'));
    const spec = cfg.volumes[0]!;
    const made = await backupVolume(context(cfg, docker.env), host, spec);
    expect(made).toMatchObject({ ok: true, manifest: { compression: 'zstd' } });
    const withoutZstd = { PATH: `${docker.bin}:${pathWithout(join(work, 'no-zstd'), 'zstd')}` };
    writeFileSync(docker.log, '');
    const refused = await backupVolume(context(cfg, withoutZstd), host, spec);
    expect(refused).toMatchObject({ ok: false, error: expect.stringContaining('the host has no zstd command: install zstd there, or set compression: auto') });
    expect(await listBackups(store, 'hb')).toHaveLength(1);
    expect(aws.s3.openUploads()).toBe(0);

    writeFileSync(join(data, 'a.txt'), 'changed\n');
    await expect(restoreVolume(context(cfg, withoutZstd), host, spec, await findBackup(store, 'hb', 'local-1', 'data'))).rejects.toMatchObject({
      code: 'E_BACKUP_ZSTD',
      message: `local-1/data: backup ${made.manifest!.id} is compressed with zstd, and the host has no zstd command: install zstd there to restore it; nothing was stopped`,
    });
    expect(readFileSync(join(data, 'a.txt'), 'utf8')).toBe('changed\n');
    expect(readdirSync(work).filter((name) => name.startsWith('data.'))).toEqual([]);
    expect(docker.calls(/^(stop|start)/)).toEqual([]);
    expect(readdirSync(join(work, 'undo'))).toEqual([]);
  });

  it('a Postgres entry whose container does not run fails before anything is stopped, backup and restore alike', async () => {
    const running = join(work, 'db-running');
    const app = '2'.repeat(64);
    // The database container "pg" runs while the file db-running exists; `exec` prints a dump.
    const docker = fakeDocker([`*name=^/pg\\$*) [ -e '${running}' ] && echo ${'d'.repeat(64)} ;;`, `*name=*app*) echo ${app} ;;`, `"exec "*) cat >/dev/null; printf 'PGDMP fake dump' ;;`]);
    const { env } = docker;
    const cfg = parseBackupConfig(`inventory: i.yml\nbucket: ${BUCKET}\nprefix: hb\nvolumes:\n  - { name: appdb, kind: postgres, database: app, container: pg, stop: [app] }\n`, join(work, 'b.yml'));
    const spec = cfg.volumes[0]!;
    writeFileSync(running, '');
    const made = await backupVolume(context(cfg, env), host, spec);
    expect(made, made.error).toMatchObject({ ok: true, stopped: [app], manifest: { kind: 'postgres', size: 'PGDMP fake dump'.length } });

    rmSync(running);
    writeFileSync(docker.log, '');
    const refused = await backupVolume(context(cfg, env), host, spec);
    const missing = 'local-1/appdb: no running container named "pg" and none of a Compose service "pg" on the host; nothing was stopped';
    expect(refused).toMatchObject({ ok: false, error: missing });
    await expect(restoreVolume(context(cfg, env), host, spec, await findBackup(store, 'hb', 'local-1', 'appdb'))).rejects.toMatchObject({ code: 'E_BACKUP_SOURCE', message: missing });
    expect(docker.calls(/^(stop|start|exec)/)).toEqual([]);
    expect(readdirSync(join(work, 'undo'))).toEqual([]);
  });

  it('an abort mid-upload (Ctrl-C, SIGTERM) aborts the multipart upload, starts the stopped container again and leaves no record', async () => {
    const id2 = '2'.repeat(64);
    const docker = fakeDocker([`*name=*app*) echo ${id2} ;;`]);
    const cfg = parseBackupConfig(`inventory: i.yml\nbucket: ${BUCKET}\nprefix: hb\ncompression: none\nvolumes:\n  - { name: data, kind: dir, path: ${join(work, 'data')}, stop: [app] }\n`, join(work, 'b.yml'));
    const aborter = new AbortController();
    // The store sees the first bytes of the stream, then the user presses Ctrl-C.
    const interrupting: ObjectStore = Object.create(store) as ObjectStore;
    interrupting.putStream = (key, body, options) => {
      body.once('data', () => setImmediate(() => aborter.abort(new Error('interrupted by SIGINT'))));
      return store.putStream(key, body, options);
    };
    const outcome = await backupVolume({ ...context(cfg, docker.env), store: interrupting, signal: aborter.signal }, host, cfg.volumes[0]!);
    expect(outcome).toMatchObject({ ok: false, error: 'interrupted by SIGINT' });
    expect(aws.s3.openUploads()).toBe(0);
    expect(aws.s3.keys(BUCKET)).toEqual([]);
    expect(docker.calls(/^(stop|start)/)).toEqual([`stop -t 30 ${id2}`, `start ${id2}`]);
    expect(readdirSync(join(work, 'undo'))).toEqual([]);
  });

  it('listBackups reads the manifests several at once, never more than MANIFEST_READS_AT_ONCE, and lists oldest first', async () => {
    const ids: string[] = [];
    for (let hour = 0; hour < 20; hour++) {
      const id = backupId(new Date(Date.parse('2026-01-01T00:00:00.000Z') + hour * 3_600_000));
      const { dataKey, manifestKey } = backupKeys('hb', host.name, 'data', id, 'dir', 'none');
      const manifest = { tool: 'halyard', version: '0', host: host.name, volume: 'data', kind: 'dir', source: '/d', dataKey, size: 1, sha256: '0'.repeat(64), compression: 'none', startedAt: '', endedAt: '', id };
      await store.putBytes(manifestKey, JSON.stringify(manifest));
      ids.push(id);
    }
    let inFlight = 0;
    let most = 0;
    const counting: ObjectStore = Object.create(store) as ObjectStore;
    counting.getBytes = async (key) => {
      most = Math.max(most, ++inFlight);
      try {
        return await store.getBytes(key);
      } finally {
        inFlight -= 1;
      }
    };
    expect((await listBackups(counting, 'hb')).map((backup) => backup.manifest.id)).toEqual(ids);
    expect(most).toBeGreaterThan(1);
    expect(most).toBeLessThanOrEqual(MANIFEST_READS_AT_ONCE);
  });

  it("retention's listing is read while the data streams, and the orphan sweep reuses it: after the stream come the manifest and retention's deletes", async () => {
    const cfg = config('compression: none\n');
    const spec = cfg.volumes[0]!;
    for (let run = 0; run < 2; run++) expect(await backupVolume(context(cfg), host, spec)).toMatchObject({ ok: true });
    const events: string[] = [];
    const watching: ObjectStore = Object.create(store) as ObjectStore;
    watching.list = (prefix, options) => {
      events.push('list');
      return store.list(prefix, options);
    };
    watching.putStream = async (key, body, options) => {
      const out = await store.putStream(key, body, options);
      events.push('data stored');
      return out;
    };
    watching.putBytes = async (key, body, options) => {
      events.push('manifest');
      return store.putBytes(key, body, options);
    };
    watching.delete = async (key) => {
      events.push('delete');
      return store.delete(key);
    };
    const outcome = await backupVolume({ ...context(cfg), store: watching }, host, spec);
    // retention last 2: the oldest of the three goes (manifest, then data); the sweep looks among
    // the keys listed while the data streamed, so the volume is listed once.
    expect(outcome).toMatchObject({ ok: true, orphans: [] });
    expect(outcome.pruned).toHaveLength(1);
    expect(events).toEqual(['list', 'data stored', 'manifest', 'delete', 'delete']);
  });

  it("a restore looks the backup up once the host's connection is up; a backup not found fails it with nothing staged, also while it waits for the lock", async () => {
    const cfg = config('compression: none\n');
    const spec = cfg.volumes[0]!;
    expect(await backupVolume(context(cfg), host, spec)).toMatchObject({ ok: true });
    const events: string[] = [];
    const watching: ObjectStore = Object.create(store) as ObjectStore;
    watching.list = (prefix, options) => {
      events.push('list');
      return store.list(prefix, options);
    };
    watching.getBytes = async (key) => {
      events.push('manifest read');
      return store.getBytes(key);
    };
    const base = context(cfg);
    const watched: BackupContext = {
      ...base,
      store: watching,
      session: (target) => {
        events.push('session asked');
        return base.session(target).then((session) => {
          events.push('session up');
          return session;
        });
      },
    };
    const restored = await restoreFromStore(watched, host, spec, { fromHost: host.name, id: 'latest' });
    expect(restored.bytes).toBeGreaterThan(0);
    // The lookup (the S3 SDK's load, in the CLI) waits for the connection, not the other way round.
    expect(events[0]).toBe('session asked');
    expect(events.indexOf('list')).toBeGreaterThan(events.indexOf('session up'));
    expect(events.indexOf('session up')).toBeGreaterThan(0);
    expect(events.filter((event) => event === 'list' || event === 'manifest read')).toEqual(['list', 'manifest read']);
    const before = readFileSync(join(work, 'data/a.txt'), 'utf8');
    const notFound = { code: 'E_BACKUP_NOT_FOUND', message: expect.stringMatching(/^no backup 20200101T000000\.000Z of local-1\/data under s3:\/\//) };
    await expect(restoreFromStore(watched, host, spec, { fromHost: host.name, id: '20200101T000000.000Z' })).rejects.toMatchObject(notFound);
    expect(readFileSync(join(work, 'data/a.txt'), 'utf8')).toBe(before);
    expect(readdirSync(work).filter((name) => name.includes('halyard-restore'))).toEqual([]);

    // Another run holds the host: the lookup's failure ends the wait for its lock at once.
    const { release, holder } = await holdHostLock(cfg, 'holder2');
    const started = Date.now();
    const waiting = restoreFromStore({ ...watched, lockWaitSeconds: 30 }, host, spec, { fromHost: host.name, id: '20200101T000000.000Z' });
    await expect(waiting).rejects.toMatchObject(notFound);
    expect(Date.now() - started).toBeLessThan(10_000);
    release();
    await holder;
  });

  it('takes the host lock: a backup waits for the run holding it, or fails naming it', async () => {
    const cfg = config();
    const { release, holder } = await holdHostLock(cfg, 'holder1');
    const refused = await backupVolume({ ...context(cfg), lockWaitSeconds: 0 }, host, cfg.volumes[0]!);
    expect(refused).toMatchObject({ ok: false });
    expect(refused.error).toMatch(/^host is locked by another halyard run \(run=holder1 controller=ctl pid=1 since=then\)/);
    // A daemon that begins to stop ends its wait at once, before any work, rather than waiting out
    // a lock held by the very apply that is restarting it.
    const stopping = new AbortController();
    const started = Date.now();
    const stopped = backupVolume({ ...context(cfg), lockWaitSeconds: 30, lockWaitSignal: stopping.signal }, host, cfg.volumes[0]!);
    setTimeout(() => stopping.abort(new Error('daemon shutting down')), 300);
    expect(await stopped).toMatchObject({ ok: false, stopped: [], error: 'backup local-1/data: stopped waiting for the host lock (daemon shutting down)' });
    expect(Date.now() - started).toBeLessThan(10_000);
    const waiting = backupVolume({ ...context(cfg), lockWaitSeconds: 30 }, host, cfg.volumes[0]!);
    setTimeout(release, 500);
    await holder;
    expect(await waiting).toMatchObject({ ok: true });
  });

  it("a daemon's probe holding the host is asked past: the backup takes the lock once the probe lets go, without --lock-timeout", async () => {
    const cfg = config();
    const holding = context(cfg);
    let held!: () => void;
    const isHeld = new Promise<void>((resolve) => (held = resolve));
    const probe = withHostLock(await holding.session(), { label: 'probe local-1', waitSeconds: 0, timeoutMs: 10_000, lockPaths: holding.lockPaths!, owner: { runId: 'probe1', controller: 'daemon', pid: 1, startedAt: 'then', purpose: 'probe' } }, async () => {
      held();
      await new Promise((resolve) => setTimeout(resolve, 700));
    });
    await Promise.race([isHeld, probe]);
    const backup = await backupVolume({ ...context(cfg), lockWaitSeconds: 0 }, host, cfg.volumes[0]!);
    await probe;
    expect(backup).toMatchObject({ ok: true });
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

  it('orphan_grace_hours holds the sweep off; a failing part of the sweep is one warning, the other part still runs, the backup succeeds', async () => {
    const now = Date.parse('2026-03-10T12:00:00.000Z');
    const orphan = `hb/local-1/data/${backupId(new Date(now - 30 * 3_600_000))}/data.tar.zst`;
    await store.putBytes(orphan, 'left by a killed run');
    const cfg = config('orphan_grace_hours: 48\n');
    const spec = cfg.volumes[0]!;
    writeFileSync(join(work, 'data/sub/b.bin'), 'small now\n');
    const kept = await backupVolume(context(cfg, {}, () => new Date(now)), host, spec);
    expect(kept).toMatchObject({ ok: true, orphans: [], abortedUploads: [] });
    expect(aws.s3.keys(BUCKET)).toContain(orphan);

    // ListMultipartUploads refused on every retry (say, a bucket policy without s3:ListBucketMultipartUploads):
    // the uploads part is skipped with a warning, the data part still deletes the orphan (50 h old by then).
    aws.failNext({ service: 's3', operation: 'ListMultipartUploads', kind: '500', count: 20 });
    const lines: string[] = [];
    const warnings: string[] = [];
    const swept = await backupVolume({ ...context(cfg, {}, () => new Date(now + 20 * 3_600_000)), log: (line) => lines.push(line), warn: (line) => warnings.push(line) }, host, spec);
    aws.clearFaults();
    expect(swept).toMatchObject({ ok: true, orphans: [orphan], abortedUploads: [] });
    expect(swept.error).toBeUndefined();
    expect(warnings).toEqual([expect.stringMatching(/^local-1\/data: orphan sweep: incomplete uploads skipped this run \(the backup is fine\): S3 ListMultipartUploads .*InternalError/)]);
    expect(lines).toContain(`local-1/data: deleted 1 orphaned data object(s) without a manifest: ${orphan}`);
    expect(aws.s3.keys(BUCKET)).not.toContain(orphan);
    // The next backup lists uploads again, and warns of nothing.
    const listings = aws.countRequests({ service: 's3', operation: 'ListMultipartUploads' });
    const next: string[] = [];
    expect(await backupVolume({ ...context(cfg, {}, () => new Date(now + 21 * 3_600_000)), warn: (line) => next.push(line) }, host, spec)).toMatchObject({ ok: true });
    expect(aws.countRequests({ service: 's3', operation: 'ListMultipartUploads' })).toBe(listings + 1);
    expect(next).toEqual([]);
  });

  it('a store that refuses aborts (405): the data part still runs, the uploads wait for a later run, one warning per run', async () => {
    const cfg = config();
    const spec = cfg.volumes[0]!;
    writeFileSync(join(work, 'data/sub/b.bin'), 'small now\n');
    const HOUR = 3_600_000;
    const now = Date.parse('2026-03-10T12:00:00.000Z');
    const orphan = `hb/local-1/data/${backupId(new Date(now - 48 * HOUR))}/data.tar.gz`;
    await store.putBytes(orphan, 'left by a killed run');
    const s3 = createS3Client({});
    const uploads: string[] = [];
    for (const hours of [30, 40]) {
      const key = `hb/local-1/data/${backupId(new Date(now - hours * HOUR))}/data.tar.zst`;
      const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: key }));
      aws.s3.uploads.get(UploadId!)!.initiated = new Date(now - hours * HOUR);
      uploads.push(UploadId!);
    }
    aws.failNext({ service: 's3', operation: 'AbortMultipartUpload', kind: 'method-not-allowed', count: 100 });
    const warnings: string[] = [];
    const run = { ...context(cfg, {}, () => new Date(now)), warn: (line: string) => warnings.push(line), warned: new Set<string>() };
    const first = await backupVolume(run, host, spec);
    expect(first).toMatchObject({ ok: true, orphans: [orphan], abortedUploads: [] });
    // Refused once: the second upload is not even tried this run.
    expect(aws.countRequests({ service: 's3', operation: 'AbortMultipartUpload' })).toBe(1);
    expect(warnings).toEqual([expect.stringMatching(/^local-1\/data: orphan sweep: 2 incomplete upload\(s\) not aborted this run \(the backup is fine\): S3 AbortMultipartUpload .*: this store does not implement it \(MethodNotAllowed/)]);
    // The same run backs up again (another volume, say): no second warning.
    expect(await backupVolume({ ...run, now: () => new Date(now + HOUR) }, host, spec)).toMatchObject({ ok: true, abortedUploads: [] });
    expect(warnings).toHaveLength(1);
    expect([...aws.s3.uploads.keys()].sort()).toEqual([...uploads].sort());
    // A store that aborts again: the next run aborts both.
    aws.clearFaults();
    const later = await backupVolume(context(cfg, {}, () => new Date(now + 2 * HOUR)), host, spec);
    expect(later.abortedUploads).toHaveLength(2);
    expect(aws.s3.openUploads()).toBe(0);
  });

  it('CLI: a bad backup file is one line and exit 65', async () => {
    const file = join(work, 'backup.yml');
    writeFileSync(file, 'inventory: inv.yml\nbucket: B\nvolumes: []\n');
    const invalid = await runCli(['backup', 'run', '-c', file], { env: aws.env });
    expect(invalid.exitCode).toBe(65);
    expect(invalid.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^halyard: .*backup\.yml: bucket: an S3 bucket name$/)]);
  });
});

// What depends on the store, against both servers. s3rver lacks ListMultipartUploads (501) and
// aborts (405), ignores If-None-Match and checks no signature (test/support/s3rver.ts).
describe.each(['emulator', 's3rver'] as const)('the store contract against %s: backup, list, verify, restore, retention, orphans, CLI', (server) => {
  const s3rver: S3rverServer | undefined = server === 's3rver' ? useS3rver([BUCKET]) : undefined;
  beforeEach(async () => {
    await s3rver?.reset();
  });
  // The environment the CLI needs for this store (this process's clients already have it).
  const storeEnv = (): Record<string, string> => s3rver?.env ?? aws.env;

  it('round-trips a directory byte-identical (multipart and small PutObject), manifest last, restore replaces the directory', async () => {
    const cfg = config();
    const spec = cfg.volumes[0]!;
    const before = treeDigest(join(work, 'data'));
    // Writes in the order they finished, whatever the server.
    const writes: string[] = [];
    const recording: ObjectStore = Object.create(store) as ObjectStore;
    recording.putStream = async (key, body, options) => {
      const out = await store.putStream(key, body, options);
      writes.push(key);
      return out;
    };
    recording.putBytes = async (key, body, options) => {
      const out = await store.putBytes(key, body, options);
      writes.push(key);
      return out;
    };
    const outcome = await backupVolume({ ...context(cfg), store: recording }, host, spec);
    expect(outcome).toMatchObject({ ok: true, host: 'local-1', volume: 'data', orphans: [], abortedUploads: [] });
    const manifest = outcome.manifest!;
    expect(manifest).toMatchObject({ tool: 'halyard', kind: 'dir', compression: 'zstd', host: 'local-1', volume: 'data', source: join(work, 'data') });
    // 12 MB of random data in 5 MiB parts: a multipart upload, then the manifest.
    expect(manifest.size).toBeGreaterThan(10 * 1024 * 1024);
    expect(writes).toEqual([manifest.dataKey, outcome.manifestKey]);
    if (server === 'emulator') {
      // On the wire: the manifest's PutObject came after the multipart upload completed.
      const wire = aws.requests.filter((r) => r.service === 's3' && ['PutObject', 'CompleteMultipartUpload'].includes(r.operation));
      expect(wire.map((r) => r.operation)).toEqual(['CompleteMultipartUpload', 'PutObject']);
    }
    expect(await keysOf()).toEqual([manifest.dataKey, outcome.manifestKey]);

    const listed = await listBackups(store, 'hb');
    expect(listed.map((b) => b.manifest.id)).toEqual([manifest.id]);
    // The bytes read back are the bytes hashed on the way up (no aws-chunked framing stored).
    expect(await verifyBackup(store, listed[0]!)).toMatchObject({ ok: true, size: manifest.size, sha256: manifest.sha256 });

    // Damage the directory, then restore: extra files go, changed files come back.
    writeFileSync(join(work, 'data/a.txt'), 'changed\n');
    writeFileSync(join(work, 'data/new.txt'), 'not in the backup\n');
    await restoreVolume(context(cfg), host, spec, await findBackup(store, 'hb', 'local-1', 'data'));
    expect(treeDigest(join(work, 'data'))).toBe(before);
    expect(readFileSync(join(work, 'data/a.txt'), 'utf8')).toBe('alpha\n');
    expect(execFileSync('stat', ['-c', '%a', join(work, 'data/a.txt')], { encoding: 'utf8' }).trim()).toBe('640');
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
    const keys = await keysOf();
    expect(keys).toContain('hb/local-1/data/notes.txt');
    expect(keys).not.toContain('hb/local-1/data/20200101T000000.000Z/data.tar.gz');
    expect(keys).toHaveLength(1 + 2 * 2);
    for (const backup of await listBackups(store, 'hb')) expect((await verifyBackup(store, backup)).ok).toBe(true);
  });

  it('orphan sweep: old data without a manifest goes, nothing else; a store without ListMultipartUploads skips that part with one warning per run', async () => {
    // The emulator is made to answer as s3rver does (501 NotImplemented).
    if (server === 'emulator') aws.failNext({ service: 's3', operation: 'ListMultipartUploads', kind: 'not-implemented', count: 100 });
    const cfg = parseBackupConfig(
      `inventory: inv.yml\nbucket: ${BUCKET}\nprefix: hb\nvolumes:\n  - { name: data, kind: dir, path: ${join(work, 'data')} }\n  - { name: logs, kind: dir, path: ${join(work, 'data/sub')} }\n`,
      join(work, 'backup.yml'),
    );
    writeFileSync(join(work, 'data/sub/b.bin'), 'small now\n');
    const HOUR = 3_600_000;
    const now = Date.parse('2026-03-10T12:00:00.000Z');
    const ago = (hours: number) => backupId(new Date(now - hours * HOUR));
    const orphans = [`hb/local-1/data/${ago(48)}/data.tar.zst`, `hb/local-1/logs/${ago(30)}/data.tar.gz`];
    const fresh = `hb/local-1/data/${ago(2)}/data.tar.gz`;
    const foreign = ['hb/local-1/data/notes.txt', `hb/local-1/data/${ago(48)}/readme.txt`, `hb/local-1/data/${ago(48)}/sub/data.tar`, `hb/local-2/data/${ago(48)}/data.tar`, `elsewhere/local-1/data/${ago(48)}/data.tar`];
    for (const key of [...orphans, fresh, ...foreign]) await store.putBytes(key, `planted ${key}`);
    // A run killed mid-upload (invisible to the sweep here: the listing is refused).
    const s3 = createS3Client({});
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: `hb/local-1/data/${ago(30)}/data.tar.zst` }));
    await s3.send(new UploadPartCommand({ Bucket: BUCKET, Key: `hb/local-1/data/${ago(30)}/data.tar.zst`, UploadId, PartNumber: 1, Body: randomBytes(1024) }));

    // One run over both volumes (as runBackups does): one warning, both data parts swept and reported.
    const lines: string[] = [];
    const warnings: string[] = [];
    const run = { ...context(cfg, {}, () => new Date(now)), log: (line: string) => lines.push(line), warn: (line: string) => warnings.push(line), warned: new Set<string>() };
    const data = await backupVolume(run, host, cfg.volumes[0]!);
    const logs = await backupVolume(run, host, cfg.volumes[1]!);
    expect(data).toMatchObject({ ok: true, orphans: [orphans[0]], abortedUploads: [] });
    expect(logs).toMatchObject({ ok: true, orphans: [orphans[1]], abortedUploads: [] });
    expect(warnings).toEqual([
      expect.stringMatching(/^local-1\/data: orphan sweep: incomplete uploads skipped this run \(the backup is fine\): S3 ListMultipartUploads s3:\/\/halyard-backups-test\/hb\/local-1\/data\/: this store does not implement it \(NotImplemented/),
    ]);
    expect(lines).toContain(`local-1/data: deleted 1 orphaned data object(s) without a manifest: ${orphans[0]}`);
    expect(lines).toContain(`local-1/logs: deleted 1 orphaned data object(s) without a manifest: ${orphans[1]}`);
    const keys = await keysOf();
    for (const key of [fresh, ...foreign]) expect(keys).toContain(key);
    for (const key of orphans) expect(keys).not.toContain(key);
    expect((await listBackups(store, 'hb')).map((b) => b.manifest.volume)).toEqual(['data', 'logs']);
    // A new run warns again (once).
    const again: string[] = [];
    await backupVolume({ ...context(cfg, {}, () => new Date(now + HOUR)), warn: (line) => again.push(line), warned: new Set<string>() }, host, cfg.volumes[0]!);
    expect(again).toHaveLength(1);
  });

  it('CLI: backup list and verify read the bucket (and, on the emulator, a changed object fails verify)', async () => {
    const cfg = config();
    const outcome = await backupVolume(context(cfg), host, cfg.volumes[0]!);
    const file = join(work, 'backup.yml');
    writeFileSync(file, `inventory: inv.yml\nbucket: ${BUCKET}\nprefix: hb\nvolumes:\n  - { name: data, kind: dir, path: ${join(work, 'data')} }\n`);
    const list = await runCli(['backup', 'list', '-c', file, '--json'], { env: storeEnv() });
    expect(list.exitCode, list.stderr).toBe(0);
    expect(JSON.parse(list.stdout)).toEqual([{ ...outcome.manifest, manifestKey: outcome.manifestKey }]);
    // Without --json: one tab-separated line per backup, no note column on a clean copy.
    const text = await runCli(['backup', 'list', '-c', file], { env: storeEnv() });
    const m = outcome.manifest!;
    expect(text.stdout).toBe(`local-1\tdata\t${m.id}\tdir\t${formatBytes(m.size)}\t${m.compression}\t${m.sha256.slice(0, 12)}\n`);
    const verify = await runCli(['backup', 'verify', '-c', file, '--json'], { env: storeEnv() });
    expect(JSON.parse(verify.stdout)).toMatchObject({ ok: true, results: [{ host: 'local-1', volume: 'data', ok: true }] });
    // The same code reads either store: a changed object failing verify is checked once.
    if (server !== 'emulator') return;
    await store.putBytes(outcome.manifest!.dataKey, 'tampered');
    const bad = await runCli(['backup', 'verify', '-c', file], { env: storeEnv() });
    expect(bad.exitCode).toBe(1);
    expect(bad.stdout).toMatch(/MISMATCH/);
  });
});

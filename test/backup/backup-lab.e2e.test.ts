import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stagingPath, treeDigestScript } from '../../src/backup/plan.js';
import { quote } from '../../src/core/shell.js';
import { labExec } from '../../src/lab/index.js';
import { dockerChecked } from '../../src/lab/docker.js';
import { startAwsEmulator, type AwsEmulator } from '../support/aws-emulator/index.js';
import { startS3rver, type S3rverServer } from '../support/s3rver.js';
import { freshKnownHosts, runCli, type CliRun } from '../support/cli.js';
import { UNDO_DIR } from '../../src/engine/guard.js';
import { BACKUP_LAB_PACKAGES, reimportImage, startTestFleet, type TestFleet } from '../support/lab.js';
import { busyBudget } from '../support/budget.js';

// `halyard backup` end to end on a systemd lab host with Docker and Postgres inside, through SSH:
// into s3rver (an S3 server we did not write) a 200 MB directory (peak RSS of the CLI measured)
// and a Docker volume destroyed and restored; into the emulator's S3 (which can inject faults) a
// labelled container that must be running again after a failed backup, and a real Postgres dump
// and restore.

const BUCKET = 'lab-backups';
const IMAGE = 'halyard-test-backup-tiny:e2e';
const BUSYBOX = '/bin/busybox';
let aws: AwsEmulator;
let s3rver: S3rverServer;
let s3rverConfig: string;
let fleet: TestFleet;
let container: string;
let hostName: string;
let configFile: string;
let knownHosts: string;
let work: string;

async function onHost(script: string, timeoutMs = 120_000): Promise<string> {
  const result = await labExec(container, script, { timeoutMs });
  if (result.exitCode !== 0) throw new Error(`on host: ${script.slice(0, 80)}: exit ${result.exitCode}: ${result.stderr.slice(-800)}`);
  return result.stdout.trim();
}

function backupArgs(args: string[], file = configFile): string[] {
  return ['backup', ...args, '-c', file, ...(args[0] === 'run' || args[0] === 'restore' ? ['--known-hosts', knownHosts] : [])];
}

// The same against s3rver (its own config file and credentials).
function onS3rver(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  return runCli(backupArgs(args, s3rverConfig), { env: { ...s3rver.env, ...env } });
}

// `halyard backup ...` exactly as users run it (bin/halyard.js).
function cli(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  return runCli(backupArgs(args), { env: { ...aws.env, ...env } });
}

// `halyard backup ...` started and interrupted once the container `writer` was stopped for the
// copy: a signal to the CLI, or its SSH connection dropped on the host. Resolves with the run.
async function interrupted(args: string[], how: 'SIGINT' | 'SIGTERM' | 'SIGKILL' | 'drop', staging?: string): Promise<CliRun> {
  let pid = 0;
  const run = runCli(backupArgs(args), { env: aws.env, onStart: (started) => (pid = started) });
  // A backup: docker wait returns when the run stops the writer, without polling (a docker CLI
  // call every 50 ms cost seconds of CPU per case on a busy machine). A restore streams with the
  // writer running: its staging directory appearing (a shell test, no docker call) starts the copy.
  await onHost(staging === undefined ? 'timeout 60 docker wait writer >/dev/null' : `timeout 60 sh -c 'until [ -d "$1" ]; do sleep 0.05; done' sh ${quote(staging)}`);
  // Into the copy (40 MB take 1-4 s here).
  await new Promise((resolve) => setTimeout(resolve, 200));
  // The brackets keep pkill from matching its own shell's command line; docker exec, because
  // labExec's own SSH session would be dropped too.
  if (how === 'drop') await dockerChecked(['exec', container, 'sh', '-c', "pkill -KILL -f 'sshd: .*(@nott[y]|\\[pri[v]\\])'; true"]);
  else process.kill(pid, how);
  return run;
}

// Seconds until `writer` runs again (at most 20): running now, or a start event since just before
// asking (docker events replays it), instead of a docker inspect every 0.1 s.
async function secondsUntilWriterRuns(): Promise<number> {
  const started = Date.now();
  await onHost(
    [
      'since=$(date +%s)',
      `[ "$(docker inspect -f '{{.State.Running}}' writer)" = true ] && exit 0`,
      'f=$(mktemp -u) && mkfifo "$f"',
      'timeout 20 docker events --since "$since" --filter container=writer --filter event=start --format x > "$f" &',
      'read -r line < "$f"; kill $! 2>/dev/null; rm -f "$f"; [ "$line" = x ]',
    ].join('\n'),
  );
  return (Date.now() - started) / 1000;
}

// A ~2 MB image of busybox-static, built on the controller (no registry here) and shipped with docker save | load.
async function buildTinyImage(): Promise<void> {
  if (!existsSync(BUSYBOX)) execFileSync('apt-get', ['install', '-y', '-q', 'busybox-static'], { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }, stdio: 'ignore', timeout: 300_000 });
  const root = mkdtempSync(join(tmpdir(), 'hy-bk-tiny-'));
  try {
    mkdirSync(join(root, 'bin'));
    mkdirSync(join(root, 'data'));
    copyFileSync(BUSYBOX, join(root, 'bin/busybox'));
    for (const applet of ['sh', 'sleep', 'cat', 'echo']) symlinkSync('busybox', join(root, 'bin', applet));
    await reimportImage(IMAGE, () => execFileSync('sh', ['-c', `tar -C '${root}' -cf - . | docker import -c 'CMD ["/bin/sh"]' - ${IMAGE}`], { stdio: 'ignore', timeout: 120_000 }));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

beforeAll(async () => {
  aws = await startAwsEmulator();
  aws.createBucket(BUCKET);
  s3rver = await startS3rver({ buckets: [BUCKET] });
  await buildTinyImage();
  // Docker, Postgres and zstd come installed (a host image variant the global setup builds).
  fleet = await startTestFleet({ count: 1, systemd: true, prefix: 'backup', packages: BACKUP_LAB_PACKAGES });
  container = fleet.hosts[0]!.container;
  hostName = fleet.hosts[0]!.name;
  await onHost('for i in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 1; done; docker info >/dev/null');
  execFileSync('sh', ['-c', `docker save ${IMAGE} | docker exec -i ${container} docker load`], { stdio: 'ignore', timeout: 120_000 });
  work = mkdtempSync(join(tmpdir(), 'hy-bk-lab-'));
  knownHosts = freshKnownHosts();
  configFile = join(work, 'backup.yml');
  writeFileSync(
    configFile,
    [
      `inventory: ${fleet.inventoryPath}`,
      `bucket: ${BUCKET}`,
      'prefix: lab',
      `endpoint: ${aws.url}`,
      'region: us-east-1',
      'retention: { last: 2, daily: 0, weekly: 0, monthly: 0 }',
      'volumes:',
      '  - { name: bigdata, kind: dir, path: /srv/data, service: halyard-dummy.service }',
      '  - { name: appdata, kind: volume, volume: appdata }',
      '  - { name: appdb, kind: postgres, database: app }',
      '  - { name: bigvol, kind: volume, volume: bigvol }',
      '  - { name: bindvol, kind: volume, volume: bindvol }',
      '  - { name: tmpvol, kind: volume, volume: tmpvol }',
      '  - { name: cachevol, kind: volume, volume: cachevol }',
      '  - { name: small, kind: dir, path: /srv/small }',
      '',
    ].join('\n'),
  );
  s3rverConfig = join(work, 'backup-s3rver.yml');
  writeFileSync(
    s3rverConfig,
    readFileSync(configFile, 'utf8')
      .replace(`endpoint: ${aws.url}`, `endpoint: ${s3rver.url}`)
      .replace('volumes:', 'volumes:\n  - { name: labvol, kind: volume, volume: labvol }\n  - { name: mounted, kind: dir, path: /srv/mounted }'),
  );
});

afterAll(async () => {
  await fleet?.stop();
  await aws?.stop();
  await s3rver?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('halyard backup on a lab host', () => {
  it('into s3rver: a 200 MB directory and a Docker volume backed up, listed, verified, destroyed and restored byte-identical, the CLI under 150 MB RSS', async () => {
    await onHost('mkdir -p /srv/data/sub && dd if=/dev/urandom of=/srv/data/big.bin bs=1M count=200 status=none && echo small > /srv/data/sub/s.txt && chown -R 1234:1234 /srv/data/sub && chmod 0600 /srv/data/sub/s.txt');
    const before = await onHost(treeDigestScript('/srv/data'));
    const stats = join(work, 'stats.json');
    const run = await onS3rver(['run', '--volume', 'bigdata', '--json'], { HALYARD_STATS_FILE: stats });
    expect(run.exitCode, run.stderr).toBe(0);
    const [outcome] = (JSON.parse(run.stdout) as { backups: Array<{ ok: boolean; durationMs: number; manifest: { size: number; compression: string; sha256: string } }> }).backups;
    expect(outcome).toMatchObject({ ok: true, manifest: { compression: 'zstd' } });
    const { maxRssKb } = JSON.parse(readFileSync(stats, 'utf8')) as { maxRssKb: number };
    const mib = outcome!.manifest.size / 1024 / 1024;
    console.log(`[backup lab] 200 MiB dir: ${mib.toFixed(1)} MiB stored in ${(outcome!.durationMs / 1000).toFixed(1)} s (${(mib / (outcome!.durationMs / 1000)).toFixed(1)} MiB/s), CLI peak RSS ${(maxRssKb / 1024).toFixed(1)} MiB`);
    expect(maxRssKb).toBeLessThan(150 * 1024);
    expect(mib).toBeGreaterThan(199);

    const verify = await onS3rver(['verify', '--host', hostName, '--volume', 'bigdata']);
    expect(verify.exitCode, verify.stderr).toBe(0);
    expect(verify.stdout).toMatch(/: ok$/m);
    // For the record: what bin/halyard.js costs at start-up alone.
    const versionStats = join(work, 'version-stats.json');
    await runCli(['--version'], { env: { HALYARD_STATS_FILE: versionStats } });
    console.log(`[backup lab] bin/halyard.js --version peak RSS ${((JSON.parse(readFileSync(versionStats, 'utf8')) as { maxRssKb: number }).maxRssKb / 1024).toFixed(1)} MiB`);

    // The restore stops the volume's service and starts it again.
    await onHost("printf '[Service]\\nExecStart=/bin/sleep infinity\\n' > /etc/systemd/system/halyard-dummy.service && systemctl daemon-reload && systemctl start halyard-dummy");
    const serviceState = () => onHost('echo "$(systemctl is-active halyard-dummy) $(systemctl show -p ActiveEnterTimestampMonotonic --value halyard-dummy)"');
    const serviceBefore = await serviceState();
    expect(serviceBefore).toMatch(/^active /);
    await onHost('rm /srv/data/big.bin && echo extra > /srv/data/extra.txt && echo changed > /srv/data/sub/s.txt');
    const restoreStats = join(work, 'restore-stats.json');
    const restore = await onS3rver(['restore', '--host', hostName, '--volume', 'bigdata'], { HALYARD_STATS_FILE: restoreStats });
    expect(restore.exitCode, restore.stderr).toBe(0);
    const restoreRss = (JSON.parse(readFileSync(restoreStats, 'utf8')) as { maxRssKb: number }).maxRssKb;
    console.log(`[backup lab] restore: ${restore.stdout.trim()}; CLI peak RSS ${(restoreRss / 1024).toFixed(1)} MiB`);
    expect(restoreRss).toBeLessThan(150 * 1024);
    expect(await onHost(treeDigestScript('/srv/data'))).toBe(before);
    expect(await onHost('stat -c %u:%g:%a /srv/data/sub/s.txt')).toBe('1234:1234:600');
    // The replaced data is deleted in the background once the commit answered: gone within 10 s.
    expect(await onHost('for i in $(seq 100); do ls /srv | grep -q halyard || break; sleep 0.1; done; ls /srv | grep -c halyard || true')).toBe('0');
    const serviceAfter = await serviceState();
    expect(serviceAfter).toMatch(/^active /);
    expect(serviceAfter).not.toBe(serviceBefore);

    // A Docker volume: backed up, listed, verified, the volume destroyed, restored byte-identical.
    await onHost(`docker volume create labvol >/dev/null && d="$(docker volume inspect -f '{{.Mountpoint}}' labvol)" && dd if=/dev/urandom of="$d/blob" bs=1M count=8 status=none && mkdir -p "$d/conf" && echo 'key: value' > "$d/conf/app.yml" && chown -R 10001:10001 "$d/conf"`);
    const volumeDigest = async () => {
      const mount = await onHost("docker volume inspect -f '{{.Mountpoint}}' labvol");
      return `${await onHost(treeDigestScript(mount))} ${await onHost(`stat -c %u:%g ${mount}/conf/app.yml`)}`;
    };
    const volumeBefore = await volumeDigest();
    const volumeRun = await onS3rver(['run', '--volume', 'labvol']);
    expect(volumeRun.exitCode, volumeRun.stdout + volumeRun.stderr).toBe(0);
    const listed = await onS3rver(['list', '--volume', 'labvol']);
    expect(listed.stdout).toContain(`${hostName}`);
    const verified = await onS3rver(['verify', '--host', hostName, '--volume', 'labvol']);
    expect(verified.stdout).toMatch(/: ok$/m);
    await onHost('docker volume rm labvol >/dev/null && ! docker volume inspect labvol >/dev/null 2>&1');
    const volumeRestore = await onS3rver(['restore', '--host', hostName, '--volume', 'labvol']);
    expect(volumeRestore.exitCode, volumeRestore.stdout + volumeRestore.stderr).toBe(0);
    expect(await volumeDigest()).toBe(volumeBefore);
  }, busyBudget(90));

  it('a mount point written while it is backed up: the backup stands with a warning; the restore swaps its entries in place, the mount kept, owner and mode back', async () => {
    await onHost('mkdir -p /srv/mounted && mount -t tmpfs tmpfs /srv/mounted && mkdir /srv/mounted/conf && echo v1 > /srv/mounted/conf/app.yml && dd if=/dev/urandom of=/srv/mounted/app.log bs=1M count=16 status=none && chown -R 10001:10001 /srv/mounted && chmod 0750 /srv/mounted');
    // A service appending to its log all along (tar reads the 16 MiB file while it grows).
    await onHost("nohup sh -c 'while :; do echo line >> /srv/mounted/app.log; done' >/dev/null 2>&1 & echo $! > /tmp/writer.pid");
    let run: CliRun;
    try {
      run = await onS3rver(['run', '--volume', 'mounted', '--json']);
    } finally {
      await onHost('kill "$(cat /tmp/writer.pid)"');
    }
    expect(run.exitCode, run.stdout + run.stderr).toBe(0);
    const [outcome] = (JSON.parse(run.stdout) as { backups: Array<{ ok: boolean; changedWhileRead?: number; manifest: { changedWhileRead?: number } }> }).backups;
    expect(outcome).toMatchObject({ ok: true });
    expect(outcome!.changedWhileRead).toBeGreaterThanOrEqual(1);
    expect(outcome!.manifest.changedWhileRead).toBe(outcome!.changedWhileRead);
    expect(run.stderr).toMatch(/mounted: backed up while being written: \d+ files? changed as tar read (it|them) \(tar: \.\/app\.log: /);

    await onHost('echo v2 > /srv/mounted/conf/app.yml && echo extra > /srv/mounted/extra && chown 0:0 /srv/mounted && chmod 0777 /srv/mounted');
    const restore = await onS3rver(['restore', '--host', hostName, '--volume', 'mounted']);
    expect(restore.exitCode, restore.stdout + restore.stderr).toBe(0);
    expect(restore.stdout).toMatch(/taken while being written/);
    expect(await onHost('cat /srv/mounted/conf/app.yml; ls -A /srv/mounted; stat -c %u:%g:%a /srv/mounted; mountpoint -q /srv/mounted && echo still mounted; ls /srv | grep -c halyard || true')).toBe(
      ['v1', 'app.log', 'conf', '10001:10001:750', 'still mounted', '0'].join('\n'),
    );
    await onHost('umount /srv/mounted');
  }, busyBudget(30));

  it('a labelled container stopped for the copy runs again after a failed backup, and after a good one', async () => {
    await onHost(`docker run -d --name app --label halyard.backup.stop=true -v appdata:/data ${IMAGE} sh -c 'trap \"exit 0\" TERM; echo v1 > /data/state; while :; do sleep 1; done' >/dev/null && sleep 1`);
    const startedAt = () => onHost("docker inspect -f '{{.State.Running}} {{.State.StartedAt}}' app");
    const first = await startedAt();
    expect(first).toMatch(/^true /);
    // The data upload fails on every retry: the backup fails, the container must be started again.
    aws.failNext({ service: 's3', operation: 'PutObject', kind: '500', count: 5 });
    const failed = await cli(['run', '--volume', 'appdata']);
    aws.clearFaults();
    expect(failed.exitCode).toBe(1);
    expect(failed.stdout).toMatch(/appdata: FAILED: .*InternalError/);
    const afterFailure = await startedAt();
    expect(afterFailure).toMatch(/^true /);
    expect(afterFailure).not.toBe(first); // it was stopped and started again

    const list = await cli(['list', '--volume', 'appdata']);
    expect(list.stdout.trim()).toBe('');
    const ok = await cli(['run', '--volume', 'appdata']);
    expect(ok.exitCode, ok.stdout + ok.stderr).toBe(0);
    expect(await startedAt()).toMatch(/^true /);
    await onHost("echo v2 > \"$(docker volume inspect -f '{{.Mountpoint}}' appdata)/state\"");
    // Another container uses the volume, unlabelled: the volume's folder swapped from under it would
    // leave it on the deleted data (it saw no /data/state at all), so the restore stops it too.
    await onHost(`docker run -d --name reader -v appdata:/data ${IMAGE} sh -c 'trap \"exit 0\" TERM; while :; do sleep 1; done' >/dev/null`);
    const readerStarted = await onHost("docker inspect -f '{{.State.StartedAt}}' reader");
    const restore = await cli(['restore', '--host', hostName, '--volume', 'appdata']);
    expect(restore.exitCode, restore.stderr).toBe(0);
    expect(await onHost('docker exec app cat /data/state')).toBe('v1');
    expect(await startedAt()).toMatch(/^true /);
    expect(await onHost('docker exec reader cat /data/state')).toBe('v1');
    expect(await onHost("docker inspect -f '{{.State.StartedAt}}' reader")).not.toBe(readerStarted);
    await onHost('docker rm -f reader >/dev/null');
  }, busyBudget(30));

  it("a volume bound to a directory (o: bind) is copied from that directory, its container stopped (Docker unmounts it then), and restored there; a tmpfs volume is refused, a missing one named with the volume Compose made", async () => {
    await onHost(
      [
        'mkdir -p /srv/bound/conf && dd if=/dev/urandom of=/srv/bound/blob bs=1M count=4 status=none && echo v1 > /srv/bound/conf/app.yml && chown -R 10001:10001 /srv/bound/conf',
        'docker volume create --driver local --opt type=none --opt o=bind --opt device=/srv/bound bindvol >/dev/null',
        `docker run -d --name bound --label halyard.backup.stop=true -v bindvol:/data ${IMAGE} sh -c 'trap "exit 0" TERM; while :; do sleep 1; done' >/dev/null`,
      ].join(' && '),
    );
    const before = await onHost(treeDigestScript('/srv/bound'));
    const run = await cli(['run', '--volume', 'bindvol', '--json']);
    expect(run.exitCode, run.stdout + run.stderr).toBe(0);
    const [outcome] = (JSON.parse(run.stdout) as { backups: Array<{ stopped: string[]; manifest: { source: string; size: number } }> }).backups;
    // Stopped for the copy, the container no longer held the volume mounted: its Mountpoint was empty.
    expect(outcome!.stopped).toHaveLength(1);
    expect(outcome!.manifest.source).toBe('/srv/bound');
    expect(outcome!.manifest.size).toBeGreaterThan(4 * 1024 * 1024);
    expect(await onHost("ls -A \"$(docker volume inspect -f '{{.Mountpoint}}' bindvol)\" | wc -l; docker inspect -f '{{.State.Running}}' bound")).toBe('2\ntrue');

    await onHost('rm -rf /srv/bound/blob && echo v2 > /srv/bound/conf/app.yml && echo junk > /srv/bound/junk');
    const restore = await cli(['restore', '--host', hostName, '--volume', 'bindvol']);
    expect(restore.exitCode, restore.stdout + restore.stderr).toBe(0);
    expect(await onHost(treeDigestScript('/srv/bound'))).toBe(before);
    // The container, started again, mounts the restored directory.
    expect(await onHost("docker exec bound cat /data/conf/app.yml; docker exec bound cat /data/blob | wc -c; stat -c %u:%g /srv/bound/conf/app.yml")).toBe(['v1', String(4 * 1024 * 1024), '10001:10001'].join('\n'));

    await onHost('docker rm -f bound >/dev/null && docker volume create --driver local --opt type=tmpfs --opt device=tmpfs --opt o=size=8m tmpvol >/dev/null');
    const refused = await cli(['run', '--volume', 'tmpvol']);
    expect(refused.exitCode).toBe(1);
    expect(refused.stdout).toMatch(/tmpvol: FAILED: .*the Docker volume tmpvol is not on the host's disk: Docker mounts it \(type tmpfs, options size=8m\) from tmpfs only while a container uses it; nothing was stopped/);
    // A name Compose prefixed with its project: the error names the volume that exists.
    await onHost('docker volume create proj_cachevol >/dev/null');
    const unnamed = await cli(['run', '--volume', 'cachevol']);
    expect(unnamed.exitCode).toBe(1);
    expect(unnamed.stdout).toMatch(/cachevol: FAILED: .*the Docker volume cachevol does not exist on the host \(Compose names a project's volumes PROJECT_VOLUME; the host has proj_cachevol\)$/m);
  }, busyBudget(30));

  it('a host whose /tmp is full (no block, no inode left): the backup and the restore run all the same', async () => {
    await onHost('mkdir -p /srv/small && head -c 3000000 /dev/urandom > /srv/small/blob && echo v1 > /srv/small/conf');
    const before = await onHost(treeDigestScript('/srv/small'));
    await onHost('mount -t tmpfs -o size=64k,nr_inodes=16 hy-full /tmp && { dd if=/dev/zero of=/tmp/fill bs=4k count=100 2>/dev/null; i=0; while touch /tmp/f$i 2>/dev/null; do i=$((i+1)); done; }; ! mktemp -d 2>/dev/null');
    try {
      const run = await cli(['run', '--volume', 'small']);
      expect(run.exitCode, run.stdout + run.stderr).toBe(0);
      await onHost('echo v2 > /srv/small/conf && rm /srv/small/blob');
      const restore = await cli(['restore', '--host', hostName, '--volume', 'small']);
      expect(restore.exitCode, restore.stdout + restore.stderr).toBe(0);
      expect(await onHost(treeDigestScript('/srv/small'))).toBe(before);
      expect(await onHost('ls /dev/shm | grep -c halyard-run || true')).toBe('0');
    } finally {
      await onHost('umount /tmp');
    }
  }, busyBudget(20));

  it('Postgres: rows written, backed up with pg_dump, database dropped, restored, rows identical', async () => {
    await onHost(
      `runuser -u postgres -- psql -q -v ON_ERROR_STOP=1 -c "CREATE DATABASE app" && runuser -u postgres -- psql -q -v ON_ERROR_STOP=1 -d app -c "CREATE TABLE t (id int primary key, name text); INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 5000) g"`,
    );
    const rows = () => onHost(`cd / && runuser -u postgres -- psql -At -d app -c "SELECT count(*), md5(string_agg(id || ':' || name, ',' ORDER BY id)) FROM t"`);
    const before = await rows();
    expect(before).toMatch(/^5000\|/);
    const run = await cli(['run', '--volume', 'appdb', '--json']);
    expect(run.exitCode, run.stdout + run.stderr).toBe(0);
    expect(JSON.parse(run.stdout).backups[0].manifest).toMatchObject({ kind: 'postgres', compression: 'none', source: 'postgres:app' });
    await onHost('cd / && runuser -u postgres -- psql -q -c "DROP DATABASE app"');
    const restore = await cli(['restore', '--host', hostName, '--volume', 'appdb']);
    expect(restore.exitCode, restore.stderr).toBe(0);
    expect(await rows()).toBe(before);
    const verify = await cli(['verify', '--all']);
    expect(verify.exitCode, verify.stdout).toBe(0);

    // An app holding a session on the database (DROP DATABASE refused: "being accessed by other
    // users"): the restore ends it, says so, and the database takes connections again after.
    await onHost(`cd / && runuser -u postgres -- psql -q -d app -c "DELETE FROM t WHERE id > 10"`);
    await onHost(`cd / && (nohup runuser -u postgres -- psql -q -d app -c "SELECT pg_sleep(600)" >/dev/null 2>&1 &) && for i in $(seq 50); do [ "$(runuser -u postgres -- psql -At -c "SELECT count(*) FROM pg_stat_activity WHERE datname = 'app'")" = 1 ] && break; sleep 0.1; done`);
    const busy = await cli(['restore', '--host', hostName, '--volume', 'appdb']);
    expect(busy.exitCode, busy.stdout + busy.stderr).toBe(0);
    expect(busy.stdout).toMatch(/appdb: restored .*; ended 1 other session of the database$/m);
    expect(await rows()).toBe(before);
    expect(await onHost(`cd / && runuser -u postgres -- psql -At -c "SELECT datallowconn FROM pg_database WHERE datname = 'app'"`)).toBe('t');
  }, busyBudget(41));

  it('Ctrl-C, SIGTERM, SIGKILL or a dropped connection mid-backup and mid-restore: the stopped container runs again within 10 s (a restore cut short while it streams never stopped it), no upload or staging left; only containers mounting the volume stop', async () => {
    await onHost(
      `docker rm -f writer keeper >/dev/null 2>&1; docker volume rm bigvol >/dev/null 2>&1; ` +
        `docker run -d --name writer --label halyard.backup.stop=true -v bigvol:/data ${IMAGE} sh -c 'trap "exit 0" TERM; while :; do sleep 1; done' >/dev/null && ` +
        `docker run -d --name keeper --label halyard.backup.stop=true -v keeperdata:/data ${IMAGE} sh -c 'trap "exit 0" TERM; while :; do sleep 1; done' >/dev/null && ` +
        `dd if=/dev/urandom of="$(docker volume inspect -f '{{.Mountpoint}}' bigvol)/big.bin" bs=1M count=40 status=none`,
    );
    const volumePath = await onHost("docker volume inspect -f '{{.Mountpoint}}' bigvol");
    const keeperStarted = await onHost("docker inspect -f '{{.State.StartedAt}}' keeper");
    const good = await cli(['run', '--volume', 'bigvol']);
    expect(good.exitCode, good.stdout + good.stderr).toBe(0);
    // Changed after the backup: an interrupted restore must leave this state, never part of the backup's.
    await onHost(`echo after-backup > "${volumePath}/marker"`);
    const current = await onHost(treeDigestScript(volumePath));

    const timings: string[] = [];
    // Ctrl-C and SIGTERM take one path (abortOnSignals, which differs only in the exit code): one
    // of them per command, each shown on one (the cases cost ~11 s each on a busy machine).
    for (const [args, how, exitCode] of [
      [['run', '--volume', 'bigvol'], 'SIGINT', 130],
      [['run', '--volume', 'bigvol'], 'SIGKILL', null],
      [['run', '--volume', 'bigvol'], 'drop', 1],
      [['restore', '--host', hostName, '--volume', 'bigvol'], 'SIGTERM', 143],
      [['restore', '--host', hostName, '--volume', 'bigvol'], 'SIGKILL', null],
      [['restore', '--host', hostName, '--volume', 'bigvol'], 'drop', 1],
    ] as const) {
      const what = `${args[0]} + ${how}`;
      // A SIGKILLed controller cannot abort its upload (the orphan sweep of a later backup does).
      const uploadsBefore = aws.s3.openUploads();
      const writerStarted = await onHost("docker inspect -f '{{.State.StartedAt}}' writer");
      const run = await interrupted([...args], how, args[0] === 'restore' ? stagingPath(volumePath) : undefined);
      const seconds = await secondsUntilWriterRuns();
      // A restore stops the writer only to swap the staged data in: cut short while it streams, it never stopped it.
      if (args[0] === 'restore') expect(await onHost("docker inspect -f '{{.State.StartedAt}}' writer"), what).toBe(writerStarted);
      timings.push(`${what}: ${seconds.toFixed(1)} s`);
      expect(seconds, what).toBeLessThan(10);
      expect(run.exitCode, `${what}: ${run.stdout}${run.stderr}`).toBe(exitCode);
      if (how === 'SIGINT' || how === 'SIGTERM') expect(aws.s3.openUploads(), what).toBe(uploadsBefore);
      // Nothing of the restore is left beside the volume, and the data is as it was. After a
      // SIGKILL or a drop the host cleans up on its own: the stream's tar ends (and removes its
      // staging) once it has read what was in flight, which on a busy machine outlasts the checks above.
      expect(await onHost(`for i in $(seq 100); do ls -a "${volumePath}/.." | grep -q halyard || break; sleep 0.1; done; ls -a "${volumePath}/.." | grep -c halyard || true`), what).toBe('0');
      expect(await onHost(treeDigestScript(volumePath)), what).toBe(current);
      expect(await onHost(`ls -A ${UNDO_DIR} 2>/dev/null | wc -l`), what).toBe('0');
    }
    console.log(`[backup lab] writer running again after: ${timings.join('; ')}`);
    // The labelled container of another volume was never stopped.
    expect(await onHost("docker inspect -f '{{.State.StartedAt}}' keeper")).toBe(keeperStarted);

    // A run killed together with its guard (recorded, never undone): the next backup undoes it first.
    await onHost(`docker stop -t 1 writer >/dev/null && mkdir -p ${UNDO_DIR} && chmod 700 ${UNDO_DIR} && echo "container $(docker inspect -f '{{.Id}}' writer)" > ${UNDO_DIR}/run.32760`);
    const next = await cli(['run', '--volume', 'bigvol']);
    expect(next.exitCode, next.stdout + next.stderr).toBe(0);
    expect(next.stdout).toMatch(/: undid what an earlier, killed run left: container [0-9a-f]{64}$/m);
    expect(await onHost("docker inspect -f '{{.State.Running}}' writer")).toBe('true');
  }, busyBudget(104));
});

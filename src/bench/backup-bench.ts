// `npm run bench:backup`: `halyard backup run` and `halyard backup restore` of a 200 MiB directory
// on a lab host into s3rver (an S3 server we did not write), each measured back to back against
// the same bytes through a plain OpenSSH pipeline (`ssh host 'tar -cf - DIR | zstd' | cat`, and
// `cat file | ssh host 'zstd -d | tar -xf -'`), with the controller's peak RSS. Goal (issue 13):
// halyard at >= 90% of the pipeline's rate, controller RSS <= 150 MiB.
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { backupStreamScript } from '../backup/plan.js';
import { labDown, labExec, labUp, type LabFleet } from '../lab/index.js';
import { startNullS3 } from './null-s3.js';

const ROOT = resolve(import.meta.dirname, '../..');
const CLI = join(ROOT, 'bin/halyard.js');
const FLEET = 'halyard-backup-bench';
const DATA = '/srv/bench/data';
const MIB = 1024 * 1024;

interface Row {
  label: string;
  seconds: number;
  mibPerSecond: number;
  peakRssMb?: number;
}

async function main(): Promise<void> {
  const compression = (argValue('--compression') ?? 'zstd') as 'zstd' | 'gzip' | 'none';
  const rounds = Number(argValue('--rounds') ?? 2);
  const work = mkdtempSync(join(tmpdir(), 'halyard-backup-bench-'));
  const say = (message: string) => process.stderr.write(`bench: ${message}\n`);
  say('starting a lab host with zstd');
  const fleet = await labUp({ count: 1, name: FLEET, packages: ['zstd'], onProgress: say });
  const host = fleet.hosts[0]!;
  // s3rver keeps objects as files under its own folder; it is an npm devDependency.
  const { default: S3rver } = (await import('s3rver' as string)) as { default: new (options: Record<string, unknown>) => { run(): Promise<unknown>; close(): Promise<void> } };
  const port = await freePort();
  const s3 = new S3rver({ address: '127.0.0.1', port, silent: true, directory: join(work, 's3'), configureBuckets: [{ name: 'bench' }] });
  await s3.run();
  // The same backup into a store that keeps nothing: halyard's own rate, without a store's work on these 2 cores.
  const sink = await startNullS3();
  try {
    say(`writing 200 MiB into ${DATA} (100 MiB random, 100 MiB of log-like text)`);
    await labExec(host.container, `mkdir -p ${DATA} && head -c ${100 * MIB} /dev/urandom > ${DATA}/random.bin && i=0; while [ $i -lt 24 ]; do seq 1 600000 | sed 's/^/2026-12-05T12:00:00Z level=info msg="request served" id=/'; i=$((i+1)); done | head -c ${100 * MIB} > ${DATA}/app.log && sync`);
    const size = 200 * MIB;
    const backupFile = writeBackupConfig(fleet, work, `http://127.0.0.1:${port}`, compression, 'backup.yml');
    const sinkFile = writeBackupConfig(fleet, work, sink.url, compression, 'backup-null.yml');
    const knownHosts = join(work, 'known_hosts');
    const env = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_REGION: 'us-east-1', AWS_REQUEST_CHECKSUM_CALCULATION: 'WHEN_REQUIRED' };
    const ssh = sshArgs(fleet);
    const stream = backupStreamScript({ name: 'data', hosts: 'all', stop: [], kind: 'dir', path: DATA }, DATA, compression);
    const compressedFile = join(work, 'stream.bin');
    const rows: Row[] = [];
    for (let round = 1; round <= rounds; round++) {
      say(`round ${round}: backup`);
      // The same script halyard runs, through OpenSSH, into a file on the controller (the bytes a restore sends back).
      const pipe = await timed('sh', ['-c', `ssh ${ssh} 'sudo sh -s' > ${compressedFile}`], {}, stream);
      rows.push(rate(`OpenSSH pipeline: tar | ${compression} | ssh | file`, pipe.seconds, size));
      const run = await timedCli(['backup', 'run', '-c', backupFile, '--known-hosts', knownHosts, '--json'], env, work);
      rows.push(rate(`halyard backup run (${compression}) into s3rver`, run.seconds, size, run.peakRssMb));
      if (run.stageSeconds !== undefined) rows.push(rate('  of which the volume (lock, stream, manifest)', run.stageSeconds, size));
      const toSink = await timedCli(['backup', 'run', '-c', sinkFile, '--known-hosts', knownHosts, '--json'], env, work);
      rows.push(rate(`halyard backup run (${compression}) into a null store`, toSink.seconds, size, toSink.peakRssMb));
      if (toSink.stageSeconds !== undefined) rows.push(rate('  of which the volume (lock, stream, manifest) ', toSink.stageSeconds, size));
      say(`round ${round}: restore`);
      const restorePipe = await timed('sh', ['-c', `ssh ${ssh} 'sudo sh -c "mkdir -p /srv/bench/restored && ${compression === 'none' ? 'cat' : compression === 'gzip' ? 'gzip -d -c' : 'zstd -q -d -c'} | tar -xf - -C /srv/bench/restored"' < ${compressedFile}`], {});
      rows.push(rate('OpenSSH pipeline: file | ssh | unpack | tar -x', restorePipe.seconds, size));
      const restore = await timedCli(['backup', 'restore', '-c', backupFile, '--host', host.name, '--volume', 'data', '--known-hosts', knownHosts], env, work);
      rows.push(rate('halyard backup restore from s3rver', restore.seconds, size, restore.peakRssMb));
    }
    printTable(rows, compression);
    if (process.argv.includes('--keep')) {
      say(`--keep: host ${host.name} and s3rver on port ${port} stay up (config ${backupFile}); Ctrl-C ends`);
      await new Promise((resolve) => process.once('SIGINT', resolve));
    }
  } finally {
    await s3.close().catch(() => undefined);
    await sink.close();
    await labDown({ name: FLEET });
    rmSync(work, { recursive: true, force: true });
  }
}

function writeBackupConfig(fleet: LabFleet, dir: string, endpoint: string, compression: string, name: string): string {
  const path = join(dir, name);
  writeFileSync(
    path,
    stringify({
      inventory: fleet.inventoryPath,
      bucket: 'bench',
      prefix: 'bench',
      endpoint,
      region: 'us-east-1',
      compression,
      retention: { last: 1, daily: 0, weekly: 0, monthly: 0 },
      volumes: [{ name: 'data', kind: 'dir', path: DATA }],
    }),
  );
  return path;
}

function sshArgs(fleet: LabFleet): string {
  const host = fleet.hosts[0]!;
  return `-q -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes -i ${fleet.keyFile} -p ${host.port} ${fleet.user}@${host.address}`;
}

function rate(label: string, seconds: number, bytes: number, peakRssMb?: number): Row {
  return { label, seconds, mibPerSecond: bytes / MIB / seconds, ...(peakRssMb !== undefined ? { peakRssMb } : {}) };
}

async function timedCli(args: string[], env: Record<string, string>, dir: string): Promise<{ seconds: number; peakRssMb: number; stageSeconds?: number }> {
  const statsFile = join(dir, 'stats.json');
  // BENCH_CPU_PROF=DIR: a V8 CPU profile of each halyard run, to see where the time goes.
  const profile = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [];
  const run = await timed(process.execPath, [...profile, CLI, ...args], { ...env, HALYARD_STATS_FILE: statsFile });
  if (run.exitCode !== 0) throw new Error(`halyard ${args.join(' ')} exited ${run.exitCode}: ${run.stderr}${run.stdout.slice(-2000)}`);
  const stats = JSON.parse(readFileSync(statsFile, 'utf8')) as { maxRssKb: number };
  // backup run --json: the volume's own time (lock, inspect, stream, manifest), without start-up, connect and retention.
  const stage = args.includes('--json') ? (JSON.parse(run.stdout) as { backups?: Array<{ durationMs: number }> }).backups?.[0]?.durationMs : undefined;
  return { seconds: run.seconds, peakRssMb: stats.maxRssKb / 1024, ...(stage !== undefined ? { stageSeconds: stage / 1000 } : {}) };
}

function timed(command: string, args: string[], env: Record<string, string>, stdin?: string): Promise<{ seconds: number; exitCode: number | null; stdout: string; stderr: string }> {
  return new Promise((done, fail) => {
    const started = process.hrtime.bigint();
    const child = spawn(command, args, { cwd: ROOT, env: { ...process.env, CI: '1', ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.stdin.end(stdin ?? '');
    child.on('error', fail);
    child.on('close', (exitCode) => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      if (exitCode !== 0 && command === 'sh') fail(new Error(`${args.join(' ')} exited ${exitCode}: ${stderr}`));
      else done({ seconds, exitCode, stdout, stderr });
    });
  });
}

function printTable(rows: Row[], compression: string): void {
  const lines = [`backup and restore of 200 MiB (${compression}), lab host on 127.0.0.1, s3rver on 127.0.0.1, 2 cores`, ''];
  for (const row of rows) lines.push(`${row.label.padEnd(52)} ${row.seconds.toFixed(2).padStart(7)} s ${row.mibPerSecond.toFixed(1).padStart(7)} MiB/s${row.peakRssMb !== undefined ? `  peak RSS ${row.peakRssMb.toFixed(0)} MiB` : ''}`);
  const ratio = (halyard: string, pipe: string) => {
    const h = rows.filter((row) => row.label.startsWith(halyard));
    const p = rows.filter((row) => row.label.startsWith(pipe));
    const best = (list: Row[]) => Math.max(...list.map((row) => row.mibPerSecond));
    return best(h) / best(p);
  };
  const backupRatio = ratio(`halyard backup run (${compression}) into s3rver`, 'OpenSSH pipeline: tar');
  const sinkRatio = ratio(`halyard backup run (${compression}) into a null`, 'OpenSSH pipeline: tar');
  const restoreRatio = ratio('halyard backup restore', 'OpenSSH pipeline: file');
  const peak = Math.max(...rows.flatMap((row) => (row.peakRssMb !== undefined ? [row.peakRssMb] : [])));
  lines.push('', `backup: ${(backupRatio * 100).toFixed(0)}% of the pipeline (into a null store: ${(sinkRatio * 100).toFixed(0)}%); restore: ${(restoreRatio * 100).toFixed(0)}%; controller peak RSS ${peak.toFixed(0)} MiB`);
  lines.push(`goal (>= 90% each, <= 150 MiB): ${backupRatio >= 0.9 && restoreRatio >= 0.9 && peak <= 150 ? 'met' : 'NOT met'}`);
  process.stdout.write(`${lines.join('\n')}\n`);
}

function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? done(address.port) : fail(new Error('no port'))));
    });
  });
}

function argValue(name: string): string | undefined {
  const index = process.argv.indexOf(name);
  return index >= 0 ? process.argv[index + 1] : undefined;
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`);
  process.exit(1);
});

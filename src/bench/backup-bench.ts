// `npm run bench:backup`: `halyard backup run` and `halyard backup restore` of a 200 MiB directory
// and a 200 MiB Docker volume on a systemd lab host, into s3rver (an S3 server we did not write),
// over plain HTTP and over HTTPS as real S3 speaks it, and into a null store, each measured back to
// back against the same bytes through the plain OpenSSH pipeline (`ssh host 'tar -cf - DIR | zstd'
// > file`, `ssh host 'zstd -d | tar -xf -' < file`) and through ssh2 alone (the SSH library halyard
// is built on, the same script, no store): wall time, CPU seconds and peak RSS of each. Goal (issue
// 13): halyard at >= 90% of the pipeline's rate, controller RSS <= 150 MiB. Rates are given end to
// end (a whole CLI run, start-up and retention included) and for the stream alone (halyard's
// `streamMs` against the pipeline's time less one `ssh host true`, its own start-up and handshake).
// Backup and restore into s3rver run again on standby (`halyard standby start`: the command runs in
// a warm process, src/standby/).
//
// Here the host, the controller and the store share 2 cores, so each side's CPU slows the others:
// the stores' CPU (this process's, during each halyard run) is printed beside halyard's own, with
// the lab host's (its container's cgroup) and the whole machine's (/proc/stat). A run cannot take
// less wall time than its machine CPU over the cores, so the bench also prints that ceiling for
// each ratio: what this machine allows, however well the parties overlap (src/bench/machine-cpu.ts).
// `--pin` runs the lab host on CPU 1 and everything of the controller's side (the OpenSSH client,
// ssh2, halyard, and the stores) on CPU 0, as a cross-check: the host's work then no longer
// competes with the controller's, but the store's work lands on the controller's one core.
import { execFileSync, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { createReadStream, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Client } from 'ssh2';
import { stringify } from 'yaml';
import { backupStreamScript } from '../backup/plan.js';
import { labDown, labExec, labUp, type LabFleet } from '../lab/index.js';
import { startNullS3 } from './null-s3.js';
import { argValue, readRunStats, waitForReadyStandby } from './bench-args.js';
import { quote } from '../core/shell.js';
import { containerCpuReader, cpuMeter, machineCores, runBound, type CorePlacement, type CpuSpent } from './machine-cpu.js';

const ROOT = resolve(import.meta.dirname, '../..');
const CLI = join(ROOT, 'bin/halyard.js');
const FLEET = 'halyard-backup-bench';
const DATA = '/srv/bench/data';
const VOLUME = 'benchvol';
const MIB = 1024 * 1024;
// The backup e2e's host variant (Docker, Postgres, zstd): built once by `npm run test:prepare`.
const PACKAGES = ['docker.io', 'postgresql', 'zstd'];

interface Row {
  /** What the ratios look rows up by: dataset, then the measurement ('pipe', 'halyard-s3rver', ...). */
  key: string;
  label: string;
  seconds: number;
  mibPerSecond: number;
  cpuSeconds?: number;
  /** This process's CPU during a halyard run: the store's work (s3rver and the null store run here). */
  storeCpuSeconds?: number;
  peakRssMb?: number;
  /** The lab host's CPU during the run (its container's cgroup: sshd, tar, zstd, sudo, docker). */
  hostCpuSeconds?: number;
  /** The whole machine's busy CPU during the run (/proc/stat): host, controller, store and the rest. */
  machineCpuSeconds?: number;
}

type Compression = 'zstd' | 'gzip' | 'none';

/** Issue 13's goal: halyard at this share of the pipeline's rate. */
const RATE_GOAL = 0.9;

async function main(): Promise<void> {
  const compression = (argValue('--compression') ?? 'zstd') as Compression;
  const rounds = Number(argValue('--rounds') ?? 2);
  const work = mkdtempSync(join(tmpdir(), 'halyard-backup-bench-'));
  const say = (message: string) => process.stderr.write(`bench: ${message}\n`);
  say('starting a systemd lab host with Docker and zstd');
  const fleet = await labUp({ count: 1, name: FLEET, systemd: true, packages: PACKAGES, onProgress: say });
  const host = fleet.hosts[0]!;
  const pinned = process.argv.includes('--pin') && availableParallelism() >= 2;
  if (pinned) {
    // Every thread of this process, and so every child it starts, on CPU 0; the host's container on CPU 1.
    execFileSync('taskset', ['-a', '-p', '-c', '0', String(process.pid)], { stdio: 'ignore' });
    execFileSync('docker', ['update', '--cpuset-cpus', '1', host.container], { stdio: 'ignore' });
    say('pinned: the lab host on CPU 1; the controller side (OpenSSH client, ssh2, halyard, stores) on CPU 0');
  }
  // The host's own CPU, from its container's cgroup, and the machine's, around every timed run.
  const containerId = execFileSync('docker', ['inspect', '-f', '{{.Id}}', host.container], { encoding: 'utf8' }).trim();
  hostCpu = containerCpuReader(containerId);
  if (hostCpu === undefined) say(`no cgroup CPU file found for container ${host.container}: the host CPU column stays empty`);
  // s3rver keeps objects as files under its own folder; it is an npm devDependency.
  const { default: S3rver } = (await import('s3rver' as string)) as { default: new (options: Record<string, unknown>) => { run(): Promise<unknown>; close(): Promise<void> } };
  const port = await freePort();
  const s3 = new S3rver({ address: '127.0.0.1', port, silent: true, directory: join(work, 's3'), configureBuckets: [{ name: 'bench' }] });
  await s3.run();
  // The same server over HTTPS, as every real S3 answers: uploads then send UNSIGNED-PAYLOAD (TLS
  // protects the body), and a GET's body arrives in TLS records of at most 16 KiB.
  const tls = selfSignedCertificate(work);
  const tlsPort = await freePort();
  const s3tls = new S3rver({ address: '127.0.0.1', port: tlsPort, silent: true, directory: join(work, 's3-tls'), key: tls.key, cert: tls.cert, configureBuckets: [{ name: 'bench' }] });
  await s3tls.run();
  // The same backup into a store that keeps nothing: halyard's own rate, without a store's work on these 2 cores.
  const sink = await startNullS3();
  try {
    await labExec(host.container, 'for i in $(seq 1 60); do docker info >/dev/null 2>&1 && exit 0; sleep 1; done; exit 1');
    say(`writing 200 MiB into ${DATA} and into Docker volume ${VOLUME} (each 100 MiB random, 100 MiB of log-like text)`);
    const fill = (dir: string) =>
      `mkdir -p "${dir}" && head -c ${100 * MIB} /dev/urandom > "${dir}/random.bin" && i=0; while [ $i -lt 24 ]; do seq 1 600000 | sed 's/^/2026-12-05T12:00:00Z level=info msg="request served" id=/'; i=$((i+1)); done | head -c ${100 * MIB} > "${dir}/app.log"`;
    await labExec(host.container, `${fill(DATA)} && docker volume create ${VOLUME} >/dev/null && ${fill(`$(docker volume inspect -f '{{.Mountpoint}}' ${VOLUME})`)} && sync`, { timeoutMs: 300_000 });
    const volumePath = (await labExec(host.container, `docker volume inspect -f '{{.Mountpoint}}' ${VOLUME}`)).stdout.trim();
    const size = 200 * MIB;
    const knownHosts = join(work, 'known_hosts');
    const env = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_REGION: 'us-east-1', AWS_REQUEST_CHECKSUM_CALCULATION: 'WHEN_REQUIRED' };
    // Node trusts the bench's own certificate for the HTTPS store, and only there.
    const tlsEnv = { ...env, NODE_EXTRA_CA_CERTS: tls.certFile };
    const ssh = sshArgs(fleet);
    const runtime = join(work, 'runtime');
    mkdirSync(runtime, { mode: 0o700 });
    const onStandby = { XDG_RUNTIME_DIR: runtime };
    const started = await timed(process.execPath, [CLI, 'standby', 'start'], onStandby);
    if (started.exitCode !== 0) throw new Error(`halyard standby start exited ${started.exitCode}: ${started.stderr}`);
    const rows: Row[] = [];
    const datasets = [
      { name: 'dir', label: `${DATA} (dir)`, path: DATA, spec: { name: 'dir', hosts: 'all', stop: [], kind: 'dir' as const, path: DATA } },
      { name: 'vol', label: `Docker volume ${VOLUME}`, path: volumePath, spec: { name: 'vol', hosts: 'all', stop: [], kind: 'volume' as const, volume: VOLUME } },
    ];
    for (const dataset of datasets) {
      const storeFile = writeBackupConfig(fleet, work, `http://127.0.0.1:${port}`, compression, dataset, `backup-${dataset.name}.yml`);
      const sinkFile = writeBackupConfig(fleet, work, sink.url, compression, dataset, `backup-${dataset.name}-null.yml`);
      const tlsFile = writeBackupConfig(fleet, work, `https://127.0.0.1:${tlsPort}`, compression, dataset, `backup-${dataset.name}-tls.yml`);
      const stream = backupStreamScript(dataset.spec, dataset.path, compression);
      const unpackInto = `/srv/bench/restored-${dataset.name}`;
      const unpack = `rm -rf ${unpackInto} && mkdir -p ${unpackInto} && ${unpacker(compression)} | tar --numeric-owner -xpf - -C ${unpackInto}`;
      const compressedFile = join(work, `stream-${dataset.name}.bin`);
      for (let round = 1; round <= rounds; round++) {
        const tag = (text: string) => `${dataset.name}: ${text}`;
        const add = (key: string, label: string, seconds: number, extra: Extra = {}) =>
          rows.push(rate(`${dataset.name}:${key}`, tag(label), seconds, size, extra));
        say(`${dataset.label}, round ${round}: backup`);
        const handshake = await timedShell(`ssh ${ssh} true`);
        rows.push({ key: `${dataset.name}:handshake`, label: tag('`ssh host true` (start-up and handshake)'), seconds: handshake.seconds, mibPerSecond: 0, ...(handshake.cpuSeconds !== undefined ? { cpuSeconds: handshake.cpuSeconds } : {}) });
        // The same script halyard runs, through OpenSSH, into a file on the controller (the bytes a restore sends back).
        const pipe = await timedShell(`ssh ${ssh} 'sudo sh -s' > ${compressedFile}`, stream);
        add('pipe', `OpenSSH: tar | ${compression} | ssh > file`, pipe.seconds, pipe);
        const library = await ssh2Alone(fleet, stream, 'read');
        add('ssh2', 'ssh2 alone: the same stream, read and dropped', library.seconds, library);
        const run = await timedCli(['backup', 'run', '-c', storeFile, '--known-hosts', knownHosts, '--json'], env, work);
        add('halyard-s3rver', 'halyard backup run into s3rver', run.seconds, run);
        if (run.streamSeconds !== undefined) add('stream-s3rver', '  of which the stream', run.streamSeconds);
        const warm = await timedCli(['backup', 'run', '-c', storeFile, '--known-hosts', knownHosts, '--json'], env, work, runtime);
        add('standby-s3rver', 'halyard backup run into s3rver, on standby', warm.seconds, warm);
        const overTls = await timedCli(['backup', 'run', '-c', tlsFile, '--known-hosts', knownHosts, '--json'], tlsEnv, work);
        add('halyard-tls', 'halyard backup run into s3rver over HTTPS', overTls.seconds, overTls);
        if (overTls.streamSeconds !== undefined) add('stream-tls', '  of which the stream', overTls.streamSeconds);
        const toSink = await timedCli(['backup', 'run', '-c', sinkFile, '--known-hosts', knownHosts, '--json'], env, work);
        add('halyard-null', 'halyard backup run into a null store', toSink.seconds, toSink);
        if (toSink.streamSeconds !== undefined) add('stream-null', '  of which the stream', toSink.streamSeconds);
        // Warm (as the daemon's jobs run) and without a store's work: halyard's own share per byte.
        const warmSink = await timedCli(['backup', 'run', '-c', sinkFile, '--known-hosts', knownHosts, '--json'], env, work, runtime);
        add('standby-null', 'halyard backup run into a null store, on standby', warmSink.seconds, warmSink);

        say(`${dataset.label}, round ${round}: restore`);
        const restorePipe = await timedShell(`ssh ${ssh} ${quote(`sudo sh -c ${quote(unpack)}`)} < ${compressedFile}`);
        add('restore-pipe', 'OpenSSH: file | ssh | unpack | tar -x', restorePipe.seconds, restorePipe);
        const restoreLibrary = await ssh2Alone(fleet, unpack, 'write', compressedFile);
        add('restore-ssh2', 'ssh2 alone: file | channel | unpack | tar -x', restoreLibrary.seconds, restoreLibrary);
        const restore = await timedCli(['backup', 'restore', '-c', storeFile, '--host', host.name, '--volume', dataset.name, '--known-hosts', knownHosts], env, work);
        add('restore-halyard', 'halyard backup restore from s3rver', restore.seconds, restore);
        if (restore.streamSeconds !== undefined) add('restore-stream', '  of which the stream', restore.streamSeconds);
        const restoreTls = await timedCli(['backup', 'restore', '-c', tlsFile, '--host', host.name, '--volume', dataset.name, '--known-hosts', knownHosts], tlsEnv, work);
        add('restore-tls', 'halyard backup restore from s3rver over HTTPS', restoreTls.seconds, restoreTls);
        if (restoreTls.streamSeconds !== undefined) add('restore-stream-tls', '  of which the stream', restoreTls.streamSeconds);
        const warmRestore = await timedCli(['backup', 'restore', '-c', storeFile, '--host', host.name, '--volume', dataset.name, '--known-hosts', knownHosts], env, work, runtime);
        add('restore-standby', 'halyard backup restore from s3rver, on standby', warmRestore.seconds, warmRestore);
      }
    }
    await timed(process.execPath, [CLI, 'standby', 'stop'], onStandby);
    printTable(rows, compression, pinned);
    if (process.argv.includes('--keep')) {
      say(`--keep: host ${host.name} and s3rver on port ${port} stay up (configs in ${work}); Ctrl-C ends`);
      await new Promise((resolve) => process.once('SIGINT', resolve));
    }
  } finally {
    await s3.close().catch(() => undefined);
    await s3tls.close().catch(() => undefined);
    await sink.close();
    await labDown({ name: FLEET });
    if (!process.argv.includes('--keep')) rmSync(work, { recursive: true, force: true });
  }
}

function writeBackupConfig(fleet: LabFleet, dir: string, endpoint: string, compression: string, dataset: { name: string; spec: { kind: 'dir' | 'volume' } }, name: string): string {
  const path = join(dir, name);
  const volume = dataset.spec.kind === 'dir' ? { name: dataset.name, kind: 'dir', path: DATA } : { name: dataset.name, kind: 'volume', volume: VOLUME };
  writeFileSync(path, stringify({ inventory: fleet.inventoryPath, bucket: 'bench', prefix: 'bench', endpoint, region: 'us-east-1', compression, retention: { last: 1, daily: 0, weekly: 0, monthly: 0 }, volumes: [volume] }));
  return path;
}

function sshArgs(fleet: LabFleet): string {
  const host = fleet.hosts[0]!;
  return `-q -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes -i ${fleet.keyFile} -p ${host.port} ${fleet.user}@${host.address}`;
}

type Extra = { cpuSeconds?: number | undefined; storeCpuSeconds?: number | undefined; peakRssMb?: number | undefined; hostCpuSeconds?: number | undefined; machineCpuSeconds?: number | undefined };

// The lab host's CPU counter (its container's cgroup), set once the host runs; undefined where the cgroup file is not found.
let hostCpu: (() => number) | undefined;

// The machine and host CPU of a measured run, as a row takes them.
function cpuSpentOf(spent: CpuSpent): CpuSpent {
  return { machineCpuSeconds: spent.machineCpuSeconds, ...(spent.hostCpuSeconds !== undefined ? { hostCpuSeconds: spent.hostCpuSeconds } : {}) };
}

function rate(key: string, label: string, seconds: number, bytes: number, extra: Extra = {}): Row {
  return {
    key,
    label,
    seconds,
    mibPerSecond: bytes / MIB / seconds,
    ...(extra.cpuSeconds !== undefined ? { cpuSeconds: extra.cpuSeconds } : {}),
    ...(extra.storeCpuSeconds !== undefined ? { storeCpuSeconds: extra.storeCpuSeconds } : {}),
    ...(extra.peakRssMb !== undefined ? { peakRssMb: extra.peakRssMb } : {}),
    ...(extra.hostCpuSeconds !== undefined ? { hostCpuSeconds: extra.hostCpuSeconds } : {}),
    ...(extra.machineCpuSeconds !== undefined ? { machineCpuSeconds: extra.machineCpuSeconds } : {}),
  };
}

// ssh2 on its own, in this process: the same script through `sudo sh -s`, its stdout read and
// dropped ('read'), or a file written into its stdin ('write'); wall and this process's CPU.
async function ssh2Alone(fleet: LabFleet, script: string, mode: 'read' | 'write', file?: string): Promise<{ seconds: number; cpuSeconds: number } & CpuSpent> {
  const host = fleet.hosts[0]!;
  const spent = cpuMeter(hostCpu);
  const cpu0 = process.cpuUsage();
  const started = process.hrtime.bigint();
  const client = new Client();
  await new Promise<void>((done, fail) => {
    client.on('error', fail);
    client.on('ready', () => {
      // Read mode sends the script as the command's stdin; write mode runs it as the command itself.
      const command = mode === 'read' ? 'sudo -n sh -s' : `sudo -n sh -c ${quote(script)}`;
      client.exec(command, (error, channel) => {
        if (error) return fail(error);
        let status: number | null = null;
        channel.on('exit', (code: number | null) => (status = code));
        channel.on('data', () => undefined);
        channel.stderr.on('data', () => undefined);
        channel.on('close', () => (status === 0 ? done() : fail(new Error(`ssh2 alone: exit ${status}`))));
        if (mode === 'read') channel.end(script);
        else createReadStream(file!).pipe(channel);
      });
    });
    client.connect({ host: host.address, port: host.port, username: fleet.user, privateKey: readFileSync(fleet.keyFile) });
  });
  client.end();
  const used = process.cpuUsage(cpu0);
  return { seconds: Number(process.hrtime.bigint() - started) / 1e9, cpuSeconds: (used.user + used.system) / 1e6, ...spent() };
}

function unpacker(compression: Compression): string {
  return compression === 'none' ? 'cat' : compression === 'gzip' ? 'gzip -d -c' : 'zstd -q -d -c';
}


// bash started with its stdin a socket (Node's 'pipe' stdio) takes itself for rshd's child and
// reads ~/.bashrc: on this machine pyenv's init there added 0.6-0.8 s and as much CPU to every
// timed run, baselines and halyard alike (which pulled the ratios toward 1). Neither file is read.
const BASH_PLAIN = ['--norc', '--noprofile'];

// A halyard run; with `standbyRuntime`, on standby once a standby is ready there (its warm-up kept
// out of the timed run), its CPU the client's plus the standby's for the command.
async function timedCli(args: string[], env: Record<string, string>, dir: string, standbyRuntime?: string): Promise<{ seconds: number; peakRssMb: number; cpuSeconds?: number; storeCpuSeconds: number; streamSeconds?: number } & CpuSpent> {
  const statsFile = join(dir, 'stats.json');
  rmSync(statsFile, { force: true });
  if (standbyRuntime !== undefined) await waitForReadyStandby(standbyRuntime);
  // BENCH_CPU_PROF=DIR: a V8 CPU profile of each halyard run, to see where the time goes.
  const profile = process.env.BENCH_CPU_PROF && standbyRuntime === undefined ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [];
  const where: Record<string, string> = standbyRuntime !== undefined ? { XDG_RUNTIME_DIR: standbyRuntime } : { HALYARD_STANDBY: 'off' };
  const storeCpu = process.cpuUsage();
  const run = await timed('bash', [...BASH_PLAIN, '-c', `"$0" "$@"; s=$?; times >&3; exit $s`, process.execPath, ...profile, CLI, ...args], { ...env, ...where, HALYARD_STATS_FILE: statsFile });
  const storeUsed = process.cpuUsage(storeCpu);
  if (run.exitCode !== 0) throw new Error(`halyard ${args.join(' ')} exited ${run.exitCode}: ${run.stderr}${run.stdout.slice(-2000)}`);
  const stats = readRunStats(statsFile);
  if (stats === undefined) throw new Error(`halyard left no stats in ${statsFile}`);
  if ((stats.standbyWarmUpCpuSeconds !== undefined) !== (standbyRuntime !== undefined)) throw new Error(`halyard ${args.join(' ')} ${standbyRuntime ? 'did not run' : 'ran'} on standby`);
  if (standbyRuntime !== undefined && run.cpuSeconds !== undefined) run.cpuSeconds += stats.userCpuSeconds + stats.systemCpuSeconds;
  // backup run --json gives the stream's own time; restore says it in its line ("(stream 83.2 MiB/s)").
  let streamSeconds: number | undefined;
  if (args.includes('--json')) {
    const ms = (JSON.parse(run.stdout) as { backups?: Array<{ streamMs?: number }> }).backups?.[0]?.streamMs;
    if (ms !== undefined) streamSeconds = ms / 1000;
  } else {
    // "restored ID (101.1 MiB) in 3.2 s (stream 41.0 MiB/s)": the stream's seconds are size / rate.
    const match = /\(([\d.]+) MiB\) in [\d.]+ s \(stream ([\d.]+) MiB\/s\)/.exec(run.stdout);
    if (match) streamSeconds = Number(match[1]) / Number(match[2]);
  }
  return {
    seconds: run.seconds,
    peakRssMb: stats.maxRssKb / 1024,
    storeCpuSeconds: (storeUsed.user + storeUsed.system) / 1e6,
    ...cpuSpentOf(run),
    ...(run.cpuSeconds !== undefined ? { cpuSeconds: run.cpuSeconds } : {}),
    ...(streamSeconds !== undefined ? { streamSeconds } : {}),
  };
}

// A shell command timed from here, with the CPU its processes used (bash's `times`: children's user + sys).
async function timedShell(command: string, stdin?: string): Promise<{ seconds: number; cpuSeconds?: number } & CpuSpent> {
  const run = await timed('bash', [...BASH_PLAIN, '-c', `${command}; s=$?; times >&3; exit $s`], {}, stdin);
  if (run.exitCode !== 0) throw new Error(`${command} exited ${run.exitCode}: ${run.stderr}`);
  return { seconds: run.seconds, ...cpuSpentOf(run), ...(run.cpuSeconds !== undefined ? { cpuSeconds: run.cpuSeconds } : {}) };
}

// Runs a command with fd 3 receiving bash's `times` (the second line: children's user and sys time).
function timed(command: string, args: string[], env: Record<string, string>, stdin?: string): Promise<{ seconds: number; exitCode: number | null; stdout: string; stderr: string; cpuSeconds?: number } & CpuSpent> {
  return new Promise((done, fail) => {
    const spent = cpuMeter(hostCpu);
    const started = process.hrtime.bigint();
    const child = spawn(command, args, { cwd: ROOT, env: { ...process.env, CI: '1', ...env }, stdio: ['pipe', 'pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let times = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const fd3 = child.stdio[3] as NodeJS.ReadableStream;
    fd3.setEncoding('utf8');
    fd3.on('data', (chunk: string) => (times += chunk));
    child.stdin.end(stdin ?? '');
    child.on('error', fail);
    child.on('close', (exitCode) => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      done({ seconds, exitCode, stdout, stderr, ...spent(), ...(parseTimes(times) !== undefined ? { cpuSeconds: parseTimes(times)! } : {}) });
    });
  });
}

// bash `times`: "0m0.001s 0m0.000s\n0m1.234s 0m0.456s\n" (shell, then children): the children's sum.
function parseTimes(text: string): number | undefined {
  const line = text.trim().split('\n')[1];
  const values = [...(line ?? '').matchAll(/(\d+)m([\d.]+)s/g)].map((m) => Number(m[1]) * 60 + Number(m[2]));
  return values.length === 2 ? values[0]! + values[1]! : undefined;
}

function printTable(rows: Row[], compression: string, pinned: boolean): void {
  const cores = pinned ? 'the host on CPU 1, the controller side and the stores on CPU 0 (--pin)' : 'all sharing the machine\'s cores';
  const lines = [`backup and restore of 200 MiB (${compression}), systemd lab host and stores on 127.0.0.1, ${cores}`, ''];
  lines.push(`${'what'.padEnd(60)} ${'wall s'.padStart(7)} ${'MiB/s'.padStart(7)} ${'CPU s'.padStart(6)} ${'store CPU s'.padStart(11)} ${'host CPU s'.padStart(10)} ${'machine CPU s'.padStart(13)}  peak RSS`);
  const column = (value: number | undefined, width: number) => (value !== undefined ? value.toFixed(2).padStart(width) : ' '.repeat(width));
  for (const row of rows) {
    lines.push(
      `${row.label.padEnd(60)} ${row.seconds.toFixed(2).padStart(7)} ${row.mibPerSecond > 0 ? row.mibPerSecond.toFixed(1).padStart(7) : '       '} ${column(row.cpuSeconds, 6)} ${column(row.storeCpuSeconds, 11)} ${column(row.hostCpuSeconds, 10)} ${column(row.machineCpuSeconds, 13)}${row.peakRssMb !== undefined ? `  ${row.peakRssMb.toFixed(0)} MiB` : ''}`,
    );
  }
  const best = (key: string) => Math.max(...rows.filter((row) => row.key === key).map((row) => row.mibPerSecond));
  // The fastest round's row of a measurement, and its time.
  const fastestRow = (key: string) => rows.filter((row) => row.key === key).sort((a, b) => a.seconds - b.seconds)[0];
  const fastest = (key: string) => fastestRow(key)?.seconds ?? Number.POSITIVE_INFINITY;
  const pct = (value: number) => (Number.isFinite(value) ? `${(value * 100).toFixed(0)}%` : 'n/a');
  lines.push('');
  for (const name of ['dir', 'vol']) {
    const pipe = best(`${name}:pipe`);
    const restorePipe = best(`${name}:restore-pipe`);
    // The pipeline's stream alone: its wall time less the fastest `ssh host true` (start-up and handshake).
    const streamRate = (mibPerSecond: number) => 200 / (200 / mibPerSecond - fastest(`${name}:handshake`));
    lines.push(
      `${name}: backup end to end ${pct(best(`${name}:halyard-s3rver`) / pipe)} of the pipeline (into a null store ${pct(best(`${name}:halyard-null`) / pipe)}); ` +
        `the stream alone ${pct(best(`${name}:stream-s3rver`) / streamRate(pipe))} (into a null store ${pct(best(`${name}:stream-null`) / streamRate(pipe))}); ssh2 alone, end to end: ${pct(best(`${name}:ssh2`) / pipe)}`,
    );
    lines.push(
      `${name}: over HTTPS, backup end to end ${pct(best(`${name}:halyard-tls`) / pipe)} of the pipeline (the stream alone ${pct(best(`${name}:stream-tls`) / streamRate(pipe))}), ` +
        `restore ${pct(best(`${name}:restore-tls`) / restorePipe)} (the stream alone ${pct(best(`${name}:restore-stream-tls`) / streamRate(restorePipe))})`,
    );
    lines.push(
      `${name}: on standby, backup end to end ${pct(best(`${name}:standby-s3rver`) / pipe)} of the pipeline (into a null store ${pct(best(`${name}:standby-null`) / pipe)}), restore ${pct(best(`${name}:restore-standby`) / restorePipe)}`,
    );
    lines.push(
      `${name}: restore end to end ${pct(best(`${name}:restore-halyard`) / restorePipe)} of the pipeline; the stream alone ${pct(best(`${name}:restore-stream`) / streamRate(restorePipe))}; ssh2 alone, end to end: ${pct(best(`${name}:restore-ssh2`) / restorePipe)}`,
    );
  }
  // A run takes at least the machine CPU it used spread over every core (under --pin, the busier
  // side's on its one core): against the fastest pipeline, the best ratio this machine allows the
  // run, whatever halyard does with its share (runBound). Every core /proc/stat counts, not this
  // process's affinity (one core under --pin).
  const coreCount = machineCores();
  const placement: CorePlacement = pinned ? { kind: 'pinned' } : { kind: 'shared', cores: coreCount };
  const bounded = pinned
    ? "with --pin (the host alone on one core, the controller side and the stores on another): the pipeline's time over the busier side's CPU (the rest counted with the controller's)"
    : `on this machine (${coreCount} cores): the pipeline's time over (the run's machine CPU / ${coreCount})`;
  lines.push('', `ceilings ${bounded}; the run's fastest round, its machine CPU split into host, halyard, store and the rest (docker-proxy, dockerd, the kernel)`);
  for (const name of ['dir', 'vol']) {
    const parts: string[] = [];
    for (const [key, baseline, what] of [['halyard-s3rver', 'pipe', 'backup into s3rver'], ['halyard-null', 'pipe', 'backup into a null store'], ['standby-null', 'pipe', 'on standby into a null store'], ['restore-halyard', 'restore-pipe', 'restore from s3rver']] as const) {
      const run = fastestRow(`${name}:${key}`);
      if (run?.machineCpuSeconds === undefined || run.cpuSeconds === undefined) continue;
      const split: [string, number | undefined][] = [['host', run.hostCpuSeconds], ['halyard', run.cpuSeconds], ['store', run.storeCpuSeconds]];
      if (split.every(([, value]) => value !== undefined)) split.push(['rest', split.reduce((left, [, value]) => left - (value ?? 0), run.machineCpuSeconds)]);
      const named = split.flatMap(([label, value]) => (value === undefined ? [] : [`${label} ${value.toFixed(2)}`]));
      // The best this run could do here, and what halyard itself may spend for the goal given the others' CPU.
      const bound = runBound(placement, { baselineSeconds: fastest(`${name}:${baseline}`), machineCpuSeconds: run.machineCpuSeconds, hostCpuSeconds: run.hostCpuSeconds, partyCpuSeconds: run.cpuSeconds }, RATE_GOAL);
      if (bound === undefined) continue;
      const goal = bound.budget > 0 ? `; halyard's budget for ${pct(RATE_GOAL)}: ${bound.budget.toFixed(2)} CPU s` : `; ${pct(RATE_GOAL)} out of reach even with no CPU for halyard`;
      parts.push(`${what} ${pct(bound.ceiling)} (${run.machineCpuSeconds.toFixed(2)} CPU s: ${named.join(', ')}${goal})`);
    }
    const pipeRow = fastestRow(`${name}:pipe`);
    if (pipeRow?.machineCpuSeconds !== undefined) parts.push(`the pipeline itself ${pipeRow.machineCpuSeconds.toFixed(2)} CPU s${pipeRow.hostCpuSeconds !== undefined ? ` (host ${pipeRow.hostCpuSeconds.toFixed(2)})` : ''}`);
    lines.push(`${name}: ${parts.join('; ')}`);
  }
  const peak = Math.max(...rows.flatMap((row) => (row.peakRssMb !== undefined ? [row.peakRssMb] : [])));
  lines.push(`controller peak RSS ${peak.toFixed(0)} MiB (goal <= 150 MiB: ${peak <= 150 ? 'met' : 'NOT met'}); rate goal: >= ${pct(RATE_GOAL)} of the pipeline, end to end`);
  process.stdout.write(`${lines.join('\n')}\n`);
}

// A key and a self-signed certificate for 127.0.0.1 (openssl, in Debian's base system), in `dir`.
function selfSignedCertificate(dir: string): { key: Buffer; cert: Buffer; certFile: string } {
  const keyFile = join(dir, 'tls-key.pem');
  const certFile = join(dir, 'tls-cert.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  return { key: readFileSync(keyFile), cert: readFileSync(certFile), certFile };
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


main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});

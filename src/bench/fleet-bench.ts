// `npm run bench:fleet`: halyard against a simulated large fleet on this machine (src/lab/sim-fleet.ts:
// one container, one sshd and one Unix user per endpoint, all on 127.0.0.1). At each size of --sizes
// (default 100,500,1000) it converges playbooks/examples/home-files.ts on the hosts not converged
// yet (250 at a time), then times the no-op on all of them at each --forks value (default 20,
// halyard's default): wall time, seconds per host, controller peak RSS and CPU (HALYARD_STATS_FILE),
// the most file descriptors the controller held (sampled from /proc/PID/fd every 100 ms), failures
// by kind (from --json), sshd MaxStartups drops (sshd's log); then the OpenSSH client logging in
// to every endpoint and running `true`, `xargs -P <forks>`.
// The goal (issue 14): time linear in hosts, peak RSS under 500 MB at 1000, no fd or MaxStartups failure.
// Flags: --sizes, --forks (comma lists), --base-port (default 30000), --no-openssh,
// --cpu-prof DIR (the largest no-op under `node --cpu-prof`), --keep (leave the sim fleet running),
// --reuse (time on the fleet a --keep run left, already converged: no start, no converge).
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { RunResult } from '../engine/results.js';
import { SIM_DEFAULT_BASE_PORT, SIM_MAX_ENDPOINTS, readSimFleet, simDown, simInventory, simMaxStartupsDrops, simMemory, simUp, type SimFleet } from '../lab/sim-fleet.js';
import { argValue, readRunStats } from './bench-args.js';

const ROOT = resolve(import.meta.dirname, '../..');
const CLI = join(ROOT, 'bin/halyard.js');
const PLAYBOOK = 'playbooks/examples/home-files.ts';
/** Each run is killed after this long: a stuck run must not hold the machine. */
const RUN_TIMEOUT_MS = 5 * 60_000;
/** The memory goal at 1000 hosts. */
const RSS_GOAL_MB = 500;
const SAMPLE_INTERVAL_MS = 100;
/** New hosts converged per run before the timed no-ops (a first run writes, so it is the slow one). */
const CONVERGE_CHUNK = 250;

interface BenchOptions {
  sizes: number[];
  forks: number[];
  basePort: number;
  openssh: boolean;
  cpuProfDir: string | undefined;
  keep: boolean;
  reuse: boolean;
}

// One timed process: wall time, what it printed, and what was sampled while it ran.
interface ProcessRun {
  seconds: number;
  exitCode: number | null;
  stdout: string;
  stderrTail: string;
  maxFds: number;
  timedOut: boolean;
}

// One row of the table.
interface Row {
  hosts: number;
  tool: 'halyard no-op' | 'halyard converge' | 'OpenSSH ssh true';
  forks: number;
  seconds: number;
  peakRssMb?: number;
  cpuSeconds?: number;
  maxFds?: number;
  failures: string;
  maxStartupsDrops: number;
}

async function main(): Promise<void> {
  const options = readOptions();
  const largest = Math.max(...options.sizes);
  const work = mkdtempSync(join(tmpdir(), 'halyard-fleet-bench-'));
  const say = (message: string) => process.stderr.write(`bench: ${message}\n`);
  say(`load average before: ${loadavg().map((value) => value.toFixed(2)).join(' ')}; controller fd limit: ${fdLimit()}`);
  const kept = options.reuse ? await readSimFleet() : undefined;
  if (options.reuse && (kept === undefined || kept.endpoints.length < largest)) throw new Error(`--reuse: no running sim fleet of ${largest} endpoints (start one with --keep)`);
  const fleet = kept ?? (await simUp({ count: largest, basePort: options.basePort, onProgress: say }));
  const rows: Row[] = [];
  try {
    const memory = await simMemory(fleet);
    say(`${memory.sshd} sshd listening: ${memory.privateMb.toFixed(0)} MB private, ${memory.pssMb.toFixed(0)} MB PSS (${((memory.privateMb * 1024) / memory.sshd).toFixed(0)} kB private each)`);
    // The facts cache of these runs stays out of the user's own (~/.cache/halyard/facts).
    const env = { XDG_CACHE_HOME: join(work, 'cache') };
    // A reused fleet was converged by the run that kept it.
    let converged = options.reuse ? largest : 0;
    for (const size of [...options.sizes].sort((a, b) => a - b)) {
      const inventory = await simInventory(fleet, size);
      const convergeForks = options.forks[0] ?? 20;
      // Hosts not converged yet, CONVERGE_CHUNK at a time: every run stays well under the time limit.
      while (converged < size) {
        const count = Math.min(CONVERGE_CHUNK, size - converged);
        say(`converging hosts ${converged + 1}-${converged + count} (--forks ${convergeForks})`);
        rows.push(await runHalyard(fleet, count, await simInventory(fleet, count, converged), convergeForks, work, env, 'halyard converge'));
        converged += count;
      }
      for (const forks of options.forks) {
        say(`${size} hosts: no-op (--forks ${forks})`);
        const profile = options.cpuProfDir !== undefined && size === largest && forks === options.forks[0] ? options.cpuProfDir : undefined;
        rows.push(await runHalyard(fleet, size, inventory, forks, work, env, 'halyard no-op', profile));
        if (options.openssh) {
          say(`${size} hosts: OpenSSH \`ssh true\` (xargs -P ${forks})`);
          rows.push(await runOpenssh(fleet, size, forks, work));
        }
      }
    }
    say(`load average after: ${loadavg().map((value) => value.toFixed(2)).join(' ')}`);
    printTable(rows, memory);
  } finally {
    if (!options.keep) await simDown(fleet.name);
    else say(`left ${fleet.container} running (--keep); remove it with: docker rm -f ${fleet.container}`);
    rmSync(work, { recursive: true, force: true });
  }
}

// One `halyard apply --json` on the first `size` endpoints; a no-op must change and fail nothing.
async function runHalyard(fleet: SimFleet, size: number, inventory: string, forks: number, work: string, env: Record<string, string>, tool: Row['tool'], cpuProfDir?: string): Promise<Row> {
  const statsFile = join(work, 'stats.json');
  rmSync(statsFile, { force: true });
  const nodeFlags = cpuProfDir === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', cpuProfDir];
  const args = [...nodeFlags, CLI, 'apply', PLAYBOOK, '-i', inventory, '--known-hosts', fleet.knownHostsFile, '--json', '--forks', String(forks)];
  const since = new Date(Date.now() - 1_000);
  const run = await timedProcess(process.execPath, args, { ...env, HALYARD_STATS_FILE: statsFile });
  const stats = readRunStats(statsFile);
  let failures: string;
  try {
    failures = describeFailures(JSON.parse(run.stdout) as RunResult, tool === 'halyard no-op');
  } catch {
    failures = `no --json result (exit ${run.exitCode}${run.timedOut ? ', killed at the time limit' : ''}): ${run.stderrTail}`;
  }
  return {
    hosts: size,
    tool,
    forks,
    seconds: run.seconds,
    ...(stats ? { peakRssMb: stats.maxRssKb / 1024, cpuSeconds: stats.userCpuSeconds + stats.systemCpuSeconds } : {}),
    maxFds: run.maxFds,
    failures,
    maxStartupsDrops: await simMaxStartupsDrops(fleet, since),
  };
}

// Failures by kind: unreachable hosts and failed hosts by error code (one example message each),
// and, for a no-op, hosts that changed something.
function describeFailures(result: RunResult, noop: boolean): string {
  const kinds = new Map<string, { count: number; example: string }>();
  const add = (kind: string, example: string) => {
    const known = kinds.get(kind);
    if (known) known.count += 1;
    else kinds.set(kind, { count: 1, example });
  };
  for (const [name, host] of Object.entries(result.hosts)) {
    if (host.unreachable) add(`unreachable ${host.errorCode ?? '?'}`, `${name}: ${host.error ?? ''}`);
    else if (host.error !== undefined || host.failed > 0) add(`failed ${host.errorCode ?? 'task'}`, `${name}: ${host.error ?? host.tasks.find((task) => task.status === 'failed')?.error ?? ''}`);
    else if (noop && host.changed > 0) add('changed on a no-op', `${name}: ${host.changed} task(s)`);
  }
  if (kinds.size === 0) return 'none';
  return [...kinds].map(([kind, { count, example }]) => `${count} ${kind} (${example.slice(0, 160)})`).join('; ');
}

// The OpenSSH client: `ssh ... true` to each of the first `size` endpoints, `forks` at once.
async function runOpenssh(fleet: SimFleet, size: number, forks: number, work: string): Promise<Row> {
  const ssh = [
    'ssh -F /dev/null -q',
    `-i '${fleet.keyFile}' -o IdentitiesOnly=yes -o BatchMode=yes -o ControlMaster=no -o ControlPath=none`,
    `-o StrictHostKeyChecking=yes -o 'UserKnownHostsFile=${fleet.knownHostsFile}'`,
    '-p "$1" "$2@127.0.0.1" true',
  ].join(' ');
  const script = `out=$(${ssh} 2>&1) || printf 'FAIL %s %s\\n' "$2" "$(printf %s "$out" | tail -n 1)"`;
  const lines = fleet.endpoints.slice(0, size).map((endpoint) => `${endpoint.port} ${endpoint.user}`).join('\n');
  const since = new Date(Date.now() - 1_000);
  const run = await timedProcess('xargs', ['-P', String(forks), '-L', '1', 'sh', '-c', script, 'sh'], {}, `${lines}\n`, work);
  const failed = run.stdout.split('\n').filter((line) => line.startsWith('FAIL '));
  const kinds = new Map<string, number>();
  for (const line of failed) {
    const message = line.split(' ').slice(2).join(' ').replace(/\d+/g, 'N');
    kinds.set(message, (kinds.get(message) ?? 0) + 1);
  }
  const failures = failed.length === 0 ? (run.exitCode === 0 ? 'none' : `xargs exit ${run.exitCode}`) : [...kinds].map(([message, count]) => `${count} × ${message}`).join('; ');
  return { hosts: size, tool: 'OpenSSH ssh true', forks, seconds: run.seconds, failures, maxStartupsDrops: await simMaxStartupsDrops(fleet, since) };
}

// Runs a process with a time limit, sampling its open file descriptors every 100 ms.
function timedProcess(command: string, args: string[], env: Record<string, string>, input?: string, cwd: string = ROOT): Promise<ProcessRun> {
  return new Promise((done, fail) => {
    const started = process.hrtime.bigint();
    const child = spawn(command, args, { cwd, env: { ...process.env, CI: '1', ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let maxFds = 0;
    let timedOut = false;
    const sample = () => {
      if (child.pid === undefined) return;
      try {
        maxFds = Math.max(maxFds, readdirSync(`/proc/${child.pid}/fd`).length);
      } catch {
        // The process has just ended.
      }
    };
    const sampler = setInterval(sample, SAMPLE_INTERVAL_MS);
    const killer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, RUN_TIMEOUT_MS);
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-4_000)));
    child.stdin.end(input ?? '');
    child.on('error', (error) => {
      clearInterval(sampler);
      clearTimeout(killer);
      fail(error);
    });
    child.on('close', (exitCode) => {
      clearInterval(sampler);
      clearTimeout(killer);
      const stderrTail = stderr.trim().split('\n').slice(-3).join(' / ');
      done({ seconds: Number(process.hrtime.bigint() - started) / 1e9, exitCode, stdout, stderrTail, maxFds, timedOut });
    });
  });
}


// The controller's soft and hard open-file limits (node raises its soft limit to the hard one at start).
function fdLimit(): string {
  const line = readFileSync('/proc/self/limits', 'utf8').split('\n').find((text) => text.startsWith('Max open files'));
  const [soft, hard] = line?.split(/\s{2,}/).slice(1, 3) ?? [];
  return `${soft ?? '?'} soft / ${hard ?? '?'} hard`;
}

// One Markdown table the README can take as is, then the goal's verdicts.
function printTable(rows: readonly Row[], memory: { sshd: number; pssMb: number; privateMb: number }): void {
  const lines = [
    `\nhalyard on a simulated fleet: ${PLAYBOOK}, one sshd and one user per host on 127.0.0.1 (${new Date().toISOString()})`,
    `sim fleet: ${memory.sshd} sshd, ${memory.privateMb.toFixed(0)} MB private / ${memory.pssMb.toFixed(0)} MB PSS while idle`,
    '',
    '| hosts | run | forks | wall s | s/host | peak RSS MB | CPU s | max fds | failures | MaxStartups drops |',
    '| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |',
  ];
  for (const row of rows) {
    const cell = (value: number | undefined, digits: number) => (value === undefined ? '-' : value.toFixed(digits));
    lines.push(
      `| ${row.hosts} | ${row.tool} | ${row.forks} | ${row.seconds.toFixed(1)} | ${(row.seconds / row.hosts).toFixed(4)} | ${cell(row.peakRssMb, 0)} | ${cell(row.cpuSeconds, 1)} | ${row.maxFds ?? '-'} | ${row.failures} | ${row.maxStartupsDrops} |`,
    );
  }
  const noops = rows.filter((row) => row.tool === 'halyard no-op');
  const biggest = noops.filter((row) => row.hosts === Math.max(...noops.map((candidate) => candidate.hosts)));
  const worstRss = Math.max(...biggest.map((row) => row.peakRssMb ?? Number.POSITIVE_INFINITY));
  const perHost = noops.map((row) => row.seconds / row.hosts);
  lines.push(
    '',
    `peak RSS at ${biggest[0]?.hosts ?? '?'} hosts: ${worstRss.toFixed(0)} MB (goal under ${RSS_GOAL_MB} MB): ${worstRss < RSS_GOAL_MB ? 'met' : 'not met'}`,
    `no-op seconds per host: ${Math.min(...perHost).toFixed(4)}-${Math.max(...perHost).toFixed(4)} (linear when these stay close across sizes at one --forks)`,
    `failures: ${rows.every((row) => row.failures === 'none' && row.maxStartupsDrops === 0) ? 'none' : 'see the table'}`,
  );
  process.stdout.write(`${lines.join('\n')}\n`);
}

function readOptions(): BenchOptions {
  const sizes = numberList('--sizes', argValue('--sizes') ?? '100,500,1000', SIM_MAX_ENDPOINTS);
  const forks = numberList('--forks', argValue('--forks') ?? '20', 1000);
  const basePort = Number(argValue('--base-port') ?? SIM_DEFAULT_BASE_PORT);
  const cpuProf = argValue('--cpu-prof');
  const cpuProfDir = cpuProf === undefined ? undefined : resolve(cpuProf);
  if (cpuProfDir !== undefined) mkdirSync(cpuProfDir, { recursive: true });
  return { sizes, forks, basePort, openssh: !process.argv.includes('--no-openssh'), cpuProfDir, keep: process.argv.includes('--keep'), reuse: process.argv.includes('--reuse') };
}

function numberList(flag: string, text: string, max: number): number[] {
  const values = text.split(',').map((part) => Number(part.trim()));
  if (values.length === 0 || values.some((value) => !Number.isInteger(value) || value < 1 || value > max)) {
    throw new Error(`${flag} takes whole numbers from 1 to ${max} separated by commas (got ${JSON.stringify(text)})`);
  }
  return values;
}


main().catch((error: unknown) => {
  process.stderr.write(`bench: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});

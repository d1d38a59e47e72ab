// `npm run bench` / `npm run bench:noop`: stack-files.ts on lab hosts. The no-op rerun is measured
// against its real baseline, the OpenSSH client sending the same first request halyard sends (the
// host locks and one probe of every fact, built by the engine's own builder) through `sudo -n sh -s`,
// one connection per host, all at once; and against a fresh Node process doing the same with ssh2
// alone (ssh2-probe-client.ts), the floor of any Node controller: at each size of --sizes (default
// 1,10,50), the median of --repeat rounds (default 3), with controller CPU seconds, peak RSS and
// the processes each host started. Without --noop it also times, on --hosts hosts (default 10),
// the first run, the no-op, a run after drift by hand, --check, and ansible-playbook doing the same. --rtt-ms N sends every
// connection (every client's) through a relay process adding N ms of round trip (delay-proxy.ts).
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse, stringify } from 'yaml';
import { labDown, labExec, labUp, type LabFleet, type LabHost } from '../lab/index.js';
import type { RunResult } from '../engine/results.js';
import { checkNoopAnswer, noopProbe, type NoopProbe } from './noop-probe.js';
import type { Ssh2ProbeJob } from './ssh2-probe-client.js';
import { argValue, readRunStats, waitForReadyStandby } from './bench-args.js';
import { startDelayProxies, type DelayProxies } from './delay-proxy.js';

const ROOT = resolve(import.meta.dirname, '../..');
const CLI = join(ROOT, 'bin/halyard.js');
const SSH2_CLIENT = join(import.meta.dirname, 'ssh2-probe-client.js');
const PLAYBOOK = 'playbooks/examples/stack-files.ts';
const DIR = '/opt/observability';
const GNU_TIME = '/usr/bin/time';
/** The issue's goal: a no-op at most this many times the OpenSSH client's time, at every size. */
const GOAL_RATIO = 1.3;

interface BenchOptions {
  sizes: number[];
  tableHosts: number;
  repeat: number;
  noopOnly: boolean;
  withAnsible: boolean;
  /** --rtt-ms: every connection (halyard's and OpenSSH's) through a relay adding this round trip. */
  rttMs: number;
}

interface Measured {
  label: string;
  seconds: number;
  execsPerHost?: string;
  changedPerHost?: string;
  peakRssMb?: number;
  exitCode: number | null;
}

// One timed run on the controller: wall seconds, CPU seconds (user + system) and peak RSS.
interface Sample {
  seconds: number;
  cpuSeconds: number;
  peakRssMb: number;
}

// One size of the no-op comparison (medians over the rounds; processes from the first round).
interface SizeResult {
  hosts: number;
  openssh: Sample;
  /** A fresh Node process sending the same probe with ssh2 alone: the floor of any Node controller. */
  ssh2: Sample;
  halyard: Sample;
  /** halyard with standby on (src/standby/): the client's CPU and the standby's for the command. */
  standby: Sample & { warmUpCpuSeconds: number };
  /** Processes (and threads: the kernel numbers both) each host started, per host. */
  opensshProcesses: string;
  halyardProcesses: string;
}

async function main(): Promise<void> {
  const options = readOptions();
  if (!existsSync(GNU_TIME)) throw new Error(`${GNU_TIME} is needed to measure the OpenSSH clients' CPU and memory (apt-get install time)`);
  const fleetSize = Math.max(...options.sizes, options.noopOnly ? 1 : options.tableHosts);
  const work = mkdtempSync(join(tmpdir(), 'halyard-bench-'));
  process.stderr.write(`bench: starting ${fleetSize} lab hosts\n`);
  const lab = await labUp({ count: fleetSize, name: 'halyard-bench', onProgress: (message) => process.stderr.write(`bench: ${message}\n`) });
  let proxies: DelayProxies | undefined;
  try {
    if (options.rttMs > 0) {
      proxies = await startDelayProxies(lab.hosts.map((host) => host.port), options.rttMs);
      process.stderr.write(`bench: every connection through a relay adding ${options.rttMs} ms of round trip\n`);
    }
    const fleet = proxies ? fleetThrough(lab, proxies, work) : lab;
    const knownHosts = join(work, 'known_hosts');
    const everyHost = writeInventory(fleet, work, fleet.hosts.length);
    const probe = await noopProbe(join(ROOT, PLAYBOOK), everyHost);
    const probePath = join(work, 'probe.sh');
    writeFileSync(probePath, probe.script);
    process.stderr.write(`bench: the probe is ${Buffer.byteLength(probe.script)} bytes, ${probe.facts.length} facts\n`);

    let table: Measured[] | undefined;
    if (!options.noopOnly) table = await timeRuns(fleet, options, work, knownHosts, probePath, probe);
    // Every host converged before the no-op comparison (the table's runs leave its hosts converged).
    process.stderr.write(`bench: converging ${fleet.hosts.length} hosts\n`);
    const converge = await runHalyard(everyHost, knownHosts, work, fleet.hosts.length);
    if (converge.run.exitCode !== 0) throw new Error(`converging the fleet failed (exit ${converge.run.exitCode})`);

    const sizes: SizeResult[] = [];
    for (const size of options.sizes) {
      process.stderr.write(`bench: no-op against OpenSSH on ${size} host(s), ${options.repeat} round(s)\n`);
      sizes.push(await compareNoop(fleet, size, options.repeat, work, knownHosts, probePath, probe));
    }
    if (table) printTable(options.tableHosts, table);
    printNoopTable(sizes, options.repeat, probe, options.rttMs);
  } finally {
    proxies?.stop();
    await labDown({ name: 'halyard-bench' });
    rmSync(work, { recursive: true, force: true });
  }
}

// The fleet as seen through the relays: each host at its relay's port, in the inventory and in a
// known_hosts that holds its keys under that port too.
function fleetThrough(fleet: LabFleet, proxies: DelayProxies, work: string): LabFleet {
  const portOf = (port: number) => {
    const relayed = proxies.ports.get(port);
    if (relayed === undefined) throw new Error(`no relay for port ${port}`);
    return relayed;
  };
  const doc = parse(readFileSync(fleet.inventoryPath, 'utf8')) as { all: { hosts: Record<string, { ansible_port: number }> } };
  for (const host of Object.values(doc.all.hosts)) host.ansible_port = portOf(host.ansible_port);
  const inventoryPath = join(work, 'inventory-relayed.yml');
  writeFileSync(inventoryPath, stringify(doc));
  const knownHostsFile = join(work, 'known_hosts-relayed');
  const lines = readFileSync(fleet.knownHostsFile, 'utf8').split('\n').filter(Boolean);
  writeFileSync(knownHostsFile, `${lines.map((line) => line.replace(/^\[127\.0\.0\.1\]:(\d+) /, (_, port: string) => `[127.0.0.1]:${portOf(Number(port))} `)).join('\n')}\n`);
  return { ...fleet, hosts: fleet.hosts.map((host) => ({ ...host, port: portOf(host.port) })), inventoryPath, knownHostsFile };
}

// The first run, no-op, drift and check on `tableHosts` hosts, against OpenSSH and ansible-playbook.
async function timeRuns(fleet: LabFleet, options: BenchOptions, work: string, knownHosts: string, probePath: string, probe: NoopProbe): Promise<Measured[]> {
  const hosts = fleet.hosts.slice(0, options.tableHosts);
  const inventory = writeInventory(fleet, work, hosts.length);
  const results: Measured[] = [];
  results.push(await timeHalyard('halyard: first run', inventory, knownHosts, work, hosts.length));
  // The baseline needs the locks' directories and the files in place: measured on converged hosts.
  const openssh = await runOpenssh(fleet, hosts, work, probePath, probe);
  results.push({ label: 'baseline: OpenSSH client, same probe, sudo -n sh -s', seconds: openssh.seconds, exitCode: 0 });
  results.push(await timeHalyard('halyard: no-op rerun', inventory, knownHosts, work, hosts.length));
  await Promise.all(
    hosts.map((host) =>
      labExec(host.container, `echo '# drift' >> ${DIR}/loki-config.yml && chmod 0644 ${DIR}/.env && chown root ${DIR}/loki-data && rm ${DIR}/nginx.conf`),
    ),
  );
  results.push(await timeHalyard('halyard: after drift by hand', inventory, knownHosts, work, hosts.length));
  results.push(await timeHalyard('halyard: --check on converged hosts', inventory, knownHosts, work, hosts.length, ['--check']));
  if (options.withAnsible) results.push(await timeAnsible(hosts, inventory, work));
  return results;
}

// One size: rounds of OpenSSH, ssh2-alone and halyard no-ops (each round starting with the next
// one in turn), medians of each.
async function compareNoop(fleet: LabFleet, size: number, repeat: number, work: string, knownHosts: string, probePath: string, probe: NoopProbe): Promise<SizeResult> {
  const hosts = fleet.hosts.slice(0, size);
  const inventory = writeInventory(fleet, work, size);
  const openssh: Sample[] = [];
  const ssh2: Sample[] = [];
  const halyard: Sample[] = [];
  const standby: (Sample & { warmUpCpuSeconds: number })[] = [];
  const runtime = join(work, `runtime-${size}`);
  mkdirSync(runtime, { mode: 0o700 });
  const started = await timed(process.execPath, [CLI, 'standby', 'start'], { XDG_RUNTIME_DIR: runtime });
  if (started.exitCode !== 0) throw new Error(`halyard standby start exited with ${started.exitCode}`);
  // What reading the last process id costs a host (the reading process itself), measured here.
  const first = await lastPids(hosts);
  const overhead = (await lastPids(hosts)).map((pid, index) => pid - (first[index] ?? pid));
  let opensshProcesses: number[] = [];
  let halyardProcesses: number[] = [];
  const tools = ['openssh', 'ssh2', 'halyard', 'standby'] as const;
  for (let round = 0; round < repeat; round += 1) {
    for (const tool of [...tools.slice(round % tools.length), ...tools.slice(0, round % tools.length)]) {
      const before = round === 0 && tool !== 'ssh2' ? await lastPids(hosts) : undefined;
      if (tool === 'openssh') openssh.push(await runOpenssh(fleet, hosts, work, probePath, probe));
      else if (tool === 'ssh2') ssh2.push(await runSsh2Alone(fleet, hosts, work, probePath, probe));
      else if (tool === 'halyard') halyard.push((await runHalyard(inventory, knownHosts, work, size, true, [], { HALYARD_STANDBY: 'off' })).sample);
      else standby.push(await runOnStandby(inventory, knownHosts, work, size, runtime));
      if (before) {
        const started = (await lastPids(hosts)).map((pid, index) => pid - (before[index] ?? pid) - (overhead[index] ?? 0));
        if (tool === 'openssh') opensshProcesses = started;
        else halyardProcesses = started;
      }
    }
  }
  await timed(process.execPath, [CLI, 'standby', 'stop'], { XDG_RUNTIME_DIR: runtime });
  const warmUps = standby.map((sample) => sample.warmUpCpuSeconds).sort((a, b) => a - b);
  const standbyMedian = { ...medianSample(standby), warmUpCpuSeconds: warmUps[Math.floor(warmUps.length / 2)] ?? 0 };
  return { hosts: size, openssh: medianSample(openssh), ssh2: medianSample(ssh2), halyard: medianSample(halyard), standby: standbyMedian, opensshProcesses: spread(opensshProcesses), halyardProcesses: spread(halyardProcesses) };
}

// The last process id each host's kernel gave out (/proc/loadavg, per PID namespace: per container).
async function lastPids(hosts: readonly LabHost[]): Promise<number[]> {
  return Promise.all(
    hosts.map(async (host) => {
      const read = await labExec(host.container, 'read a b c d e < /proc/loadavg; echo "$e"');
      const pid = Number(read.stdout.trim());
      if (!Number.isInteger(pid)) throw new Error(`${host.name}: /proc/loadavg gave no process id`);
      return pid;
    }),
  );
}

// The OpenSSH client sending the probe to each host through sudo, one connection each, all at once.
async function runOpenssh(fleet: LabFleet, hosts: readonly LabHost[], work: string, probePath: string, probe: NoopProbe): Promise<Sample> {
  const answers = join(work, 'answers');
  rmSync(answers, { recursive: true, force: true });
  mkdirSync(answers);
  const lines = hosts.map((host) =>
    [
      'ssh -F /dev/null -q',
      `-i ${fleet.keyFile} -o IdentitiesOnly=yes -o BatchMode=yes`,
      '-o ControlMaster=no -o ControlPath=none',
      `-o StrictHostKeyChecking=yes -o UserKnownHostsFile=${fleet.knownHostsFile}`,
      `-p ${host.port} ${fleet.user}@${host.address} 'sudo -n sh -s'`,
      `< ${probePath} > ${join(answers, host.name)} 2> ${join(answers, `${host.name}.err`)} &`,
    ].join(' '),
  );
  const script = join(work, 'openssh.sh');
  writeFileSync(script, `${lines.join('\n')}\nwait\n`);
  const sample = await timedWithGnuTime('sh', [script], work);
  for (const host of hosts) {
    const problem = checkNoopAnswer(probe, readFileSync(join(answers, host.name), 'utf8'));
    const stderr = readFileSync(join(answers, `${host.name}.err`), 'utf8').trim().split('\n').slice(-3).join(' / ');
    if (problem !== undefined) throw new Error(`OpenSSH baseline on ${host.name}: ${problem}${stderr ? ` (stderr: ${stderr})` : ''}`);
  }
  return sample;
}

// A fresh Node process sending the probe to each host with ssh2 alone (ssh2-probe-client.ts), one
// connection each, all at once, under GNU time as the OpenSSH baseline is.
async function runSsh2Alone(fleet: LabFleet, hosts: readonly LabHost[], work: string, probePath: string, probe: NoopProbe): Promise<Sample> {
  const answers = join(work, 'answers-ssh2');
  rmSync(answers, { recursive: true, force: true });
  mkdirSync(answers);
  const job: Ssh2ProbeJob = {
    hosts: hosts.map((host) => ({ name: host.name, address: host.address, port: host.port })),
    user: fleet.user,
    keyFile: fleet.keyFile,
    knownHostsFile: fleet.knownHostsFile,
    probeFile: probePath,
    answersDir: answers,
  };
  const jobFile = join(work, 'ssh2-job.json');
  writeFileSync(jobFile, JSON.stringify(job));
  const sample = await timedWithGnuTime(process.execPath, [SSH2_CLIENT, jobFile], work);
  for (const host of hosts) {
    const problem = checkNoopAnswer(probe, readFileSync(join(answers, host.name), 'utf8'));
    if (problem !== undefined) throw new Error(`ssh2 alone on ${host.name}: ${problem}`);
  }
  return sample;
}

// A halyard apply of stack-files.ts with every host at once (--forks N); with `noop`, every host must be unchanged.
async function runHalyard(inventory: string, knownHosts: string, dir: string, forks: number, noop = false, extra: string[] = [], env: Record<string, string> = {}): Promise<{ run: TimedRun; result: RunResult; sample: Sample }> {
  const statsFile = join(dir, 'stats.json');
  const run = await timed(process.execPath, [CLI, 'apply', PLAYBOOK, '-i', inventory, '--known-hosts', knownHosts, '--json', '-f', String(forks), ...extra], {
    HALYARD_STATS_FILE: statsFile,
    ...env,
  });
  const result = JSON.parse(run.stdout) as RunResult;
  const stats = readRunStats(statsFile);
  if (stats === undefined) throw new Error(`halyard left no stats in ${statsFile}`);
  if (noop) {
    const moved = Object.entries(result.hosts).filter(([, host]) => host.changed !== 0 || host.failed !== 0 || host.unreachable);
    if (run.exitCode !== 0 || moved.length > 0) throw new Error(`halyard no-op changed or failed hosts: ${moved.map(([name]) => name).join(', ') || `exit ${run.exitCode}`}`);
  }
  return { run, result, sample: { seconds: run.seconds, cpuSeconds: stats.userCpuSeconds + stats.systemCpuSeconds, peakRssMb: stats.maxRssKb / 1024 } };
}

// The same no-op with standby on: once a standby is ready (the one before started it; waiting keeps
// its warm-up out of every timed run), the client under GNU time hands the command to it. CPU is the
// client's and the standby's for the command; the standby's warm-up, spent before, is kept apart.
async function runOnStandby(inventory: string, knownHosts: string, dir: string, forks: number, runtime: string): Promise<Sample & { warmUpCpuSeconds: number }> {
  await waitForReadyStandby(runtime);
  const statsFile = join(dir, 'stats-standby.json');
  rmSync(statsFile, { force: true });
  const client = await timedWithGnuTime(process.execPath, [CLI, 'apply', PLAYBOOK, '-i', inventory, '--known-hosts', knownHosts, '--json', '-f', String(forks)], dir, { HALYARD_STATS_FILE: statsFile, XDG_RUNTIME_DIR: runtime });
  const result = JSON.parse(client.stdout) as RunResult;
  const moved = Object.entries(result.hosts).filter(([, host]) => host.changed !== 0 || host.failed !== 0 || host.unreachable);
  if (moved.length > 0) throw new Error(`halyard no-op on standby changed or failed hosts: ${moved.map(([name]) => name).join(', ')}`);
  const stats = readRunStats(statsFile);
  if (stats?.standbyWarmUpCpuSeconds === undefined) throw new Error('the no-op did not run in a standby (its stats name no warm-up)');
  return {
    seconds: client.seconds,
    cpuSeconds: client.cpuSeconds + stats.userCpuSeconds + stats.systemCpuSeconds,
    peakRssMb: Math.max(client.peakRssMb, stats.maxRssKb / 1024),
    warmUpCpuSeconds: stats.standbyWarmUpCpuSeconds,
  };
}

async function timeHalyard(label: string, inventory: string, knownHosts: string, dir: string, forks: number, extra: string[] = []): Promise<Measured> {
  const { run, result, sample } = await runHalyard(inventory, knownHosts, dir, forks, false, extra);
  const hosts = Object.values(result.hosts);
  return {
    label,
    seconds: run.seconds,
    execsPerHost: spread(hosts.map((host) => host.execs)),
    changedPerHost: spread(hosts.map((host) => host.changed)),
    peakRssMb: sample.peakRssMb,
    exitCode: run.exitCode,
  };
}

// An inventory of the fleet's first `count` hosts, with the role's secret vars.
function writeInventory(fleet: LabFleet, dir: string, count: number): string {
  const doc = parse(readFileSync(fleet.inventoryPath, 'utf8')) as { all: { hosts: Record<string, unknown>; vars?: Record<string, unknown> } };
  const keep = new Set(fleet.hosts.slice(0, count).map((host) => host.name));
  doc.all.hosts = Object.fromEntries(Object.entries(doc.all.hosts).filter(([name]) => keep.has(name)));
  doc.all.vars = { ...(doc.all.vars ?? {}), grafana_password: 'bench-grafana-pw', postgres_password: 'bench-postgres-pw' };
  const path = join(dir, `inventory-${count}.yml`);
  writeFileSync(path, stringify(doc));
  return path;
}

// Ansible 2.14 converging the same state (already converged: a no-op), pipelining on.
async function timeAnsible(hosts: readonly LabHost[], inventory: string, dir: string): Promise<Measured> {
  const files = join(dir, 'files');
  const first = hosts[0];
  if (!first) throw new Error('no hosts');
  const names = ['docker-compose.yml', 'otel-collector-config.yml', 'tempo-config.yml', 'loki-config.yml', 'mimir-config.yml', 'nginx.conf', '.env'];
  mkdirSync(files, { recursive: true });
  for (const name of names) writeFileSync(join(files, name), (await labExec(first.container, `cat ${DIR}/${name}`)).stdout);
  const playbook = [
    {
      hosts: 'all',
      become: true,
      gather_facts: false,
      tasks: [
        { name: 'packages', 'ansible.builtin.apt': { name: ['curl', 'ca-certificates'], state: 'present' } },
        { name: 'install dir', 'ansible.builtin.file': { path: DIR, state: 'directory', owner: 'root', group: 'root', mode: '0755' } },
        {
          name: 'data dirs',
          'ansible.builtin.file': { path: `${DIR}/{{ item.name }}`, state: 'directory', owner: '{{ item.id }}', group: '{{ item.id }}', mode: '0750' },
          loop: [
            { name: 'loki-data', id: 10001 },
            { name: 'mimir-data', id: 10001 },
            { name: 'tempo-data', id: 10001 },
            { name: 'grafana-data', id: 472 },
          ],
        },
        {
          name: 'configs',
          'ansible.builtin.copy': { src: `${files}/{{ item }}`, dest: `${DIR}/{{ item }}`, owner: 'root', group: 'root', mode: '0644' },
          loop: names.slice(0, 6),
        },
        { name: 'env', no_log: true, 'ansible.builtin.copy': { src: `${files}/.env`, dest: `${DIR}/.env`, owner: 'root', group: 'root', mode: '0600' } },
      ],
    },
  ];
  const playbookPath = join(dir, 'ansible-stack-files.yml');
  writeFileSync(playbookPath, stringify(playbook));
  const run = await timed('ansible-playbook', ['-i', inventory, playbookPath], {
    ANSIBLE_PIPELINING: 'True',
    ANSIBLE_HOST_KEY_CHECKING: 'False',
    ANSIBLE_FORKS: String(Math.max(20, hosts.length)),
    ANSIBLE_NOCOLOR: '1',
  });
  const changed = /changed=(\d+)/g;
  const counts = [...run.stdout.matchAll(changed)].map((match) => Number(match[1]));
  return { label: 'baseline: ansible-playbook no-op (2.14, pipelining)', seconds: run.seconds, changedPerHost: spread(counts), exitCode: run.exitCode };
}

interface TimedRun {
  seconds: number;
  stdout: string;
  exitCode: number | null;
}

function timed(command: string, args: string[], env: Record<string, string> = {}): Promise<TimedRun> {
  return new Promise((done, fail) => {
    const started = process.hrtime.bigint();
    const child = spawn(command, args, { cwd: ROOT, env: { ...process.env, CI: '1', ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.on('error', fail);
    child.on('close', (exitCode) => done({ seconds: Number(process.hrtime.bigint() - started) / 1e9, stdout, exitCode }));
  });
}

// A command under GNU time: its wall time (measured here, as for halyard), the CPU seconds of it and
// every child it waited for, and the largest RSS among them (one ssh client's, for the baseline).
async function timedWithGnuTime(command: string, args: string[], dir: string, env: Record<string, string> = {}): Promise<Sample & { stdout: string }> {
  const report = join(dir, 'gnu-time.txt');
  const run = await timed(GNU_TIME, ['-f', '%U %S %M', '-o', report, command, ...args], env);
  if (run.exitCode !== 0) throw new Error(`${command} ${args.join(' ')} exited with ${run.exitCode}`);
  const last = readFileSync(report, 'utf8').trim().split('\n').pop() ?? '';
  const [user, system, rssKb] = last.split(' ').map(Number);
  if (user === undefined || system === undefined || rssKb === undefined || [user, system, rssKb].some(Number.isNaN)) throw new Error(`${GNU_TIME} printed no usage (${last})`);
  return { seconds: run.seconds, cpuSeconds: user + system, peakRssMb: rssKb / 1024, stdout: run.stdout };
}

function medianSample(samples: readonly Sample[]): Sample {
  const median = (values: number[]) => {
    const sorted = [...values].sort((a, b) => a - b);
    const middle = Math.floor(sorted.length / 2);
    return sorted.length % 2 === 1 ? (sorted[middle] ?? 0) : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
  };
  return { seconds: median(samples.map((s) => s.seconds)), cpuSeconds: median(samples.map((s) => s.cpuSeconds)), peakRssMb: median(samples.map((s) => s.peakRssMb)) };
}

function spread(values: number[]): string {
  if (values.length === 0) return '-';
  const min = Math.min(...values);
  const max = Math.max(...values);
  return min === max ? String(min) : `${min}-${max}`;
}

// --sizes 1,10,50 (or BENCH_SIZES), --hosts 10 (or BENCH_HOSTS), --repeat 3 (or BENCH_REPEAT), --noop, --no-ansible, --rtt-ms 0.
function readOptions(): BenchOptions {
  const sizesText = argValue('--sizes') ?? process.env.BENCH_SIZES ?? '1,10,50';
  const sizes = sizesText.split(',').map((text) => Number(text.trim()));
  if (sizes.length === 0 || sizes.some((size) => !Number.isInteger(size) || size < 1 || size > 100)) {
    throw new Error(`--sizes takes host counts from 1 to 100 separated by commas (got ${JSON.stringify(sizesText)})`);
  }
  const tableHosts = wholeNumber('--hosts', argValue('--hosts') ?? process.env.BENCH_HOSTS ?? '10');
  const repeat = wholeNumber('--repeat', argValue('--repeat') ?? process.env.BENCH_REPEAT ?? '3');
  const noopOnly = process.argv.includes('--noop');
  const rttText = argValue('--rtt-ms') ?? '0';
  const rttMs = Number(rttText);
  if (!Number.isInteger(rttMs) || rttMs < 0 || rttMs > 1000) throw new Error(`--rtt-ms takes a whole number of milliseconds from 0 to 1000 (got ${JSON.stringify(rttText)})`);
  return { sizes, tableHosts, repeat, noopOnly, rttMs, withAnsible: !noopOnly && !process.argv.includes('--no-ansible') && commandOnPath('ansible-playbook') };
}

function wholeNumber(flag: string, text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1 || value > 100) throw new Error(`${flag} takes a whole number from 1 to 100 (got ${JSON.stringify(text)})`);
  return value;
}

function commandOnPath(command: string): boolean {
  return (process.env.PATH ?? '').split(':').some((dir) => dir !== '' && existsSync(join(dir, command)));
}


function printTable(hosts: number, results: Measured[]): void {
  const noop = results.find((result) => result.label === 'halyard: no-op rerun');
  const lines = [`\nhalyard bench: ${hosts} lab hosts, stack-files.ts (${new Date().toISOString()})`, ''];
  lines.push(`${'run'.padEnd(56)} ${'wall s'.padStart(7)} ${'vs no-op'.padStart(9)} ${'execs/host'.padStart(10)} ${'changed/host'.padStart(12)} ${'peak RSS MB'.padStart(11)} exit`);
  for (const result of results) {
    const ratio = noop ? `${(result.seconds / noop.seconds).toFixed(2)}x` : '-';
    lines.push(
      `${result.label.padEnd(56)} ${result.seconds.toFixed(2).padStart(7)} ${ratio.padStart(9)} ${(result.execsPerHost ?? '-').padStart(10)} ` +
        `${(result.changedPerHost ?? '-').padStart(12)} ${(result.peakRssMb === undefined ? '-' : result.peakRssMb.toFixed(0)).padStart(11)} ${result.exitCode}`,
    );
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

// The no-op against OpenSSH, one row per size, as a Markdown table the README can take as is.
function printNoopTable(sizes: readonly SizeResult[], repeat: number, probe: NoopProbe, rttMs: number): void {
  const lines = [
    `\nhalyard no-op vs the OpenSSH client (and a fresh Node process with ssh2 alone) sending the same probe (${Buffer.byteLength(probe.script)} bytes, ${probe.facts.length} facts) through sudo, one connection per host, all at once${rttMs > 0 ? `, ${rttMs} ms round trip added to every connection` : ''}; halyard in a process of its own, and on standby (halyard standby start: the command runs in a warm process); median of ${repeat} (${new Date().toISOString()})`,
    '',
    '| hosts | OpenSSH s | node + ssh2 alone s (ratio) | halyard no-op s (ratio) | on standby s (ratio) | controller CPU s OpenSSH / ssh2 alone / halyard / on standby (+ its warm-up) | peak RSS MB OpenSSH (per client) / ssh2 alone / halyard / on standby | processes per host OpenSSH / halyard |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  const ratio = (sample: Sample, size: SizeResult) => `${(sample.seconds / size.openssh.seconds).toFixed(2)}x`;
  for (const size of sizes) {
    lines.push(
      `| ${size.hosts} | ${size.openssh.seconds.toFixed(2)} | ${size.ssh2.seconds.toFixed(2)} (${ratio(size.ssh2, size)}) | ${size.halyard.seconds.toFixed(2)} (${ratio(size.halyard, size)}) | ${size.standby.seconds.toFixed(2)} (${ratio(size.standby, size)}) | ` +
        `${size.openssh.cpuSeconds.toFixed(2)} / ${size.ssh2.cpuSeconds.toFixed(2)} / ${size.halyard.cpuSeconds.toFixed(2)} / ${size.standby.cpuSeconds.toFixed(2)} (+ ${size.standby.warmUpCpuSeconds.toFixed(2)}) | ` +
        `${size.hosts} × ${size.openssh.peakRssMb.toFixed(0)} / ${size.ssh2.peakRssMb.toFixed(0)} / ${size.halyard.peakRssMb.toFixed(0)} / ${size.standby.peakRssMb.toFixed(0)} | ` +
        `${size.opensshProcesses} / ${size.halyardProcesses} |`,
    );
  }
  const worst = (pick: (size: SizeResult) => Sample) => Math.max(...sizes.map((size) => pick(size).seconds / size.openssh.seconds));
  const verdict = (value: number) => (value <= GOAL_RATIO ? `met (worst ${value.toFixed(2)}x)` : `not met (worst ${value.toFixed(2)}x)`);
  lines.push('', `goal: the no-op within ${GOAL_RATIO}x of OpenSSH at every size: in a process of its own ${verdict(worst((size) => size.halyard))}; on standby ${verdict(worst((size) => size.standby))}`);
  // What halyard adds to the floor of any Node controller, per size.
  lines.push(`halyard over node + ssh2 alone: ${sizes.map((size) => `${size.hosts} host(s) +${(size.halyard.seconds - size.ssh2.seconds).toFixed(2)} s, ${(size.halyard.cpuSeconds - size.ssh2.cpuSeconds).toFixed(2)} CPU-s`).join('; ')}`);
  process.stdout.write(`${lines.join('\n')}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`bench: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});

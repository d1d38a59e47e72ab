// `npm run bench`: stack-files.ts on N lab hosts three times (first, no-op, after drift by hand),
// with wall time, execs per host and controller peak RSS, against baselines measured in the same run.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse, stringify } from 'yaml';
import { labDown, labExec, labUp, type LabFleet } from '../lab/index.js';
import type { RunResult } from '../engine/results.js';

const ROOT = resolve(import.meta.dirname, '../..');
const CLI = join(ROOT, 'bin/halyard.js');
const DIR = '/opt/observability';

interface Measured {
  label: string;
  seconds: number;
  execsPerHost?: string;
  changedPerHost?: string;
  peakRssMb?: number;
  exitCode: number | null;
}

async function main(): Promise<void> {
  const hosts = Number(argValue('--hosts') ?? process.env.BENCH_HOSTS ?? 10);
  const withAnsible = !process.argv.includes('--no-ansible') && (await commandExists('ansible-playbook'));
  const work = mkdtempSync(join(tmpdir(), 'halyard-bench-'));
  process.stderr.write(`bench: starting ${hosts} lab hosts\n`);
  const fleet = await labUp({ count: hosts, name: 'halyard-bench', onProgress: (message) => process.stderr.write(`bench: ${message}\n`) });
  try {
    const inventory = writeInventory(fleet, work);
    const knownHosts = join(work, 'known_hosts');
    const results: Measured[] = [];
    results.push(await timeShell('baseline: one `ssh host true` per host (OpenSSH, parallel)', sshTrueScript(fleet)));
    results.push(await timeHalyard('halyard: first run', inventory, knownHosts, work));
    results.push(await timeHalyard('halyard: no-op rerun', inventory, knownHosts, work));
    await Promise.all(
      fleet.hosts.map((host) =>
        labExec(host.container, `echo '# drift' >> ${DIR}/loki-config.yml && chmod 0644 ${DIR}/.env && chown root ${DIR}/loki-data && rm ${DIR}/nginx.conf`),
      ),
    );
    results.push(await timeHalyard('halyard: after drift by hand', inventory, knownHosts, work));
    results.push(await timeHalyard('halyard: --check on converged hosts', inventory, knownHosts, work, ['--check']));
    if (withAnsible) results.push(await timeAnsible(fleet, work));
    printTable(hosts, results);
  } finally {
    await labDown({ name: 'halyard-bench' });
    rmSync(work, { recursive: true, force: true });
  }
}

function writeInventory(fleet: LabFleet, dir: string): string {
  const doc = parse(readFileSync(fleet.inventoryPath, 'utf8')) as { all: { vars?: Record<string, unknown> } };
  doc.all.vars = { ...(doc.all.vars ?? {}), grafana_password: 'bench-grafana-pw', postgres_password: 'bench-postgres-pw' };
  const path = join(dir, 'inventory.yml');
  writeFileSync(path, stringify(doc));
  return path;
}

async function timeHalyard(label: string, inventory: string, knownHosts: string, dir: string, extra: string[] = []): Promise<Measured> {
  const statsFile = join(dir, 'stats.json');
  const run = await timed(process.execPath, [CLI, 'apply', 'playbooks/examples/stack-files.ts', '-i', inventory, '--known-hosts', knownHosts, '--json', ...extra], {
    HALYARD_STATS_FILE: statsFile,
  });
  const result = JSON.parse(run.stdout) as RunResult;
  const hosts = Object.values(result.hosts);
  const stats = JSON.parse(readFileSync(statsFile, 'utf8')) as { maxRssKb: number };
  return {
    label,
    seconds: run.seconds,
    execsPerHost: spread(hosts.map((host) => host.execs)),
    changedPerHost: spread(hosts.map((host) => host.changed)),
    peakRssMb: stats.maxRssKb / 1024,
    exitCode: run.exitCode,
  };
}

// Ansible 2.14 converging the same state (already converged: a no-op), pipelining on.
async function timeAnsible(fleet: LabFleet, dir: string): Promise<Measured> {
  const files = join(dir, 'files');
  const first = fleet.hosts[0];
  if (!first) throw new Error('no hosts');
  const names = ['docker-compose.yml', 'otel-collector-config.yml', 'tempo-config.yml', 'loki-config.yml', 'mimir-config.yml', 'nginx.conf', '.env'];
  await timed('mkdir', ['-p', files]);
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
  const run = await timed('ansible-playbook', ['-i', fleet.inventoryPath, playbookPath], {
    ANSIBLE_PIPELINING: 'True',
    ANSIBLE_HOST_KEY_CHECKING: 'False',
    ANSIBLE_FORKS: '20',
    ANSIBLE_NOCOLOR: '1',
  });
  const changed = /changed=(\d+)/g;
  const counts = [...run.stdout.matchAll(changed)].map((match) => Number(match[1]));
  return { label: 'baseline: ansible-playbook no-op (2.14, pipelining)', seconds: run.seconds, changedPerHost: spread(counts), exitCode: run.exitCode };
}

function sshTrueScript(fleet: LabFleet): string {
  return fleet.hosts
    .map(
      (host) =>
        `ssh -q -i ${fleet.keyFile} -p ${host.port} -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null halyard@127.0.0.1 true &`,
    )
    .concat('wait')
    .join('\n');
}

async function timeShell(label: string, script: string): Promise<Measured> {
  const run = await timed('sh', ['-c', script]);
  return { label, seconds: run.seconds, exitCode: run.exitCode };
}

function timed(command: string, args: string[], env: Record<string, string> = {}): Promise<{ seconds: number; stdout: string; exitCode: number | null }> {
  return new Promise((done, fail) => {
    const started = process.hrtime.bigint();
    const child = spawn(command, args, { cwd: ROOT, env: { ...process.env, CI: '1', ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.on('error', fail);
    child.on('close', (exitCode) => done({ seconds: Number(process.hrtime.bigint() - started) / 1e9, stdout, exitCode }));
  });
}

function commandExists(command: string): Promise<boolean> {
  return timed('sh', ['-c', `command -v ${command} >/dev/null`]).then((run) => run.exitCode === 0);
}

function spread(values: number[]): string {
  if (values.length === 0) return '-';
  const min = Math.min(...values);
  const max = Math.max(...values);
  return min === max ? String(min) : `${min}-${max}`;
}

function argValue(flag: string): string | undefined {
  const index = process.argv.indexOf(flag);
  return index >= 0 ? process.argv[index + 1] : undefined;
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

main().catch((error: unknown) => {
  process.stderr.write(`bench: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});

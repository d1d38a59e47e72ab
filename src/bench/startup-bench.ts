// `npm run bench:startup`: how long the CLI takes to start, against `node -e 0` on the same machine
// in the same run. Each command runs in a fresh process (no SSH, no Docker), the cases in turn so a
// busy moment falls on all of them, and the table gives the best and the median of the runs, the
// best minus node's best (what halyard itself costs) and the median peak RSS. `apply --list-tasks`
// of playbooks/site.ts runs with a warm bundle cache and with an empty one (every TypeScript file
// bundled again by esbuild). The goal of issue 14: `halyard --version` within 0.1 s of `node -e 0`.
// `--runs N` (default 10). The load average is printed before and after: best-of-N only means
// something when the machine was not busy with other work.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '../..');
const CLI = join(ROOT, 'bin', 'halyard.js');
/** The goal: `halyard --version` at most this much slower than `node -e 0` (best of the runs). */
const VERSION_GOAL_MS = 100;

// One row of the table: a command line, and what to do before each run.
interface StartupCase {
  label: string;
  args: string[];
  before?: () => void;
  /** Whether the process writes HALYARD_STATS_FILE (halyard's commands do; node -e 0 does not). */
  halyard: boolean;
}

// What the runs of one case measured.
interface Measured {
  wallMs: number[];
  rssMb: number[];
}

// An inventory of two hosts with the vars playbooks/site.ts needs (nothing is connected to).
const INVENTORY = `all:
  hosts:
    web-1: { ansible_host: 192.0.2.10 }
    web-2: { ansible_host: 192.0.2.11 }
  vars:
    ansible_user: deploy
    public_hostname: obs.example.com
    grafana_admin_password: bench-only
    postgres_password: bench-only
`;

function cases(dir: string, cacheHome: string): StartupCase[] {
  const inventory = join(dir, 'hosts.yml');
  writeFileSync(inventory, INVENTORY);
  const listTasks = ['apply', join(ROOT, 'playbooks', 'site.ts'), '-i', inventory, '--list-tasks'];
  const bundleCache = join(cacheHome, 'halyard', 'playbooks');
  return [
    { label: '`node -e 0`', args: ['-e', '0'], halyard: false },
    { label: '`halyard --version`', args: [CLI, '--version'], halyard: true },
    { label: '`halyard --help`', args: [CLI, '--help'], halyard: true },
    { label: '`halyard inventory list` (2 hosts)', args: [CLI, 'inventory', 'list', '-i', inventory], halyard: true },
    { label: '`halyard apply site.ts --list-tasks`, warm bundle cache', args: [CLI, ...listTasks], halyard: true },
    {
      label: '`halyard apply site.ts --list-tasks`, empty bundle cache',
      args: [CLI, ...listTasks],
      halyard: true,
      before: () => rmSync(bundleCache, { recursive: true, force: true }),
    },
  ];
}

// Runs one case once: wall time as the parent sees it (spawn included, as for `node -e 0`) and peak RSS.
function runOnce(item: StartupCase, dir: string, cacheHome: string): { wallMs: number; rssMb?: number } {
  item.before?.();
  const stats = join(dir, 'stats.json');
  rmSync(stats, { force: true });
  const started = process.hrtime.bigint();
  const child = spawnSync(process.execPath, item.args, {
    cwd: dir,
    encoding: 'utf8',
    maxBuffer: 1 << 24,
    // Its own cache folder (facts, bundled playbooks) and no halyard.yml: the same for every run.
    env: { ...process.env, CI: '1', XDG_CACHE_HOME: cacheHome, HALYARD_CONFIG: 'none', HALYARD_STATS_FILE: stats },
  });
  const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
  if (child.status !== 0) throw new Error(`${item.label} exited ${child.status}: ${child.stderr.slice(-2000)}`);
  if (!item.halyard) return { wallMs };
  const { maxRssKb } = JSON.parse(readFileSync(stats, 'utf8')) as { maxRssKb: number };
  return { wallMs, rssMb: maxRssKb / 1024 };
}

const best = (values: number[]) => Math.min(...values);
function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

function main(): void {
  const runs = Number(process.argv.includes('--runs') ? process.argv[process.argv.indexOf('--runs') + 1] : 10);
  if (!Number.isInteger(runs) || runs < 1) throw new Error('--runs must be a positive whole number');
  const dir = mkdtempSync(join(tmpdir(), 'halyard-startup-bench-'));
  const cacheHome = join(dir, 'cache');
  mkdirSync(cacheHome);
  const load = () => loadavg().map((value) => value.toFixed(2)).join(' ');
  const loadBefore = load();
  const table = cases(dir, cacheHome);
  const measured = new Map<StartupCase, Measured>(table.map((item) => [item, { wallMs: [], rssMb: [] }]));
  try {
    // One unmeasured round: the bundle cache is warm and the files are in the page cache.
    for (const item of table) runOnce(item, dir, cacheHome);
    for (let round = 0; round < runs; round++) {
      for (const item of table) {
        const { wallMs, rssMb } = runOnce(item, dir, cacheHome);
        measured.get(item)!.wallMs.push(wallMs);
        if (rssMb !== undefined) measured.get(item)!.rssMb.push(rssMb);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const node = best(measured.get(table[0]!)!.wallMs);
  console.log(`Start-up, ${runs} runs each, node ${process.version}; load average before ${loadBefore}, after ${load()}\n`);
  console.log('| command | best ms | median ms | best - `node -e 0` | peak RSS (median) |');
  console.log('|---|---|---|---|---|');
  for (const item of table) {
    const { wallMs, rssMb } = measured.get(item)!;
    const rss = rssMb.length > 0 ? `${median(rssMb).toFixed(0)} MB` : '';
    console.log(`| ${item.label} | ${best(wallMs).toFixed(0)} | ${median(wallMs).toFixed(0)} | ${item === table[0] ? '' : `+${(best(wallMs) - node).toFixed(0)} ms`} | ${rss} |`);
  }
  const version = best(measured.get(table[1]!)!.wallMs) - node;
  const met = version <= VERSION_GOAL_MS;
  console.log(`\n\`halyard --version\` within ${VERSION_GOAL_MS} ms of \`node -e 0\` (best of ${runs}): +${version.toFixed(0)} ms: ${met ? 'met' : 'NOT met'}`);
  if (!met) process.exitCode = 1;
}

main();

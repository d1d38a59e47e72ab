// `npm run bench:inventory`: loads generated YAML inventories of growing size (about 105 bytes per
// host, a 50 MB inventory holds 500k hosts) in a fresh process each, with wall time and peak RSS, and
// the same data read by JSON.parse as a floor measured in the same run. Time per MB that stays flat
// as the size grows is linear loading. `--mb 1,10,50` picks the sizes (default: 1, 10 and 50, the
// last checked against the goal of issue 10: under 20 s and 1 GB).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const LOADER = resolve(import.meta.dirname, '../inventory/index.js');
const PEAK_RSS = resolve(import.meta.dirname, '../core/peak-rss.js');

// One host line: address, port and three plain vars, in one of four groups.
function hostLine(index: number): string {
  const address = `10.${(index >> 16) & 255}.${(index >> 8) & 255}.${index & 255}`;
  return `        web${String(index).padStart(6, '0')}: {ansible_host: ${address}, ansible_port: 22, rack: r${index % 40}, tier: web, env: production}`;
}

// Writes an inventory of about `mb` MB (and the same data as JSON); returns both paths and the host count.
function generate(dir: string, mb: number): { yaml: string; json: string; hosts: number } {
  // Host lines grow with the index's digits: sized by a line near the end, the file reaches `mb`.
  const estimate = Math.round((mb * 1024 * 1024) / (hostLine(Math.round(mb * 8000)).length + 1));
  const hosts = Math.round((mb * 1024 * 1024) / (hostLine(estimate).length + 1));
  const groups = ['web', 'api', 'db', 'cache'];
  const lines = ['all:', '  vars:', '    ansible_user: deploy', '  children:'];
  const json: Record<string, { hosts: Record<string, unknown> }> = {};
  for (const [g, group] of groups.entries()) {
    lines.push(`    ${group}:`, '      hosts:');
    json[group] = { hosts: {} };
    for (let index = g; index < hosts; index += groups.length) {
      lines.push(hostLine(index));
      json[group]!.hosts[`web${String(index).padStart(6, '0')}`] = { ansible_host: 'x', ansible_port: 22, rack: `r${index % 40}`, tier: 'web', env: 'production' };
    }
  }
  const yaml = join(dir, `inventory-${mb}mb.yml`);
  const jsonPath = join(dir, `inventory-${mb}mb.json`);
  writeFileSync(yaml, `${lines.join('\n')}\n`);
  writeFileSync(jsonPath, JSON.stringify({ all: { children: json } }));
  return { yaml, json: jsonPath, hosts };
}

// Runs `script` in a fresh node; returns its JSON line (seconds, hosts) and peak RSS in MB.
function measure(script: string, file: string): { seconds: number; count: number; rssMb: number } {
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script, file], { encoding: 'utf8', maxBuffer: 1 << 20 });
  if (child.status !== 0) throw new Error(`bench child failed: ${child.stderr.slice(-2000)}`);
  return JSON.parse(child.stdout.trim().split('\n').at(-1)!) as { seconds: number; count: number; rssMb: number };
}

// Peak RSS is the child's own (core/peak-rss.ts: maxRSS would include this process, its parent).
const REPORT = 'process.stdout.write(JSON.stringify({ seconds: (performance.now() - t) / 1000, count, rssMb: Math.round(peakRssKb() / 1024) }) + "\\n");';
const MEASURE = `import { peakRssKb } from ${JSON.stringify(PEAK_RSS)};`;
const HALYARD = `${MEASURE} import { loadInventory } from ${JSON.stringify(LOADER)}; const t = performance.now(); const count = (await loadInventory(process.argv[1])).hosts.length; ${REPORT}`;
const FLOOR = `${MEASURE} import { readFileSync } from 'node:fs'; const t = performance.now(); const v = JSON.parse(readFileSync(process.argv[1], 'utf8')); const count = Object.values(v.all.children).reduce((n, g) => n + Object.keys(g.hosts).length, 0); ${REPORT}`;

function main(): void {
  const sizes = (process.argv.includes('--mb') ? process.argv[process.argv.indexOf('--mb') + 1]! : '1,10,50').split(',').map(Number);
  const dir = mkdtempSync(join(tmpdir(), 'halyard-inv-bench-'));
  let goal: { seconds: number; rssMb: number } | undefined;
  try {
    console.log('| inventory | hosts | halyard load | s per MB | peak RSS | JSON.parse floor | ratio |');
    console.log('|---|---|---|---|---|---|---|');
    for (const mb of sizes) {
      const files = generate(dir, mb);
      const realMb = statSync(files.yaml).size / (1024 * 1024);
      const halyard = measure(HALYARD, files.yaml);
      const floor = measure(FLOOR, files.json);
      if (halyard.count !== files.hosts || floor.count !== files.hosts) throw new Error(`expected ${files.hosts} hosts, loaded ${halyard.count} (floor ${floor.count})`);
      if (mb === 50 && realMb >= 49.9) goal = { seconds: halyard.seconds, rssMb: halyard.rssMb };
      console.log(
        `| ${realMb.toFixed(1)} MB | ${files.hosts} | ${halyard.seconds.toFixed(2)} s | ${(halyard.seconds / realMb).toFixed(2)} | ${halyard.rssMb} MB | ${floor.seconds.toFixed(2)} s, ${floor.rssMb} MB | ${(halyard.seconds / floor.seconds).toFixed(0)}x |`,
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  if (goal) {
    const met = goal.seconds < 20 && goal.rssMb < 1024;
    console.log(`\n50 MB goal (under 20 s and 1 GB): ${goal.seconds.toFixed(1)} s, ${goal.rssMb} MB: ${met ? 'met' : 'NOT met'}`);
    if (!met) process.exitCode = 1;
  }
}

main();

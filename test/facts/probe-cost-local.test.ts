// What a converged host pays for the first probe: the programs it runs, counted by running the
// probe with this machine's sh under a PATH of shims that write down each program they start.
import { accessSync, constants, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { pendingHandlersFact } from '../../src/engine/handler-journal.js';
import type { Fact } from '../../src/facts/fact.js';
import { pathFact } from '../../src/facts/file.js';
import { hostFactsFact } from '../../src/facts/host-facts.js';
import { packagesFact } from '../../src/facts/packages.js';
import { buildProbeScript, parseProbeOutput, uniqueFacts } from '../../src/facts/probe-script.js';
import { runSh } from './local-shell.js';

const work = mkdtempSync(join(tmpdir(), 'halyard-probe-cost-'));
const shims = join(work, 'bin');
const log = join(work, 'programs.log');

// One shim per program on PATH (the first of each name): it logs its name, then runs the program.
function writeShims(): void {
  mkdirSync(shims);
  const seen = new Set<string>();
  for (const dir of (process.env.PATH ?? '').split(':').filter(Boolean)) {
    let entries: string[];
    try {
      entries = readdirSync(dir);
    } catch {
      continue;
    }
    for (const name of entries) {
      if (seen.has(name) || !/^[A-Za-z0-9._+-]+$/.test(name)) continue;
      const real = join(dir, name);
      try {
        if (!statSync(real).isFile()) continue;
        accessSync(real, constants.X_OK);
      } catch {
        continue;
      }
      seen.add(name);
      writeFileSync(join(shims, name), `#!/bin/sh\necho ${name} >> "$HY_PROGRAMS_LOG"\nexec ${real} "$@"\n`, { mode: 0o755 });
    }
  }
}

// Runs a probe of these facts under the shims; returns the programs it ran (sorted) and checks the facts parse.
async function programsOf(facts: readonly Fact<unknown>[]): Promise<string[]> {
  writeFileSync(log, '');
  const unique = uniqueFacts(facts);
  const nonce = randomBytes(8).toString('hex');
  const result = await runSh(buildProbeScript(unique, nonce), { env: { ...process.env, PATH: `${shims}:${process.env.PATH ?? ''}`, HY_PROGRAMS_LOG: log } });
  expect(result.exitCode).toBe(0);
  const values = parseProbeOutput(result.stdout, unique, nonce);
  expect(values.size).toBe(unique.length);
  // The first line is the `sh -s` itself, started through its shim.
  const [shell, ...programs] = readFileSync(log, 'utf8').split('\n').filter(Boolean);
  expect(shell).toBe('sh');
  return programs.sort();
}

// The facts of stack-files.ts's tasks on a converged host: two packages, five directories, seven files.
function stackFilesFacts(root: string, files: number): Fact<unknown>[] {
  const dirs = ['', '/loki-data', '/mimir-data', '/tempo-data', '/grafana-data'].map((name) => pathFact(`${root}${name}`));
  const configs = Array.from({ length: files }, (_, index) => pathFact(`${root}/config-${index}.yml`));
  return [hostFactsFact, pendingHandlersFact, packagesFact(['coreutils', 'dpkg']), ...dirs, ...configs] as Fact<unknown>[];
}

describe('programs a first probe runs on a converged host', () => {
  const root = join(work, 'observability');
  beforeAll(() => {
    writeShims();
    for (const name of ['', '/loki-data', '/mimir-data', '/tempo-data', '/grafana-data']) mkdirSync(`${root}${name}`, { recursive: true });
    for (let index = 0; index < 40; index += 1) writeFileSync(`${root}/config-${index}.yml`, `config ${index}\n`);
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  test('stack-files: nine programs (45 before batching): one stat and one sha256sum for every path, one dpkg-query for every package', async () => {
    const addresses = (await runSh('command -v ip >/dev/null && echo ip || echo hostname')).stdout.trim();
    expect(await programsOf(stackFilesFacts(root, 7))).toEqual(
      [
        // host facts: uname -nrm, and the addresses (ip, or hostname -I without it); the rest is read by the shell.
        'uname',
        addresses,
        // pending handlers: whose journal (id -u), and reading it.
        'id',
        'cat',
        // packages: one dpkg-query, the clock, one stat of the apt lists and sources.
        'dpkg-query',
        'date',
        'stat',
        // paths: one stat, one sha256sum.
        'stat',
        'sha256sum',
      ].sort(),
    );
  });

  test('the count does not grow with the number of paths', async () => {
    expect(await programsOf(stackFilesFacts(root, 40))).toEqual(await programsOf(stackFilesFacts(root, 1)));
  });

  test('diff mode adds three programs, whatever the number of files: stat, cat and base64', async () => {
    const plain = await programsOf(Array.from({ length: 20 }, (_, index) => pathFact(`${root}/config-${index}.yml`)));
    const withContent = await programsOf(Array.from({ length: 20 }, (_, index) => pathFact(`${root}/config-${index}.yml`, { withContent: true })));
    expect(plain).toEqual(['sha256sum', 'stat']);
    expect(withContent).toEqual(['base64', 'cat', 'sha256sum', 'stat', 'stat']);
  });
});

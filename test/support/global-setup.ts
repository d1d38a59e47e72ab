// vitest globalSetup of the e2e projects: prepareLab (test/support/lab-setup.ts) once per run, and at
// teardown the package files tests still fetched from the mirror and this run's leftover fleets.
// Both e2e projects name this file; vitest calls it once per project in the same process, so the
// work is shared (one promise) and the teardown runs when the last project ends.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { labDown } from '../../src/lab/index.js';
import { aptCachePaths } from '../../src/lab/apt-cache.js';
import { containerLabel, containersWithLabel } from '../../src/lab/docker.js';
import { TEST_RUN_ENV, TEST_RUN_LABEL } from './lab.js';
import { prepareLab, type PreparedLab } from './lab-setup.js';

function log(message: string): void {
  process.stderr.write(`[halyard test setup] ${message}\n`);
}

interface SharedSetup {
  ready: Promise<PreparedLab>;
  users: number;
}

const SHARED = Symbol.for('halyard.test.global-setup');

export default async function setup(): Promise<() => Promise<void>> {
  const registry = globalThis as { [SHARED]?: SharedSetup };
  registry[SHARED] ??= { ready: prepareRun(), users: 0 };
  const shared = registry[SHARED];
  shared.users += 1;
  const { filledAt, background } = await shared.ready;
  return async () => {
    shared.users -= 1;
    if (shared.users > 0) return;
    await background;
    await reportMirrorFetches(filledAt);
    await removeLeftoverFleets();
  };
}

// The lab for this run, and the run id test fleets are labelled with (inherited by the workers).
async function prepareRun(): Promise<PreparedLab> {
  const runId = process.env[TEST_RUN_ENV] ?? String(process.pid);
  process.env[TEST_RUN_ENV] = runId;
  return prepareLab({ log, background: true });
}

// Says which package files tests fetched from the mirror after the fill (a list to complete).
async function reportMirrorFetches(since: number): Promise<void> {
  const text = await readFile(join(aptCachePaths().logDir, 'apt-cacher.log'), 'utf8').catch(() => '');
  const fetched = new Set<string>();
  for (const line of text.split('\n')) {
    const [time, kind, , , path] = line.split('|');
    if (kind === 'I' && Number(time) * 1000 >= since && path?.endsWith('.deb')) fetched.add(path.split('/').pop() ?? path);
  }
  if (fetched.size > 0) {
    log(`tests fetched ${fetched.size} package file(s) from the mirror: add their packages to LAB_TEST_PACKAGES: ${[...fetched].join(' ')}`);
  }
}

// Fleets a test file forgot to stop (or left by a crashed worker) go with the run.
async function removeLeftoverFleets(): Promise<void> {
  const runId = process.env[TEST_RUN_ENV];
  if (!runId) return;
  const leftovers = await containersWithLabel(`${TEST_RUN_LABEL}=${runId}`);
  const fleets = new Set<string>();
  for (const container of leftovers) {
    const fleet = await containerLabel(container, 'halyard.lab');
    if (fleet) fleets.add(fleet);
  }
  for (const fleet of fleets) await labDown({ name: fleet });
  if (fleets.size > 0) log(`removed ${fleets.size} leftover test fleet(s): ${[...fleets].join(', ')}`);
}


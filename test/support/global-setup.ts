// vitest globalSetup of the e2e projects: the Docker engine must answer (a loud failure, never a
// skip), leftover fleets of dead test runs are reaped, the lab images are built and the apt cache is
// started and filled once, so test files only start containers and their timings never depend on
// the Debian mirror. Test fleets of this run are removed at teardown.
// Both e2e projects name this file; vitest calls it once per project in the same process, so the
// work is shared (one promise) and the teardown runs when the last project ends.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DOCKER_UNREACHABLE_MESSAGE, LabError, ensureAptCache, ensureDockerEngine, ensureHostImage, ensureHostVariant, ensureStackTestImagesDetailed, fillAptCache, labDown } from '../../src/lab/index.js';
import { aptCachePaths } from '../../src/lab/apt-cache.js';
import { containerLabel, containersWithLabel } from '../../src/lab/docker.js';
import { processAlive } from '../../src/lab/lock.js';
import { BACKUP_LAB_PACKAGES, LAB_TEST_PACKAGES, TEST_PID_LABEL, TEST_RUN_ENV, TEST_RUN_LABEL } from './lab.js';

function log(message: string): void {
  process.stderr.write(`[halyard test setup] ${message}\n`);
}

interface SharedSetup {
  ready: Promise<{ filledAt: number; background: Promise<void> }>;
  users: number;
}

const SHARED = Symbol.for('halyard.test.global-setup');

export default async function setup(): Promise<() => Promise<void>> {
  const registry = globalThis as { [SHARED]?: SharedSetup };
  registry[SHARED] ??= { ready: prepare(), users: 0 };
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

async function prepare(): Promise<{ filledAt: number; background: Promise<void> }> {
  const started = Date.now();
  try {
    const version = await ensureDockerEngine();
    log(`Docker engine ${version} reachable`);
  } catch (error) {
    const detail = error instanceof LabError ? error.message : `${DOCKER_UNREACHABLE_MESSAGE}\n${String(error)}`;
    // Thrown, not skipped: e2e tests without hosts would prove nothing.
    throw new Error(`halyard tests need a running Docker engine.\n${detail}`);
  }

  await reapDeadRuns();

  const runId = process.env[TEST_RUN_ENV] ?? String(process.pid);
  process.env[TEST_RUN_ENV] = runId; // inherited by the test worker processes

  const images = await ensureHostImage({ onProgress: log });
  log(
    `lab images ready in ${((Date.now() - started) / 1000).toFixed(1)} s: base ${images.base.source} ` +
      `(${(images.base.durationMs / 1000).toFixed(1)} s), ${images.image} ${images.built ? 'built' : 'cached'}`,
  );

  // Thrown when missing, like Docker: without the cache every install would time the mirror.
  const cache = await ensureAptCache({ onProgress: log });
  const fill = await fillAptCache(cache, images.image, LAB_TEST_PACKAGES);
  log(`apt cache holds ${LAB_TEST_PACKAGES.join(' ')} and their dependencies (${(fill.durationMs / 1000).toFixed(1)} s)`);
  return { filledAt: Date.now(), background: buildInBackground() };
}

// Images that only some files need are built while the first files run, with a low CPU share so
// the tests they run beside are not slowed (a cold machine takes 60-200 s for them): the stand-ins the site test ships and the backup host's variant. A file
// that needs one before it is ready waits on the build's lock; a failure is logged here and the
// file's own call builds again and reports it.
function buildInBackground(): Promise<void> {
  const timed = async (what: string, build: () => Promise<{ built: boolean }>) => {
    const started = Date.now();
    try {
      const result = await build();
      if (result.built) log(`${what} built in the background in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    } catch (error) {
      log(`${what}: background build failed (the tests that need it will try again): ${error instanceof Error ? error.message : String(error)}`);
    }
  };
  return Promise.all([
    timed('stand-in images', async () => ({ built: (await ensureStackTestImagesDetailed({ lowPriority: true })).builds.some((build) => build.built) })),
    timed(`host variant with ${BACKUP_LAB_PACKAGES.join(' ')}`, () => ensureHostVariant(BACKUP_LAB_PACKAGES, { lowPriority: true })),
  ]).then(() => undefined);
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

// Removes test fleets whose vitest run (a pid on this machine) has ended without tearing down.
async function reapDeadRuns(): Promise<void> {
  const containers = await containersWithLabel(TEST_PID_LABEL);
  const dead = new Set<string>();
  for (const container of containers) {
    // The run's pid when the fleet came from a vitest run, else the test process's own pid.
    const run = Number((await containerLabel(container, TEST_RUN_LABEL)) ?? (await containerLabel(container, TEST_PID_LABEL)));
    const fleet = await containerLabel(container, 'halyard.lab');
    if (fleet && Number.isInteger(run) && run > 0 && !processAlive(run)) dead.add(fleet);
  }
  for (const fleet of dead) await labDown({ name: fleet });
  if (dead.size > 0) log(`reaped ${dead.size} test fleet(s) of finished runs: ${[...dead].join(', ')}`);
}

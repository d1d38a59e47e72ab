// vitest globalSetup: the Docker engine must answer (a loud failure, never a skip), leftover
// fleets of dead test runs are reaped, and the lab images are built once so test files only
// start containers. Test fleets of this run are removed at teardown.
import { DOCKER_UNREACHABLE_MESSAGE, LabError, ensureDockerEngine, ensureHostImage, labDown } from '../../src/lab/index.js';
import { containerLabel, containersWithLabel } from '../../src/lab/docker.js';
import { processAlive } from '../../src/lab/lock.js';
import { TEST_PID_LABEL, TEST_RUN_ENV, TEST_RUN_LABEL } from './lab.js';

function log(message: string): void {
  process.stderr.write(`[halyard test setup] ${message}\n`);
}

export default async function setup(): Promise<() => Promise<void>> {
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

  return async () => {
    // Fleets a test file forgot to stop (or left by a crashed worker) go with the run.
    const leftovers = await containersWithLabel(`${TEST_RUN_LABEL}=${runId}`);
    const fleets = new Set<string>();
    for (const container of leftovers) {
      const fleet = await containerLabel(container, 'halyard.lab');
      if (fleet) fleets.add(fleet);
    }
    for (const fleet of fleets) await labDown({ name: fleet });
    if (fleets.size > 0) log(`removed ${fleets.size} leftover test fleet(s): ${[...fleets].join(', ')}`);
  };
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

// Everything the e2e tests need on this machine before their first host starts: Docker answering
// (a loud failure, never a skip), fleets of dead test runs reaped, the lab images built, and the
// apt cache started and filled, so test files only start containers and their timings never
// depend on the Debian mirror. Used by the vitest global setup and by `npm run test:prepare`
// (which .ci/run calls as its own timed phase, so a cold machine's builds are not test time).
import { DOCKER_UNREACHABLE_MESSAGE, LabError, ensureAptCache, ensureDockerEngine, ensureHostImage, ensureHostVariant, ensureStackTestImagesDetailed, fillAptCache, labDown } from '../../src/lab/index.js';
import { containerLabel, containersWithLabel } from '../../src/lab/docker.js';
import { processAlive } from '../../src/lab/lock.js';
import { BACKUP_LAB_PACKAGES, LAB_TEST_PACKAGES, SITE_LAB_PACKAGES, TEST_PID_LABEL, TEST_RUN_LABEL } from './lab.js';

// What prepareLab did: when the apt cache was filled, and the builds left running (if any).
export interface PreparedLab {
  filledAt: number;
  background: Promise<void>;
}

// Prepares the machine; `background: true` lets the images only some files need (the stand-ins
// the site test ships, the backup and site hosts' variants) build while the first files run.
export async function prepareLab(options: { log: (message: string) => void; background: boolean }): Promise<PreparedLab> {
  const { log } = options;
  const started = Date.now();
  try {
    const version = await ensureDockerEngine();
    log(`Docker engine ${version} reachable`);
  } catch (error) {
    const detail = error instanceof LabError ? error.message : `${DOCKER_UNREACHABLE_MESSAGE}\n${String(error)}`;
    // Thrown, not skipped: e2e tests without hosts would prove nothing.
    throw new Error(`halyard tests need a running Docker engine.\n${detail}`);
  }

  await reapDeadRuns(log);

  const images = await ensureHostImage({ onProgress: log });
  log(
    `lab images ready in ${((Date.now() - started) / 1000).toFixed(1)} s: base ${images.base.source} ` +
      `(${(images.base.durationMs / 1000).toFixed(1)} s), ${images.image} ${images.built ? 'built' : 'cached'}`,
  );

  // Thrown when missing, like Docker: without the cache every install would time the mirror.
  const cache = await ensureAptCache({ onProgress: log });
  const fill = await fillAptCache(cache, images.image, LAB_TEST_PACKAGES);
  log(`apt cache holds ${LAB_TEST_PACKAGES.join(' ')} and their dependencies (${(fill.durationMs / 1000).toFixed(1)} s)`);
  const filledAt = Date.now();
  const builds = buildImages(log, options.background);
  if (!options.background) await builds;
  return { filledAt, background: builds };
}

// The images only some files need. In the background they get a low CPU share, so the tests they
// run beside are not slowed; a file that needs one before it is ready waits on the build's lock,
// and a failure is logged here while the file's own call builds again and reports it.
function buildImages(log: (message: string) => void, background: boolean): Promise<void> {
  const where = background ? ' in the background' : '';
  const timed = async (what: string, build: () => Promise<{ built: boolean }>) => {
    const started = Date.now();
    try {
      const result = await build();
      log(`${what} ${result.built ? `built${where} in ${((Date.now() - started) / 1000).toFixed(1)} s` : 'cached'}`);
    } catch (error) {
      if (!background) throw error;
      log(`${what}: background build failed (the tests that need it will try again): ${error instanceof Error ? error.message : String(error)}`);
    }
  };
  return Promise.all([
    timed('stand-in images', async () => ({ built: (await ensureStackTestImagesDetailed({ lowPriority: background })).builds.some((build) => build.built) })),
    timed(`host variant with ${BACKUP_LAB_PACKAGES.join(' ')}`, () => ensureHostVariant(BACKUP_LAB_PACKAGES, { lowPriority: background })),
    timed(`host variant with ${SITE_LAB_PACKAGES.join(' ')}`, () => ensureHostVariant(SITE_LAB_PACKAGES, { lowPriority: background })),
  ]).then(() => undefined);
}

// Removes test fleets whose vitest run (a pid on this machine) has ended without tearing down.
async function reapDeadRuns(log: (message: string) => void): Promise<void> {
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

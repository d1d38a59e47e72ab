import { defineConfig } from 'vitest/config';

// Test files that need the Docker engine and lab hosts end in `.e2e.test.ts`; every other file
// runs without Docker (`npm run test:unit`, seconds).
const E2E = 'test/**/*.e2e.test.ts';

// e2e files that install packages or start a whole stack in their hosts. They run one at a time in
// a pool of their own (beside the light files), so two of them never compete for the 2 cores.
// Their measured times and timeouts are written beside each test.
export const HEAVY_E2E = [
  'test/e2e/site.e2e.test.ts',
  'test/e2e/docker-role.e2e.test.ts',
  'test/e2e/halyard-daemon.e2e.test.ts',
  'test/backup/backup-lab.e2e.test.ts',
  'test/lab/stack-images.e2e.test.ts',
];

// Files that need no Docker but start local programs or servers (the AWS emulator, the CLI, sh,
// tar) and wait on real SDK retry backoffs: 1-12 s each, kept out of the seconds-long unit loop.
export const LOCAL = [
  'test/aws/*.test.ts',
  'test/backup/backup-local.test.ts',
  'test/daemon/command-job.test.ts',
  'test/daemon/daemon-cli.test.ts',
  'test/daemon/lease-s3.test.ts',
  'test/inventory/ec2-inventory.test.ts',
  'test/monitor/monitor-apply.test.ts',
  'test/release/pack.test.ts',
  'test/resources/hostile.test.ts',
  'test/resources/http-health.test.ts',
];

// Docker must answer, lab images and the apt cache are made ready once per run (never a skip).
const LAB_SETUP = ['test/support/global-setup.ts'];

export default defineConfig({
  test: {
    // Pools are shared by the projects, so their sizes live here. All pools run at once: two forks
    // (local and light e2e files; Vitest's default leaves one of 2 cores idle), one thread for the
    // heavy files in turn, and one VM thread for the unit files (`npm run test:unit` uses two).
    poolOptions: {
      forks: { maxForks: 2, minForks: 1 },
      threads: { maxThreads: 1, minThreads: 1 },
      vmThreads: { maxThreads: 1, minThreads: 1 },
    },
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts'],
          exclude: [E2E, ...LOCAL],
          // Planners, parsers and tables: VM contexts start faster than a process per file (27 s -> 14 s).
          pool: 'vmThreads',
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: 'local',
          include: LOCAL,
          pool: 'forks',
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: 'e2e',
          include: [E2E],
          exclude: HEAVY_E2E,
          globalSetup: LAB_SETUP,
          pool: 'forks',
          // Light e2e tests take 0.3-15 s each on a busy 2-core machine; longer ones set their own.
          testTimeout: 60_000,
          // A hook starts a fleet (1-10 hosts: 2-20 s busy) or an emulator.
          hookTimeout: 180_000,
        },
      },
      {
        test: {
          name: 'heavy',
          include: HEAVY_E2E,
          globalSetup: LAB_SETUP,
          pool: 'threads',
          poolOptions: { threads: { singleThread: true } },
          // Every heavy test states its own measured budget; this only catches one that forgot.
          testTimeout: 60_000,
          hookTimeout: 300_000,
        },
      },
    ],
  },
});

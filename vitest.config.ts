import { relative } from 'node:path';
import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

// Test files that need the Docker engine and lab hosts end in `.e2e.test.ts`; every other file
// runs without Docker (`npm run test:unit`, seconds).
const E2E = 'test/**/*.e2e.test.ts';

// e2e files that install Debian packages in their hosts or start the whole stack. They run one at
// a time, in this order, in a pool of their own beside the rest, so two of them never compete for
// the 2 cores. The site test goes last: the stand-in images it ships are built in the background
// meanwhile (60-140 s on a cold machine). Budgets are written beside each test.
export const HEAVY_E2E = ['test/e2e/docker-role.e2e.test.ts', 'test/backup/backup-lab.e2e.test.ts', 'test/e2e/site.e2e.test.ts'];

// Vitest's order (slowest and failed files first), except that heavy files keep HEAVY_E2E's order.
class HeavyInOrder extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const rank = (file: TestSpecification) => HEAVY_E2E.indexOf(relative(import.meta.dirname, file.moduleId));
    const heavy = files.filter((file) => rank(file) >= 0).sort((a, b) => rank(a) - rank(b));
    const rest = await super.sort(files.filter((file) => rank(file) < 0));
    return [...heavy, ...rest];
  }
}

// Files that need no Docker but start local programs or servers (the AWS emulator, the CLI, sh,
// tar) and wait on real SDK retry backoffs: 1-12 s each, kept out of the seconds-long unit loop.
export const LOCAL = [
  'test/aws/*.test.ts',
  'test/backup/backup-local.test.ts',
  'test/daemon/command-job.test.ts',
  'test/daemon/daemon-cli.test.ts',
  'test/daemon/drift-local.test.ts',
  'test/daemon/lease-s3.test.ts',
  'test/daemon/lease-check.test.ts',
  'test/daemon/publishing.test.ts',
  'test/inventory/ec2-inventory.test.ts',
  'test/inventory/ini-oracle.test.ts',
  'test/inventory/ansible-oracle.test.ts',
  'test/inventory/pattern-oracle.test.ts',
  'test/inventory/yaml-scalars-oracle.test.ts',
  'test/playbook/tags-oracle.test.ts',
  'test/config/ansible-cfg-oracle.test.ts',
  'test/vault/vault-oracle.test.ts',
  'test/vault/vault-cli.test.ts',
  'test/cli/ask-pass.test.ts',
  'test/cli/check.test.ts',
  'test/cli/startup-modules.test.ts',
  'test/cli/inventory-reading.test.ts',
  'test/core/peak-rss.test.ts',
  'test/playbook/load-cache.test.ts',
  'test/ssh/ssh-config-oracle.test.ts',
  'test/engine/local-connection.test.ts',
  'test/report/sliced-run.test.ts',
  'test/engine/prepare-run.test.ts',
  'test/facts/path-probe-local.test.ts',
  'test/facts/probe-cost-local.test.ts',
  'test/bench/noop-probe.test.ts',
  'test/monitor/monitor-apply.test.ts',
  'test/release/pack.test.ts',
  'test/resources/hostile.test.ts',
  'test/resources/http-health.test.ts',
  'test/resources/compose-check-prediction.test.ts',
  'test/roles/halyard-dashboard.test.ts',
  'test/standby/standby-cli.test.ts',
];

// Docker must answer, lab images and the apt cache are made ready once per run (never a skip).
const LAB_SETUP = ['test/support/global-setup.ts'];

export default defineConfig({
  test: {
    sequence: { sequencer: HeavyInOrder },
    // Pools are shared by the projects, so their sizes live here. Both pools run at once: two forks
    // (unit, local and light e2e files, one project after another; Vitest's default leaves one of 2
    // cores idle) and one thread for the heavy files in turn.
    // `isolate: false` here, not in a project, is what lets a fork run file after file: with it in
    // the projects alone every local and e2e file got a process of its own (60 per run, measured
    // with one pid log per file on Dec 6); six local files took 10.5 CPU-s that way, 7.6 with it.
    poolOptions: {
      forks: { maxForks: 2, minForks: 1, isolate: false },
      threads: { maxThreads: 1, minThreads: 1 },
    },
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts'],
          exclude: [E2E, ...LOCAL],
          // Planners, parsers and tables, in the forks that run file after file with their modules
          // loaded (poolOptions): alone 40.8 CPU-s against 54.5 in a VM context per file (Dec 7).
          pool: 'forks',
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: 'local',
          include: LOCAL,
          pool: 'forks',
          // Each fork keeps its loaded modules from file to file (no file mocks modules); see poolOptions.
          isolate: false,
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
          // As for local: the suite's 2 cores are saturated throughout, so CPU saved is wall time saved.
          isolate: false,
          // Every e2e test sets its own budget (busyBudget); this only catches one that forgot.
          testTimeout: 60_000,
          // Hooks start fleets (1-10 hosts: 2-20 s busy) and may wait for the stand-in images the
          // global setup builds (137 s busy on a cold machine, measured with ci-under-load.sh).
          hookTimeout: 300_000,
        },
      },
      {
        test: {
          name: 'heavy',
          include: HEAVY_E2E,
          globalSetup: LAB_SETUP,
          pool: 'threads',
          // One thread that keeps its modules between the three files: under stress-ng, loading a
          // file's module graph again took 14-17 s between files on the suite's critical path.
          poolOptions: { threads: { singleThread: true, isolate: false } },
          // Every e2e test sets its own budget (busyBudget); this only catches one that forgot.
          testTimeout: 60_000,
          // Hooks start systemd hosts and may wait for the images the global setup builds (stand-ins
          // 137 s busy on a cold machine; the backup host's variant 33 s quiet).
          hookTimeout: 300_000,
        },
      },
    ],
  },
});

// Test helper: one lab fleet per test file, started in beforeAll and stopped in afterAll.
import { labDown, labUp, type LabFleet } from '../../src/lab/index.js';
import { docker, imageId } from '../../src/lab/docker.js';

// Label holding the pid of the vitest run that started a fleet (the global setup reaps dead runs).
export const TEST_RUN_LABEL = 'halyard.lab.test-run';

// Label holding the pid of the test worker process that started a fleet.
export const TEST_PID_LABEL = 'halyard.lab.test-pid';

// Environment variable carrying that run id from the global setup to test workers.
export const TEST_RUN_ENV = 'HALYARD_LAB_TEST_RUN';

// Debian packages tests install in lab hosts (the docker role, backups, the resources playbook,
// curl removed by hand and reinstalled) and in the stand-in image (nginx, postgresql,
// node-exporter): the global setup downloads them into the apt cache once, so installs cost dpkg
// time only. The setup's teardown names any package file fetched later.
export const LAB_TEST_PACKAGES = ['docker.io', 'docker-compose', 'postgresql', 'zstd', 'tree', 'curl', 'nginx', 'prometheus-node-exporter', 'wget'];

// Packages the backup lab host starts with (a host image variant, built once per machine): the
// backup tests are about backups, not about installing Docker and Postgres.
export const BACKUP_LAB_PACKAGES = ['docker.io', 'postgresql', 'zstd'];

// Packages the site test's host starts with: the docker role's own packages, so the site test times
// the stack, not dpkg (docker-role.e2e.test.ts installs them from scratch; 26-33 s quiet, about
// twice that busy).
export const SITE_LAB_PACKAGES = ['docker-compose', 'docker.io'];

// A started test fleet and the function that removes it.
export interface TestFleet extends LabFleet {
  stop(): Promise<void>;
}

// Starts `count` hosts named `hy-test-<prefix>-<pid>-<i>`, unique per test file and worker
// (two fleets in one file need two prefixes: a second fleet of the same name replaces the first).
// Fleets are labelled with the worker pid and the vitest run, so leftovers are reaped.
// Usage: let fleet: TestFleet; beforeAll(async () => { fleet = await startTestFleet({ count: 2, prefix: 'ssh' }) });
//        afterAll(() => fleet?.stop());
export async function startTestFleet(options: { count: number; systemd?: boolean; prefix: string; packages?: string[] }): Promise<TestFleet> {
  const prefix = options.prefix.replace(/[^a-zA-Z0-9_.-]/g, '-').slice(0, 30);
  const name = `hy-test-${prefix}-${process.pid}`;
  const labels: Record<string, string> = { [TEST_PID_LABEL]: String(process.pid) };
  const runId = process.env[TEST_RUN_ENV];
  if (runId) labels[TEST_RUN_LABEL] = runId;
  const fleet = await labUp({
    count: options.count,
    systemd: options.systemd ?? false,
    name,
    labels,
    aptCache: 'require',
    ...(options.packages ? { packages: options.packages } : {}),
  });
  let stopped = false;
  return {
    ...fleet,
    async stop() {
      if (stopped) return;
      stopped = true;
      await labDown({ name });
    },
  };
}

// Runs `importImage` (a `docker import` under `ref`, a new image ID each time) and removes the image
// `ref` named before, so test images do not pile up untagged on the controller run after run.
export async function reimportImage(ref: string, importImage: () => void): Promise<void> {
  const previous = await imageId(ref).catch(() => undefined);
  importImage();
  // Still tagged elsewhere or used by a container: docker refuses, and the image stays.
  if (previous !== undefined && previous !== (await imageId(ref))) await docker(['image', 'rm', previous]);
}

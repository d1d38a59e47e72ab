import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  LAB_LABEL,
  containerLabel,
  containerLogsTail,
  containerRunning,
  containersWithLabel,
  docker,
  dockerChecked,
  ensureDockerEngine,
  publishedSshPort,
  volumesWithLabel,
} from './docker.js';
import { aptCacheRunArgs, labAptCache, type AptCache } from './apt-cache.js';
import { LabError } from './errors.js';
import { LAB_USER, ensureHostImage } from './host-image.js';
import { ensureHostVariant } from './host-variant.js';
import { readHostKeys } from './host-keys.js';
import { forgetLabRoute, rememberLabRoutes } from './host-shell.js';
import { renderKnownHosts, renderLabInventory } from './inventory.js';
import { ensureLabKey } from './keys.js';
import { fleetDir } from './paths.js';
import { mapLimit } from '../core/map-limit.js';
import type { LabDownOptions, LabDownResult, LabFleet, LabHost, LabUpOptions } from './types.js';
import { waitForSshBanner, waitForSystemd } from './wait.js';

// The fleet name used when none is given.
export const DEFAULT_FLEET_NAME = 'halyard-lab';

// Containers started (and waited for) at once: enough to overlap Docker's latency, few enough for 2 cores.
export const START_CONCURRENCY = 8;

// Label recording the variant, so helpers know whether PID 1 is systemd.
export const VARIANT_LABEL = 'halyard.lab.variant';

// Capabilities a systemd host needs; measured: --privileged and SYS_RESOURCE/PERFMON/BPF/CHECKPOINT_RESTORE fail here.
export const SYSTEMD_CAPS = [
  'SYS_ADMIN',
  'NET_ADMIN',
  'SYS_PTRACE',
  'MKNOD',
  'SYS_MODULE',
  'SYS_RAWIO',
  'SYS_TIME',
  'SYSLOG',
  'AUDIT_CONTROL',
  'LINUX_IMMUTABLE',
  'IPC_LOCK',
  'SYS_NICE',
  'NET_BROADCAST',
  'MAC_ADMIN',
  'AUDIT_READ',
] as const;

// Fleet names become container and volume names, so they follow Docker's name rules.
export function validateFleetName(name: string): void {
  if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$/.test(name)) {
    throw new LabError('E_LAB_BAD_INPUT', `invalid lab name ${JSON.stringify(name)}: use letters, digits, '.', '_' or '-'`);
  }
}

// The `docker run` argv for one host (pure, so tests can assert the exact flags).
export function dockerRunArgs(spec: {
  container: string;
  fleet: string;
  image: string;
  systemd: boolean;
  labels?: Record<string, string>;
  aptCache?: AptCache;
}): string[] {
  const args = ['run', '-d', '--name', spec.container, '--hostname', spec.container];
  args.push('--label', `${LAB_LABEL}=${spec.fleet}`, '--label', `${VARIANT_LABEL}=${spec.systemd ? 'systemd' : 'plain'}`);
  for (const [key, value] of Object.entries(spec.labels ?? {})) args.push('--label', `${key}=${value}`);
  args.push('-p', '127.0.0.1::22');
  if (spec.aptCache) args.push(...aptCacheRunArgs(spec.aptCache));
  if (spec.systemd) {
    for (const cap of SYSTEMD_CAPS) args.push('--cap-add', cap);
    args.push('--security-opt', 'seccomp=unconfined', '--security-opt', 'apparmor=unconfined');
    args.push('--cgroupns', 'host', '-v', '/sys/fs/cgroup:/sys/fs/cgroup:rw');
    args.push('--tmpfs', '/run', '--tmpfs', '/run/lock');
    args.push('-v', `${dockerVolumeName(spec.container)}:/var/lib/docker`);
    args.push('--stop-signal', 'SIGRTMIN+3');
    args.push(spec.image, '/sbin/init');
  } else {
    args.push(spec.image);
  }
  return args;
}

// The named volume holding /var/lib/docker of a systemd host (overlay on overlay fails).
export function dockerVolumeName(container: string): string {
  return `${container}-docker`;
}

// Starts `count` hosts named `<name>-<i>` (replacing any fleet of that name), waits until every
// sshd answers, and writes `<state dir>/<name>/inventory.yml` and `known_hosts`.
export async function labUp(options: LabUpOptions): Promise<LabFleet> {
  const name = options.name ?? DEFAULT_FLEET_NAME;
  const systemd = options.systemd ?? false;
  const say = options.onProgress ?? (() => {});
  validateFleetName(name);
  if (!Number.isInteger(options.count) || options.count < 1 || options.count > 100) {
    throw new LabError('E_LAB_BAD_INPUT', `host count must be an integer from 1 to 100, got ${options.count}`);
  }
  await ensureDockerEngine();
  const { image } = options.packages?.length ? await ensureHostVariant(options.packages, { onProgress: say }) : await ensureHostImage({ onProgress: say });
  const key = await ensureLabKey();
  const aptCache = await labAptCache(options.aptCache ?? 'auto', say);
  const containers = Array.from({ length: options.count }, (_, i) => `${name}-${i + 1}`);
  await labDown({ name, onProgress: say });
  await removeByName(containers); // a same-named container outside the fleet would block docker run

  const readyTimeoutMs = options.readyTimeoutMs ?? (systemd ? 180_000 : 120_000);
  say(`starting ${containers.length} ${systemd ? 'systemd' : 'sshd'} host(s) for ${name}`);
  const started = Date.now();
  try {
    const hosts = await mapLimit(containers, START_CONCURRENCY, async (container): Promise<LabHost> => {
      if (systemd) {
        await dockerChecked(['volume', 'create', '--label', `${LAB_LABEL}=${name}`, dockerVolumeName(container)]);
      }
      await dockerChecked(dockerRunArgs({ container, fleet: name, image, systemd, labels: options.labels, aptCache }), {
        timeoutMs: 120_000,
      });
      const port = await publishedSshPort(container);
      await waitUntilReady(container, port, systemd, readyTimeoutMs);
      say(`${container} answers SSH on 127.0.0.1:${port} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
      return { name: container, container, address: '127.0.0.1', port };
    });
    say(`all ${hosts.length} host(s) answer SSH`);
    const dir = fleetDir(name);
    await mkdir(dir, { recursive: true });
    const fleet: LabFleet = {
      name,
      hosts,
      user: LAB_USER,
      keyFile: key.privateKeyFile,
      inventoryPath: join(dir, 'inventory.yml'),
      knownHostsFile: join(dir, 'known_hosts'),
      systemd,
      image,
    };
    const keys = await mapLimit(hosts, START_CONCURRENCY, (h) => readHostKeys(h.container));
    await writeFleetFiles(fleet, renderKnownHosts(hosts.map((h, i) => ({ address: h.address, port: h.port, keys: keys[i] ?? [] }))));
    rememberLabRoutes(fleet);
    return fleet;
  } catch (error) {
    await labDown({ name }).catch(() => {});
    throw error;
  }
}

// Removes one fleet's containers, volumes and files, or (all) every halyard lab container.
export async function labDown(options: LabDownOptions): Promise<LabDownResult> {
  if (!options.all && !options.name) throw new LabError('E_LAB_BAD_INPUT', 'labDown needs a name or all: true');
  if (options.name) validateFleetName(options.name);
  await ensureDockerEngine();
  const filter = options.all ? LAB_LABEL : `${LAB_LABEL}=${options.name}`;
  const containers = await containersWithLabel(filter);
  for (const container of containers) forgetLabRoute(container);
  const fleets = new Set<string>(options.name ? [options.name] : []);
  if (options.all) {
    for (const container of containers) {
      const fleet = await containerLabel(container, LAB_LABEL);
      if (fleet) fleets.add(fleet);
    }
  }
  if (containers.length > 0) {
    options.onProgress?.(`removing ${containers.length} container(s)`);
    for (let i = 0; i < containers.length; i += 50) {
      await dockerChecked(['rm', '-f', '-v', ...containers.slice(i, i + 50)], { timeoutMs: 180_000 });
    }
  }
  const volumes = await volumesWithLabel(filter);
  if (volumes.length > 0) await dockerChecked(['volume', 'rm', '-f', ...volumes], { timeoutMs: 180_000 });
  for (const fleet of fleets) if (validName(fleet)) await rm(fleetDir(fleet), { recursive: true, force: true });
  return { containers, volumes };
}

// Reads a fleet back from the files labUp wrote (for helpers and for tests that reattach).
export async function readFleet(name: string): Promise<LabFleet | undefined> {
  validateFleetName(name);
  const text = await readFile(join(fleetDir(name), 'fleet.json'), 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  const fleet = JSON.parse(text) as LabFleet;
  rememberLabRoutes(fleet);
  return fleet;
}

// Writes inventory.yml, known_hosts and fleet.json atomically (temp file + rename).
export async function writeFleetFiles(fleet: LabFleet, knownHosts: string): Promise<void> {
  await writeAtomic(fleet.inventoryPath, renderLabInventory(fleet));
  await writeAtomic(fleet.knownHostsFile, knownHosts);
  await writeAtomic(join(fleetDir(fleet.name), 'fleet.json'), `${JSON.stringify(fleet, null, 2)}\n`);
}

// Waits for systemd (when PID 1 is systemd) and then for the SSH banner; adds the container's log tail on failure.
export async function waitUntilReady(container: string, port: number, systemd: boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  try {
    if (systemd) await waitForSystemd(container, { timeoutMs });
    await waitForSshBanner(port, {
      timeoutMs: Math.max(1_000, deadline - Date.now()),
      isAlive: () => containerRunning(container),
    });
  } catch (error) {
    const logs = await containerLogsTail(container).catch(() => '');
    const message = error instanceof Error ? error.message : String(error);
    throw new LabError('E_LAB_TIMEOUT', `${container}: ${message}${logs ? `\ncontainer log tail:\n${logs}` : ''}`, { cause: error });
  }
}

async function removeByName(containers: readonly string[]): Promise<void> {
  for (let i = 0; i < containers.length; i += 50) {
    // Exit status ignored: most names do not exist, which docker reports as an error.
    await docker(['rm', '-f', '-v', ...containers.slice(i, i + 50)], { timeoutMs: 180_000 });
  }
}

function validName(name: string): boolean {
  try {
    validateFleetName(name);
    return true;
  } catch {
    return false;
  }
}

async function writeAtomic(path: string, text: string): Promise<void> {
  const temp = `${path}.tmp-${process.pid}`;
  await writeFile(temp, text);
  await rename(temp, path);
}

import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { containerLogsTail, containerRunning, containersWithLabel, docker, dockerChecked, ensureDockerEngine } from './docker.js';
import { LabError } from './errors.js';
import { ensureHostImage } from './host-image.js';
import { readHostKeys } from './host-keys.js';
import { renderKnownHosts } from './inventory.js';
import { ensureLabKey } from './keys.js';
import { fleetDir } from './paths.js';
import { readSshBanner, sleep } from './wait.js';

// A simulated large fleet for scale tests: one container from the lab host image, on the host's
// network, running one sshd per endpoint (127.0.0.1:PORT, each with its own MaxStartups and
// AllowUsers) and one Unix user per endpoint (sim0001, sim0002, ...), each with its own home, so
// each inventory host has its own non-become halyard lock (~LOGIN/.halyard/lock-<host>): 1000
// endpoints cost one container and ~1.3 MB of private memory per sshd instead of 1000 containers.

// Label every sim container carries; its value is the sim fleet's name.
export const SIM_LABEL = 'halyard.sim';

// Sim container names start with this (`halyard-sim-<name>`).
export const SIM_CONTAINER_PREFIX = 'halyard-sim';

// First port by default: below Linux's ephemeral range (32768-60999), so no client socket of the
// machine can hold a port before its sshd binds it, and Docker's published ports never land there.
export const SIM_DEFAULT_BASE_PORT = 30000;

// Most endpoints one sim fleet runs (the issue's largest size; every sshd is one more process).
export const SIM_MAX_ENDPOINTS = 1000;

// Endpoint i logs in as uid SIM_UID_BASE + i (far above the lab image's own users).
export const SIM_UID_BASE = 20000;

// The default sim fleet name.
export const DEFAULT_SIM_NAME = 'bench';

// One endpoint: an inventory host of its own (its port, its user, its home).
export interface SimEndpoint {
  /** Inventory name, same as the login user: `sim0001`. */
  name: string;
  user: string;
  address: '127.0.0.1';
  port: number;
}

// A running sim fleet and the files that describe it.
export interface SimFleet {
  name: string;
  container: string;
  image: string;
  endpoints: SimEndpoint[];
  /** The lab's ed25519 private key, in every sim user's authorized_keys. */
  keyFile: string;
  /** known_hosts lines (`[127.0.0.1]:PORT type key`) for every endpoint. */
  knownHostsFile: string;
  /** Where simInventory files are written. */
  dir: string;
}

// Options of simUp.
export interface SimUpOptions {
  /** Endpoints, 1 to SIM_MAX_ENDPOINTS. */
  count: number;
  /** Endpoint i (from 1) listens on basePort + i - 1; default SIM_DEFAULT_BASE_PORT. */
  basePort?: number;
  /** Container `halyard-sim-<name>`; default `bench`. */
  name?: string;
  /** Give up when no more sshd has started listening for this long; default 60 s. */
  stallTimeoutMs?: number;
  onProgress?: (message: string) => void;
}

// The name of endpoint `index` (from 1): host and user alike.
export function simUserName(index: number): string {
  return `sim${String(index).padStart(4, '0')}`;
}

// The endpoints of a sim fleet of `count`, from `basePort` (pure: tests and inventories use it).
export function simEndpoints(count: number, basePort: number = SIM_DEFAULT_BASE_PORT): SimEndpoint[] {
  checkSimSize(count, basePort);
  return Array.from({ length: count }, (_, i) => ({ name: simUserName(i + 1), user: simUserName(i + 1), address: '127.0.0.1', port: basePort + i }));
}

// Refuses sizes and port ranges a sim fleet cannot have, in one line naming the fix.
export function checkSimSize(count: number, basePort: number): void {
  if (!Number.isInteger(count) || count < 1 || count > SIM_MAX_ENDPOINTS) {
    throw new LabError('E_LAB_BAD_INPUT', `sim endpoint count must be a whole number from 1 to ${SIM_MAX_ENDPOINTS}, got ${count}`);
  }
  if (!Number.isInteger(basePort) || basePort < 1024 || basePort + count - 1 > 65535) {
    throw new LabError('E_LAB_BAD_INPUT', `sim ports ${basePort}-${basePort + count - 1} are not unprivileged TCP ports; pick a base port from 1024 to ${65536 - count}`);
  }
}

// Container names follow Docker's rules and start with halyard-sim.
export function simContainerName(name: string): string {
  if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,40}$/.test(name)) {
    throw new LabError('E_LAB_BAD_INPUT', `invalid sim fleet name ${JSON.stringify(name)}: use letters, digits, '.', '_' or '-'`);
  }
  return `${SIM_CONTAINER_PREFIX}-${name}`;
}

// The container's entry script (run by `sh -c`, inputs from SIM_COUNT, SIM_BASE_PORT and SIM_UID_BASE):
// host keys once, the users written straight into passwd/group/shadow (useradd takes ~20 ms each),
// a home with the lab key per user, then one sshd per endpoint allowing only its user. sshd logs
// on stderr (`docker logs`), so MaxStartups drops ("past MaxStartups") can be counted.
export const SIM_START_SCRIPT = `set -eu
mkdir -p -m 0755 /run/sshd
/usr/local/sbin/halyard-lab-hostkeys
keys=/home/halyard/.ssh/authorized_keys
i=1
while [ "$i" -le "$SIM_COUNT" ]; do
  name=$(printf 'sim%04d' "$i"); uid=$((SIM_UID_BASE + i))
  printf '%s:x:%s:%s::/home/%s:/bin/bash\\n' "$name" "$uid" "$uid" "$name" >> /etc/passwd
  printf '%s:x:%s:\\n' "$name" "$uid" >> /etc/group
  printf '%s:*:19000:0:99999:7:::\\n' "$name" >> /etc/shadow
  install -d -m 0700 -o "$uid" -g "$uid" "/home/$name" "/home/$name/.ssh"
  install -m 0600 -o "$uid" -g "$uid" "$keys" "/home/$name/.ssh/authorized_keys"
  i=$((i + 1))
done
i=1
while [ "$i" -le "$SIM_COUNT" ]; do
  name=$(printf 'sim%04d' "$i"); port=$((SIM_BASE_PORT + i - 1))
  /usr/sbin/sshd -D -e -p "$port" -o ListenAddress=127.0.0.1 -o "PidFile=/run/sshd/$port.pid" -o "AllowUsers=$name" &
  i=$((i + 1))
done
echo "halyard-sim: $SIM_COUNT sshd started"
wait
`;

// The \`docker run\` argv of a sim container (pure, so tests assert the exact flags): the host's
// network (its sshds listen on 127.0.0.1 only), tini as PID 1, the lab host image.
export function simDockerRunArgs(spec: { container: string; name: string; image: string; count: number; basePort: number }): string[] {
  return [
    'run', '-d', '--init', '--name', spec.container, '--network', 'host',
    '--label', `${SIM_LABEL}=${spec.name}`,
    '-e', `SIM_COUNT=${spec.count}`, '-e', `SIM_BASE_PORT=${spec.basePort}`, '-e', `SIM_UID_BASE=${SIM_UID_BASE}`,
    '--entrypoint', '/bin/sh', spec.image, '-c', SIM_START_SCRIPT,
  ];
}

// An Ansible-shaped YAML inventory of endpoints: each its own port and user, the lab key, no become.
export function renderSimInventory(endpoints: readonly SimEndpoint[], keyFile: string, fleetName: string): string {
  const hosts: Record<string, Record<string, unknown>> = {};
  for (const endpoint of endpoints) {
    hosts[endpoint.name] = {
      ansible_host: endpoint.address,
      ansible_port: endpoint.port,
      ansible_user: endpoint.user,
    };
  }
  const document = { all: { hosts, vars: { ansible_ssh_private_key_file: keyFile, ansible_become: false, halyard_sim: fleetName } } };
  return `# Generated by halyard src/lab/sim-fleet.ts for sim fleet ${fleetName} (${endpoints.length} endpoints).\n${stringify(document)}`;
}

// known_hosts lines for every endpoint: all of a container's sshds share its host keys.
export function renderSimKnownHosts(endpoints: readonly SimEndpoint[], hostKeys: readonly string[]): string {
  return renderKnownHosts(endpoints.map((endpoint) => ({ address: endpoint.address, port: endpoint.port, keys: hostKeys })));
}

// Ports listening on 127.0.0.1 (or every IPv4 address) in /proc/net/tcp's text.
export function listeningLoopbackPorts(procNetTcp: string): Set<number> {
  const ports = new Set<number>();
  for (const line of procNetTcp.split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    const local = fields[1];
    if (fields[3] !== '0A' || !local) continue;
    const [address, portHex] = local.split(':');
    if ((address === '0100007F' || address === '00000000') && portHex) ports.add(Number.parseInt(portHex, 16));
  }
  return ports;
}

// The ports of `ports` that cannot be bound on 127.0.0.1 now (something else holds them).
export async function busyPorts(ports: readonly number[]): Promise<number[]> {
  const busy: number[] = [];
  for (const port of ports) {
    const free = await new Promise<boolean>((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(false));
      server.listen({ host: '127.0.0.1', port, exclusive: true }, () => server.close(() => resolve(true)));
    });
    if (!free) busy.push(port);
  }
  return busy;
}

// Starts a sim fleet of `count` endpoints (replacing one of that name), waits until every sshd
// listens and answers, and writes known_hosts; simInventory writes inventories of any prefix.
export async function simUp(options: SimUpOptions): Promise<SimFleet> {
  const name = options.name ?? DEFAULT_SIM_NAME;
  const container = simContainerName(name);
  const basePort = options.basePort ?? SIM_DEFAULT_BASE_PORT;
  const say = options.onProgress ?? (() => {});
  const endpoints = simEndpoints(options.count, basePort);
  await ensureDockerEngine();
  await simDown(name);
  const taken = await busyPorts(endpoints.map((endpoint) => endpoint.port));
  if (taken.length > 0) {
    throw new LabError('E_LAB_BAD_INPUT', `sim ports already in use on 127.0.0.1: ${taken.slice(0, 5).join(', ')}${taken.length > 5 ? ` and ${taken.length - 5} more` : ''}; pick another base port`);
  }
  const { image } = await ensureHostImage({ onProgress: say });
  const key = await ensureLabKey();
  const dir = fleetDir(container);
  await mkdir(dir, { recursive: true });
  const started = Date.now();
  say(`starting ${container}: ${endpoints.length} sshd on 127.0.0.1:${basePort}-${basePort + endpoints.length - 1}`);
  try {
    await dockerChecked(simDockerRunArgs({ container, name, image, count: endpoints.length, basePort }), { timeoutMs: 120_000 });
    await waitForListeners(container, endpoints, options.stallTimeoutMs ?? 60_000);
    // Listening is not answering: the first and last sshd must send their banners.
    for (const endpoint of [endpoints[0], endpoints[endpoints.length - 1]]) {
      if (endpoint && !(await readSshBanner(endpoint.address, endpoint.port, 10_000))) {
        throw await notReady(container, `sshd on 127.0.0.1:${endpoint.port} listens but sends no SSH banner`);
      }
    }
    say(`${endpoints.length} sshd answer (${((Date.now() - started) / 1000).toFixed(1)} s)`);
    const fleet: SimFleet = { name, container, image, endpoints, keyFile: key.privateKeyFile, knownHostsFile: join(dir, 'known_hosts'), dir };
    await writeAtomic(fleet.knownHostsFile, renderSimKnownHosts(endpoints, await readHostKeys(container)));
    await writeAtomic(join(dir, 'fleet.json'), `${JSON.stringify(fleet, null, 2)}\n`);
    return fleet;
  } catch (error) {
    await simDown(name).catch(() => {});
    throw error;
  }
}

// The sim fleet of that name when its container is running (as simUp left it), else undefined.
export async function readSimFleet(name: string = DEFAULT_SIM_NAME): Promise<SimFleet | undefined> {
  const container = simContainerName(name);
  const text = await readFile(join(fleetDir(container), 'fleet.json'), 'utf8').catch(() => undefined);
  if (text === undefined || !(await containerRunning(container))) return undefined;
  return JSON.parse(text) as SimFleet;
}

// Writes the inventory of `count` endpoints of a sim fleet from endpoint `first` (0-based); returns its path.
export async function simInventory(fleet: SimFleet, count: number = fleet.endpoints.length, first = 0): Promise<string> {
  if (!Number.isInteger(count) || !Number.isInteger(first) || count < 1 || first < 0 || first + count > fleet.endpoints.length) {
    throw new LabError('E_LAB_BAD_INPUT', `sim fleet ${fleet.name} has ${fleet.endpoints.length} endpoints; asked for ${count} from #${first + 1}`);
  }
  const path = join(fleet.dir, first === 0 ? `inventory-${count}.yml` : `inventory-${first + 1}-${first + count}.yml`);
  await writeAtomic(path, renderSimInventory(fleet.endpoints.slice(first, first + count), fleet.keyFile, fleet.name));
  return path;
}

// Removes a sim fleet's container and files (or, with no name, every sim container); returns the containers removed.
export async function simDown(name?: string): Promise<string[]> {
  await ensureDockerEngine();
  const containers = await containersWithLabel(name === undefined ? SIM_LABEL : `${SIM_LABEL}=${name}`);
  if (name !== undefined) {
    // A same-named container outside the label would block docker run; its name is ours (halyard-sim-*).
    const byName = simContainerName(name);
    if (!containers.includes(byName) && (await docker(['inspect', '--format', '{{.Id}}', byName])).exitCode === 0) containers.push(byName);
  }
  if (containers.length > 0) await dockerChecked(['rm', '-f', ...containers], { timeoutMs: 180_000 });
  for (const container of containers) if (container.startsWith(`${SIM_CONTAINER_PREFIX}-`)) await rm(fleetDir(container), { recursive: true, force: true });
  return containers;
}

// What a sim fleet's sshds hold: how many run, and their proportional and private memory (MB),
// read from /proc/PID/smaps_rollup inside the container (listeners and any connection children).
export async function simMemory(fleet: SimFleet): Promise<{ sshd: number; pssMb: number; privateMb: number }> {
  const result = await dockerChecked(
    ['exec', fleet.container, 'sh', '-c', 'for p in $(pgrep -x sshd); do grep -E "^(Pss|Private_Clean|Private_Dirty):" /proc/$p/smaps_rollup 2>/dev/null; echo .; done'],
    { timeoutMs: 60_000 },
  );
  return parseSmapsTotals(result.stdout);
}

// Sums `Pss:` and `Private_*:` lines (kB) of smaps_rollup blocks ended by `.` lines.
export function parseSmapsTotals(text: string): { sshd: number; pssMb: number; privateMb: number } {
  let sshd = 0;
  let pss = 0;
  let own = 0;
  for (const line of text.split('\n')) {
    const match = /^(Pss|Private_Clean|Private_Dirty):\s+(\d+) kB/.exec(line);
    if (line.trim() === '.') sshd += 1;
    else if (match?.[1] === 'Pss') pss += Number(match[2]);
    else if (match) own += Number(match[2]);
  }
  return { sshd, pssMb: pss / 1024, privateMb: own / 1024 };
}

// Counts sshd's "past MaxStartups" drops in the container's log since `since` (docker logs --since).
export async function simMaxStartupsDrops(fleet: SimFleet, since: Date): Promise<number> {
  const result = await docker(['logs', '--since', since.toISOString(), fleet.container], { timeoutMs: 60_000, maxBufferBytes: 64 * 1024 * 1024 });
  return `${result.stdout}\n${result.stderr}`.split('\n').filter((line) => line.includes('past MaxStartups')).length;
}

// Waits until every endpoint's sshd listens. Starting 1000 sshd takes 50 s on an idle 2-core
// machine and over 3 min on a busy one, so the wait ends only when no new sshd has listened for
// `stallMs` (or the container stopped).
async function waitForListeners(container: string, endpoints: readonly SimEndpoint[], stallMs: number): Promise<void> {
  const wanted = endpoints.map((endpoint) => endpoint.port);
  let listened = -1;
  let lastProgress = Date.now();
  for (let round = 0; ; round++) {
    const listening = listeningLoopbackPorts(await readFile('/proc/net/tcp', 'utf8'));
    const missing = wanted.filter((port) => !listening.has(port));
    if (missing.length === 0) return;
    if (wanted.length - missing.length > listened) {
      listened = wanted.length - missing.length;
      lastProgress = Date.now();
    }
    if (round % 10 === 9 && !(await containerRunning(container))) throw await notReady(container, 'the container stopped before its sshds listened');
    if (Date.now() - lastProgress >= stallMs) {
      throw await notReady(container, `${missing.length} of ${wanted.length} sshd not listening, none more for ${Math.round(stallMs / 1000)} s (first missing: 127.0.0.1:${missing[0]})`);
    }
    await sleep(250);
  }
}

// The error for a sim container that is not ready, with the tail of its log.
async function notReady(container: string, problem: string): Promise<LabError> {
  const logs = await containerLogsTail(container).catch(() => '');
  return new LabError('E_LAB_TIMEOUT', `${container}: ${problem}${logs ? `\ncontainer log tail:\n${logs}` : ''}`);
}

async function writeAtomic(path: string, text: string): Promise<void> {
  const temp = `${path}.tmp-${process.pid}`;
  await writeFile(temp, text);
  await rename(temp, path);
}

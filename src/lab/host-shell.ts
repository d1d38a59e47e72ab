import { readFile } from 'node:fs/promises';
import { connect as netConnect, type Socket } from 'node:net';
import { Client, type ClientChannel } from 'ssh2';
import { sh } from '../core/shell.js';
import { checkHostKey, parseKnownHosts } from '../ssh/known-hosts.js';
import { Semaphore } from '../ssh/semaphore.js';
import { BoundedBuffer, type RunResult } from './process.js';
import type { LabFleet } from './types.js';

// Where a lab host's sshd answers and how to log in: what labUp knows about each container it started.
interface LabRoute {
  address: string;
  port: number;
  user: string;
  keyFile: string;
  knownHostsFile: string;
}

// One kept connection to a lab host; the socket holds the process open only while a command runs.
interface LabConnection {
  client: Client;
  socket: Socket;
  channels: Semaphore;
  running: number;
  closed: boolean;
}

// Channels at once per connection: under OpenSSH's default MaxSessions (10).
const CHANNELS_PER_CONNECTION = 8;
const CONNECT_TIMEOUT_MS = 20_000;
const MAX_OUTPUT_BYTES = 4 * 1024 * 1024;

const routes = new Map<string, LabRoute>();
const connections = new Map<string, Promise<LabConnection | undefined>>();

// Records how to reach each host of a fleet this process started or read, so labExec can use SSH.
export function rememberLabRoutes(fleet: LabFleet): void {
  for (const host of fleet.hosts) {
    const route = { address: host.address, port: host.port, user: fleet.user, keyFile: fleet.keyFile, knownHostsFile: fleet.knownHostsFile };
    const known = routes.get(host.container);
    if (known && known.port === route.port && known.knownHostsFile === route.knownHostsFile) continue;
    forgetLabRoute(host.container);
    routes.set(host.container, route);
  }
}

// Forgets a host (removed, stopped, or reachable on another port) and closes its kept connection.
export function forgetLabRoute(container: string): void {
  routes.delete(container);
  closeLabConnection(container);
}

// Closes a host's kept connection, so the next command connects anew and checks its host key again.
export function closeLabConnection(container: string): void {
  const connection = connections.get(container);
  connections.delete(container);
  void connection?.then((open) => open && closeConnection(open));
}

// Runs a script as root (or `user`) in a lab host over its kept SSH connection, through the lab
// user's passwordless sudo. Resolves undefined when the host has no route or cannot be reached
// before the script started (the caller falls back to `docker exec`); once started, a lost
// connection is the script's result (exit code null), never a second run.
export async function execOverSsh(
  container: string,
  script: string,
  options: { user?: string; timeoutMs?: number; input?: string } = {},
): Promise<RunResult | undefined> {
  const connection = await connectionFor(container);
  if (!connection) return undefined;
  const release = await connection.channels.acquire();
  // The socket holds the process open from the channel's opening to its close.
  if (connection.running++ === 0) connection.socket.ref();
  try {
    const started = Date.now();
    const command = sh`cd / && exec sudo -n ${options.user === undefined ? [] : ['-u', options.user]} -- sh -c ${script}`.text;
    const channel = await openChannel(connection, command);
    if (!channel) return undefined;
    return await collect(channel, options.input, options.timeoutMs ?? 120_000, started);
  } finally {
    if (--connection.running === 0) connection.socket.unref();
    release();
  }
}

// The kept connection of a container, opened on first use; undefined when it has no route or fails to open.
function connectionFor(container: string): Promise<LabConnection | undefined> {
  const route = routes.get(container);
  if (!route) return Promise.resolve(undefined);
  const existing = connections.get(container);
  if (existing) return existing;
  const opening = openConnection(route);
  connections.set(container, opening);
  void opening.then((open) => {
    if (!open && connections.get(container) === opening) connections.delete(container);
    open?.client.on('close', () => {
      open.closed = true;
      if (connections.get(container) === opening) connections.delete(container);
    });
  });
  return opening;
}

// Opens and authenticates one connection, accepting only a host key the fleet's known_hosts names.
async function openConnection(route: LabRoute): Promise<LabConnection | undefined> {
  let privateKey: Buffer;
  let knownHosts: string;
  try {
    [privateKey, knownHosts] = await Promise.all([readFile(route.keyFile), readFile(route.knownHostsFile, 'utf8')]);
  } catch {
    return undefined;
  }
  const entries = parseKnownHosts(knownHosts);
  return new Promise((resolve) => {
    const socket = netConnect({ host: route.address, port: route.port });
    const client = new Client();
    const settle = (connection: LabConnection | undefined) => {
      clearTimeout(timer);
      if (!connection) {
        client.end();
        socket.destroy();
      }
      resolve(connection);
    };
    const timer = setTimeout(() => settle(undefined), CONNECT_TIMEOUT_MS);
    client.on('ready', () => {
      socket.unref();
      settle({ client, socket, channels: new Semaphore(CHANNELS_PER_CONNECTION), running: 0, closed: false });
    });
    client.on('error', () => settle(undefined));
    client.on('close', () => settle(undefined));
    client.connect({
      sock: socket,
      username: route.user,
      privateKey,
      readyTimeout: CONNECT_TIMEOUT_MS,
      hostVerifier: (key: Buffer) => checkHostKey(entries, route.address, route.port, key).status === 'match',
    });
  });
}

// Opens an exec channel; undefined when the connection is gone before the command started.
function openChannel(connection: LabConnection, command: string): Promise<ClientChannel | undefined> {
  if (connection.closed) return Promise.resolve(undefined);
  return new Promise((resolve) => {
    try {
      connection.client.exec(command, (error, channel) => resolve(error ? undefined : channel));
    } catch {
      resolve(undefined);
    }
  });
}

// Feeds stdin, collects bounded output and the exit status; kills the command after timeoutMs.
function collect(channel: ClientChannel, input: string | undefined, timeoutMs: number, started: number): Promise<RunResult> {
  const stdout = new BoundedBuffer(MAX_OUTPUT_BYTES);
  const stderr = new BoundedBuffer(MAX_OUTPUT_BYTES);
  return new Promise((resolve) => {
    const finish = (exitCode: number | null, signal: string | null) =>
      resolve({ exitCode, signal, stdout: stdout.toString(), stderr: stderr.toString(), durationMs: Date.now() - started });
    // As when the docker CLI is killed: the result comes at the timeout; sudo passes TERM on to the script.
    const timer = setTimeout(() => {
      channel.signal('TERM');
      channel.close();
      finish(null, 'SIGKILL');
    }, timeoutMs);
    channel.on('data', (chunk: Buffer) => stdout.push(chunk));
    channel.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    channel.on('close', (code: number | null | undefined, signal: string | undefined) => {
      clearTimeout(timer);
      finish(typeof code === 'number' ? code : null, signal ?? null);
    });
    channel.end(input);
  });
}

// Ends a kept connection.
function closeConnection(connection: LabConnection): void {
  connection.closed = true;
  connection.client.end();
  connection.socket.destroy();
}

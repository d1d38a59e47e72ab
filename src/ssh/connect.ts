import { spawn } from 'node:child_process';
import { Duplex, type Readable } from 'node:stream';
import { NodeSSH } from 'node-ssh';
import type { Client, ClientChannel, ConnectConfig } from 'ssh2';
import { ConnectError, HalyardError, HostKeyError } from '../core/errors.js';
import { planAuthentication, type KeyLoader } from './auth.js';
import { knownKeyTypesFor, readKnownHostsTable, verifyHostKey } from './known-hosts.js';
import type { Semaphore } from './semaphore.js';
import type { ChannelOpener, RemoteChannel } from './session.js';
import { resolveEndpoint, type ResolvedEndpoint, type SshConfigFile } from './ssh-config.js';
import type { ConnectTarget, SshOptions } from './types.js';

/** What opening a connection needs besides the target: run-wide options and shared state. */
export interface ConnectContext {
  options: SshOptions;
  sshConfig: SshConfigFile;
  /** Bounds connections being opened at once across the run (sshd MaxStartups). */
  handshakes: Semaphore;
  /** Reads key files (the pool's reads each once per run); default: read at every connection. */
  loadKey?: KeyLoader;
  env?: NodeJS.ProcessEnv;
  home?: string;
}

// Maps a connect failure to a stable code from its `code`/`level` properties, never from its English text.
export function classifyConnectError(error: unknown): string {
  const { code, level, reason } = (error ?? {}) as { code?: unknown; level?: unknown; reason?: unknown };
  if (error instanceof HalyardError) return error.code;
  switch (code) {
    case 'ECONNREFUSED':
      return 'E_CONNECT_REFUSED';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_NONAME':
    case 'EAI_FAIL':
      return 'E_DNS';
    case 'ETIMEDOUT':
      return 'E_CONNECT_TIMEOUT';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'EHOSTDOWN':
      return 'E_HOST_UNREACHABLE';
    case 'ECONNRESET':
    case 'EPIPE':
      return 'E_CONNECTION_RESET';
    default:
      break;
  }
  switch (level) {
    case 'client-timeout':
      return 'E_CONNECT_TIMEOUT';
    case 'client-authentication':
      return 'E_AUTH_FAILED';
    case 'client-dns':
      return 'E_DNS';
    case 'handshake':
    case 'protocol':
      return 'E_HANDSHAKE';
    default:
      break;
  }
  // A jump host could not open the forwarded TCP connection (SSH_OPEN_CONNECT_FAILED).
  if (reason === 2) return 'E_CONNECT_REFUSED';
  return 'E_CONNECT';
}

// A live SSH connection (and any jump connections under it) that opens exec channels.
export class SshConnection implements ChannelOpener {
  readonly endpoint: ResolvedEndpoint;
  readonly #client: Client;
  /** Jump connections, first hop first; closed after the final one. */
  readonly #jumps: Client[];
  #closed = false;

  constructor(endpoint: ResolvedEndpoint, client: Client, jumps: Client[]) {
    this.endpoint = endpoint;
    this.#client = client;
    this.#jumps = jumps;
    client.on('close', () => {
      this.#closed = true;
    });
    // Errors after ready (keepalive timeout, reset) end the connection; exec channels then close without status.
    client.on('error', () => {
      this.#closed = true;
    });
  }

  get closed(): boolean {
    return this.#closed;
  }

  openChannel(command: string): Promise<RemoteChannel> {
    return new Promise((resolve, reject) => {
      if (this.#closed) {
        reject(new ConnectError('E_CONNECTION_LOST', `connection to ${describeEndpoint(this.endpoint)} is closed`));
        return;
      }
      try {
        this.#client.exec(command, {}, (error, channel) => {
          if (error) {
            reject(new ConnectError('E_CHANNEL_OPEN', `cannot open a channel on ${describeEndpoint(this.endpoint)}: ${error.message}`, { cause: error }));
            return;
          }
          resolve(adaptChannel(channel));
        });
      } catch (error) {
        reject(new ConnectError('E_CONNECTION_LOST', `connection to ${describeEndpoint(this.endpoint)} is not usable`, { cause: error }));
      }
    });
  }

  async close(): Promise<void> {
    // A second close (session, then pool) must not wait for a 'close' event that already fired.
    if (this.#closed) return;
    const clients = [this.#client, ...[...this.#jumps].reverse()];
    await Promise.all(clients.map((client) => endClient(client)));
    this.#closed = true;
  }
}

function endClient(client: Client): Promise<void> {
  return new Promise((resolve) => {
    // Not unref'd: the CLI must not exit while a close is still pending.
    const timer = setTimeout(() => {
      client.destroy();
      resolve();
    }, 2_000);
    client.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
    client.end();
  });
}

// Wraps an ssh2 channel; exit and close are recorded from the start so a listener added late still hears them.
function adaptChannel(channel: ClientChannel): RemoteChannel {
  let exit: [number | null, string | null] | undefined;
  let closed = false;
  const exitListeners: Array<(code: number | null, signal: string | null) => void> = [];
  const closeListeners: Array<() => void> = [];
  channel.once('exit', (code: number | null, signal?: string) => {
    exit = typeof code === 'number' ? [code, null] : [null, signal ?? null];
    for (const listener of exitListeners) listener(...exit);
  });
  channel.once('close', () => {
    closed = true;
    for (const listener of closeListeners) listener();
  });
  return {
    stdin: channel,
    stdout: channel,
    stderr: channel.stderr,
    onExit: (listener) => {
      if (exit) listener(...exit);
      else exitListeners.push(listener);
    },
    onClose: (listener) => {
      if (closed) listener();
      else closeListeners.push(listener);
    },
    signal: (name) => signalChannel(channel, name),
    close: () => {
      try {
        channel.close();
      } catch {
        // Already closed.
      }
    },
  };
}

/** The ssh2 internals needed to send a `signal` request after our EOF (ssh2's public method refuses then). */
interface ChannelInternals {
  outgoing?: { id?: number; state?: string };
  _client?: { _protocol?: { signal?: (id: number, name: string) => void } };
}

// Asks sshd to signal the session's process. Our stdin is already closed (EOF) by then, and ssh2's public
// `signal()` refuses after EOF although the protocol allows it, so this falls back to ssh2's protocol object.
function signalChannel(channel: ClientChannel, name: string): void {
  try {
    if (channel.writable) {
      channel.signal(name);
      return;
    }
    const internals = channel as unknown as ChannelInternals;
    const state = internals.outgoing?.state;
    const id = internals.outgoing?.id;
    const protocol = internals._client?._protocol;
    if ((state === 'open' || state === 'eof') && typeof id === 'number' && typeof protocol?.signal === 'function') {
      protocol.signal(id, name);
    }
  } catch {
    // The channel may already be gone; closing it is what matters.
  }
}

function describeEndpoint(endpoint: Pick<ResolvedEndpoint, 'host' | 'port' | 'user'>): string {
  return `${endpoint.user}@${endpoint.host}:${endpoint.port}`;
}

// The inventory side of the merge: port 22 counts as "not set" unless the target says it was explicit.
export function endpointFor(target: ConnectTarget, context: Pick<ConnectContext, 'sshConfig' | 'home'>): ResolvedEndpoint {
  const portExplicit = target.portExplicit ?? target.port !== 22;
  return resolveEndpoint(
    context.sshConfig,
    {
      alias: target.address,
      user: target.user,
      port: portExplicit ? target.port : undefined,
      privateKeyFile: target.privateKeyFile,
      ...(target.route ? { route: target.route } : {}),
    },
    context.home,
  );
}

// Why a ProxyCommand stream ended: the command's exit status and stderr tail, once it exited.
const PROXY_FAILURES = new WeakMap<Duplex, Promise<ConnectError | undefined>>();

// ProxyCommand as OpenSSH runs it: `sh -c COMMAND`, whose stdin and stdout are the connection (AWS
// SSM's `aws ssm start-session`, `ssh -W %h:%p bastion`). A command that fails names itself with
// its stderr's tail, not as the broken pipe the SSH client sees.
export function proxyCommandStream(command: string, label: string): Duplex {
  const child = spawn('sh', ['-c', command], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-2000);
  });
  const stream = Duplex.from({ readable: child.stdout, writable: child.stdin });
  // The SSH client listens for errors once it has the stream; until then one must not crash the run.
  stream.on('error', () => undefined);
  const failure = new Promise<ConnectError | undefined>((resolve) => {
    child.on('error', (error) => resolve(new ConnectError('E_PROXY_COMMAND', `${label}: ProxyCommand could not start: ${error.message}`)));
    child.on('close', (code) => {
      const tail = stderr.trim().split('\n').slice(-2).join(' | ');
      resolve(code !== 0 && code !== null ? new ConnectError('E_PROXY_COMMAND', `${label}: ProxyCommand exited ${code}${tail ? `: ${tail}` : ''}`) : undefined);
    });
  });
  PROXY_FAILURES.set(stream, failure);
  // The command ended: so did the connection (the SSH client must not wait for a handshake).
  child.on('close', () => {
    if (!stream.destroyed) stream.destroy();
  });
  stream.on('close', () => {
    if (child.exitCode === null) child.kill('SIGTERM');
  });
  return stream;
}

// The ProxyCommand's own failure behind a connection error, waiting a moment for it to exit.
async function proxyFailure(sock: Duplex | undefined): Promise<ConnectError | undefined> {
  const failure = sock ? PROXY_FAILURES.get(sock) : undefined;
  if (!failure) return undefined;
  let timer: NodeJS.Timeout | undefined;
  const later = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), 2000);
  });
  try {
    return await Promise.race([failure, later]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A connection opened ahead of need (the run still loading its playbook) goes as far as the key
 * exchange, then waits here before it checks the host key (so before known_hosts is read for a
 * verdict or written, and before authentication): true once the run targets the host, false to
 * close it having recorded and sent nothing. Its connect timeout stops while it waits.
 */
export type ConnectGate = Promise<boolean>;

// The failure of a connection its gate closed: the run does not target the host.
export function notTargetedError(label: string): ConnectError {
  return new ConnectError('E_NOT_TARGETED', `${label}: the run does not target this host; closed before its host key was checked`);
}

// Opens a verified, authenticated connection to a target, through its ProxyJump hosts if any.
// With a gate, only a direct connection starts early: a ProxyCommand (a program), a jump host (a
// login elsewhere) or ssh_config's Match exec (the user's commands) wait for the gate first.
export async function openConnection(target: ConnectTarget, context: ConnectContext, gate?: ConnectGate): Promise<SshConnection> {
  if (gate && context.sshConfig.runsCommands) {
    if (!(await gate)) throw notTargetedError(target.name);
    gate = undefined;
  }
  const endpoint = endpointFor(target, context);
  if (gate && (endpoint.proxyCommand || endpoint.jumps.length > 0)) {
    if (!(await gate)) throw notTargetedError(target.name);
    gate = undefined;
  }
  const jumps: Client[] = [];
  try {
    let sock: Duplex | undefined = endpoint.proxyCommand ? proxyCommandStream(endpoint.proxyCommand, target.name) : undefined;
    for (const hop of endpoint.jumps) {
      const client = await connectHop(hop, hop.alias, sock, context);
      jumps.push(client);
      sock = await forwardTo(client, hop, endpoint.jumps[jumps.length] ?? endpoint);
    }
    const client = await connectHop(endpoint, target.name, sock, context, gate);
    return new SshConnection(endpoint, client, jumps);
  } catch (error) {
    for (const client of jumps.reverse()) client.destroy();
    throw error;
  }
}

function forwardTo(jump: Client, jumpEndpoint: ResolvedEndpoint, next: Pick<ResolvedEndpoint, 'host' | 'port' | 'user'>): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    jump.forwardOut('127.0.0.1', 0, next.host, next.port, (error, stream) => {
      if (error) {
        reject(
          new ConnectError(
            classifyConnectError(error),
            `jump host ${describeEndpoint(jumpEndpoint)} cannot reach ${next.host}:${next.port}: ${error.message}`,
            { cause: error },
          ),
        );
        return;
      }
      resolve(stream);
    });
  });
}

// Host-key algorithms to ask for: types known_hosts already holds for this host first, as OpenSSH does.
export function preferredHostKeyAlgorithms(knownTypes: readonly string[]): string[] {
  const algorithms: string[] = [];
  for (const type of knownTypes) {
    if (type === 'ssh-rsa') algorithms.push('rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa');
    else if (type === 'ssh-ed25519' || /^ecdsa-sha2-nistp(256|384|521)$/.test(type)) algorithms.push(type);
  }
  return algorithms;
}

async function connectHop(endpoint: ResolvedEndpoint, label: string, sock: Duplex | undefined, context: ConnectContext, gate?: ConnectGate): Promise<Client> {
  const { options } = context;
  // Keys and known_hosts are read under the handshake cap too: with --forks 1000 every host got
  // here at once and opened the key file 1000 times together (measured: 1019 open fds).
  // The gate's answer as soon as it is known: a shut gate ends the attempt at whatever stage it is
  // (queued for a handshake slot, the TCP connect, the key exchange), so a host the run does not
  // target, down or silent, never holds the run's end for the connect timeout.
  let shut = false;
  let endNow: (() => void) | undefined;
  void gate?.then(
    (wanted) => {
      if (wanted) return;
      shut = true;
      endNow?.();
    },
    () => undefined,
  );
  return context.handshakes.run(async () => {
    if (shut) throw notTargetedError(label);
    const auth = await planAuthentication(endpoint, context.env, context.home, context.loadKey);
    const knownTypes =
      options.hostKeyPolicy === 'off' ? [] : knownKeyTypesFor((await readKnownHostsTable(options.knownHostsFile)).candidates(endpoint.host, endpoint.port), endpoint.host, endpoint.port);
    const preferred = preferredHostKeyAlgorithms(knownTypes);

    return new Promise<Client>((resolve, reject) => {
      // node-ssh performs the handshake; its ssh2 Client then carries our channels and forwards.
      const ssh = new NodeSSH();
      let client: Client | undefined;
      let hostKeyProblem: Error | undefined;
      let settled = false;
      // With a gate, the connect timeout is this timer (ssh2's own cannot stop while the gate is shut).
      let timer: NodeJS.Timeout | undefined;
      let timeLeftMs = options.connectTimeoutMs;
      let timerStarted = 0;
      const startTimer = (): void => {
        timerStarted = Date.now();
        timer = setTimeout(() => {
          const error = Object.assign(new Error('Timed out while waiting for handshake'), { level: 'client-timeout' });
          fail(error);
        }, timeLeftMs);
      };
      const stopTimer = (): void => {
        clearTimeout(timer);
        timeLeftMs = Math.max(1, timeLeftMs - (Date.now() - timerStarted));
      };
      const fail = (error: unknown): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        client?.destroy();
        const fallback = toConnectError(hostKeyProblem ?? error, endpoint, label, auth.sources, auth.skipped);
        void proxyFailure(sock).then((proxyError) => reject(proxyError ?? fallback));
      };
      const verify = (key: Buffer, done: (valid: boolean) => void): void => {
        verifyHostKey({
          knownHostsFile: options.knownHostsFile,
          policy: options.hostKeyPolicy,
          hostLabel: label,
          host: endpoint.host,
          port: endpoint.port,
          keyBlob: key,
        }).then(
          () => done(true),
          (error: unknown) => {
            hostKeyProblem =
              error instanceof HostKeyError
                ? error
                : new ConnectError('E_KNOWN_HOSTS', `cannot use ${options.knownHostsFile}: ${(error as Error).message}`, { cause: error });
            done(false);
          },
        );
      };

      const config: ConnectConfig = {
        host: endpoint.host,
        port: endpoint.port,
        username: endpoint.user,
        // 0: no timer of ssh2's own; the gate's timer stands in for it.
        readyTimeout: gate ? 0 : options.connectTimeoutMs,
        keepaliveInterval: options.keepaliveIntervalMs,
        keepaliveCountMax: 3,
        authHandler: auth.methods,
        // No hostHash: the verifier gets the raw key blob and checks it before authentication starts.
        hostVerifier: (key: Buffer, done: (valid: boolean) => void) => {
          if (!gate) return verify(key, done);
          stopTimer();
          // A shut gate has ended the attempt already (endNow, registered first on the same promise).
          gate.then(
            (wanted) => {
              if (settled || !wanted) return;
              startTimer();
              verify(key, done);
            },
            (error: unknown) => fail(error),
          );
        },
      };
      if (gate) {
        startTimer();
        endNow = () => fail(notTargetedError(label));
        if (shut) return fail(notTargetedError(label));
      }
      const { sshDebug } = options;
      if (sshDebug) config.debug = (message: string) => sshDebug(label, message);
      if (preferred.length > 0) config.algorithms = { serverHostKey: { remove: preferred, prepend: preferred } as never };
      if (sock) {
        config.sock = sock as Readable;
        // A ProxyCommand or jump channel that ends before the handshake fails it now, not at the timeout.
        const closed = () => fail(new ConnectError('E_CONNECTION_CLOSED', 'the connection closed before the SSH handshake'));
        if (sock.destroyed) return closed();
        sock.once('close', closed);
      }
      ssh.connect(config as Parameters<NodeSSH['connect']>[0]).then(
        () => {
          const connection = ssh.connection;
          if (settled || !connection) return fail(new ConnectError('E_CONNECTION_CLOSED', 'the server closed the connection during the handshake'));
          settled = true;
          clearTimeout(timer);
          resolve(connection);
        },
        fail,
      );
      // connect() creates the Client synchronously (no key path is passed), so it can be closed on failure.
      client = ssh.connection ?? undefined;
    });
  });
}

function toConnectError(error: unknown, endpoint: ResolvedEndpoint, label: string, sources: string[], skipped: string[]): ConnectError {
  if (error instanceof ConnectError) return error;
  const code = classifyConnectError(error);
  const where = `${label === endpoint.host ? '' : `${label}: `}${describeEndpoint(endpoint)}`;
  const message = (error as Error)?.message ?? String(error);
  let detail: string;
  switch (code) {
    case 'E_AUTH_FAILED':
      detail = `authentication failed (offered: ${sources.join(', ') || 'nothing'})${skipped.length ? `; skipped: ${skipped.join('; ')}` : ''}`;
      break;
    case 'E_CONNECT_REFUSED':
      detail = 'connection refused (is sshd running and the port right?)';
      break;
    case 'E_CONNECT_TIMEOUT':
      detail = `no answer in time (${message})`;
      break;
    case 'E_DNS':
      detail = `cannot resolve the host name (${message})`;
      break;
    default:
      detail = message;
  }
  return new ConnectError(code, `${where}: ${detail}`, { cause: error });
}

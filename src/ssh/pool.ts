import { homedir } from 'node:os';
import { join } from 'node:path';
import { ConnectError } from '../core/errors.js';
import { cachedKeyLoader } from './auth.js';
import { openConnection, type ConnectContext, type ConnectGate } from './connect.js';
import { Semaphore } from './semaphore.js';
import { SshSession, type ChannelOpener } from './session.js';
import { SshConfigFile } from './ssh-config.js';
import type { ConnectTarget, SshOptions } from './types.js';

// Defaults for a run, resolved at call time so tests can point HOME elsewhere.
export function defaultSshOptions(): SshOptions {
  return {
    knownHostsFile: join(homedir(), '.ssh', 'known_hosts'),
    hostKeyPolicy: 'accept-new',
    sshConfigFile: undefined,
    connectTimeoutMs: 20_000,
    commandTimeoutMs: 10 * 60_000,
    keepaliveIntervalMs: 15_000,
    maxChannelsPerConnection: 8,
    maxConcurrentHandshakes: 10,
  };
}

/** Opens one connection; the pool uses openConnection, tests pass a fake. */
export type Connector = (target: ConnectTarget, context: ConnectContext, gate?: ConnectGate) => Promise<ChannelOpener>;

// One per run: a session per open host, a cap on handshakes in flight across all hosts, and closeAll at the end.
export class SshPool {
  readonly options: SshOptions;
  readonly #handshakes: Semaphore;
  readonly #connect: Connector;
  readonly #sessions = new Map<string, Promise<SshSession>>();
  /** Connections `warm` opened that no session has taken over yet. */
  readonly #warm = new Map<string, Promise<ChannelOpener>>();
  readonly #loadKey = cachedKeyLoader();
  #sshConfig: Promise<SshConfigFile> | undefined;
  #closed = false;
  // Shuts every gate still waiting when the pool closes, so closeAll never waits on a run that ended.
  #closing: () => void = () => {};
  readonly #closedGate: Promise<false> = new Promise((resolve) => {
    this.#closing = () => resolve(false);
  });

  constructor(options: Partial<SshOptions> = {}, connect: Connector = openConnection) {
    const defaults = defaultSshOptions();
    const merged = { ...defaults };
    for (const [key, value] of Object.entries(options)) {
      // undefined means "default", except sshConfigFile where null disables ssh_config.
      if (value !== undefined) (merged as Record<string, unknown>)[key] = value;
    }
    this.options = merged;
    this.#handshakes = new Semaphore(merged.maxConcurrentHandshakes);
    this.#connect = connect;
  }

  /** Handshakes in flight right now and the most ever at once. */
  get handshakeStats(): { inFlight: number; queued: number; highWater: number } {
    return { inFlight: this.#handshakes.inUse, queued: this.#handshakes.waiting, highWater: this.#handshakes.highWater };
  }

  // The session for a host, connecting on first use (or taking over the connection `warm` opened);
  // concurrent callers share one connection attempt.
  session(target: ConnectTarget): Promise<SshSession> {
    if (this.#closed) return Promise.reject(new ConnectError('E_POOL_CLOSED', 'the SSH pool is closed'));
    const key = sessionKey(target);
    const existing = this.#sessions.get(key);
    if (existing) return existing;
    const warmed = this.#warm.get(key);
    this.#warm.delete(key);
    return this.#track(key, this.#open(target, warmed));
  }

  // Starts connecting to a host the run will probably need while it still prepares (the playbook
  // loading): the handshake overlaps that work, and `session()` later takes the connection over,
  // with the target as the run has it by then (a play's become, a fetched sudo password). Nothing is
  // verified, recorded or sent for the host until `targeted` is true (connect.ts); false closes it.
  // One that failed before the decision (say the server's LoginGraceTime ran out while a big
  // playbook loaded) is not the run's failure: a targeted host then gets a fresh attempt.
  warm(target: ConnectTarget, targeted: ConnectGate): void {
    const key = sessionKey(target);
    if (this.#closed || this.#sessions.has(key) || this.#warm.has(key)) return;
    const gate = Promise.race([targeted, this.#closedGate]);
    let decided = false;
    const settle = () => {
      decided = true;
    };
    gate.then(settle, settle);
    const connection = this.#connectTo(target, gate).catch(async (error: unknown) => {
      if (!decided && (await gate.catch(() => false))) return this.#connectTo(target);
      throw error;
    });
    this.#warm.set(key, connection);
    // A host the run does not target (or one that failed) is forgotten; a later session() connects afresh.
    connection.catch(() => {
      if (this.#warm.get(key) === connection) this.#warm.delete(key);
    });
  }

  // Keeps an opening session for its key until it fails or closes: a failed connect is forgotten
  // so a later call may try again; a closed session too, so its connection can be freed and a
  // later call connects afresh.
  #track(key: string, opening: Promise<SshSession>): Promise<SshSession> {
    this.#sessions.set(key, opening);
    const forget = () => {
      if (this.#sessions.get(key) === opening) this.#sessions.delete(key);
    };
    opening.then((opened) => opened.onClose(forget), forget);
    return opening;
  }

  // Closes every session; safe to call twice.
  async closeAll(): Promise<void> {
    this.#closed = true;
    this.#closing();
    const open: Array<Promise<{ close(): Promise<void> }>> = [...this.#sessions.values(), ...this.#warm.values()];
    this.#sessions.clear();
    this.#warm.clear();
    await Promise.all(
      open.map(async (pending) => {
        try {
          await (await pending).close();
        } catch {
          // A session that never connected has nothing to close.
        }
      }),
    );
  }

  async #connectTo(target: ConnectTarget, gate?: ConnectGate): Promise<ChannelOpener> {
    return this.#connect(target, await this.#context(), gate);
  }

  async #context(): Promise<ConnectContext> {
    return { options: this.options, sshConfig: await this.#loadSshConfig(), handshakes: this.#handshakes, loadKey: this.#loadKey };
  }

  async #open(target: ConnectTarget, warmed?: Promise<ChannelOpener>): Promise<SshSession> {
    const context = await this.#context();
    const connect = (): Promise<ChannelOpener> => this.#connect(target, context);
    const connection = await (warmed ?? connect());
    return new SshSession(
      target,
      connection,
      { commandTimeoutMs: this.options.commandTimeoutMs, maxChannelsPerConnection: this.options.maxChannelsPerConnection },
      connect,
    );
  }

  #loadSshConfig(): Promise<SshConfigFile> {
    this.#sshConfig ??= SshConfigFile.load(this.options.sshConfigFile);
    return this.#sshConfig;
  }
}

function sessionKey(target: ConnectTarget): string {
  return JSON.stringify([target.name, target.address, target.port, target.user ?? null, target.privateKeyFile ?? null]);
}

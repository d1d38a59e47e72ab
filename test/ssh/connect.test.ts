import { createServer, type Server } from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConnectError } from '../../src/core/errors.js';
import { generateEd25519OpenSshKey } from '../../src/lab/keys.js';
import { classifyConnectError, openConnection, preferredHostKeyAlgorithms } from '../../src/ssh/connect.js';
import { defaultSshOptions } from '../../src/ssh/pool.js';
import { Semaphore } from '../../src/ssh/semaphore.js';
import { SshConfigFile } from '../../src/ssh/ssh-config.js';
import type { ConnectTarget } from '../../src/ssh/types.js';

describe('classifyConnectError', () => {
  const withProps = (props: Record<string, unknown>): Error => Object.assign(new Error('whatever the text says'), props);
  it.each([
    [{ code: 'ECONNREFUSED', level: 'client-socket' }, 'E_CONNECT_REFUSED'],
    [{ code: 'ENOTFOUND', level: 'client-socket' }, 'E_DNS'],
    [{ code: 'EAI_AGAIN' }, 'E_DNS'],
    [{ level: 'client-dns' }, 'E_DNS'],
    [{ code: 'ETIMEDOUT' }, 'E_CONNECT_TIMEOUT'],
    [{ level: 'client-timeout' }, 'E_CONNECT_TIMEOUT'],
    [{ level: 'client-authentication' }, 'E_AUTH_FAILED'],
    [{ code: 'EHOSTUNREACH' }, 'E_HOST_UNREACHABLE'],
    [{ code: 'ECONNRESET' }, 'E_CONNECTION_RESET'],
    [{ level: 'handshake' }, 'E_HANDSHAKE'],
    [{ reason: 2 }, 'E_CONNECT_REFUSED'],
    [{}, 'E_CONNECT'],
  ])('%o -> %s', (props, code) => {
    expect(classifyConnectError(withProps(props))).toBe(code);
  });
});

describe('preferredHostKeyAlgorithms', () => {
  it('asks for the key types known_hosts already holds first', () => {
    expect(preferredHostKeyAlgorithms(['ssh-rsa', 'ssh-ed25519', 'ecdsa-sha2-nistp256', 'ssh-dss'])).toEqual([
      'rsa-sha2-512',
      'rsa-sha2-256',
      'ssh-rsa',
      'ssh-ed25519',
      'ecdsa-sha2-nistp256',
    ]);
  });
});

describe('openConnection failures carry stable codes', () => {
  let dir: string;
  let key: string;
  let silent: Server;
  let silentPort: number;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'halyard-connect-'));
    key = join(dir, 'key');
    await writeFile(key, generateEd25519OpenSshKey('t'), { mode: 0o600 });
    // Accepts TCP but never speaks SSH: the handshake must time out.
    silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    silentPort = (silent.address() as { port: number }).port;
  });
  afterAll(async () => {
    silent.close();
    await rm(dir, { recursive: true, force: true });
  });

  const context = () => ({
    options: { ...defaultSshOptions(), knownHostsFile: join(dir, 'known_hosts'), connectTimeoutMs: 500 },
    sshConfig: SshConfigFile.parse(''),
    handshakes: new Semaphore(2),
    env: {},
    home: dir,
  });
  const target = (port: number, extra: Partial<ConnectTarget> = {}): ConnectTarget => ({
    name: 'h',
    address: '127.0.0.1',
    port,
    user: 'nobody',
    privateKeyFile: key,
    become: false,
    becomePassword: undefined,
    ...extra,
  });

  it('E_CONNECT_REFUSED for a closed port', async () => {
    // Port 1 on loopback is closed (and never a real sshd).
    const error = await openConnection(target(1), context()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectError);
    expect((error as ConnectError).code).toBe('E_CONNECT_REFUSED');
  });

  it('E_CONNECT_TIMEOUT when the server never answers the handshake', async () => {
    const ctx = context();
    const error = await openConnection(target(silentPort), ctx).catch((e: unknown) => e);
    expect((error as ConnectError).code).toBe('E_CONNECT_TIMEOUT');
    expect(ctx.handshakes.inUse).toBe(0);
  });

  it('an early connection whose gate shuts mid-handshake ends at once (E_NOT_TARGETED), not at the connect timeout', async () => {
    const ctx = { ...context(), options: { ...context().options, connectTimeoutMs: 5000 } };
    const started = Date.now();
    const gate = new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 50));
    const error = await openConnection(target(silentPort), ctx, gate).catch((e: unknown) => e);
    expect((error as ConnectError).code).toBe('E_NOT_TARGETED');
    expect(Date.now() - started).toBeLessThan(1000);
    expect(ctx.handshakes.inUse).toBe(0);
  });

  it('a gate shut before the handshake slot frees connects nowhere', async () => {
    const ctx = context();
    let release!: () => void;
    // Both slots held: the gated attempt queues, and its gate shuts while it waits.
    const held = [ctx.handshakes.run(() => new Promise<void>((resolve) => (release = resolve))), ctx.handshakes.run(() => new Promise<void>(() => undefined))];
    const attempt = openConnection(target(1), ctx, Promise.resolve(false)).catch((e: unknown) => e);
    await new Promise((resolve) => setTimeout(resolve, 20));
    release();
    await held[0];
    // Port 1 would refuse (E_CONNECT_REFUSED): a gated attempt that never connected says E_NOT_TARGETED.
    expect(((await attempt) as ConnectError).code).toBe('E_NOT_TARGETED');
  });

  it('E_DNS for a name that cannot resolve', async () => {
    const error = await openConnection(target(22, { address: 'no-such-host.invalid' }), context()).catch((e: unknown) => e);
    expect((error as ConnectError).code).toBe('E_DNS');
  });

  it('E_KEY_FILE before any network traffic when the key file is unreadable', async () => {
    const error = await openConnection(target(1, { privateKeyFile: join(dir, 'missing') }), context()).catch((e: unknown) => e);
    expect((error as ConnectError).code).toBe('E_KEY_FILE');
  });
});

// Against real sshd hosts (lab containers): exec, exit statuses, byte-exact scripts, host-key
// trust, sudo (NOPASSWD and password), secrets out of argv, channel cap, timeouts, streams, ProxyJump.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CommandTimeoutError, ConnectError, HostKeyError } from '../../src/core/errors.js';
import { quote } from '../../src/core/shell.js';
import { Secret } from '../../src/core/secret.js';
import { LAB_PASSWORD_USER, LAB_SUDO_PASSWORD, labExec, readHostKeys, regenerateHostKeys } from '../../src/lab/index.js';
import { generateEd25519OpenSshKey } from '../../src/lab/keys.js';
import { fingerprintSha256, readKnownHostsFile } from '../../src/ssh/known-hosts.js';
import { sshLink } from '../../src/engine/ssh-link.js';
import { SshPool } from '../../src/ssh/pool.js';
import type { SshSession } from '../../src/ssh/session.js';
import { SudoError } from '../../src/ssh/sudo.js';
import type { ConnectTarget, SshOptions } from '../../src/ssh/types.js';
import { startTestFleet, type TestFleet } from '../support/lab.js';
import { busyBudget } from '../support/budget.js';

let fleet: TestFleet;
let dir: string;
const pools: SshPool[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'halyard-ssh-e2e-'));
  fleet = await startTestFleet({ count: 2, prefix: 'ssh' });
});

afterAll(async () => {
  await Promise.all(pools.map((pool) => pool.closeAll()));
  await fleet?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

function hostTarget(index: number, overrides: Partial<ConnectTarget> = {}): ConnectTarget {
  const host = fleet.hosts[index];
  if (!host) throw new Error(`no lab host ${index}`);
  return {
    name: host.name,
    address: host.address,
    port: host.port,
    user: fleet.user,
    privateKeyFile: fleet.keyFile,
    become: false,
    becomePassword: undefined,
    ...overrides,
  };
}

function newPool(options: Partial<SshOptions> = {}): SshPool {
  const pool = new SshPool({ knownHostsFile: fleet.knownHostsFile, sshConfigFile: null, connectTimeoutMs: 15_000, ...options });
  pools.push(pool);
  return pool;
}

describe('exec on a real host', () => {
  let session: SshSession;
  beforeAll(async () => {
    session = await newPool().session(hostTarget(0));
  });

  it('execStream.abort() stops the remote command at once and rejects done with E_ABORTED', async () => {
    const marker = `hy-abort-${randomBytes(4).toString('hex')}`;
    const stream = session.execStream({ label: 'long copy', script: `sleep 30 && echo ${marker}` });
    stream.stdout.resume();
    await new Promise((resolve) => setTimeout(resolve, 300));
    const started = Date.now();
    stream.abort();
    await expect(stream.done).rejects.toMatchObject({ code: 'E_ABORTED' });
    expect(Date.now() - started).toBeLessThan(3_000);
    // The session stays usable, and the remote sleep is gone.
    const after = await session.exec({ label: 'ps', script: `sleep 1; ps -eo args | grep -c '[s]leep 30' || true` });
    expect(after.stdout.trim()).toBe('0');
  }, busyBudget(2));

  it('a local read error mid-stream fails the step at once with that error; the host never sees EOF and keeps no partial file', async () => {
    const pool = newPool();
    const host = fleet.hosts[0]!;
    const link = await sshLink(pool, { ...hostTarget(0), address: host.address, groups: [], vars: {} });
    const target = `/tmp/hy-partial-${randomBytes(4).toString('hex')}`;
    let sent = 0;
    const source = new Readable({
      read() {
        if (sent >= 4) {
          this.destroy(new Error('EIO: i/o error, read'));
          return;
        }
        sent++;
        this.push(randomBytes(64 * 1024));
      },
    });
    const started = Date.now();
    const result = await link.runStream!('partial upload', `cat > ${target}.part && mv ${target}.part ${target}`, source, 60_000);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(result.exitCode).toBeNull();
    expect(result.output).toContain('EIO: i/o error, read');
    const check = await session.exec({ label: 'ls', script: `sleep 0.5; ls ${target} 2>/dev/null || echo absent` });
    expect(check.stdout.trim()).toBe('absent');
  }, busyBudget(2));

  it('returns stdout, stderr and the exit code', async () => {
    const result = await session.exec({ label: 'hello', script: 'echo hello; echo oops >&2; exit 7' });
    expect(result).toMatchObject({ exitCode: 7, signal: null, stdout: 'hello\n', stderr: 'oops\n' });
    expect(result.durationMs).toBeGreaterThanOrEqual(0);
  }, busyBudget(1));

  it('a script killed by a signal has exitCode null', async () => {
    const result = await session.exec({ label: 'suicide', script: 'kill -KILL $$' });
    expect(result.exitCode).toBeNull();
    expect(result.signal).toBe('SIGKILL');
  }, busyBudget(1));

  it('runs hostile script content byte-exact (quotes, $(), backticks, newlines, unicode)', async () => {
    const hostile = `it's "quoted" $(id -u) \`uname\` $HOME \\ back\\slash\n\nnew line\ttab; rm -rf / #\nüñíçødé 🚀 \u00a0 '\\'' EOF\n`;
    const viaQuote = await session.exec({ label: 'printf', script: `printf '%s' ${quote(hostile)}` });
    expect(viaQuote.stdout).toBe(hostile);
    const viaHeredoc = await session.exec({ label: 'heredoc', script: `cat <<'HALYARD_EOF'\n${hostile}HALYARD_EOF` });
    expect(viaHeredoc.stdout).toBe(hostile);
    const hash = await session.exec({ label: 'sha', script: `printf '%s' ${quote(hostile)} | sha256sum` });
    expect(hash.stdout.split(' ')[0]).toBe(createHash('sha256').update(hostile).digest('hex'));
  }, busyBudget(1));

  it('a command reading stdin cannot swallow the rest of the script', async () => {
    const result = await session.exec({ label: 'cat', script: 'cat\necho after-cat' });
    expect(result).toMatchObject({ exitCode: 0, stdout: 'after-cat\n' });
  }, busyBudget(1));

  it('20 parallel execs on one session never have more than 8 channels open', async () => {
    await session.exec({ label: 'prep', script: 'rm -rf /tmp/halyard-cc && mkdir /tmp/halyard-cc' });
    const before = session.execCount;
    const script = 'touch /tmp/halyard-cc/$$; ls /tmp/halyard-cc | wc -l; sleep 0.4; rm /tmp/halyard-cc/$$';
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => session.exec({ label: `parallel ${i}`, script })));
    expect(results.every((result) => result.exitCode === 0)).toBe(true);
    const concurrent = Math.max(...results.map((result) => Number(result.stdout.trim())));
    expect(concurrent).toBeLessThanOrEqual(8);
    expect(concurrent).toBeGreaterThan(1);
    expect(session.channelStats.highWater).toBeLessThanOrEqual(8);
    expect(session.execCount - before).toBe(20);
  }, busyBudget(4));

  it('a command past its timeout is stopped with CommandTimeoutError and the session stays usable', async () => {
    const started = Date.now();
    const error = await session.exec({ label: 'sleepy', script: 'sleep 30', timeoutMs: 1_000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CommandTimeoutError);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect((await session.exec({ label: 'after', script: 'echo ok' })).stdout).toBe('ok\n');
  }, busyBudget(2));

  it('after a timeout the rest of the script never runs, with or without sudo', async () => {
    const sudoSession = await newPool().session(hostTarget(0, { become: true }));
    await session.exec({ label: 'clean', script: 'rm -f /tmp/after-timeout-plain', become: false });
    await sudoSession.exec({ label: 'clean', script: 'rm -f /tmp/after-timeout-sudo' });
    const outcomes = await Promise.allSettled([
      session.exec({ label: 'plain', script: 'sleep 2\ntouch /tmp/after-timeout-plain', timeoutMs: 500 }),
      sudoSession.exec({ label: 'sudo', script: 'sleep 2\ntouch /tmp/after-timeout-sudo', timeoutMs: 500 }),
    ]);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['rejected', 'rejected']);
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    const check = await labExec(fleet.hosts[0]!.container, 'ls /tmp/after-timeout-* 2>/dev/null | wc -l');
    expect(check.stdout.trim()).toBe('0');
  }, busyBudget(5));

  it('streams stdin and stdout with backpressure (8 MiB through sha256sum and cat)', async () => {
    const data = randomBytes(8 * 1024 * 1024);
    const hashed = session.execStream!({ label: 'sha', script: 'sha256sum' });
    const out: Buffer[] = [];
    hashed.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    hashed.stdin.end(data);
    expect((await hashed.done).exitCode).toBe(0);
    expect(Buffer.concat(out).toString().split(' ')[0]).toBe(createHash('sha256').update(data).digest('hex'));

    const echoed = session.execStream!({ label: 'cat', script: 'cat' });
    const hash = createHash('sha256');
    let bytes = 0;
    echoed.stdout.on('data', (chunk: Buffer) => {
      hash.update(chunk);
      bytes += chunk.length;
    });
    echoed.stdin.end(data);
    await echoed.done;
    expect(bytes).toBe(data.length);
    expect(hash.digest('hex')).toBe(createHash('sha256').update(data).digest('hex'));
  }, busyBudget(6));
});

describe('sudo', () => {
  it('NOPASSWD sudo runs as root', async () => {
    const session = await newPool().session(hostTarget(0, { become: true }));
    const result = await session.exec({ label: 'id', script: 'id -u; echo "$HOME"' });
    expect(result).toMatchObject({ exitCode: 0, stdout: '0\n/root\n', stderr: '' });
    // A stream opened before its script is known (a backup's, while the lock is taken): nothing
    // runs until the script comes; then it runs as root and reads the data written meanwhile.
    let send!: (script: string) => void;
    const marker = `/tmp/deferred-${Date.now()}`;
    const later = session.execStream!({ label: 'later', script: new Promise<string>((resolve) => (send = resolve)) });
    const out: Buffer[] = [];
    later.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    later.stdin.end('payload');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect((await session.exec({ label: 'no marker yet', script: `test -e ${marker}` })).exitCode).toBe(1);
    send(`touch ${marker}; id -u; cat; rm ${marker}`);
    expect((await later.done).exitCode).toBe(0);
    expect(Buffer.concat(out).toString()).toBe('0\npayload');
    // One given up on before its script ends having run nothing: exit 70.
    const unused = session.execStream!({ label: 'unused', script: Promise.reject(new Error('not needed')) });
    unused.stdout.resume();
    expect((await unused.done).exitCode).toBe(70);
  }, busyBudget(1));

  it('sudo with a password runs as root; the markers never reach stderr', async () => {
    const session = await newPool().session(
      hostTarget(0, { user: LAB_PASSWORD_USER, become: true, becomePassword: new Secret(LAB_SUDO_PASSWORD, 'become') }),
    );
    const first = await session.exec({ label: 'id', script: 'id -u; echo warn >&2' });
    expect(first).toMatchObject({ exitCode: 0, stdout: '0\n' });
    expect(first.stderr).not.toContain('halyard-sudo');
    expect(first.stderr.trim()).toBe('warn');
    // Again, in parallel: each exec has its own sudo dialogue.
    const more = await Promise.all([1, 2, 3].map(() => session.exec({ label: 'id', script: 'id -u' })));
    expect(more.map((result) => result.stdout)).toEqual(['0\n', '0\n', '0\n']);
    // Streams wait for sudo before any data; a deferred script goes after the password, before the data.
    for (const script of ['id -u; cat', Promise.resolve('id -u; cat')]) {
      const stream = session.execStream!({ label: 'root cat', script });
      const out: Buffer[] = [];
      stream.stdout.on('data', (chunk: Buffer) => out.push(chunk));
      stream.stdin.end('payload');
      expect((await stream.done).exitCode).toBe(0);
      expect(Buffer.concat(out).toString()).toBe('0\npayload');
    }
  }, busyBudget(5));

  it('a wrong password fails E_SUDO_PASSWORD_WRONG without printing it', async () => {
    const session = await newPool().session(
      hostTarget(0, { user: LAB_PASSWORD_USER, become: true, becomePassword: new Secret('not-the-password', 'become') }),
    );
    const error = await session.exec({ label: 'id', script: 'id -u' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SudoError);
    expect((error as SudoError).code).toBe('E_SUDO_PASSWORD_WRONG');
    expect((error as SudoError).message).not.toContain('not-the-password');
  }, busyBudget(3));

  it('sudo that needs a password we lack fails E_SUDO_PASSWORD_REQUIRED', async () => {
    const session = await newPool().session(hostTarget(0, { user: LAB_PASSWORD_USER, become: true }));
    const error = await session.exec({ label: 'id', script: 'id -u' }).catch((e: unknown) => e);
    expect((error as SudoError).code).toBe('E_SUDO_PASSWORD_REQUIRED');
  }, busyBudget(1));
});

describe('secrets stay out of the process list', () => {
  it('neither the script secret nor the sudo password shows in `ps -eo args` while running', async () => {
    const secret = `s3cr3t-${randomBytes(8).toString('hex')}`;
    const session = await newPool().session(
      hostTarget(0, { user: LAB_PASSWORD_USER, become: true, becomePassword: new Secret(LAB_SUDO_PASSWORD, 'become') }),
    );
    const running = session.exec({ label: 'uses a secret', script: `TOKEN=${quote(secret)}\nexport TOKEN\nsleep 2\necho done` });
    const listings: string[] = [];
    for (let i = 0; i < 6; i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      listings.push((await labExec(fleet.hosts[0]!.container, 'ps -eo args')).stdout);
    }
    expect((await running).stdout).toBe('done\n');
    const all = listings.join('\n');
    expect(all).toContain('sleep 2'); // the listing did see the script running
    expect(all).not.toContain(secret);
    expect(all).not.toContain(LAB_SUDO_PASSWORD);
  }, busyBudget(5));
});

describe('host-key trust', () => {
  it('accept-new records an unknown key; strict with an empty file refuses E_HOSTKEY_UNKNOWN', async () => {
    const knownHosts = join(dir, 'accept-new', 'known_hosts');
    const session = await newPool({ knownHostsFile: knownHosts, hostKeyPolicy: 'accept-new' }).session(hostTarget(0));
    expect((await session.exec({ label: 'x', script: 'echo ok' })).stdout).toBe('ok\n');
    const recorded = await readFile(knownHosts, 'utf8');
    const port = fleet.hosts[0]!.port;
    const presented = (await readHostKeys(fleet.hosts[0]!.container)).map((key) => `[127.0.0.1]:${port} ${key}\n`);
    expect(presented).toContain(recorded);

    // The recorded file now satisfies strict checking.
    await newPool({ knownHostsFile: knownHosts, hostKeyPolicy: 'strict' }).session(hostTarget(0));

    const empty = join(dir, 'empty_known_hosts');
    await writeFile(empty, '');
    const error = await newPool({ knownHostsFile: empty, hostKeyPolicy: 'strict' }).session(hostTarget(0)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HostKeyError);
    expect((error as HostKeyError).code).toBe('E_HOSTKEY_UNKNOWN');
    expect(await readFile(empty, 'utf8')).toBe('');
  }, busyBudget(2));

  it('after the host keys change, the connection is refused E_HOSTKEY_CHANGED though the login key is valid', async () => {
    const knownHosts = join(dir, 'changed', 'known_hosts');
    const target = hostTarget(1);
    await newPool({ knownHostsFile: knownHosts }).session(target);
    const [entry] = await readKnownHostsFile(knownHosts);
    expect(entry).toBeDefined();

    const newKeys = await regenerateHostKeys(fleet.hosts[1]!.container);
    const newBlob = Buffer.from(newKeys.find((key) => key.startsWith(`${entry!.keyType} `))!.split(' ')[1]!, 'base64');
    for (const policy of ['accept-new', 'strict'] as const) {
      const error = await newPool({ knownHostsFile: knownHosts, hostKeyPolicy: policy }).session(target).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(HostKeyError);
      const { code, message } = error as HostKeyError;
      expect(code).toBe('E_HOSTKEY_CHANGED');
      expect(message).toContain(`127.0.0.1 port ${target.port}`);
      expect(message).toContain(entry!.keyType);
      expect(message).toContain(fingerprintSha256(newBlob));
      expect(message).toContain(`${knownHosts}:1`);
    }
    // The file was left alone, and with checking off (tests only) the same login key still works.
    expect((await readKnownHostsFile(knownHosts)).length).toBe(1);
    const unchecked = await newPool({ knownHostsFile: knownHosts, hostKeyPolicy: 'off' }).session(target);
    expect((await unchecked.exec({ label: 'x', script: 'echo ok' })).stdout).toBe('ok\n');
  }, busyBudget(3));
});

describe('connecting', () => {
  it('opens at most maxConcurrentHandshakes connections at once and one session per host', async () => {
    const pool = newPool({ maxConcurrentHandshakes: 1 });
    // Host 1's keys are regenerated by another test, so two inventory names for host 0 make two sessions.
    const sessions = await Promise.all([pool.session(hostTarget(0)), pool.session(hostTarget(0, { name: 'alias-of-0' })), pool.session(hostTarget(0))]);
    expect(sessions[0]).toBe(sessions[2]);
    expect(sessions[1]).not.toBe(sessions[0]);
    expect(pool.handshakeStats.highWater).toBe(1);
  }, busyBudget(1));

  it('a key the host does not accept fails E_AUTH_FAILED after the host key was checked', async () => {
    const stranger = join(dir, 'stranger_key');
    await writeFile(stranger, generateEd25519OpenSshKey('stranger'), { mode: 0o600 });
    const error = await newPool().session(hostTarget(0, { privateKeyFile: stranger })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectError);
    expect((error as ConnectError).code).toBe('E_AUTH_FAILED');
    expect((error as ConnectError).message).toContain(stranger);
  }, busyBudget(1));
});

describe('~/.ssh/config', () => {
  it('resolves an alias and connects through a ProxyJump host', async () => {
    const jump = fleet.hosts[0]!;
    const config = join(dir, 'ssh_config');
    // The jump host forwards to its own sshd on localhost:22, so nothing but 127.0.0.1:PORT is targeted from here.
    await writeFile(
      config,
      `Host inner\n  HostName localhost\n  User ${fleet.user}\n  ProxyJump ${fleet.user}@127.0.0.1:${jump.port}\n\nHost *\n  IdentityFile ${fleet.keyFile}\n`,
    );
    const knownHosts = join(dir, 'jump', 'known_hosts');
    const pool = newPool({ knownHostsFile: knownHosts, sshConfigFile: config });
    const session = await pool.session({ name: 'inner', address: 'inner', port: 22, user: undefined, privateKeyFile: undefined, become: false, becomePassword: undefined });
    const result = await session.exec({ label: 'where', script: 'echo "$SSH_CONNECTION"' });
    // Inside the jump host the forwarded connection arrives from and to loopback port 22.
    expect(result.stdout).toMatch(/^(127\.0\.0\.1|::1) \d+ (127\.0\.0\.1|::1) 22\n$/);
    const names = (await readFile(knownHosts, 'utf8')).split('\n').filter(Boolean).map((line) => line.split(' ')[0]);
    expect(names).toEqual([`[127.0.0.1]:${jump.port}`, 'localhost']);
  }, busyBudget(1));
});

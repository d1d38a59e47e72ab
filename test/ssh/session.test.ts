import { PassThrough } from 'node:stream';
import { describe, expect, it, vi } from 'vitest';
import { CommandTimeoutError, ConnectError, HalyardError } from '../../src/core/errors.js';
import { Secret } from '../../src/core/secret.js';
import { SshSession, STDERR_TAIL_BYTES, STOP_CLOSE_AFTER_MS, STOP_SIGNALS, type ChannelOpener, type RemoteChannel } from '../../src/ssh/session.js';
import { SudoError } from '../../src/ssh/sudo.js';
import type { ConnectTarget } from '../../src/ssh/types.js';

// A channel whose "remote side" is a test function reading stdin and writing stdout/stderr.
class FakeChannel implements RemoteChannel {
  readonly stdin = new PassThrough();
  readonly stdout = new PassThrough();
  readonly stderr = new PassThrough();
  readonly command: string;
  closed = false;
  signals: string[] = [];
  /** A process that ignores TERM (KILL still ends it). */
  ignoresTerm = false;
  /** An sshd that does not pass signals on: the process runs until its stdin ends. */
  passesNoSignals = false;
  readonly #exit: Array<(code: number | null, signal: string | null) => void> = [];
  readonly #close: Array<() => void> = [];

  constructor(command: string) {
    this.command = command;
  }
  onExit(listener: (code: number | null, signal: string | null) => void): void {
    this.#exit.push(listener);
  }
  onClose(listener: () => void): void {
    this.#close.push(listener);
  }
  signal(name: string): void {
    this.signals.push(name);
    // As a real process: TERM (unless ignored) or KILL ends it, and the channel closes after its exit status.
    if (this.passesNoSignals || (name === 'TERM' && this.ignoresTerm)) return;
    queueMicrotask(() => this.exit(null, name));
  }
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.stdout.end();
    this.stderr.end();
    setImmediate(() => this.#close.forEach((listener) => listener()));
  }
  /** Remote side: exit with a status (or a signal), then close. */
  exit(code: number | null, signal: string | null = null): void {
    this.#exit.forEach((listener) => listener(code, signal));
    this.close();
  }
  /** Remote side: everything written on stdin until EOF. */
  readAll(): Promise<string> {
    return new Promise((resolve) => {
      const chunks: Buffer[] = [];
      this.stdin.on('data', (chunk: Buffer) => chunks.push(chunk));
      this.stdin.on('end', () => resolve(Buffer.concat(chunks).toString()));
    });
  }
}

type Remote = (channel: FakeChannel) => void | Promise<void>;

class FakeOpener implements ChannelOpener {
  closed = false;
  open = 0;
  maxOpen = 0;
  channels: FakeChannel[] = [];
  constructor(public remote: Remote) {}
  async openChannel(command: string): Promise<RemoteChannel> {
    await new Promise((resolve) => setImmediate(resolve));
    const channel = new FakeChannel(command);
    this.channels.push(channel);
    this.open += 1;
    this.maxOpen = Math.max(this.maxOpen, this.open);
    channel.onClose(() => {
      this.open -= 1;
    });
    // The remote side starts after the channel is handed over, as with a real server.
    setImmediate(() => void this.remote(channel));
    return channel;
  }
  async close(): Promise<void> {
    this.closed = true;
  }
}

const target: ConnectTarget = { name: 'web1', address: '127.0.0.1', port: 2201, user: 'halyard', privateKeyFile: undefined, become: false, becomePassword: undefined };
const limits = { commandTimeoutMs: 5_000, maxChannelsPerConnection: 8 };

// A remote that runs nothing: echoes its stdin script back as stdout and exits 0.
const echoScript: Remote = async (channel) => {
  const script = await channel.readAll();
  channel.stdout.write(script);
  channel.exit(0);
};

describe('SshSession.exec with a fake connection', () => {
  it('sends the script on stdin to `sh -s` and returns stdout, stderr and the exit code', async () => {
    const opener = new FakeOpener(async (channel) => {
      const script = await channel.readAll();
      channel.stdout.write(`ran:${script}`);
      channel.stderr.write('warn\n');
      channel.exit(3);
    });
    const session = new SshSession(target, opener, limits);
    const seen: string[] = [];
    const result = await session.exec({ label: 'probe', script: "echo 'secret-value'", onStdout: (chunk) => seen.push(chunk.toString()) });
    expect(opener.channels[0]?.command).toBe('sh -s');
    expect(result).toMatchObject({ exitCode: 3, signal: null, stdout: "ran:{\necho 'secret-value'\n} </dev/null\n", stderr: 'warn\n' });
    expect(seen.join('')).toBe(result.stdout);
    expect(session.execCount).toBe(1);
  });

  it('reports no exit status, or a signal, as exitCode null', async () => {
    const noStatus = new SshSession(target, new FakeOpener((channel) => channel.close()), limits);
    expect(await noStatus.exec({ label: 'x', script: 'true' })).toMatchObject({ exitCode: null, signal: null });
    const killed = new SshSession(target, new FakeOpener((channel) => channel.exit(null, 'SIGKILL')), limits);
    expect(await killed.exec({ label: 'x', script: 'true' })).toMatchObject({ exitCode: null, signal: 'SIGKILL' });
  });

  it('never has more than 8 channels open; the rest queue and all complete', async () => {
    const opener = new FakeOpener(async (channel) => {
      await channel.readAll();
      await new Promise((resolve) => setTimeout(resolve, 20));
      channel.stdout.write('ok');
      channel.exit(0);
    });
    const session = new SshSession(target, opener, limits);
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => session.exec({ label: `exec ${i}`, script: 'true' })));
    expect(results.every((result) => result.exitCode === 0 && result.stdout === 'ok')).toBe(true);
    expect(opener.maxOpen).toBe(8);
    expect(session.channelStats.highWater).toBe(8);
    expect(session.channelStats.open).toBe(0);
    expect(session.execCount).toBe(20);
  });

  it('an abandoned command gets TERM before its stdin ends, and the channel closes after its exit', async () => {
    // Whether the channel was already closed when TERM went: closing first ends the command's stdin
    // before the signal, which let `cat > f.part && mv` finish as after a clean end.
    const closedAtSignal: boolean[] = [];
    const opener = new FakeOpener((channel) => {
      const signal = channel.signal.bind(channel);
      channel.signal = (name: string) => {
        closedAtSignal.push(channel.closed);
        signal(name);
      };
    });
    const session = new SshSession(target, opener, { commandTimeoutMs: 5_000, maxChannelsPerConnection: 2 });
    await session.exec({ label: 'hang', script: 'sleep 100', timeoutMs: 50 }).catch(() => undefined);
    expect(closedAtSignal).toEqual([false]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(opener.channels[0]?.closed).toBe(true);
    expect(opener.channels[0]?.signals).toEqual(['TERM']);
  });

  it.each([
    ['a command that ignores TERM', { ignoresTerm: true }, ['TERM', 'TERM', 'TERM', 'KILL'], STOP_SIGNALS[3]!.afterMs],
    ['a command on an sshd that passes no signals', { passesNoSignals: true }, ['TERM', 'TERM', 'TERM', 'KILL'], STOP_CLOSE_AFTER_MS],
  ] as const)('%s gets TERM again, then KILL, and its channel closes only at its exit or 5 s on', async (_case, behaviour, signals, closedAtMs) => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    try {
      const opener = new FakeOpener((channel) => {
        Object.assign(channel, behaviour);
      });
      const session = new SshSession(target, opener, { commandTimeoutMs: 5_000, maxChannelsPerConnection: 2 });
      const running = session.exec({ label: 'stubborn', script: 'stubborn', timeoutMs: 50 }).catch((error: unknown) => error);
      while (opener.channels.length === 0) await new Promise((resolve) => setImmediate(resolve));
      await vi.advanceTimersByTimeAsync(50);
      expect(await running).toBeInstanceOf(CommandTimeoutError);
      const channel = opener.channels[0]!;
      expect(channel.signals).toEqual(['TERM']);
      await vi.advanceTimersByTimeAsync(closedAtMs - 1);
      expect(channel.closed).toBe(false);
      await vi.advanceTimersByTimeAsync(1);
      await vi.advanceTimersByTimeAsync(0);
      expect(channel.closed).toBe(true);
      expect(channel.signals).toEqual(signals);
      await vi.advanceTimersByTimeAsync(10_000);
      expect(channel.signals).toEqual(signals);
    } finally {
      vi.useRealTimers();
    }
  });

  it('times out: closes the channel, frees the slot and throws CommandTimeoutError', async () => {
    let calls = 0;
    const opener = new FakeOpener((channel) => {
      calls += 1;
      if (calls > 1) channel.exit(0); // later commands finish at once; the first hangs
    });
    const session = new SshSession(target, opener, { commandTimeoutMs: 5_000, maxChannelsPerConnection: 1 });
    const started = Date.now();
    const error = await session.exec({ label: 'hang', script: 'sleep 100', timeoutMs: 100 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CommandTimeoutError);
    expect((error as CommandTimeoutError).code).toBe('E_COMMAND_TIMEOUT');
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(opener.channels[0]?.closed).toBe(true);
    expect(opener.channels[0]?.signals).toEqual(['TERM']);
    // The only slot is free again.
    expect(await session.exec({ label: 'next', script: 'true' })).toMatchObject({ exitCode: 0 });
  });

  it('uses the session default timeout when the request has none', async () => {
    const session = new SshSession(target, new FakeOpener(() => undefined), { commandTimeoutMs: 80, maxChannelsPerConnection: 8 });
    await expect(session.exec({ label: 'hang', script: 'x' })).rejects.toBeInstanceOf(CommandTimeoutError);
  });

  it('fails and closes the channel when stdout passes maxStdoutBytes', async () => {
    const opener = new FakeOpener(async (channel) => {
      await channel.readAll();
      for (let i = 0; i < 10 && !channel.closed; i += 1) channel.stdout.write(Buffer.alloc(1024, 97));
    });
    const session = new SshSession(target, opener, limits);
    const error = await session.exec({ label: 'big', script: 'yes', maxStdoutBytes: 4096 }).catch((e: unknown) => e);
    expect((error as HalyardError).code).toBe('E_STDOUT_LIMIT');
    expect(opener.channels[0]?.closed).toBe(true);
  });

  it('keeps only the last 64 KiB of stderr', async () => {
    const opener = new FakeOpener(async (channel) => {
      await channel.readAll();
      channel.stderr.write(Buffer.alloc(100 * 1024, 'a'));
      channel.stderr.write('THE END');
      channel.exit(1);
    });
    const result = await new SshSession(target, opener, limits).exec({ label: 'noisy', script: 'x' });
    expect(result.stderr.length).toBe(STDERR_TAIL_BYTES);
    expect(result.stderr.endsWith('aTHE END')).toBe(true);
  });
});

const promptOf = (command: string): string => /-p (\S+)/.exec(command)?.[1] ?? '';
const readyOf = (command: string): string => /echo (\S+) >&2/.exec(command)?.[1] ?? '';

describe('SshSession sudo dialogue with a fake sudo', () => {
  // Behaves like `sudo -S -p PROMPT`: prompts, checks the first stdin line, re-prompts when wrong.
  const fakeSudo =
    (password: string): Remote =>
    (channel) => {
      const prompt = promptOf(channel.command);
      const ready = readyOf(channel.command);
      let buffered = '';
      let authenticated = false;
      let tries = 0;
      channel.stderr.write(prompt);
      channel.stdin.on('data', (chunk: Buffer) => {
        buffered += chunk.toString();
        if (authenticated) return;
        const newline = buffered.indexOf('\n');
        if (newline < 0) return;
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        if (line === password) {
          authenticated = true;
          channel.stderr.write(`\n${ready}\n`);
        } else {
          tries += 1;
          channel.stderr.write('\nSorry, try again.\n');
          if (tries < 3) channel.stderr.write(prompt);
        }
      });
      channel.stdin.on('end', () => {
        channel.stdout.write(`root ran: ${buffered}`);
        channel.exit(0);
      });
    };

  it('writes the password when prompted, then the script after the ready marker; markers are stripped', async () => {
    const opener = new FakeOpener(fakeSudo('pw-123'));
    const session = new SshSession(target, opener, limits);
    const become = { ...target, become: true, becomePassword: new Secret('pw-123') };
    const sudoSession = new SshSession(become, opener, limits);
    const result = await sudoSession.exec({ label: 'as root', script: 'id -u' });
    const command = opener.channels[0]?.command ?? '';
    expect(command).toMatch(/^sudo -S -H -p halyard-sudo-prompt-[0-9a-f]+ -- sh -c /);
    expect(command).not.toContain('pw-123');
    expect(result.stdout).toBe('root ran: {\nid -u\n} </dev/null\n');
    expect(result.stderr).toBe('\n');
    expect(result.stderr).not.toContain('halyard-sudo');
    expect(session.execCount).toBe(0);
  });

  it('aborts with E_SUDO_PASSWORD_WRONG on a second prompt', async () => {
    const opener = new FakeOpener(fakeSudo('right'));
    const session = new SshSession({ ...target, become: true, becomePassword: new Secret('wrong') }, opener, limits);
    const error = await session.exec({ label: 'as root', script: 'id -u' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SudoError);
    expect((error as SudoError).code).toBe('E_SUDO_PASSWORD_WRONG');
    expect((error as SudoError).message).not.toContain('wrong');
    expect(opener.channels[0]?.closed).toBe(true);
  });

  it('reports E_SUDO_PASSWORD_REQUIRED when sudo -n exits before the ready marker', async () => {
    const opener = new FakeOpener((channel) => {
      channel.stderr.write('sudo: a password is required\n');
      channel.exit(1);
    });
    const session = new SshSession({ ...target, become: true }, opener, limits);
    const error = await session.exec({ label: 'as root', script: 'id -u' }).catch((e: unknown) => e);
    expect((error as SudoError).code).toBe('E_SUDO_PASSWORD_REQUIRED');
    expect(opener.channels[0]?.command).toMatch(/^sudo -n -H -- sh -c 'echo halyard-sudo-ready-[0-9a-f]+ >&2; exec sh -s'$/);
  });

  it('per-request become: false overrides the host setting', async () => {
    const opener = new FakeOpener(echoScript);
    const session = new SshSession({ ...target, become: true }, opener, limits);
    await session.exec({ label: 'plain', script: 'true', become: false });
    expect(opener.channels[0]?.command).toBe('sh -s');
  });
});

describe('SshSession.execStream', () => {
  it('pipes stdin to the remote and stdout back with backpressure, and counts as an exec', async () => {
    const opener = new FakeOpener((channel) => {
      // Remote `tr a-z A-Z`.
      channel.stdin.on('data', (chunk: Buffer) => channel.stdout.write(chunk.toString().toUpperCase()));
      channel.stdin.on('end', () => channel.exit(0));
    });
    const session = new SshSession(target, opener, limits);
    const stream = session.execStream({ label: 'upper', script: 'tr a-z A-Z' });
    const received: Buffer[] = [];
    stream.stdout.on('data', (chunk: Buffer) => received.push(chunk));
    for (let i = 0; i < 100; i += 1) stream.stdin.write(`line ${i}\n`);
    stream.stdin.end();
    const result = await stream.done;
    expect(result.exitCode).toBe(0);
    expect(Buffer.concat(received).toString()).toBe(Array.from({ length: 100 }, (_, i) => `LINE ${i}\n`).join(''));
    expect(opener.channels[0]?.command).toBe(`sh -c 'tr a-z A-Z'`);
    expect(session.execCount).toBe(1);
  });

  it('sends the sudo password before any stream data', async () => {
    const opener = new FakeOpener((channel) => {
      const prompt = promptOf(channel.command);
      const ready = readyOf(channel.command);
      const chunks: string[] = [];
      channel.stderr.write(prompt);
      channel.stdin.on('data', (chunk: Buffer) => {
        chunks.push(chunk.toString());
        if (chunks.length === 1) channel.stderr.write(`${ready}\n`);
      });
      channel.stdin.on('end', () => {
        channel.stdout.write(JSON.stringify(chunks));
        channel.exit(0);
      });
    });
    const session = new SshSession({ ...target, become: true, becomePassword: new Secret('pw') }, opener, limits);
    const stream = session.execStream({ label: 'load', script: 'docker load' });
    stream.stdin.end('DATA');
    const out: Buffer[] = [];
    stream.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    await stream.done;
    expect(JSON.parse(Buffer.concat(out).toString())).toEqual(['pw\n', 'DATA']);
  });
});

describe('SshSession stops a command whose channel opens too late', () => {
  // The command has started once its channel is handed over; closing it alone would end its stdin
  // cleanly (`cat > f.part && mv f.part f` would keep a truncated f).
  it.each(['an abort', 'a timeout'] as const)('after %s: the late channel gets TERM before it closes', async (cause) => {
    let openLate: () => void = () => undefined;
    const closedAtSignal: boolean[] = [];
    const opener = new FakeOpener(() => undefined);
    const realOpen = opener.openChannel.bind(opener);
    opener.openChannel = async (command: string) => {
      await new Promise<void>((resolve) => (openLate = resolve));
      const channel = (await realOpen(command)) as FakeChannel;
      const signal = channel.signal.bind(channel);
      channel.signal = (name: string) => {
        closedAtSignal.push(channel.closed);
        signal(name);
      };
      return channel;
    };
    const session = new SshSession(target, opener, limits);
    const stream = session.execStream({ label: 'upload', script: 'cat > f.part && mv f.part f', timeoutMs: cause === 'a timeout' ? 20 : 5_000 });
    stream.stdin.write('partial');
    if (cause === 'an abort') stream.abort();
    await expect(stream.done).rejects.toThrow(cause === 'an abort' ? /aborted/ : /timed out/);
    openLate();
    await new Promise((resolve) => setTimeout(resolve, 20));
    const late = opener.channels[0];
    expect(late?.signals).toEqual(['TERM']);
    expect(closedAtSignal).toEqual([false]);
    expect(late?.closed).toBe(true);
  });
});

describe('SshSession retries refused channel opens', () => {
  it('retries an open the server refused (MaxSessions lag) and counts the retries', async () => {
    const opener = new FakeOpener(echoScript);
    let refusals = 2;
    const realOpen = opener.openChannel.bind(opener);
    opener.openChannel = async (command: string) => {
      if (refusals > 0) {
        refusals -= 1;
        throw new ConnectError('E_CHANNEL_OPEN', 'open failed');
      }
      return realOpen(command);
    };
    const session = new SshSession(target, opener, limits);
    expect((await session.exec({ label: 'x', script: 'x' })).exitCode).toBe(0);
    expect(session.channelStats.openRetries).toBe(2);
  });

  it('does not retry other connection errors', async () => {
    const opener = new FakeOpener(echoScript);
    opener.openChannel = async () => {
      throw new ConnectError('E_CONNECTION_LOST', 'gone');
    };
    const session = new SshSession(target, opener, limits);
    await expect(session.exec({ label: 'x', script: 'x' })).rejects.toMatchObject({ code: 'E_CONNECTION_LOST' });
    expect(session.channelStats).toMatchObject({ openRetries: 0, open: 0 });
  });
});

describe('SshSession reconnects a lost connection on next use', () => {
  it('opens a new connection when the old one closed', async () => {
    const first = new FakeOpener(echoScript);
    const second = new FakeOpener(echoScript);
    let reconnects = 0;
    const session = new SshSession(target, first, limits, async () => {
      reconnects += 1;
      return second;
    });
    await session.exec({ label: 'a', script: 'a' });
    first.closed = true;
    await Promise.all([session.exec({ label: 'b', script: 'b' }), session.exec({ label: 'c', script: 'c' })]);
    expect(reconnects).toBe(1);
    expect(second.channels.length).toBe(2);
    await session.close();
    await expect(session.exec({ label: 'd', script: 'd' })).rejects.toMatchObject({ code: 'E_SESSION_CLOSED' });
  });
});

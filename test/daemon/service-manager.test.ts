import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { tellServiceManagerReady } from '../../src/daemon/service-manager.js';

// A notify socket as systemd holds one: a Unix datagram socket that reads each message and closes
// the file descriptors it carries (closing is what ends systemd-notify's barrier wait). Python,
// because node has no Unix datagram sockets.
const RECEIVER = `
import array, os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print('listening', flush=True)
while True:
    data, ancillary, _, _ = s.recvmsg(4096, socket.CMSG_SPACE(16))
    for level, kind, payload in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds = array.array('i')
            fds.frombytes(payload[: len(payload) - len(payload) % fds.itemsize])
            for fd in fds:
                os.close(fd)
    print(data.decode().replace('\\n', ' ').strip(), flush=True)
`;

describe('tellServiceManagerReady', () => {
  const cleanups: Array<() => void> = [];
  afterEach(() => {
    for (const cleanup of cleanups.splice(0)) cleanup();
  });

  async function notifySocket(): Promise<{ path: string; messages: () => string[] }> {
    const dir = mkdtempSync(join(tmpdir(), 'hy-notify-'));
    const path = join(dir, 'notify');
    const receiver: ChildProcessWithoutNullStreams = spawn('python3', ['-c', RECEIVER, path]);
    cleanups.push(() => {
      receiver.kill();
      rmSync(dir, { recursive: true, force: true });
    });
    const lines: string[] = [];
    let stderr = '';
    receiver.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    await new Promise<void>((resolve, reject) => {
      receiver.stdout.on('data', (chunk: Buffer) => {
        lines.push(...chunk.toString().split('\n').filter(Boolean));
        if (lines[0] === 'listening') resolve();
      });
      receiver.on('exit', (code) => reject(new Error(`notify receiver exited ${code}: ${stderr}`)));
    });
    return { path, messages: () => lines.slice(1) };
  }

  test("under systemd: the real systemd-notify sends READY=1 to NOTIFY_SOCKET and returns once it was read (its barrier)", async () => {
    const socket = await notifySocket();
    const told = await tellServiceManagerReady({ PATH: process.env['PATH'], NOTIFY_SOCKET: socket.path });
    expect(told).toBe('told');
    // The barrier message comes second and is answered (its fd closed) before systemd-notify exits.
    expect(socket.messages()).toEqual(['READY=1 STATUS=running', 'BARRIER=1']);
  });

  test('without NOTIFY_SOCKET (not a Type=notify service) nothing runs', async () => {
    expect(await tellServiceManagerReady({ PATH: process.env['PATH'] }, '/nonexistent/systemd-notify')).toBe('no-service-manager');
  });

  test('a notify that fails rejects with the reason (the daemon logs it; systemd then times the start out)', async () => {
    await expect(tellServiceManagerReady({ PATH: process.env['PATH'], NOTIFY_SOCKET: '/nonexistent/notify' })).rejects.toThrow(/systemd-notify --ready --status=running/);
  });
});

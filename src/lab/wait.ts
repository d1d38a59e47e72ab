import { connect } from 'node:net';
import { containerRunning, docker } from './docker.js';
import { LabError } from './errors.js';

// Waits until an SSH server answers with its `SSH-2.0` banner (a TCP connect alone proves
// nothing: docker-proxy accepts connections before sshd listens). Returns the banner line.
export async function waitForSshBanner(
  port: number,
  options: { host?: string; timeoutMs?: number; intervalMs?: number; isAlive?: () => Promise<boolean> } = {},
): Promise<string> {
  const host = options.host ?? '127.0.0.1';
  const timeoutMs = options.timeoutMs ?? 60_000;
  const deadline = Date.now() + timeoutMs;
  let attempts = 0;
  for (;;) {
    attempts++;
    const banner = await readSshBanner(host, port, Math.min(3_000, Math.max(250, deadline - Date.now())));
    if (banner) return banner;
    if (options.isAlive && attempts % 10 === 0 && !(await options.isAlive())) {
      throw new LabError('E_LAB_TIMEOUT', `sshd on ${host}:${port} will not answer: its container stopped`);
    }
    if (Date.now() >= deadline) {
      throw new LabError('E_LAB_TIMEOUT', `no SSH banner from ${host}:${port} within ${Math.round(timeoutMs / 1000)} s`);
    }
    await sleep(options.intervalMs ?? 100);
  }
}

// One attempt: connect, read the first line, hang up. Resolves undefined on any failure.
export function readSshBanner(host: string, port: number, timeoutMs: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    let data = '';
    let settled = false;
    const socket = connect({ host, port });
    const finish = (value: string | undefined) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(value);
    };
    const timer = setTimeout(() => finish(undefined), timeoutMs);
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      data += chunk;
      const line = data.split(/\r?\n/).find((l) => l.startsWith('SSH-2.0'));
      if (line) finish(line.trim());
      else if (data.length > 8192) finish(undefined);
    });
    socket.on('error', () => finish(undefined));
    socket.on('close', () => finish(undefined));
  });
}

// Waits until systemd inside a container says `running` or `degraded` (boot finished).
export async function waitForSystemd(container: string, options: { timeoutMs?: number } = {}): Promise<string> {
  const timeoutMs = options.timeoutMs ?? 120_000;
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    // --wait blocks until boot has finished: one exec instead of one every 250 ms (an exec costs the
    // machine 0.2-0.26 s of CPU, and the slower the machine the more polls a boot took).
    const result = await docker(['exec', container, 'systemctl', 'is-system-running', '--wait'], { timeoutMs: Math.max(1_000, Math.min(60_000, deadline - Date.now())) });
    last = (result.stdout.trim() || result.stderr.trim()).split('\n').pop() ?? '';
    if (last === 'running' || last === 'degraded') return last;
    if (result.exitCode !== 0 && result.stdout.trim() === '' && !(await containerRunning(container))) {
      throw new LabError('E_LAB_TIMEOUT', `systemd host ${container} stopped while booting: ${result.stderr.trim()}`);
    }
    if (Date.now() >= deadline) {
      throw new LabError('E_LAB_TIMEOUT', `systemd in ${container} not up within ${Math.round(timeoutMs / 1000)} s (last state: ${last})`);
    }
    await sleep(250);
  }
}

// Promise-based pause.
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

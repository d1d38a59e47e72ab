import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { CLI, runCli } from '../support/cli.js';

// `halyard daemon -c FILE` as a real process (the compiled CLI, as users run it).
describe('halyard daemon (CLI)', () => {
  test('JSON log lines, /healthz on 127.0.0.1, SIGTERM mid-job: the job finishes, exit 0', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hy-daemon-'));
    const file = join(dir, 'daemon.yml');
    writeFileSync(
      file,
      `state_dir: state
http: { port: 0 }
shutdown_grace_seconds: 20
jobs:
  - name: tick
    kind: command
    schedule: "* * * * * *"
    command: [sh, -c, "sleep 2"]
`,
    );
    const child = spawn(process.execPath, [CLI, 'daemon', '-c', file], { env: { ...process.env, AWS_REGION: 'us-east-1', AWS_EC2_METADATA_DISABLED: 'true' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const records: Array<Record<string, unknown>> = [];
    const waiters: Array<{ match: (r: Record<string, unknown>) => boolean; resolve: (r: Record<string, unknown>) => void }> = [];
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      const lines = stdout.split('\n');
      stdout = lines.pop() ?? '';
      for (const line of lines) {
        const record = JSON.parse(line) as Record<string, unknown>;
        records.push(record);
        for (const waiter of waiters.filter((w) => w.match(record))) waiter.resolve(record);
      }
    });
    const waitFor = (match: (r: Record<string, unknown>) => boolean) =>
      new Promise<Record<string, unknown>>((resolve) => {
        const found = records.find(match);
        if (found) resolve(found);
        else waiters.push({ match, resolve });
      });
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));

    const started = await waitFor((r) => r.event === 'started');
    expect(started.http).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    await waitFor((r) => r.event === 'start' && r.job === 'tick');
    const health = await fetch(`${started.http as string}/healthz`);
    expect(health.status).toBe(200);
    expect(((await health.json()) as { jobs: Record<string, { running: boolean }> }).jobs.tick?.running).toBe(true);

    child.kill('SIGTERM');
    expect(await exited, stderr).toBe(0);
    const events = records.map((r) => r.event);
    expect(events).toContain('signal');
    const shutdown = records.find((r) => r.event === 'shutdown');
    expect(shutdown?.running).toEqual(['tick']);
    // The running job finished after the signal, then the daemon stopped.
    expect(events.slice(events.indexOf('signal'))).toEqual(expect.arrayContaining(['success', 'stopped']));
    expect(events.at(-1)).toBe('stopped');
    for (const record of records) expect(record).toMatchObject({ time: expect.stringMatching(/^\d{4}-\d\d-\d\dT/), level: expect.any(String) });
  }, 30_000);

  test('a bad daemon file: one line naming file:line, exit 65', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hy-daemon-'));
    const file = join(dir, 'daemon.yml');
    writeFileSync(file, 'jobs:\n  - name: x\n    kind: command\n    schedule: "often"\n    command: [true]\n');
    const run = await runCli(['daemon', '-c', file]);
    expect(run.exitCode).toBe(65);
    expect(run.stderr).toBe(`halyard: ${file}:4: job "x": schedule: is not a cron expression (like "0 */5 * * * *" or "*/5 * * * *")\n`);
  });
});

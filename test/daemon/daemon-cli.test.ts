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
http: { port: 0, docker_bridge: false }
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

  test('a SIGTERM the moment it has started (a stop right after a start) stops it gracefully: exit 0, then "stopped"', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hy-daemon-'));
    const file = join(dir, 'daemon.yml');
    writeFileSync(file, 'state_dir: state\nhttp: { port: 0, docker_bridge: false }\njobs:\n  - { name: tick, kind: command, schedule: "* * * * * *", command: ["true"] }\n');
    const child = spawn(process.execPath, [CLI, 'daemon', '-c', file], { env: { ...process.env, AWS_REGION: 'us-east-1', AWS_EC2_METADATA_DISABLED: 'true' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      // Sent from the very chunk that says "started", before the daemon has told systemd it is ready.
      if (!stdout.includes('"started"') && (stdout + chunk).includes('"started"')) child.kill('SIGTERM');
      stdout += chunk;
    });
    const exitCode = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(exitCode, stderr).toBe(0);
    const events = stdout.trim().split('\n').map((line) => (JSON.parse(line) as { event: string }).event);
    expect(events.slice(events.indexOf('signal'))).toContain('stopped');
  }, 30_000);

  test('a bad daemon file: one line naming file:line, exit 65', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hy-daemon-'));
    const file = join(dir, 'daemon.yml');
    writeFileSync(file, 'jobs:\n  - name: x\n    kind: command\n    schedule: "often"\n    command: [true]\n');
    const run = await runCli(['daemon', '-c', file]);
    expect(run.exitCode).toBe(65);
    expect(run.stderr).toBe(`halyard: ${file}:4: job "x": schedule: is not a cron expression (like "0 */5 * * * *" or "*/5 * * * *")\n`);
  });

  test('--check validates and lists each job with its next run; --run runs one job now and exits with its result', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hy-daemon-'));
    const file = join(dir, 'daemon.yml');
    writeFileSync(
      file,
      [
        'state_dir: state',
        'jobs:',
        '  - { name: ok, kind: command, schedule: "0 0 4 * * 0", command: ["true"] }',
        '  - { name: broken, kind: command, schedule: "0 30 2 * * *", timezone: Europe/Berlin, command: [/bin/false] }',
        '',
      ].join('\n'),
    );
    const check = await runCli(['daemon', '-c', file, '--check']);
    expect(check.exitCode, check.stderr).toBe(0);
    expect(check.stdout).toMatch(
      new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: ok, 2 jobs\n  ok \\(command\\) "0 0 4 \\* \\* 0": next run \\d{4}-\\d\\d-\\d\\dT04:00:00\\.000Z\n  broken \\(command\\) "0 30 2 \\* \\* \\*" Europe/Berlin: next run \\d{4}-\\d\\d-\\d\\dT0[01]:30:00\\.000Z\n$`),
    );

    const ok = await runCli(['daemon', '-c', file, '--run', 'ok']);
    expect(ok.exitCode, ok.stderr).toBe(0);
    expect(ok.stdout.trim().split('\n').map((line) => (JSON.parse(line) as { event: string }).event)).toEqual(['start', 'success']);
    const broken = await runCli(['daemon', '-c', file, '--run', 'broken']);
    expect(broken.exitCode).toBe(1);
    expect(JSON.parse(broken.stdout.trim().split('\n').at(-1)!)).toMatchObject({ level: 'error', event: 'failure', job: 'broken', error: '/bin/false exited 1' });
    const unknown = await runCli(['daemon', '-c', file, '--run', 'nope']);
    expect(unknown).toMatchObject({ exitCode: 64, stderr: `halyard: ${file}: no job named "nope" (jobs: ok, broken)\n` });
    expect((await runCli(['daemon', '-c', file, '--run', 'ok', '--check'])).stderr).toBe('halyard: --check and --run do not go together\n');
  });

  test('--check reads the files the jobs read: a bad backup file is named with its problem, exit 65', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hy-daemon-'));
    const file = join(dir, 'daemon.yml');
    writeFileSync(join(dir, 'inventory.yml'), 'all:\n  hosts:\n    web-1: { ansible_host: 10.0.0.5 }\n');
    writeFileSync(join(dir, 'backup.yml'), 'inventory: inventory.yml\nbucket: b1\nvolumes: []\nretention: { last: 0 }\n');
    writeFileSync(
      file,
      ['jobs:', '  - { name: probes, kind: probe, schedule: "0 */5 * * * *", inventory: inventory.yml }', '  - { name: nightly, kind: backup, schedule: "0 30 2 * * *", backup_file: backup.yml }', ''].join('\n'),
    );
    const bad = await runCli(['daemon', '-c', file, '--check']);
    expect(bad.exitCode).toBe(65);
    const lines = bad.stdout.trim().split('\n');
    expect(lines[0]).toBe(`${file}: 1 bad file, 2 jobs`);
    expect(lines).toContain(`  ${join(dir, 'inventory.yml')} (job probes): ok`);
    expect(lines.find((line) => line.startsWith(`  ${join(dir, 'backup.yml')} (job nightly): `))).toMatch(/: .*backup\.yml: /);

    writeFileSync(join(dir, 'backup.yml'), 'inventory: inventory.yml\nbucket: ops-backups\nvolumes:\n  - { name: data, hosts: all, kind: dir, path: /srv/data }\n');
    const good = await runCli(['daemon', '-c', file, '--check']);
    expect(good.exitCode, good.stdout).toBe(0);
    expect(good.stdout.trim().split('\n').slice(3)).toEqual([
      `  ${join(dir, 'inventory.yml')} (job probes): ok`,
      `  ${join(dir, 'backup.yml')} (job nightly): ok`,
      `  ${join(dir, 'inventory.yml')} (job nightly): ok`,
    ]);
  });
});


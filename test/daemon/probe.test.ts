import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { withHostLock } from '../../src/engine/locked-host.js';
import { localSession } from '../backup/local-session.js';
import { evaluateChecks, instanceIdOf, parseProbeOutput, probeScript, stateChanges, type ProbeSettings } from '../../src/daemon/probe.js';
import { busyHostsOf, driftMessage, driftOf } from '../../src/daemon/drift.js';
import { snsSubject } from '../../src/daemon/notify.js';
import type { Host } from '../../src/inventory/types.js';

const SETTINGS: ProbeSettings = { installDir: '/opt/observability', healthUrls: ['http://127.0.0.1:3000/api/health'], diskPercentThreshold: 85 };

describe('probe output and checks', () => {
  test('one batched script, values quoted', () => {
    const script = probeScript({ ...SETTINGS, healthUrls: ["http://x/'; rm -rf /"] });
    expect(script).toContain('for p in / /opt/observability; do');
    expect(script).toContain("'http://x/'\\''; rm -rf /'");
    expect(script).toContain("docker ps -a --format '{{.Names}}\t{{.Status}}'");
  });

  test('run by sh: one docker call proves the daemon and lists the containers; the health URLs are asked at once', async () => {
    const base = mkdtempSync(join(tmpdir(), 'hy-probe-sh-'));
    const bin = join(base, 'bin');
    mkdirSync(bin);
    const calls = join(base, 'docker.log');
    writeFileSync(join(bin, 'docker'), `#!/bin/sh\nprintf '%s\\n' "$*" >> '${calls}'\n[ "$1" = ps ] && printf 'grafana\\tUp 3 hours (healthy)\\nloki\\tExited (1) 2 minutes ago\\n'\n`, { mode: 0o755 });
    // Each request is answered only once both are open (or after 20 s): asked one after the other, the
    // first would wait out curl's 5 s and the second come too late for the first's answer.
    let open = 0;
    let most = 0;
    const waiting: Array<() => void> = [];
    const server = createServer((request, response) => {
      open += 1;
      most = Math.max(most, open);
      const answer = () => {
        open -= 1;
        response.end(request.url === '/a' ? 'ok' : 'no');
      };
      waiting.push(answer);
      if (waiting.length === 2) for (const release of waiting.splice(0)) release();
      else setTimeout(() => waiting.includes(answer) && (waiting.splice(waiting.indexOf(answer), 1), answer()), 20_000);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    const urls = [`http://127.0.0.1:${port}/a`, `http://127.0.0.1:${port}/b`];
    try {
      const run = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
        const child = spawn('sh', ['-c', probeScript({ ...SETTINGS, installDir: undefined, healthUrls: urls })], { env: { ...process.env, PATH: `${bin}:${process.env.PATH}` } });
        let stdout = '';
        child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
        child.on('close', (code) => resolve({ code, stdout }));
      });
      expect(run.code).toBe(0);
      const report = parseProbeOutput(run.stdout);
      expect(report).toMatchObject({ docker: 'up', containers: 2, badContainers: [], health: { [urls[0]!]: 200, [urls[1]!]: 200 } });
      expect(most).toBe(2);
      expect(readFileSync(calls, 'utf8')).toBe('ps -a --format {{.Names}}\t{{.Status}}\n');
    } finally {
      server.close();
    }
  });

  test('parses disk, docker, containers and health lines; unhealthy and restarting containers fail', () => {
    const report = parseProbeOutput(
      [
        'disk\t/\t42',
        'disk\t/opt/observability\t91',
        'docker\tup',
        'container\tgrafana\tUp 3 hours (healthy)',
        'container\tloki\tUp 2 minutes (unhealthy)',
        'container\tmimir\tRestarting (1) 5 seconds ago',
        'container\told\tExited (0) 2 days ago',
        'health\thttp://127.0.0.1:3000/api/health\t200',
        '',
      ].join('\n'),
    );
    expect(report).toEqual({
      disk: { '/': 42, '/opt/observability': 91 },
      docker: 'up',
      containers: 4,
      badContainers: ['loki: Up 2 minutes (unhealthy)', 'mimir: Restarting (1) 5 seconds ago'],
      health: { 'http://127.0.0.1:3000/api/health': 200 },
    });
    expect(evaluateChecks(report, SETTINGS)).toEqual({
      disk: { ok: false, detail: '/opt/observability 91% used (threshold 85%)' },
      docker: { ok: true, detail: 'docker daemon answers' },
      containers: { ok: false, detail: 'loki: Up 2 minutes (unhealthy); mimir: Restarting (1) 5 seconds ago' },
      'health http://127.0.0.1:3000/api/health': { ok: true, detail: 'HTTP 200' },
    });
  });

  test('changes of state: first failure, still failing (nothing), recovery', () => {
    const failing = { docker: { ok: false, detail: 'docker daemon does not answer' }, disk: { ok: true, detail: '/ 10%' } };
    const fine = { docker: { ok: true, detail: 'docker daemon answers' }, disk: { ok: true, detail: '/ 10%' } };
    expect(stateChanges(undefined, fine)).toEqual([]);
    expect(stateChanges(undefined, failing)).toEqual([{ check: 'docker', from: 'unknown', to: 'failing', detail: 'docker daemon does not answer' }]);
    expect(stateChanges(failing, failing)).toEqual([]);
    expect(stateChanges(failing, fine)).toEqual([{ check: 'docker', from: 'failing', to: 'ok', detail: 'docker daemon answers' }]);
    expect(stateChanges(fine, failing)).toEqual([{ check: 'docker', from: 'ok', to: 'failing', detail: 'docker daemon does not answer' }]);
  });

  test('InstanceId: ec2_instance_id, else the host name', () => {
    const host = (vars: Record<string, unknown>): Host => ({ name: 'web-1', address: 'a', port: 22, user: undefined, privateKeyFile: undefined, become: false, becomePassword: undefined, groups: [], vars });
    expect(instanceIdOf(host({ ec2_instance_id: 'i-0123' }))).toBe('i-0123');
    expect(instanceIdOf(host({}))).toBe('web-1');
  });
});

describe('drift report', () => {
  test('lists changed tasks per host and failed hosts; nothing drifted is an empty list', () => {
    const task = (name: string, status: 'ok' | 'changed' | 'failed', extra = {}) => ({ name, status, durationMs: 1, ...extra });
    const host = (tasks: ReturnType<typeof task>[], extra = {}) => ({ ok: 0, changed: 0, failed: 0, skipped: 0, unreachable: false, execs: 1, tasks, ...extra });
    const drifted = driftOf({
      ok: true,
      durationMs: 5,
      check: true,
      hosts: {
        a: host([task('file /etc/a', 'ok'), task('file /opt/x/nginx.conf', 'changed', { changes: ['content differs'] })]),
        b: host([task('file /etc/a', 'ok')]),
        c: host([], { unreachable: true, error: 'connection refused' }),
        // Locked by a converge in progress: checked again next time, not drift.
        d: host([], { error: 'host is locked by another halyard run (run=1)', errorCode: 'E_HOST_LOCKED' }),
      },
    });
    expect(drifted).toEqual([
      { host: 'a', tasks: [{ name: 'file /opt/x/nginx.conf', changes: ['content differs'] }] },
      { host: 'c', tasks: [], error: 'unreachable: connection refused' },
    ]);
    const { subject, message } = driftMessage('site.ts', drifted);
    expect(subject).toBe('halyard drift: 2 hosts (a, c)');
    expect(message).toBe('Check-mode run of site.ts found drift:\n\na:\n  - file /opt/x/nginx.conf (content differs)\nc:\n  ! unreachable: connection refused\n');
    expect(driftOf({ ok: true, durationMs: 1, check: true, hosts: { b: host([task('x', 'ok')]) } })).toEqual([]);
    expect(busyHostsOf({ ok: false, durationMs: 1, check: true, hosts: { b: host([]), d: host([], { error: 'locked', errorCode: 'E_HOST_LOCKED' }) } })).toEqual(['d']);
  });

  test("the playbook's controller steps are checked too: alarms that would change, or a step that failed, are drift", () => {
    const controller = [
      { name: 'monitor', status: 'changed' as const, durationMs: 1 },
      { name: 'dns', status: 'failed' as const, durationMs: 1, error: 'AccessDenied' },
      { name: 'quiet', status: 'ok' as const, durationMs: 1 },
    ];
    const quietHost = { ok: 1, changed: 0, failed: 0, skipped: 0, unreachable: false, execs: 1, tasks: [{ name: 'x', status: 'ok' as const, durationMs: 1 }] };
    expect(driftOf({ ok: false, durationMs: 1, check: true, hosts: { b: quietHost }, controller })).toEqual([
      { host: 'controller step monitor', tasks: [{ name: 'monitor', changes: ['would change'] }] },
      { host: 'controller step dns', tasks: [], error: 'AccessDenied' },
    ]);
  });

  test('SNS subjects stay within 100 ASCII characters on one line', () => {
    expect(snsSubject(`a\nb ✓ ${'x'.repeat(200)}`)).toMatch(/^a b \? x+\.\.\.$/);
    expect(snsSubject('x'.repeat(200))).toHaveLength(100);
  });
});

// This machine as the probed host (a local shell under the run guard, its lock under a temp dir),
// with df and docker answering as a host with 12 % used and Docker up.
function localProbeHost() {
  const base = mkdtempSync(join(tmpdir(), 'hy-probe-'));
  const bin = join(base, 'bin');
  mkdirSync(bin);
  mkdirSync(join(base, 'home'));
  writeFileSync(join(bin, 'df'), "#!/bin/sh\necho 'Filesystem 1024-blocks Used Available Capacity Mounted on'\necho \"/dev/x 100 12 88 12% $2\"\n", { mode: 0o755 });
  writeFileSync(join(bin, 'docker'), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
  return { env: { PATH: `${bin}:${process.env.PATH}` }, lockPaths: { rootDir: join(base, 'run-halyard'), userHome: join(base, 'home'), undoDir: join(base, 'undo') } };
}

describe('runProbes on a local host', () => {
  test('unreachable, then back and fine: one FAILING message, one recovered message; metrics only when the host answered', async () => {
    const { runProbes, ProbeStateStore } = await import('../../src/daemon/probe.js');
    const { memoryLogger } = await import('../../src/daemon/log.js');
    const local = localProbeHost();
    let reachable = false;
    const pool = {
      session: async () => {
        if (!reachable) throw new Error('connect ECONNREFUSED 10.0.0.1:22');
        return localSession('web-1', local.env);
      },
    } as unknown as import('../../src/ssh/index.js').SshPool;
    const published: Array<{ subject: string; message: string }> = [];
    const metrics: unknown[] = [];
    const host: Host = { name: 'web-1', address: '10.0.0.1', port: 22, user: undefined, privateKeyFile: undefined, become: false, becomePassword: undefined, groups: [], vars: {} };
    const state = new ProbeStateStore(undefined);
    const probe = () =>
      runProbes({
        hosts: [host],
        pool,
        metrics: { putMetricData: async (_ns: string, points: unknown[]) => void metrics.push(...points) } as never,
        namespace: 'halyard',
        notifier: { publish: async (subject, message) => void published.push({ subject, message }) },
        state,
        settings: { healthUrls: [], diskPercentThreshold: 85 },
        logger: memoryLogger(),
        jobName: 'probes',
        lockPaths: local.lockPaths,
      });
    await probe();
    await probe();
    expect(published).toHaveLength(1);
    expect(published[0]?.subject).toBe('halyard: web-1 FAILING: ssh');
    expect(published[0]?.message).toContain('- ssh: unknown -> failing (unreachable: connect ECONNREFUSED 10.0.0.1:22)');
    expect(metrics).toHaveLength(0);

    reachable = true;
    await probe();
    // The probe held the host as a probe: a run meeting it asks again instead of failing at once.
    expect(readFileSync(join(local.lockPaths.rootDir, 'owner-lock'), 'utf8')).toMatch(/^run=\S+ controller=\S+ pid=\d+ since=\S+ for=probe\n$/);
    await probe();
    expect(published).toHaveLength(2);
    expect(published[1]?.subject).toBe('halyard: web-1 recovered: ssh');
    expect(metrics).toHaveLength(6);
  });

  test('a notification the daemon could not deliver (SNS down) is sent again next round; the run still succeeds', async () => {
    const { runProbes, ProbeStateStore } = await import('../../src/daemon/probe.js');
    const { memoryLogger } = await import('../../src/daemon/log.js');
    const local = localProbeHost();
    const pool = { session: async () => Promise.reject(new Error('connect ECONNREFUSED 10.0.0.1:22')) } as unknown as import('../../src/ssh/index.js').SshPool;
    let deliver = false;
    const attempts: string[] = [];
    const state = new ProbeStateStore(undefined);
    const probe = () =>
      runProbes({
        hosts: [{ name: 'web-1', address: '10.0.0.1', port: 22, user: undefined, privateKeyFile: undefined, become: false, becomePassword: undefined, groups: [], vars: {} }],
        pool,
        metrics: { putMetricData: async () => undefined },
        namespace: 'halyard',
        // As the daemon's notifier answers: false when SNS did not take the message.
        notifier: { publish: async (subject) => (attempts.push(subject), deliver) },
        state,
        settings: { healthUrls: [], diskPercentThreshold: 85 },
        logger: memoryLogger(),
        jobName: 'probes',
        lockPaths: local.lockPaths,
      });
    expect((await probe()).summary).toMatchObject({ failingHosts: 1, notifications: 0, undeliveredNotifications: 1 });
    expect((await probe()).summary).toMatchObject({ notifications: 0, undeliveredNotifications: 1 });
    deliver = true;
    expect((await probe()).summary).toMatchObject({ notifications: 1 });
    // Delivered once: the state moved on, nothing more to say.
    expect((await probe()).summary).toMatchObject({ notifications: 0 });
    expect(attempts).toEqual(['halyard: web-1 FAILING: ssh', 'halyard: web-1 FAILING: ssh', 'halyard: web-1 FAILING: ssh']);
  });

  test('a host whose lock another run holds (a converge, a backup) is skipped this round: not failing, nothing published', async () => {
    const { runProbes, ProbeStateStore } = await import('../../src/daemon/probe.js');
    const { memoryLogger } = await import('../../src/daemon/log.js');
    const local = localProbeHost();
    const session = localSession('web-1', local.env);
    const pool = { session: async () => session } as unknown as import('../../src/ssh/index.js').SshPool;
    const published: string[] = [];
    const logger = memoryLogger();
    let release!: () => void;
    let held!: () => void;
    const isHeld = new Promise<void>((resolve) => (held = resolve));
    const holder = withHostLock(session, { label: 'apply', waitSeconds: 0, timeoutMs: 10_000, lockPaths: local.lockPaths }, async () => {
      held();
      await new Promise<void>((resolve) => (release = resolve));
    });
    await isHeld;
    // One probe round of web-1 while the lock is held, waiting as the options say.
    const probeWhileLocked = (wait: { lockWaitSeconds: number; lockWaitSignal?: AbortSignal }) =>
      runProbes({
        hosts: [{ name: 'web-1', address: '10.0.0.1', port: 22, user: undefined, privateKeyFile: undefined, become: false, becomePassword: undefined, groups: [], vars: {} }],
        pool,
        metrics: { putMetricData: async () => undefined } as never,
        namespace: 'halyard',
        notifier: { publish: async (subject) => void published.push(subject) },
        state: new ProbeStateStore(undefined),
        settings: { healthUrls: [], diskPercentThreshold: 85 },
        logger,
        jobName: 'probes',
        lockPaths: local.lockPaths,
        ...wait,
      });
    const outcome = await probeWhileLocked({ lockWaitSeconds: 0 });
    // A daemon beginning to stop ends a probe's wait for the lock at once: busy, not failing.
    const stopping = new AbortController();
    setTimeout(() => stopping.abort(new Error('daemon shutting down')), 300);
    const started = Date.now();
    const cut = await probeWhileLocked({ lockWaitSeconds: 30, lockWaitSignal: stopping.signal });
    expect(Date.now() - started).toBeLessThan(10_000);
    release();
    await holder;
    expect(outcome.summary).toMatchObject({ hosts: 1, failingHosts: 0, busyHosts: 1, notifications: 0, metrics: 0 });
    expect(cut.summary).toMatchObject({ hosts: 1, failingHosts: 0, busyHosts: 1, notifications: 0, metrics: 0 });
    expect(published).toEqual([]);
    expect(logger.records).toContainEqual(expect.objectContaining({ event: 'probe-busy', host: 'web-1', detail: expect.stringMatching(/^host is locked by another halyard run/) }));
    expect(logger.records).toContainEqual(expect.objectContaining({ event: 'probe-busy', host: 'web-1', detail: 'probe web-1: stopped waiting for the host lock (daemon shutting down)' }));
  });
});

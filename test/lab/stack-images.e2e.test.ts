// Builds the observability stack's TEST STAND-IN images (src/lab/stack-images.ts) and runs each once
// on this machine's Docker: its health endpoint answers, and the container healthcheck the role
// writes into docker-compose.yml passes inside it.
import { chmod, chown, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { observabilityStackModel } from '../../roles/observability-stack/index.js';
import { defaultHealthTests } from '../../roles/observability-stack/templates/compose.js';
import { nginxConfig } from '../../roles/observability-stack/templates/nginx.js';
import { docker, dockerChecked } from '../../src/lab/docker.js';
import { BUSYBOX_STANDINS, ensureStackTestImagesDetailed, type StackTestImages } from '../../src/lab/stack-images.js';
import { busyBudget } from '../support/budget.js';

const RUN_LABEL = `halyard.test.images-run=${process.pid}`;
const model = observabilityStackModel({ name: 'obs-test', vars: { grafana_admin_password: 'g-pw', postgres_password: 'pg-pw' } });
const healthTests = defaultHealthTests(model);

let built: StackTestImages;
const containers: string[] = [];
const tempDirs: string[] = [];

beforeAll(async () => {
  const started = Date.now();
  built = await ensureStackTestImagesDetailed({ onProgress: (message) => process.stderr.write(`[stand-in images] ${message}\n`) });
  const lines = [];
  for (const build of built.builds) {
    const size = Number((await dockerChecked(['image', 'inspect', '--format', '{{.Size}}', build.image])).stdout.trim());
    lines.push(`  ${build.image}  ${(size / 1e6).toFixed(1)} MB  ${build.built ? `built in ${(build.durationMs / 1000).toFixed(1)} s` : 'cached'}`);
  }
  process.stderr.write(`[stand-in images] ready in ${((Date.now() - started) / 1000).toFixed(1)} s\n${lines.join('\n')}\n`);
});

afterAll(async () => {
  for (const id of containers) await docker(['rm', '-f', id]);
  for (const dir of tempDirs) await rm(dir, { recursive: true, force: true });
});

// Starts a container (removed after the file), publishing ports on 127.0.0.1 only.
async function start(image: string, options: { ports?: number[]; args?: string[]; docker?: string[] } = {}): Promise<string> {
  const publish = (options.ports ?? []).flatMap((port) => ['-p', `127.0.0.1::${port}`]);
  const result = await dockerChecked(['run', '-d', '--label', RUN_LABEL, ...publish, ...(options.docker ?? []), image, ...(options.args ?? [])]);
  const id = result.stdout.trim();
  containers.push(id);
  return id;
}

async function hostPort(id: string, port: number): Promise<number> {
  const out = (await dockerChecked(['port', id, `${port}/tcp`])).stdout;
  const match = /127\.0\.0\.1:(\d+)/.exec(out);
  if (!match?.[1]) throw new Error(`no 127.0.0.1 port for ${port}: ${out}`);
  return Number(match[1]);
}

// GETs a URL on 127.0.0.1 until it answers 2xx (or the deadline); returns the last answer.
async function getUntilOk(url: string, timeoutMs = 30_000): Promise<{ status: number; body: string }> {
  const deadline = Date.now() + timeoutMs;
  let last = { status: 0, body: '' };
  while (Date.now() < deadline) {
    try {
      const response = await fetch(url, { redirect: 'manual', signal: AbortSignal.timeout(3000) });
      last = { status: response.status, body: await response.text() };
      if (response.status >= 200 && response.status < 300) return last;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return last;
}

// Runs the role's compose healthcheck test of a service inside a container: it must pass.
async function healthcheckPasses(id: string, test: readonly string[], timeoutMs = 60_000): Promise<string> {
  expect(test[0]).toBe('CMD');
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    const result = await docker(['exec', id, ...test.slice(1)], { timeoutMs: 20_000 });
    if (result.exitCode === 0) return 'ok';
    last = `exit ${result.exitCode}: ${result.stderr}${result.stdout}`;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  const logs = await docker(['logs', '--tail', '30', id]);
  throw new Error(`healthcheck ${test.join(' ')} never passed (${last}); logs:\n${logs.stdout}${logs.stderr}`);
}

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'halyard-images-test-'));
  tempDirs.push(dir);
  return dir;
}

describe('stand-in images (test only; users get the upstream images)', () => {
  test('one image per busybox stand-in and one Debian image for nginx, postgres and node-exporter', () => {
    expect(Object.keys(built.images).sort()).toEqual(['app', 'grafana', 'loki', 'mimir', 'nginx', 'node-exporter', 'otel-collector', 'postgres', 'tempo']);
    expect(new Set([built.images.nginx, built.images.postgres, built.images['node-exporter']]).size).toBe(1);
    for (const ref of Object.values(built.images)) expect(ref).toMatch(/^halyard-standin-[a-z-]+:[0-9a-f]{12}$/);
  }, busyBudget(1));

  test.each(BUSYBOX_STANDINS.map((standin) => [standin.service, standin] as const))(
    '%s answers its health endpoint and passes the role healthcheck, with the upstream flags',
    async (service, standin) => {
      const image = built.images[service] as string;
      const args: Record<string, string[]> = {
        loki: ['-config.file=/etc/loki/local-config.yaml', '-target=all'],
        tempo: ['-config.file=/etc/tempo.yaml'],
        mimir: ['-config.file=/etc/mimir.yaml', '-target=all'],
        'otel-collector': ['--config', '/etc/otelcol-contrib/config.yaml'],
      };
      // The config files the upstream flags name exist in the container, as compose mounts them.
      const config = await tempDir();
      await writeFile(join(config, 'config.yaml'), 'stand-in: true\n');
      await chmod(config, 0o755);
      await chmod(join(config, 'config.yaml'), 0o644);
      const mounts: Record<string, string[]> = {
        loki: ['-v', `${config}/config.yaml:/etc/loki/local-config.yaml:ro`],
        tempo: ['-v', `${config}/config.yaml:/etc/tempo.yaml:ro`],
        mimir: ['-v', `${config}/config.yaml:/etc/mimir.yaml:ro`],
        'otel-collector': ['-v', `${config}/config.yaml:/etc/otelcol-contrib/config.yaml:ro`],
      };
      const ports = [standin.port, ...(standin.extra ?? []).map((extra) => extra.port)];
      const id = await start(image, { ports, args: args[service] ?? [], docker: mounts[service] ?? [] });
      const base = `http://127.0.0.1:${await hostPort(id, standin.port)}`;
      if (service === 'grafana') {
        const answer = await getUntilOk(`${base}/api/health`);
        expect(answer.status).toBe(200);
        expect(JSON.parse(answer.body)).toMatchObject({ database: 'ok' });
        expect((await getUntilOk(`${base}/grafana/api/health`)).status).toBe(200);
      } else if (service === 'otel-collector') {
        const answer = await getUntilOk(`${base}/`);
        expect(answer.status).toBe(200);
        expect(answer.body).toContain('Server available');
        const metrics = await getUntilOk(`http://127.0.0.1:${await hostPort(id, 8888)}/metrics`);
        expect(metrics.body).toContain('standin_info{service="otel-collector"} 1');
      } else if (service === 'app') {
        expect((await getUntilOk(`${base}/health`)).status).toBe(200);
        expect((await getUntilOk(`${base}/metrics`)).body).toContain('standin_info');
      } else {
        const answer = await getUntilOk(`${base}/ready`);
        expect(answer).toEqual({ status: 200, body: 'ready\n' });
      }
      const test = healthTests[service];
      if (test[0] !== 'NONE') expect(await healthcheckPasses(id, test)).toBe('ok');
      const user = (await dockerChecked(['exec', id, 'id', '-u'])).stdout.trim();
      expect(user).toBe(String(standin.user ?? 0));
    },
    busyBudget(3),
  );

  test('a stand-in refuses a config file it cannot read and a data directory it cannot write, as the real service would fail', async () => {
    const image = built.images.loki as string;
    const missing = await docker(['run', '--rm', '--label', RUN_LABEL, image, '-config.file=/etc/loki/none.yaml'], { timeoutMs: 60_000 });
    expect(missing.exitCode).toBe(1);
    expect(missing.stderr).toContain('config file /etc/loki/none.yaml is not readable');
    const data = await tempDir();
    await chmod(data, 0o755); // root-owned: uid 10001 cannot write
    const readOnly = await docker(['run', '--rm', '--label', RUN_LABEL, '-v', `${data}:/loki`, image], { timeoutMs: 60_000 });
    expect(readOnly.exitCode).toBe(1);
    expect(readOnly.stderr).toContain('data directory /loki is not writable by uid 10001');
  }, busyBudget(3));

  test("nginx (Debian's) accepts the role's nginx.conf (nginx -t), answers /healthz, redirects to HTTPS and serves TLS", async () => {
    const image = built.images.nginx as string;
    const dir = await tempDir();
    const certs = join(dir, 'certs');
    await writeFile(join(dir, 'nginx.conf'), nginxConfig(model));
    await dockerChecked(
      ['run', '--rm', '--label', RUN_LABEL, '-v', `${dir}:/work`, '--entrypoint', 'sh', image, '-c',
        'mkdir -p /work/certs && openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=obs-test -keyout /work/certs/tls.key -out /work/certs/tls.crt 2>/dev/null'],
      { timeoutMs: 60_000 },
    );
    const mounts = ['-v', `${dir}/nginx.conf:/etc/nginx/nginx.conf:ro`, '-v', `${certs}:${model.tls.certPath.replace(/\/tls\.crt$/, '')}:ro`];
    const syntax = await docker(['run', '--rm', '--label', RUN_LABEL, ...mounts, image, 'nginx', '-t'], { timeoutMs: 60_000 });
    expect(syntax.exitCode, syntax.stderr).toBe(0);
    expect(syntax.stderr).toContain('syntax is ok');
    const id = await start(image, { ports: [80], docker: mounts });
    const base = `http://127.0.0.1:${await hostPort(id, 80)}`;
    expect(await getUntilOk(`${base}/healthz`)).toEqual({ status: 200, body: 'ok\n' });
    const redirect = await fetch(`${base}/grafana/`, { redirect: 'manual' });
    expect(redirect.status).toBe(301);
    expect(redirect.headers.get('location')).toMatch(/^https:\/\/127\.0\.0\.1(:\d+)?\/grafana\/$/);
    const tls = await dockerChecked(['exec', id, 'curl', '-sk', 'https://127.0.0.1/healthz']);
    expect(tls.stdout).toBe('ok\n');
    expect(await healthcheckPasses(id, healthTests.nginx)).toBe('ok');
  }, busyBudget(8));

  test("postgres (Debian's) initialises an empty PGDATA from POSTGRES_PASSWORD like the official image: pg_isready and a password login", async () => {
    const image = built.images.postgres as string;
    const data = await tempDir();
    await chown(data, 999, 999);
    await chmod(data, 0o750);
    const password = 'pg-login-pw';
    const id = await start(image, {
      docker: [
        '-e', `POSTGRES_PASSWORD=${password}`, '-e', 'POSTGRES_USER=app', '-e', 'POSTGRES_DB=app',
        '-e', 'PGDATA=/var/lib/postgresql/data/pgdata', '-v', `${data}:/var/lib/postgresql/data`,
      ],
    });
    expect(await healthcheckPasses(id, healthTests.postgres)).toBe('ok');
    const login = await docker(['exec', id, 'psql', `postgresql://app:${password}@127.0.0.1:5432/app`, '-tAc', 'select current_user || \'@\' || current_database()'], { timeoutMs: 30_000 });
    expect(login.stdout.trim(), login.stderr).toBe('app@app');
    const wrong = await docker(['exec', id, 'psql', 'postgresql://app:wrong@127.0.0.1:5432/app', '-tAc', 'select 1'], { timeoutMs: 30_000 });
    expect(wrong.exitCode).not.toBe(0);
    expect(wrong.stderr).toContain('password authentication failed');
    // The mount point keeps what the role set (999:999 0750); PGDATA below it is postgres's 0700.
    const mountPoint = await stat(data);
    expect([mountPoint.uid, mountPoint.gid, mountPoint.mode & 0o777]).toEqual([999, 999, 0o750]);
    const pgdata = await stat(join(data, 'pgdata'));
    expect([pgdata.uid, pgdata.mode & 0o777]).toEqual([999, 0o700]);
  }, busyBudget(11));

  test("node-exporter (Debian's) takes the role's flags, two listen addresses included, and serves host metrics", async () => {
    const image = built.images['node-exporter'] as string;
    const id = await start(image, {
      ports: [9101],
      args: ['--path.rootfs=/host', '--web.listen-address=127.0.0.1:9100', '--web.listen-address=0.0.0.0:9101'],
      docker: ['-v', '/:/host:ro'],
    });
    const metrics = await getUntilOk(`http://127.0.0.1:${await hostPort(id, 9101)}/metrics`);
    expect(metrics.status).toBe(200);
    expect(metrics.body).toContain('node_cpu_seconds_total');
    expect(metrics.body).toContain('node_filesystem_avail_bytes');
    expect(await healthcheckPasses(id, healthTests['node-exporter'])).toBe('ok');
  }, busyBudget(3));
});

import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { composeCommand, type DockerInfo, type HealthAnswer } from '../../src/facts/docker.js';
import { healthWaitScript, httpHealthResource, type HttpHealthDesired } from '../../src/resources/http-health.js';
import { runSh } from '../facts/local-shell.js';
import { planOf, type PlanRow, outcomeOf } from './plan-table.js';

const docker: DockerInfo = { cli: true, serverVersion: '20.10.24', composeV1: '/usr/bin/docker-compose' };
const answer = (service: string, status: number, error?: string): HealthAnswer => ({ service, url: `http://127.0.0.1/${service}`, status, ...(error ? { error } : {}) });
const facts = (...health: HealthAnswer[]) => ({ health, docker });
const DESIRED: HttpHealthDesired = {
  dir: '/opt/app',
  project: 'app',
  checks: [
    { service: 'web', url: 'http://127.0.0.1/web' },
    { service: 'api', url: 'http://127.0.0.1/api' },
  ],
};

// The whole polling script for one check, exactly.
const ONE_CHECK = [
  `hy_ok() { case "$1" in *[23][0-9][0-9]) return 0 ;; *) return 1 ;; esac; }`,
  `hy_why() { c=$(printf '%s' "$1" | tail -c 3); case "$c" in 000|*[!0-9]*) e=$(printf '%s' "$1" | sed '$ s/000$//' | tr '\\n' ' ' | sed 's/ *$//'); printf 'no answer (%s)' "\${e:-no answer}" ;; *) printf 'HTTP %s' "$c" ;; esac; }`,
  `hy_deadline=$(( $(date +%s) + 30 ))`,
  `hy_pause=0.25`,
  `while :; do`,
  `  r0=$(curl -sS -o /dev/null -m 3 -w '%{http_code}' http://127.0.0.1:3100/ready 2>&1)`,
  `  if hy_ok "$r0"; then exit 0; fi`,
  `  if [ "$(date +%s)" -ge "$hy_deadline" ]; then break; fi`,
  `  sleep "$hy_pause"`,
  `  case $hy_pause in 0.25) hy_pause=0.5 ;; 0.5) hy_pause=1 ;; *) hy_pause=2 ;; esac`,
  `done`,
  `echo 'health checks of project app still failing after 30 s:'`,
  `if ! hy_ok "$r0"; then printf '  %s %s: %s\\n' loki http://127.0.0.1:3100/ready "$(hy_why "$r0")"; fi`,
  `if ! hy_ok "$r0"; then echo '--- loki: docker-compose -p app -f docker-compose.yml logs --no-color --tail 20 loki'; (cd -- /opt/app && docker-compose -p app -f docker-compose.yml logs --no-color --tail 20 loki) 2>&1 | tail -n 21; fi`,
  `exit 1`,
].join('\n');

const rows: PlanRow<HttpHealthDesired>[] = [
  { name: 'noop: every URL answers 2xx/3xx', desired: DESIRED, facts: facts(answer('web', 200), answer('api', 302)), expected: { noop: 'every check answers: web 200, api 302' } },
  {
    name: 'one URL fails: wait',
    desired: { dir: '/opt/app', project: 'app', checks: [{ service: 'loki', url: 'http://127.0.0.1:3100/ready' }], timeoutSeconds: 30 },
    facts: facts({ service: 'loki', url: 'http://127.0.0.1:3100/ready', status: 503 }),
    expected: { scripts: [ONE_CHECK] },
  },
  { name: 'no checks', desired: { ...DESIRED, checks: [] }, facts: facts(), expected: { error: 'http health: checks must be a non-empty list' } },
  { name: 'not an http URL', desired: { ...DESIRED, checks: [{ service: 'web', url: 'file:///etc/passwd' }] }, facts: facts(), expected: { error: 'http health: web: url must be http:// or https:// without spaces, got "file:///etc/passwd"' } },
  { name: 'an option as URL', desired: { ...DESIRED, checks: [{ service: 'web', url: '-o/etc/x' }] }, facts: facts(), expected: { error: 'http health: web: url must be http:// or https:// without spaces, got "-o/etc/x"' } },
  { name: 'bad service name', desired: { ...DESIRED, checks: [{ service: 'a b', url: 'http://x/' }] }, facts: facts(), expected: { error: 'http health: invalid service name "a b"' } },
  { name: 'bad timeout', desired: { ...DESIRED, timeoutSeconds: -1 }, facts: facts(), expected: { error: 'http health: timeoutSeconds must be an integer from 0 to 3600, got -1' } },
];

describe('httpHealthResource.plan', () => {
  test.each(rows)('$name', ({ desired, facts: given, expected }) => {
    expect(outcomeOf(httpHealthResource, desired, given)).toEqual(expected);
  });

  test('changes name each failing service with its answer; the step keeps the whole report on failure', () => {
    const plan = planOf(httpHealthResource, DESIRED, facts(answer('web', 200), answer('api', 0, 'curl: (7) Failed to connect')));
    expect(plan).toMatchObject({
      action: 'change',
      changes: ['wait for api: no answer (curl: (7) Failed to connect) from http://127.0.0.1/api'],
      steps: [{ label: 'wait up to 120 s for web, api', failureOutputLines: 4 + 2 + 2 * 22 }],
    });
    const v2 = planOf(httpHealthResource, DESIRED, { health: [answer('web', 500), answer('api', 200)], docker: { ...docker, composeV2: '2.29.7' } });
    expect(v2.action === 'change' && v2.steps[0]?.script).toContain('docker compose -p app -f docker-compose.yml logs --no-color --tail 20 web');
  });

  test('facts, invalidation, description', () => {
    expect(Object.values(httpHealthResource.facts(DESIRED, { diff: false })).map((fact) => fact.key)).toEqual([expect.stringMatching(/^status:health:app:[0-9a-f]{12}$/), 'docker:info']);
    expect(httpHealthResource.invalidates(DESIRED)).toEqual([]);
    expect(httpHealthResource.describe(DESIRED)).toBe('http health of app (web, api)');
  });
});

// The polling script run by a real sh, with stand-ins for curl and docker-compose first on PATH.
describe('the wait script', () => {
  let dir: string;
  let bin: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'hy-health-'));
    bin = join(dir, 'bin');
    mkdirSync(bin);
    mkdirSync(join(dir, 'app'));
    const fakes = {
      // ok -> 200; down -> connection refused; flaky -> 503 on the first call, then 200.
      curl: `#!/bin/sh
for url; do :; done
case "$url" in
  *ok*) printf 200 ;;
  *down*) echo "curl: (7) Failed to connect to 127.0.0.1 port 9 after 0 ms: Couldn't connect to server" >&2; printf 000; exit 7 ;;
  *flaky*) if [ -e "${dir}/flaky" ]; then printf 200; else : > "${dir}/flaky"; printf 503; fi ;;
  *teapot*) printf 418 ;;
esac
`,
      'docker-compose': `#!/bin/sh
[ "$(pwd)" = "${dir}/app" ] || { echo "wrong directory $(pwd)"; exit 1; }
for s; do :; done
echo "$s  | starting $s"
echo "$s  | fatal: cannot bind"
`,
    };
    for (const [name, text] of Object.entries(fakes)) {
      writeFileSync(join(bin, name), text);
      chmodSync(join(bin, name), 0o755);
    }
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const run = (checks: HttpHealthDesired['checks'], timeoutSeconds: number) =>
    runSh(healthWaitScript({ dir: join(dir, 'app'), project: 'app', checks, timeoutSeconds }, composeCommand('v1')), { env: { ...process.env, PATH: `${bin}:${process.env.PATH}` } });

  test('all healthy: exit 0 at once', async () => {
    const result = await run([{ service: 'web', url: 'http://h/ok' }], 10);
    expect(result).toMatchObject({ exitCode: 0, stdout: '' });
  });

  test('polls until a flaky service answers', async () => {
    const result = await run([{ service: 'web', url: 'http://h/ok' }, { service: 'api', url: 'http://h/flaky' }], 10);
    expect(result.exitCode).toBe(0);
  });

  test('on timeout: names each failing service with its last answer, then its log tail; healthy ones are not named', async () => {
    const result = await run(
      [
        { service: 'web', url: 'http://h/ok' },
        { service: 'api', url: 'http://h/down' },
        { service: 'tea', url: 'http://h/teapot' },
      ],
      0,
    );
    expect(result.exitCode).toBe(1);
    expect(result.stdout).toBe(
      [
        'health checks of project app still failing after 0 s:',
        "  api http://h/down: no answer (curl: (7) Failed to connect to 127.0.0.1 port 9 after 0 ms: Couldn't connect to server)",
        '  tea http://h/teapot: HTTP 418',
        '--- api: docker-compose -p app -f docker-compose.yml logs --no-color --tail 20 api',
        'api  | starting api',
        'api  | fatal: cannot bind',
        '--- tea: docker-compose -p app -f docker-compose.yml logs --no-color --tail 20 tea',
        'tea  | starting tea',
        'tea  | fatal: cannot bind',
        '',
      ].join('\n'),
    );
  });

  test('hostile URL, directory and project text never run as shell', async () => {
    // Relative to the script's working directory (dir): an injected `touch pwned` would create dir/pwned.
    const hostileDir = join(dir, "it's $(touch pwned) `touch pwned`");
    mkdirSync(hostileDir);
    const url = "http://h/down'$(touch${IFS}pwned)`touch${IFS}pwned`;x";
    const result = await runSh(healthWaitScript({ dir: hostileDir, project: 'app', checks: [{ service: 'web', url }], timeoutSeconds: 0 }, composeCommand('v1')), {
      cwd: dir,
      env: { ...process.env, PATH: `${bin}:${process.env.PATH}` },
    });
    expect(result.exitCode).toBe(1);
    expect(result.stdout).toContain(`  web ${url}: no answer`);
    // The stand-in docker-compose refuses any directory but app/: the script reached the hostile one.
    expect(result.stdout).toContain(`wrong directory ${hostileDir}`);
    expect(existsSync(join(dir, 'pwned'))).toBe(false);
  });
});

describe('httpHealthResource.combine (handlers notified next to each other)', () => {
  const combine = httpHealthResource.combine!;
  const own = (service: string, extra: Partial<HttpHealthDesired> = {}): HttpHealthDesired => ({ dir: '/opt/app', project: 'app', checks: [{ service, url: `http://127.0.0.1/${service}` }], together: true, ...extra });

  test('two that say together for the same project and timeout wait in one round, each check once', () => {
    const joined = combine(combine(own('web'), own('api'))!, own('web'));
    expect(joined).toEqual({ ...own('web'), checks: [own('web').checks[0], own('api').checks[0]] });
  });

  test('the default timeout written out is the same timeout', () => {
    expect(combine(own('web'), own('api', { timeoutSeconds: 120 }))?.checks.map((check) => check.service)).toEqual(['web', 'api']);
  });

  const apart: Array<[string, HttpHealthDesired, HttpHealthDesired]> = [
    ['one of them does not say together', own('web'), own('api', { together: false })],
    ['another project', own('web'), own('api', { project: 'other' })],
    ['another timeout', own('web'), own('api', { timeoutSeconds: 30 })],
  ];
  test.each(apart)('%s: kept apart', (_name, first, next) => {
    expect(combine(first, next)).toBeUndefined();
  });
});

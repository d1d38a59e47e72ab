import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { GUARD_FACTS } from '../../src/facts/command.js';
import {
  chooseComposeTool,
  composeFactKey,
  composeProjectFact,
  dockerFact,
  dockerImageFact,
  dockerImageFamily,
  healthFactKey,
  httpHealthFact,
  parseComposeProjectState,
  parseCurlOutput,
  parseDockerImageState,
  parseDockerInfo,
  parseHealthAnswers,
  projectFactPatterns,
  type ComposeProjectState,
  type DockerInfo,
} from '../../src/facts/docker.js';
import { FactParseError, type Fact } from '../../src/facts/fact.js';
import { probeSections } from '../../src/facts/probe-script.js';
import { keyMatches } from '../../src/resources/types.js';
import { runSh } from './local-shell.js';

const H1 = '22d1c4e8c9e4984f61bd47d6ea6ca8853cd4a65fac6525d46d990c3db2ad23f5';
const H2 = 'ecbeaf1d9c33393ddc9227792f17352eb16663d71be3a3e0d20c3ab81fab4484';
const ID1 = 'sha256:248704441a801a555259c11cfc41340095150c049174c9e4e0df804db68d3f57';
const ID2 = 'sha256:9d0e4ee0e7ae6e2a5b5c9a6f1bcad10f51f0b8e3c1f6f1d6b0a0f4a2ee2b1c3d';

// Outputs captured on a systemd lab host (Debian 12, docker.io 20.10.24, docker-compose 1.29.2; the v2 rows with a
// stand-in `docker compose` plugin that delegates to 1.29.2).
describe('parseDockerInfo', () => {
  const rows: { name: string; stdout: string; expected: DockerInfo }[] = [
    {
      name: 'daemon up, compose v1 (captured)',
      stdout: 'cli 1\ndaemon 20.10.24+dfsg1\ncompose-v1 /usr/bin/docker-compose\n',
      expected: { cli: true, serverVersion: '20.10.24+dfsg1', composeV1: '/usr/bin/docker-compose' },
    },
    {
      name: 'daemon stopped (captured)',
      stdout: 'cli 1\ndaemon-error Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?\ncompose-v1 /usr/bin/docker-compose\n',
      expected: { cli: true, daemonError: 'Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?', composeV1: '/usr/bin/docker-compose' },
    },
    {
      name: 'both compose commands',
      stdout: 'cli 1\ndaemon 27.3.1\ncompose-v2 2.29.7\ncompose-v1 /usr/local/bin/docker-compose\n',
      expected: { cli: true, serverVersion: '27.3.1', composeV2: '2.29.7', composeV1: '/usr/local/bin/docker-compose' },
    },
    { name: 'no docker at all', stdout: 'cli 0\n', expected: { cli: false } },
    { name: 'daemon answered nothing readable', stdout: 'cli 1\n', expected: { cli: true, daemonError: 'docker info printed no server version' } },
    { name: 'daemon error without a message (timeout)', stdout: 'cli 1\ndaemon-error \n', expected: { cli: true, daemonError: 'docker info failed' } },
  ];
  test.each(rows)('$name', ({ stdout, expected }) => {
    expect(parseDockerInfo(stdout, 0)).toEqual(expected);
  });

  test('no cli line or a failed probe is a FactParseError', () => {
    expect(() => parseDockerInfo('garbage\n', 0)).toThrow(FactParseError);
    expect(() => parseDockerInfo('cli 1\n', 2)).toThrow('probe failed with exit code 2');
  });

  test.each([
    [{ composeV2: '2.29.7', composeV1: '1.29.2' }, 'auto', 'v2'],
    [{ composeV1: '1.29.2' }, 'auto', 'v1'],
    [{ composeV2: '2.29.7', composeV1: '1.29.2' }, 'v1', 'v1'],
    [{ composeV1: '1.29.2' }, 'v2', undefined],
    [{ composeV2: '2.29.7' }, 'v1', undefined],
    [{}, 'auto', undefined],
  ] as const)('chooseComposeTool(%j, %s) = %s', (info, wanted, tool) => {
    expect(chooseComposeTool(info, wanted)).toBe(tool);
  });
});

describe('parseDockerImageState', () => {
  test.each([
    ['present (captured)', `id ${ID1}\n`, { status: 'present', id: ID1 }],
    ['absent (captured)', 'absent\n', { status: 'absent' }],
    ['daemon down (captured)', 'daemon-down\n', { status: 'daemon-down' }],
    ['no docker', 'no-docker\n', { status: 'no-docker' }],
  ])('%s', (_name, stdout, expected) => {
    expect(parseDockerImageState('docker-image:x:1', stdout, 0)).toEqual(expected);
  });

  test('an ID that is not sha256 is a FactParseError', () => {
    expect(() => parseDockerImageState('docker-image:x:1', 'id 1234\n', 0)).toThrow(FactParseError);
  });
});

describe('parseComposeProjectState', () => {
  const rows: { name: string; stdout: string; expected: ComposeProjectState }[] = [
    {
      name: 'v1 project up (captured)',
      stdout: [
        'tool v1',
        `ps web|${H1}|running|Up 5 minutes|False|demo_web_1`,
        `ps db|${H1}|running|Up 5 minutes (healthy)|False|demo_db_1`,
        `hash web ${H1}`,
        `hash db ${H1}`,
        '',
      ].join('\n'),
      expected: {
        tool: 'v1',
        fileFound: true,
        containers: [
          { service: 'web', name: 'demo_web_1', configHash: H1, state: 'running', status: 'Up 5 minutes' },
          { service: 'db', name: 'demo_db_1', configHash: H1, state: 'running', status: 'Up 5 minutes (healthy)', health: 'healthy' },
        ],
        expected: { web: H1, db: H1 },
        images: {},
      },
    },
    {
      name: 'v2: image of each container and of each reference (captured)',
      stdout: [
        'tool v2',
        `ps web|${H1}|exited|Exited (137) 22 seconds ago|False|demo_web_1`,
        `cimg demo_web_1|halyard-test-tiny:1|${ID1}`,
        `img halyard-test-tiny:1|${ID2}`,
        `hash web ${H1}`,
        '',
      ].join('\n'),
      expected: {
        tool: 'v2',
        fileFound: true,
        containers: [{ service: 'web', name: 'demo_web_1', configHash: H1, state: 'exited', status: 'Exited (137) 22 seconds ago', image: 'halyard-test-tiny:1', imageId: ID1 }],
        expected: { web: H1 },
        images: { 'halyard-test-tiny:1': ID2 },
      },
    },
    {
      name: 'one-off `run` containers and compose warnings are ignored',
      stdout: [
        'tool v1',
        `ps web|${H1}|running|Up 1 second (health: starting)|False|demo_web_1`,
        `ps web|${H2}|exited|Exited (0) 1 hour ago|True|demo_web_run_1f2e`,
        'hash WARNING: The FOO variable is not set. Defaulting to a blank string.',
        `hash web ${H1}`,
        '',
      ].join('\n'),
      expected: {
        tool: 'v1',
        fileFound: true,
        containers: [{ service: 'web', name: 'demo_web_1', configHash: H1, state: 'running', status: 'Up 1 second (health: starting)', health: 'starting' }],
        expected: { web: H1 },
        images: {},
      },
    },
    { name: 'no compose file yet (captured)', stdout: 'tool v1\nno-file\n', expected: { tool: 'v1', fileFound: false, containers: [], expected: {}, images: {} } },
    { name: 'no compose command (captured)', stdout: 'tool none\n', expected: { tool: 'none', fileFound: true, containers: [], expected: {}, images: {} } },
    {
      name: 'daemon down (captured)',
      stdout: 'tool v1\nps-error Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?\n',
      expected: {
        tool: 'v1',
        fileFound: true,
        containers: [],
        expected: {},
        images: {},
        error: 'docker ps failed: Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?',
      },
    },
    {
      name: 'invalid compose file',
      stdout: `tool v1\nps web|${H1}|running|Up 2 hours (unhealthy)|False|demo_web_1\nhash-error ERROR: The Compose file './docker-compose.yml' is invalid because: services.web.ports is invalid\n`,
      expected: {
        tool: 'v1',
        fileFound: true,
        containers: [{ service: 'web', name: 'demo_web_1', configHash: H1, state: 'running', status: 'Up 2 hours (unhealthy)', health: 'unhealthy' }],
        expected: {},
        images: {},
        error: "compose config failed: ERROR: The Compose file './docker-compose.yml' is invalid because: services.web.ports is invalid",
      },
    },
  ];
  test.each(rows)('$name', ({ stdout, expected }) => {
    expect(parseComposeProjectState('k', stdout, 0)).toEqual(expected);
  });

  test('no tool line or an unknown tool is a FactParseError', () => {
    expect(() => parseComposeProjectState('k', 'no-file\n', 0)).toThrow('no tool line');
    expect(() => parseComposeProjectState('k', 'tool v3\n', 0)).toThrow(FactParseError);
  });
});

describe('health answers', () => {
  test.each([
    ['200', { status: 200 }],
    ['503', { status: 503 }],
    ['302', { status: 302 }],
    ["curl: (7) Failed to connect to 127.0.0.1 port 1 after 0 ms: Couldn't connect to server 000", { status: 0, error: "curl: (7) Failed to connect to 127.0.0.1 port 1 after 0 ms: Couldn't connect to server" }],
    ['curl: (28) Operation timed out after 3001 milliseconds with 0 bytes received000', { status: 0, error: 'curl: (28) Operation timed out after 3001 milliseconds with 0 bytes received' }],
    ['sh: 1: curl: not found', { status: 0, error: 'sh: 1: curl: not found' }],
    ['', { status: 0, error: 'no answer' }],
  ])('parseCurlOutput(%j)', (text, expected) => {
    expect(parseCurlOutput(text)).toEqual(expected);
  });

  test('answers come back in check order; a missing line is a FactParseError', () => {
    const checks = [
      { service: 'web', url: 'http://127.0.0.1:8080/' },
      { service: 'api', url: 'http://127.0.0.1:8000/health' },
    ];
    expect(parseHealthAnswers('k', checks, 'check 1 503\ncheck 0 200\n', 0)).toEqual([
      { service: 'web', url: 'http://127.0.0.1:8080/', status: 200 },
      { service: 'api', url: 'http://127.0.0.1:8000/health', status: 503 },
    ]);
    expect(() => parseHealthAnswers('k', checks, 'check 0 200\n', 0)).toThrow('no answer line for api');
  });
});

describe('fact keys and scripts', () => {
  const target = { dir: '/opt/app', project: 'app', file: 'docker-compose.yml', command: 'auto' } as const;

  test('keys; compose and health facts are stale after any change that makes guard facts stale', () => {
    expect(dockerFact.key).toBe('docker:info');
    expect(dockerImageFact('app:1').key).toBe('docker-image:app:1');
    expect(composeFactKey(target)).toBe('status:compose:app:/opt/app/docker-compose.yml:auto');
    expect(composeFactKey({ ...target, containerImages: true })).toBe('status:compose:app:/opt/app/docker-compose.yml:auto:images');
    const health = healthFactKey('app', [{ service: 'web', url: 'http://127.0.0.1/' }]);
    expect(health).toMatch(/^status:health:app:[0-9a-f]{12}$/);
    for (const key of [composeFactKey(target), health]) expect(keyMatches(GUARD_FACTS, key)).toBe(true);
    expect(projectFactPatterns('app').map((pattern) => [keyMatches(pattern, composeFactKey(target)), keyMatches(pattern, health)])).toEqual([
      [true, false],
      [false, true],
    ]);
    // Another project's facts are left alone ("app" is a prefix of "app2").
    expect(projectFactPatterns('app').some((pattern) => keyMatches(pattern, composeFactKey({ ...target, project: 'app2' })))).toBe(false);
  });

  test('the compose project script, exactly', () => {
    expect(composeProjectFact({ ...target, command: 'v1' }).script).toBe(
      [
        `if command -v docker-compose >/dev/null 2>&1; then c=docker-compose; echo 'tool v1'`,
        `else echo 'tool none'; exit 0; fi`,
        `if ! cd -- /opt/app 2>/dev/null || [ ! -f docker-compose.yml ]; then echo 'no-file'; exit 0; fi`,
        `ps=$(docker ps -a --filter label='com.docker.compose.project=app' --format '{{.Label "com.docker.compose.service"}}|{{.Label "com.docker.compose.config-hash"}}|{{.State}}|{{.Status}}|{{.Label "com.docker.compose.oneoff"}}|{{.Names}}' 2>&1) || { printf 'ps-error %s\\n' "$(printf '%s' "$ps" | tr '\\n' ' ' | cut -c1-300)"; exit 0; }`,
        `printf '%s\\n' "$ps" | sed -n 's/^./ps &/p'`,
        `if [ "$c" = 'docker compose' ] && [ -n "$ps" ]; then`,
        `  ci=$(printf '%s\\n' "$ps" | cut -d'|' -f6 | xargs docker inspect --format '{{.Name}}|{{.Config.Image}}|{{.Image}}' 2>/dev/null)`,
        `  printf '%s\\n' "$ci" | sed -n 's/^\\/*\\(.\\)/cimg \\1/p'`,
        `  set -f; set -- $(printf '%s\\n' "$ci" | cut -d'|' -f2 | sort -u); set +f`,
        `  if [ $# -gt 0 ] && ids=$(docker image inspect --format '{{.Id}}' "$@" 2>/dev/null) && [ "$(printf '%s\\n' "$ids" | wc -l)" -eq $# ]; then printf '%s\\n' "$ids" | { for r in "$@"; do IFS= read -r i; printf 'img %s|%s\\n' "$r" "$i"; done; }`,
        `  else for r in "$@"; do if i=$(docker image inspect --format '{{.Id}}' "$r" 2>/dev/null); then printf 'img %s|%s\\n' "$r" "$i"; fi; done; fi`,
        `fi`,
        `h=$($c -p app -f docker-compose.yml config --hash '*' 2>&1) || { printf 'hash-error %s\\n' "$(printf '%s' "$h" | tr '\\n' ' ' | cut -c1-300)"; exit 0; }`,
        `printf '%s\\n' "$h" | sed -n 's/^./hash &/p'`,
      ].join('\n'),
    );
  });

  test('asked for container images, v1 reads them too: only the guard of the image lines differs', () => {
    const plain = composeProjectFact({ ...target, command: 'v1' }).script.split('\n');
    const withImages = composeProjectFact({ ...target, command: 'v1', containerImages: true }).script.split('\n');
    const changed = withImages.map((line, index) => [plain[index], line]).filter(([before, after]) => before !== after);
    expect(changed).toEqual([[`if [ "$c" = 'docker compose' ] && [ -n "$ps" ]; then`, `if [ -n "$ps" ]; then`]]);
    expect(withImages.length).toBe(plain.length);
  });

  test('the health probe is exact: one curl per check, all at once, its index and answer as printf arguments', () => {
    expect(httpHealthFact('app', [{ service: 'web', url: 'http://127.0.0.1:8080/' }, { service: 'api', url: "http://h/it's" }]).script).toBe(
      [
        `{ r=$(curl -sS -o /dev/null -m 3 -w '%{http_code}' http://127.0.0.1:8080/ 2>&1); printf 'check %s %s\\n' 0 "$(printf '%s' "$r" | tr '\\n' ' ' | cut -c1-300)"; } &`,
        `{ r=$(curl -sS -o /dev/null -m 3 -w '%{http_code}' 'http://h/it'\\''s' 2>&1); printf 'check %s %s\\n' 1 "$(printf '%s' "$r" | tr '\\n' ' ' | cut -c1-300)"; } &`,
        'wait',
        'true',
      ].join('\n'),
    );
  });

  test('hostile values are quoted', () => {
    const fact = composeProjectFact({ dir: "/opt/it's $(x)", project: 'app', file: 'docker-compose.yml', command: 'auto' });
    expect(fact.script).toContain(`cd -- '/opt/it'\\''s $(x)'`);
    expect(dockerImageFact("x:1';reboot").script).toContain(`'x:1'\\'';reboot'`);
    expect(httpHealthFact('app', [{ service: 'web', url: "http://h/'$(id)" }]).script).toContain(`'http://h/'\\''$(id)'`);
  });
});

// The probes run by a real sh against stand-ins for docker, docker-compose and curl on PATH.
describe('probes against stand-in commands', () => {
  let bin: string;
  let work: string;
  const FAKE_DOCKER = `#!/bin/sh
case "$*" in
  'info --format version {{.ServerVersion}}') [ -n "$FAKE_DOWN" ] && exit 1; echo 'WARNING: No swap limit support' >&2; echo 'version 27.3.1' ;;
  'version --format {{.Server.Version}}') [ -n "$FAKE_DOWN" ] && { echo 'Cannot connect to the Docker daemon' >&2; exit 1; }; echo 27.3.1 ;;
  'compose version --short') [ -n "$FAKE_V2" ] && { echo 2.29.7; exit 0; }; echo "docker: 'compose' is not a docker command." >&2; exit 125 ;;
  'image inspect --format {{.Id}} '*) [ -n "$FAKE_LOG" ] && echo "$*" >> "$FAKE_LOG"; [ -n "$FAKE_DOWN" ] && exit 1; shift 4; code=0
    for r in "$@"; do case "$r" in app:1) echo ${ID2} ;; web:2) echo ${ID1} ;; *) echo "Error: No such image: $r" >&2; code=1 ;; esac; done; exit $code ;;
  'ps -a '*) [ -n "$FAKE_DOWN" ] && { echo 'Cannot connect to the Docker daemon' >&2; exit 1; }; printf 'web|${H1}|running|Up 1 minute|False|app-web-1\\n' ;;
  'inspect --format '*) printf '/app-web-1|app:1|${ID1}\\n' ;;
  'compose -p app -f docker-compose.yml config --hash *') echo 'time="x" level=warning msg="version is obsolete"' >&2; echo 'web ${H2}' ;;
  *) echo "fake docker: unexpected $*" >&2; exit 99 ;;
esac
`;
  const FAKE_COMPOSE = `#!/bin/sh
case "$*" in
  'version --short') echo 1.29.2 ;;
  '-p app -f docker-compose.yml config --hash *') echo 'WARNING: The FOO variable is not set.' >&2; echo 'web ${H1}' ;;
  *) echo "fake docker-compose: unexpected $*" >&2; exit 99 ;;
esac
`;

  // A PATH holding only sh, the text tools the probes use and the stand-ins: what the controller has installed never leaks in.
  function sandbox(name: string, fakes: Record<string, string>): string {
    const dir = join(bin, name);
    mkdirSync(dir);
    for (const tool of ['sh', 'sed', 'cut', 'tr', 'xargs', 'sort', 'cat', 'tail', 'timeout', 'wc']) {
      const found = ['/usr/bin', '/bin'].map((prefix) => join(prefix, tool)).find((path) => existsSync(path));
      if (found) symlinkSync(found, join(dir, tool));
    }
    for (const [command, text] of Object.entries(fakes)) {
      writeFileSync(join(dir, command), text);
      chmodSync(join(dir, command), 0o755);
    }
    return dir;
  }
  let full: string;
  let dockerOnly: string;
  let bare: string;

  beforeAll(() => {
    bin = mkdtempSync(join(tmpdir(), 'hy-fake-docker-'));
    work = join(bin, 'project');
    mkdirSync(work);
    writeFileSync(join(work, 'docker-compose.yml'), 'services: {}\n');
    full = sandbox('full', { docker: FAKE_DOCKER, 'docker-compose': FAKE_COMPOSE });
    dockerOnly = sandbox('docker-only', { docker: FAKE_DOCKER });
    bare = sandbox('bare', {});
  });
  afterAll(() => rmSync(bin, { recursive: true, force: true }));

  async function probe<T>(fact: Fact<T>, env: Record<string, string> = {}, path = full): Promise<T> {
    const result = await runSh(`(\n${fact.script}\n) </dev/null`, { env: { PATH: path, ...env } });
    return fact.parse(result.stdout, result.exitCode ?? 1);
  }

  test('docker fact: version despite warnings, both compose commands, or the daemon error', async () => {
    expect(await probe(dockerFact, { FAKE_V2: '1' })).toEqual({ cli: true, serverVersion: '27.3.1', composeV2: '2.29.7', composeV1: join(full, 'docker-compose') });
    expect(await probe(dockerFact, { FAKE_DOWN: '1' })).toEqual({ cli: true, daemonError: 'Cannot connect to the Docker daemon', composeV1: join(full, 'docker-compose') });
    // docker-compose (v1, a Python program) is found on PATH, never run: its stand-in would log a call.
    const log = join(bin, 'calls-v1');
    await probe(dockerFact, { FAKE_LOG: log });
    expect(existsSync(log)).toBe(false);
  });

  test('image fact: present, absent, daemon down, no docker', async () => {
    expect(await probe(dockerImageFact('app:1'))).toEqual({ status: 'present', id: ID2 });
    expect(await probe(dockerImageFact('other:2'))).toEqual({ status: 'absent' });
    expect(await probe(dockerImageFact('other:2'), { FAKE_DOWN: '1' })).toEqual({ status: 'daemon-down' });
    expect(await probe(dockerImageFact('app:1'), {}, bare)).toEqual({ status: 'no-docker' });
  });

  test('images of one probe share a section: one inspect when all are present; each alone when one is missing or the daemon is down', async () => {
    const run = async (refs: string[], env: Record<string, string> = {}) => {
      const log = join(bin, `calls-${refs.join('-')}-${Object.keys(env).join('-')}`);
      const result = await runSh(`(\n${dockerImageFamily.script(refs)}\n) </dev/null`, { env: { PATH: full, FAKE_LOG: log, ...env } });
      const calls = existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : [];
      return { states: dockerImageFamily.parse(result.stdout, result.exitCode ?? 1, refs), calls };
    };
    expect(await run(['app:1', 'web:2'])).toEqual({
      states: [
        { status: 'present', id: ID2 },
        { status: 'present', id: ID1 },
      ],
      calls: ['image inspect --format {{.Id}} app:1 web:2'],
    });
    const missing = await run(['app:1', 'gone:3', 'web:2']);
    expect(missing.states).toEqual([{ status: 'present', id: ID2 }, { status: 'absent' }, { status: 'present', id: ID1 }]);
    expect(missing.calls).toEqual(['image inspect --format {{.Id}} app:1 gone:3 web:2', 'image inspect --format {{.Id}} app:1', 'image inspect --format {{.Id}} gone:3', 'image inspect --format {{.Id}} web:2']);
    expect((await run(['app:1', 'web:2'], { FAKE_DOWN: '1' })).states).toEqual([{ status: 'daemon-down' }, { status: 'daemon-down' }]);
    // In a probe, the image facts are one section, written by their family.
    const sections = probeSections([dockerImageFact('app:1'), dockerImageFact('web:2')]);
    expect(sections).toHaveLength(1);
    expect(sections[0]?.script()).toBe(dockerImageFamily.script(['app:1', 'web:2']));
  });

  test('health fact: the checks run at once, and each answer lands on its own check', async () => {
    // A stand-in curl that answers only once all four checks have started (it waits up to 5 s for the
    // others' marks): run one after another, each would wait alone and fail. It answers by URL.
    const marks = mkdtempSync(join(tmpdir(), 'hy-curl-marks-'));
    const barrierCurl = `#!/bin/sh
for a in "$@"; do u=$a; done
touch "$MARKS/$(printf '%s' "$u" | tr -c 'a-z0-9' _)"
i=0; while [ "$(ls "$MARKS" | wc -l)" -lt 4 ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
if [ "$(ls "$MARKS" | wc -l)" -lt 4 ]; then echo 'curl: started alone' >&2; printf 000; exit 7; fi
case "$u" in *fail*) echo "curl: (7) Failed to connect to $u" >&2; printf 000 ;; *5*) printf 503 ;; *) printf 200 ;; esac
`;
    const path = sandbox('curl-barrier', { curl: barrierCurl });
    for (const tool of ['sleep', 'ls', 'touch']) symlinkSync(['/usr/bin', '/bin'].map((prefix) => join(prefix, tool)).find((candidate) => existsSync(candidate))!, join(path, tool));
    const checks = [
      { service: 'web', url: 'http://h/ok' },
      { service: 'api', url: 'http://h/5xx' },
      { service: 'db', url: 'http://h/fail' },
      { service: 'ui', url: 'http://h/ok2' },
    ];
    const answers = await probe(httpHealthFact('app', checks), { MARKS: marks }, path);
    expect(answers).toEqual([
      { service: 'web', url: 'http://h/ok', status: 200 },
      { service: 'api', url: 'http://h/5xx', status: 503 },
      { service: 'db', url: 'http://h/fail', status: 0, error: 'curl: (7) Failed to connect to http://h/fail' },
      { service: 'ui', url: 'http://h/ok2', status: 200 },
    ]);
  });

  test('compose fact: v1 hashes without warnings; v2 adds the images; no file; daemon down; no compose command', async () => {
    const target = { dir: work, project: 'app', file: 'docker-compose.yml', command: 'auto' } as const;
    const v1 = await probe(composeProjectFact(target));
    expect(v1).toEqual({
      tool: 'v1',
      fileFound: true,
      containers: [{ service: 'web', name: 'app-web-1', configHash: H1, state: 'running', status: 'Up 1 minute' }],
      expected: { web: H1 },
      images: {},
    });
    const v2 = await probe(composeProjectFact(target), { FAKE_V2: '1' });
    expect(v2).toMatchObject({ tool: 'v2', expected: { web: H2 }, images: { 'app:1': ID2 } });
    expect(v2.containers[0]).toMatchObject({ image: 'app:1', imageId: ID1 });
    expect(await probe(composeProjectFact({ ...target, command: 'v1' }), { FAKE_V2: '1' })).toMatchObject({ tool: 'v1', expected: { web: H1 } });
    // Asked for container images (a run that loads images), v1 reads them as v2 does.
    const v1Images = await probe(composeProjectFact({ ...target, containerImages: true }));
    expect(v1Images).toMatchObject({ tool: 'v1', expected: { web: H1 }, images: { 'app:1': ID2 } });
    expect(v1Images.containers[0]).toMatchObject({ image: 'app:1', imageId: ID1 });
    expect(await probe(composeProjectFact({ ...target, dir: join(work, 'missing') }))).toMatchObject({ tool: 'v1', fileFound: false });
    expect(await probe(composeProjectFact(target), { FAKE_DOWN: '1' })).toMatchObject({ tool: 'v1', error: 'docker ps failed: Cannot connect to the Docker daemon' });
    expect(await probe(composeProjectFact({ ...target, command: 'v2' }))).toMatchObject({ tool: 'none' });
    expect(await probe(composeProjectFact(target), {}, dockerOnly)).toMatchObject({ tool: 'none' });
    expect(await probe(dockerFact, {}, bare)).toEqual({ cli: false });
  });
});

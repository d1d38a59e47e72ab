import { describe, expect, test } from 'vitest';
import type { ComposeContainer, ComposeProjectState } from '../../src/facts/docker.js';
import { projectFactPatterns } from '../../src/facts/docker.js';
import { Secret } from '../../src/core/secret.js';
import { template } from '../../src/core/template.js';
import { composeProjectResource, composeUpScript, withoutAge, type ComposeProjectDesired } from '../../src/resources/compose-project.js';
import { keyMatches } from '../../src/resources/types.js';
import { HOSTILE_PATH_WORDS, quotedAfter } from '../core/hostile-words.js';
import { outcomeOf, planOf, type PlanRow } from './plan-table.js';

const H1 = '22d1c4e8c9e4984f61bd47d6ea6ca8853cd4a65fac6525d46d990c3db2ad23f5';
const H2 = 'ecbeaf1d9c33393ddc9227792f17352eb16663d71be3a3e0d20c3ab81fab4484';
const ID1 = 'sha256:248704441a801a555259c11cfc41340095150c049174c9e4e0df804db68d3f57';
const ID2 = 'sha256:9d0e4ee0e7ae6e2a5b5c9a6f1bcad10f51f0b8e3c1f6f1d6b0a0f4a2ee2b1c3d';

const running = (service: string, hash = H1, extra: Partial<ComposeContainer> = {}): ComposeContainer => ({
  service,
  name: `app_${service}_1`,
  configHash: hash,
  state: 'running',
  status: 'Up 3 minutes',
  ...extra,
});
const project = (containers: ComposeContainer[], expected: Record<string, string>, extra: Partial<ComposeProjectState> = {}) => ({
  project: { tool: 'v1', fileFound: true, containers, expected, images: {}, ...extra } satisfies ComposeProjectState,
});
const APP: ComposeProjectDesired = { dir: '/opt/app', project: 'app' };
const UP_V1 = 'cd -- /opt/app && docker-compose -p app -f docker-compose.yml up -d --remove-orphans';
const UP_V2 = 'cd -- /opt/app && docker compose -p app -f docker-compose.yml up -d --remove-orphans';

const rows: PlanRow<ComposeProjectDesired>[] = [
  {
    name: 'noop: every service running with its current hash',
    desired: APP,
    facts: project([running('web'), running('db')], { web: H1, db: H1 }),
    expected: { noop: 'project app: 2 service(s) up with their current config (db, web)' },
  },
  {
    name: 'noop: a restarting or unhealthy container is left to the health check (up -d would not fix it)',
    desired: APP,
    facts: project([running('web', H1, { state: 'restarting', status: 'Restarting (1) 2 seconds ago' }), running('db', H1, { status: 'Up 1 hour (unhealthy)', health: 'unhealthy' })], { web: H1, db: H1 }),
    expected: { noop: 'project app: 2 service(s) up with their current config (db, web)' },
  },
  { name: 'a service without a container', desired: APP, facts: project([running('web')], { web: H1, db: H1 }), expected: { scripts: [UP_V1] } },
  { name: 'a stopped container', desired: APP, facts: project([running('web', H1, { state: 'exited', status: 'Exited (137) 1 minute ago' })], { web: H1 }), expected: { scripts: [UP_V1] } },
  { name: 'a changed config hash', desired: APP, facts: project([running('web', H2)], { web: H1 }), expected: { scripts: [UP_V1] } },
  { name: 'an orphan container', desired: APP, facts: project([running('web'), running('old')], { web: H1 }), expected: { scripts: [UP_V1] } },
  {
    name: 'v2: the image under the reference changed',
    desired: APP,
    facts: project([running('web', H1, { image: 'app:1', imageId: ID1 })], { web: H1 }, { tool: 'v2', images: { 'app:1': ID2 } }),
    expected: { scripts: [UP_V2] },
  },
  {
    name: 'noop v2: same image',
    desired: APP,
    facts: project([running('web', H1, { image: 'app:1', imageId: ID1 })], { web: H1 }, { tool: 'v2', images: { 'app:1': ID1 } }),
    expected: { noop: 'project app: 1 service(s) up with their current config (web)' },
  },
  {
    name: 'v1, expected image: the container runs another ID than the run loads under its reference',
    desired: { ...APP, expectImages: { 'app:1': ID2 } },
    facts: project([running('web', H1, { image: 'app:1', imageId: ID1 })], { web: H1 }, { images: { 'app:1': ID1 } }),
    expected: { scripts: [UP_V1] },
  },
  {
    name: 'noop v1, expected image: the container already runs it',
    desired: { ...APP, expectImages: { 'app:1': ID1 } },
    facts: project([running('web', H1, { image: 'app:1', imageId: ID1 })], { web: H1 }, { images: { 'app:1': ID1 } }),
    expected: { noop: 'project app: 1 service(s) up with their current config (web)' },
  },
  {
    name: 'noop v2, expected image of another reference (a service on another image is left alone)',
    desired: { ...APP, expectImages: { 'other:1': ID2 } },
    facts: project([running('web', H1, { image: 'app:1', imageId: ID1 })], { web: H1 }, { tool: 'v2', images: { 'app:1': ID1 } }),
    expected: { noop: 'project app: 1 service(s) up with their current config (web)' },
  },
  { name: 'no compose file yet (check mode on a fresh host)', desired: APP, facts: project([], {}, { fileFound: false }), expected: { scripts: [UP_V1] } },
  { name: 'no compose command yet, auto: v2 words', desired: APP, facts: project([], {}, { tool: 'none' }), expected: { scripts: [UP_V2] } },
  { name: 'no compose command yet, v1 asked', desired: { ...APP, command: 'v1' }, facts: project([], {}, { tool: 'none' }), expected: { scripts: [UP_V1] } },
  { name: 'daemon down or files invalid: up says why', desired: APP, facts: project([], {}, { error: 'docker ps failed: Cannot connect' }), expected: { scripts: [UP_V1] } },
  {
    name: 'another file name, and a directory that needs quoting',
    desired: { dir: "/srv/my app's", project: 'my-app_2', file: 'compose.prod.yml' },
    facts: project([], { web: H1 }),
    expected: { scripts: [`cd -- '/srv/my app'\\''s' && docker-compose -p my-app_2 -f compose.prod.yml up -d --remove-orphans`] },
  },
  { name: 'uppercase project name', desired: { ...APP, project: 'MyApp' }, facts: project([], {}), expected: { error: `compose project: invalid project name "MyApp" (lowercase letters, digits, '-' and '_', starting with a letter or digit)` } },
  { name: 'project name as an option', desired: { ...APP, project: '-p' }, facts: project([], {}), expected: { error: `compose project: invalid project name "-p" (lowercase letters, digits, '-' and '_', starting with a letter or digit)` } },
  { name: 'relative dir', desired: { ...APP, dir: 'app' }, facts: project([], {}), expected: { error: 'compose project path must be absolute: "app"' } },
  { name: 'file with a path', desired: { ...APP, file: '../x.yml' }, facts: project([], {}), expected: { error: 'compose project: file must be a file name inside dir, got "../x.yml"' } },
  { name: 'unknown command', desired: { ...APP, command: 'v3' as 'v2' }, facts: project([], {}), expected: { error: `compose project: command must be 'auto', 'v2' or 'v1', got "v3"` } },
];

describe('composeProjectResource.plan', () => {
  test.each(rows)('$name', ({ desired, facts, expected }) => {
    expect(outcomeOf(composeProjectResource, desired, facts)).toEqual(expected);
  });

  test('changes list each differing service', () => {
    const plan = planOf(
      composeProjectResource,
      APP,
      project(
        [
          running('web', H2),
          running('db', H1, { state: 'exited', status: 'Exited (1) 5 seconds ago' }),
          running('old'),
          running('api', H1, { image: 'api:2', imageId: ID1 }),
        ],
        { web: H1, db: H1, cache: H1, api: H1 },
        { tool: 'v2', images: { 'api:2': ID2 } },
      ),
    );
    expect(plan).toMatchObject({
      action: 'change',
      changes: [
        'api: image api:2 changed to 9d0e4ee0e7ae (app_api_1 runs 248704441a80)',
        'cache: no container',
        'db: app_db_1 is exited (Exited (1))',
        'web: config changed since app_web_1 was created',
        'orphan app_old_1: service old is not in /opt/app/docker-compose.yml',
      ],
      steps: [{ label: 'docker compose up -d (project app)' }],
    });
    expect(planOf(composeProjectResource, APP, project([], {}, { fileFound: false }))).toMatchObject({
      changes: ['start project app: /opt/app/docker-compose.yml is not on the host yet'],
    });
    expect(planOf(composeProjectResource, APP, project([], {}, { tool: 'none' }))).toMatchObject({
      changes: ['start project app: docker compose or docker-compose is not installed on the host yet'],
    });
  });

  test('facts, invalidation and description', () => {
    expect(Object.values(composeProjectResource.facts(APP, { diff: false })).map((fact) => fact.key)).toEqual(['status:compose:app:/opt/app/docker-compose.yml:auto']);
    // With inputs, the key names them by a digest (of the masked text where secret) and is still the project's.
    const secret = (value: string) => ({ ...APP, inputs: { composeFile: 'services: {}\n', envFile: template`PW='${new Secret(value, 'pw')}'\n` } });
    const [key] = Object.values(composeProjectResource.facts(secret('one'), { diff: false })).map((fact) => fact.key);
    expect(key).toMatch(/^status:compose:app:\/opt\/app\/docker-compose\.yml:auto:inputs-[0-9a-f]{12}$/);
    expect(projectFactPatterns('app').some((pattern) => keyMatches(pattern, key ?? ''))).toBe(true);
    expect(Object.values(composeProjectResource.facts(secret('two'), { diff: false }))[0]?.key).toBe(key);
    expect(Object.values(composeProjectResource.facts({ ...APP, inputs: { composeFile: 'services: {x: {}}\n' } }, { diff: false }))[0]?.key).not.toBe(key);
    expect(composeProjectResource.invalidates(APP)).toEqual(['status:compose:app:*', 'status:health:app:*', 'docker-image:*']);
    expect(composeProjectResource.describe(APP)).toBe('compose project app');
  });
});

describe('expected images (the IDs the run loads before up)', () => {
  const desired: ComposeProjectDesired = { ...APP, restartHandlers: { web: 'restart web', worker: 'restart worker', db: 'restart db' }, expectImages: { 'app:1': ID2 } };
  const containers = () => [
    running('web', H1, { image: 'app:1', imageId: ID1 }),
    running('worker', H1, { image: 'app:1', imageId: ID1 }),
    running('db', H1, { image: 'postgres:16', imageId: ID1 }),
  ];
  const expectedText = ['web: image app:1 changed to 9d0e4ee0e7ae (app_web_1 runs 248704441a80)', 'worker: image app:1 changed to 9d0e4ee0e7ae (app_worker_1 runs 248704441a80)'];

  test.each(['v1', 'v2'] as const)('%s: check (old image still on the host) and apply (loaded; v1 hashes differ too) plan the same recreates, with the same text', (tool) => {
    const checkFacts = project(containers(), { web: H1, worker: H1, db: H1 }, { tool, images: { 'app:1': ID1, 'postgres:16': ID1 } });
    // After the load: v1's config hash covers the image ID, so the services on app:1 hash differently; v2's does not.
    const loadedHash = tool === 'v1' ? H2 : H1;
    const applyFacts = project(containers(), { web: loadedHash, worker: loadedHash, db: H1 }, { tool, images: { 'app:1': ID2, 'postgres:16': ID1 } });
    const checked = planOf(composeProjectResource, desired, checkFacts);
    const applied = planOf(composeProjectResource, desired, applyFacts);
    expect(checked).toEqual(applied);
    expect(applied).toMatchObject({ action: 'change', changes: expectedText, satisfies: ['restart web', 'restart worker'] });
    // Without expectImages, check mode sees the old image and predicts nothing.
    expect(planOf(composeProjectResource, { ...desired, expectImages: undefined }, checkFacts).action).toBe('noop');
  });

  test('an image change is named before a config change (v1 hashes the image ID: a loaded image changes both)', () => {
    const plan = planOf(composeProjectResource, APP, project([running('web', H2, { image: 'app:1', imageId: ID1 })], { web: H1 }, { images: { 'app:1': ID2 } }));
    expect(plan).toMatchObject({ changes: ['web: image app:1 changed to 9d0e4ee0e7ae (app_web_1 runs 248704441a80)'] });
  });

  test('the fact reads container images (under v1 too) only when images are expected', () => {
    const key = (d: ComposeProjectDesired) => Object.values(composeProjectResource.facts(d, { diff: false }))[0]?.key;
    expect(key(desired)).toBe('status:compose:app:/opt/app/docker-compose.yml:auto:images');
    expect(key({ ...APP, expectImages: {} })).toBe('status:compose:app:/opt/app/docker-compose.yml:auto');
    expect(key(APP)).toBe('status:compose:app:/opt/app/docker-compose.yml:auto');
  });

  test.each([
    [[ID2], 'compose project: expectImages must map image references to image IDs, e.g. { "app:1.4": localImageId("app:1.4") }'],
    [{ 'App:1': ID2 }, 'compose project: expectImages has an invalid image reference "App:1"'],
    [{ '-v': ID2 }, 'compose project: expectImages has an invalid image reference "-v"'],
    [{ 'app:1': '2487' }, 'compose project: expectImages["app:1"] must be an image ID like sha256:<64 hex> (localImageId(ref)), got "2487"'],
  ])('bad expectImages fail with one line naming the argument (%j)', (expectImages, message) => {
    expect(outcomeOf(composeProjectResource, { ...APP, expectImages } as unknown as ComposeProjectDesired, project([], {}))).toEqual({ error: message });
  });
});

describe('stable change text', () => {
  test.each([
    ['Exited (143) 5 seconds ago', 'Exited (143)'],
    ['Exited (0) About a minute ago', 'Exited (0)'],
    ['Exited (1) Less than a second ago', 'Exited (1)'],
    ['Exited (137) 2 hours ago', 'Exited (137)'],
    ['Created', 'Created'],
    ['Dead', 'Dead'],
  ])('%s -> %s (a check run and the apply after it name a stopped container alike)', (status, stable) => {
    expect(withoutAge(status)).toBe(stable);
  });
});

describe('inputs', () => {
  test.each([
    [{ composeFile: 42 }, 'compose project: inputs.composeFile must be the content of the compose file (text, bytes or a secret template)'],
    [{ composeFile: 'x', envFile: ['x'] }, 'compose project: inputs.envFile must be the content of the .env file (text, bytes or a secret template), or absent'],
  ])('bad inputs fail with one line naming the argument', (inputs, message) => {
    expect(outcomeOf(composeProjectResource, { ...APP, inputs } as unknown as ComposeProjectDesired, project([], {}))).toEqual({ error: message });
  });
});

describe('composeUpScript', () => {
  test.each(HOSTILE_PATH_WORDS)('a project directory holding $name is one quoted word', (row) => {
    const quoted = quotedAfter('/srv/', row);
    expect(composeUpScript({ ...APP, dir: `/srv/${row.value}` }, 'v2')).toBe(`cd -- ${quoted} && docker compose -p app -f docker-compose.yml up -d --remove-orphans`);
    expect(composeUpScript({ ...APP, dir: `/srv/${row.value}`, file: 'compose.yml' }, 'v1')).toBe(`cd -- ${quoted} && docker-compose -p app -f compose.yml up -d --remove-orphans`);
  });
});

describe('restart handlers made moot by up', () => {
  const desired = { dir: '/opt/app', project: 'app', restartHandlers: { web: 'restart web', db: 'restart db' } };
  const container = (service: string, configHash: string, state = 'running') => ({
    service,
    name: `app-${service}-1`,
    configHash,
    state,
    status: state,
  });

  test('a fresh project satisfies every restart handler', () => {
    const plan = composeProjectResource.plan(desired, { project: { tool: 'v1' as const, fileFound: false, expected: {}, containers: [], images: {} } }, { diff: false });
    expect(plan.action === 'change' && plan.satisfies).toEqual(['restart web', 'restart db']);
  });

  test('only the services up touches satisfy their handlers', () => {
    const project = {
      tool: 'v2' as const,
      fileFound: true,
      expected: { web: 'h-web-new', db: 'h-db' },
      containers: [container('web', 'h-web-old'), container('db', 'h-db')],
      images: {},
    };
    const plan = composeProjectResource.plan(desired, { project }, { diff: false });
    expect(plan.action === 'change' && plan.satisfies).toEqual(['restart web']);
  });
});

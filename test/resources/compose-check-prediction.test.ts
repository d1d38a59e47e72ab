// Check mode predicts what apply's `up` does, for a table of hand drifts of a converged project.
//
// The engine plans check mode from the facts as they are, before any task ran; apply plans the
// compose project after the tasks before it restored the drifted files and loaded the shipped
// images. With `inputs` (the compose file and .env those tasks write), the compose fact hashes the
// staged inputs; with `expectImages` (the IDs the image tasks load), the planner sees the images
// `up` will see: both plans agree.
// The real fact script runs in sh against stand-ins for docker and docker-compose (v1) that hash
// each service as compose v1 does in kind: over the service's config, the values of the ${VAR}s
// it references, from the env file compose reads (--env-file, else the project directory's .env),
// and the ID its image has on the host.
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { Secret } from '../../src/core/secret.js';
import { template } from '../../src/core/template.js';
import { composeProjectFact, type ComposeProjectState } from '../../src/facts/docker.js';
import type { Fact } from '../../src/facts/fact.js';
import { composeProjectResource, type ComposeProjectDesired } from '../../src/resources/compose-project.js';
import type { Plan } from '../../src/resources/types.js';
import { runSh } from '../facts/local-shell.js';

// A compose stand-in (sh, so each probe stays cheap): `version --short`, and
// `-p P [--project-directory D] [-f F] [--env-file E] config --hash '*'`. The compose file holds one
// service a line ("name": {...}); a service's hash covers its line and the values, in the env file
// compose reads, of the variables it references. It records the directory of the compose file it
// read, and that directory's mode, in $FAKE_STATE/staged. The host's images are "ref id" lines in
// $FAKE_STATE/images (an image not there hashes as an empty ID, as v1 hashes a missing image).
const FAKE_COMPOSE = `#!/bin/sh
if [ "$*" = 'version --short' ]; then echo 1.29.2; exit 0; fi
dir=$PWD; file=docker-compose.yml; env=
while [ $# -gt 0 ]; do
  case "$1" in
    -p|--hash) shift ;;
    --project-directory) dir=$2; shift ;;
    -f) file=$2; shift ;;
    --env-file) env=$2; shift ;;
    config) ;;
    *) echo "fake compose: unexpected $1" >&2; exit 99 ;;
  esac
  shift
done
[ -n "$env" ] || env=$dir/.env
case "$file" in */*) d=\${file%/*} ;; *) d=. ;; esac
printf '%s %s\\n' "$d" "$(stat -c %a "$d")" >> "$FAKE_STATE/staged"
[ -f "$file" ] || { echo "ERROR: no such file: $file" >&2; exit 1; }
sed -n 's/^"\\([a-z]*\\)": \\(.*\\)$/\\1 \\2/p' "$file" | while read -r name rest; do
  vals=
  for v in $(printf '%s\\n' "$rest" | grep -o '[$][{][A-Za-z_]*' | cut -c3-); do
    vals="$vals|$(if [ -f "$env" ]; then grep "^$v=" "$env"; fi)"
  done
  image=$(printf '%s\\n' "$rest" | sed -n 's/.*"image":"\\([^"]*\\)".*/\\1/p')
  id=$(while read -r ref i; do if [ "$ref" = "$image" ]; then echo "$i"; fi; done < "$FAKE_STATE/images")
  printf '%s %s\\n' "$name" "$(printf '%s%s|%s' "$rest" "$vals" "$id" | sha256sum | cut -c1-64)"
done
`;

// A docker stand-in: no compose plugin (so the fact picks docker-compose v1), `ps` from $FAKE_STATE/ps,
// container images ("name|ref|id" lines) from $FAKE_STATE/containers, image IDs from $FAKE_STATE/images.
const FAKE_DOCKER = `#!/bin/sh
case "$*" in
  'compose version --short') exit 125 ;;
  'ps -a '*) cat "$FAKE_STATE/ps" ;;
  'inspect --format {{.Name}}|{{.Config.Image}}|{{.Image}} '*)
    shift 3
    for n in "$@"; do while IFS='|' read -r name ref id; do if [ "$name" = "$n" ]; then printf '/%s|%s|%s\\n' "$name" "$ref" "$id"; fi; done < "$FAKE_STATE/containers"; done ;;
  'image inspect --format {{.Id}} '*)
    found=$(while read -r ref id; do if [ "$ref" = "$5" ]; then echo "$id"; fi; done < "$FAKE_STATE/images")
    [ -n "$found" ] || { echo "Error: No such image: $5" >&2; exit 1; }
    echo "$found" ;;
  *) echo "fake docker: unexpected $*" >&2; exit 99 ;;
esac
`;

const PASSWORD = new Secret('db-pa$$w0rd/x+%', 'postgres_password');

// Image IDs: Postgres, the app's image the host runs, and a new build shipped under the same tag.
const POSTGRES_ID = `sha256:${'0'.repeat(63)}1`;
const APP_V1 = `sha256:${'1'.repeat(64)}`;
const APP_V2 = `sha256:${'2'.repeat(64)}`;
/** The converged host's images, and the images each service's container runs. */
const HOST_IMAGES: Record<string, string> = { 'postgres:16.6': POSTGRES_ID, 'app:1': APP_V1 };
const SERVICE_IMAGES: Record<string, string> = { db: 'postgres:16.6', web: 'app:1' };
const short = (id: string) => id.replace(/^sha256:/, '').slice(0, 12);

// The project as the role would write it: a compose file (for the stand-in, one service a line)
// and a secret .env.
const composeText = (webImage = 'app:1', signUp = 'false') =>
  [
    'services:',
    `"db": ${JSON.stringify({ image: 'postgres:16.6', environment: { POSTGRES_PASSWORD: '${POSTGRES_PASSWORD:?set it in .env}' } })}`,
    `"web": ${JSON.stringify({ image: webImage, environment: { SIGN_UP: signUp, DATABASE_URL: '${DATABASE_URL:?set it in .env}' } })}`,
    '',
  ].join('\n');
const envText = (password: Secret | string = PASSWORD) => template`POSTGRES_PASSWORD='${password}'\nDATABASE_URL='postgresql://app@db/app'\n`;

let root: string;
let bin: string;
let dir: string;
let state: string;

function sandbox(): string {
  const path = join(root, 'bin');
  mkdirSync(path);
  for (const tool of ['sh', 'sed', 'cut', 'tr', 'xargs', 'sort', 'cat', 'tail', 'mktemp', 'base64', 'rm', 'grep', 'stat', 'sha256sum']) {
    const found = ['/usr/bin', '/bin'].map((prefix) => join(prefix, tool)).find((candidate) => existsSync(candidate));
    if (found) symlinkSync(found, join(path, tool));
  }
  for (const [name, text] of Object.entries({ docker: FAKE_DOCKER, 'docker-compose': FAKE_COMPOSE })) {
    writeFileSync(join(path, name), text);
    chmodSync(join(path, name), 0o755);
  }
  return path;
}

// The compose project's fact as the resource asks for it (with inputs, and container images when images are expected).
async function probe(desired: ComposeProjectDesired): Promise<ComposeProjectState> {
  const fact = composeProjectResource.facts(desired, { diff: false }).project as Fact<ComposeProjectState>;
  const result = await runSh(`(\n${fact.script}\n) </dev/null`, { env: { PATH: bin, FAKE_STATE: state, TMPDIR: join(root, 'tmp') } });
  return fact.parse(result.stdout, result.exitCode ?? 1);
}

// Writes the files the role's file tasks write.
function writeDesired(compose = composeText(), env = envText()): void {
  writeFileSync(join(dir, 'docker-compose.yml'), compose);
  writeFileSync(join(dir, '.env'), env.reveal(), { mode: 0o600 });
}

// The hashes `up` gave the containers from the role's files (probed once).
let converged: Record<string, string>;

// A converged host: the role's files and images, every container running with the hash those files give.
function converge(): void {
  writeDesired();
  setHostImages(HOST_IMAGES);
  setContainers(Object.fromEntries(Object.entries(converged).map(([service, hash]) => [service, { hash }])));
}

// The images on the host (what `docker load` changes).
function setHostImages(images: Record<string, string>): void {
  writeFileSync(join(state, 'images'), Object.entries(images).map(([ref, id]) => `${ref} ${id}\n`).join(''));
}

// Containers, each running its service's image with the ID the converged host has for it.
function setContainers(containers: Record<string, { hash: string; state?: string; status?: string }>): void {
  const lines = Object.entries(containers).map(([service, c]) => `${service}|${c.hash}|${c.state ?? 'running'}|${c.status ?? 'Up 2 minutes'}|False|app-${service}-1`);
  writeFileSync(join(state, 'ps'), `${lines.join('\n')}\n`);
  const images = Object.keys(containers).map((service) => {
    const ref = SERVICE_IMAGES[service] ?? '';
    return `app-${service}-1|${ref}|${HOST_IMAGES[ref] ?? ''}\n`;
  });
  writeFileSync(join(state, 'containers'), images.join(''));
}

function containerHashes(): Record<string, string> {
  return Object.fromEntries(
    readFileSync(join(state, 'ps'), 'utf8')
      .trim()
      .split('\n')
      .map((line) => line.split('|'))
      .map(([service = '', hash = '']) => [service, hash]),
  );
}

function stopContainer(service: string, status: string): void {
  setContainers(Object.fromEntries(Object.entries(containerHashes()).map(([name, hash]) => [name, name === service ? { hash, state: 'exited', status } : { hash }])));
}

const planFor = async (desired: ComposeProjectDesired): Promise<Plan> => composeProjectResource.plan(desired, { project: await probe(desired) }, { diff: false });
const RESTARTS = { db: 'restart db', web: 'restart web' };

// One hand drift: what it does to the converged host, what the apply's file tasks put back first,
// the plan both modes must agree on, and whether the host's drifted files alone (no inputs) would
// have made check mode predict something else.
interface Drift {
  name: string;
  drift: () => void;
  /** What the tasks before the compose project restore or load (default: the role's files). */
  restore?: () => void;
  /** The compose file the role now wants (a tag bump), default the converged one. */
  desiredCompose?: string;
  /** The image IDs the role ships (its dockerImage tasks), default the converged host's app:1. */
  expectImages?: Record<string, string>;
  expected: { noop: true } | { changes: string[]; satisfies?: string[] };
  /** Without inputs, check mode would mispredict this drift. */
  mispredictedWithoutInputs: boolean;
  /** Without expectImages, check mode would mispredict it. */
  mispredictedWithoutExpectImages?: boolean;
}

const DRIFTS: Drift[] = [
  {
    name: '.env edited by hand (the Postgres password changed)',
    drift: () => writeFileSync(join(dir, '.env'), envText('typed-by-hand').reveal()),
    expected: { noop: true },
    mispredictedWithoutInputs: true,
  },
  {
    name: '.env with a comment appended (interpolates the same)',
    drift: () => writeFileSync(join(dir, '.env'), `${envText().reveal()}# edited by hand\n`),
    expected: { noop: true },
    mispredictedWithoutInputs: false,
  },
  {
    name: ".env deleted",
    drift: () => unlinkSync(join(dir, '.env')),
    expected: { noop: true },
    mispredictedWithoutInputs: true,
  },
  {
    name: "docker-compose.yml edited by hand (web's environment)",
    drift: () => writeFileSync(join(dir, 'docker-compose.yml'), composeText('app:1', 'true')),
    expected: { noop: true },
    mispredictedWithoutInputs: true,
  },
  {
    name: 'docker-compose.yml deleted',
    drift: () => unlinkSync(join(dir, 'docker-compose.yml')),
    expected: { noop: true },
    mispredictedWithoutInputs: true,
  },
  {
    name: 'a container stopped (its status ages between check and apply)',
    drift: () => stopContainer('db', 'Exited (0) 3 seconds ago'),
    restore: () => {
      writeDesired();
      stopContainer('db', 'Exited (0) 9 seconds ago');
    },
    expected: { changes: ['db: app-db-1 is exited (Exited (0))'], satisfies: ['restart db'] },
    mispredictedWithoutInputs: false,
  },
  {
    name: "a mounted config file or a data directory's owner (compose sees neither)",
    drift: () => writeFileSync(join(dir, 'service.conf'), 'edited by hand\n'),
    expected: { noop: true },
    mispredictedWithoutInputs: false,
  },
  {
    name: "web's image tag bumped by the role (not a drift: the role's new compose file)",
    drift: () => {},
    desiredCompose: composeText('app:2'),
    expected: { changes: ['web: config changed since app-web-1 was created'], satisfies: ['restart web'] },
    mispredictedWithoutInputs: true,
  },
  {
    name: 'same tag, new image: the role ships a new build of app:1 (its hash changes only once loaded)',
    drift: () => {},
    expectImages: { 'app:1': APP_V2 },
    restore: () => {
      writeDesired();
      setHostImages({ ...HOST_IMAGES, 'app:1': APP_V2 });
    },
    expected: { changes: [`web: image app:1 changed to ${short(APP_V2)} (app-web-1 runs ${short(APP_V1)})`], satisfies: ['restart web'] },
    mispredictedWithoutInputs: false,
    mispredictedWithoutExpectImages: true,
  },
];

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'hy-compose-check-'));
  bin = sandbox();
  dir = join(root, 'project');
  state = join(root, 'state');
  for (const path of [dir, state, join(root, 'tmp')]) mkdirSync(path);
  // No container yet: `up` runs on the role's files.
  writeFileSync(join(state, 'ps'), '');
  writeFileSync(join(state, 'containers'), '');
  setHostImages(HOST_IMAGES);
  writeDesired();
  const { expected, error } = await probe({ dir, project: 'app' });
  if (error !== undefined || Object.keys(expected).length !== 2) throw new Error(`the stand-ins did not hash the project: ${error ?? JSON.stringify(expected)}`);
  converged = expected;
});
afterAll(() => rmSync(root, { recursive: true, force: true }));
beforeEach(() => {
  rmSync(join(dir, 'service.conf'), { force: true });
  converge();
});

describe('check mode predicts the compose project exactly as apply plans it, for each hand drift', () => {
  test.each(DRIFTS)('$name', async (row) => {
    const desiredCompose = row.desiredCompose ?? composeText();
    const desired: ComposeProjectDesired = {
      dir,
      project: 'app',
      restartHandlers: RESTARTS,
      inputs: { composeFile: desiredCompose, envFile: envText() },
      expectImages: row.expectImages ?? { 'app:1': APP_V1 },
    };
    row.drift();
    // Check mode: nothing restored or loaded yet, the facts as the drift left them.
    const checked = await planFor(desired);
    const checkedWithoutInputs = await planFor({ ...desired, inputs: undefined } as ComposeProjectDesired);
    const checkedWithoutExpectImages = await planFor({ ...desired, expectImages: undefined } as ComposeProjectDesired);
    // Apply: the file tasks before the compose project restored (or rewrote) the files.
    (row.restore ?? (() => writeDesired(desiredCompose)))();
    const applied = await planFor(desired);

    expect(checked).toEqual(applied);
    if ('noop' in row.expected) expect(applied.action).toBe('noop');
    else expect(applied).toMatchObject({ action: 'change', changes: row.expected.changes, satisfies: row.expected.satisfies });
    // Once the files are back, staging changes nothing: apply plans as it did before inputs existed.
    expect(await planFor({ ...desired, inputs: undefined } as ComposeProjectDesired)).toEqual(applied);
    // Without inputs, check mode read the drifted files (the bug this fixes).
    if (row.mispredictedWithoutInputs) expect(checkedWithoutInputs).not.toEqual(applied);
    else expect(checkedWithoutInputs).toEqual(applied);
    // Without expectImages, check mode saw only the image on the host now (the bug expectImages fixes).
    if (row.mispredictedWithoutExpectImages === true) expect(checkedWithoutExpectImages).toMatchObject({ action: 'noop' });
    else expect(checkedWithoutExpectImages).toEqual(applied);
  });
});

describe('the staged inputs', () => {
  test('compose reads them from a private temporary directory (0700), gone once the probe ends; the secret .env arrives whole', async () => {
    writeFileSync(join(dir, '.env'), envText('typed-by-hand').reveal());
    rmSync(join(state, 'staged'), { force: true });
    const state1 = await probe({ dir, project: 'app', inputs: { composeFile: composeText(), envFile: envText() } });
    const [stagedDir, mode] = readFileSync(join(state, 'staged'), 'utf8').trim().split(' ');
    expect(stagedDir?.startsWith(join(root, 'tmp'))).toBe(true);
    expect(mode).toBe('700');
    expect(existsSync(stagedDir ?? '/')).toBe(false);
    // The hashes of the converged containers: the staged .env carried the real password (with its $ and ').
    expect(state1.expected).toEqual(containerHashes());
    expect(statSync(join(dir, '.env')).isFile()).toBe(true);
  });

  test('without a project directory on the host, the project is not there yet (as without inputs)', async () => {
    const missing = await probe({ dir: join(root, 'nowhere'), project: 'app', inputs: { composeFile: composeText() } });
    expect(missing).toMatchObject({ tool: 'v1', fileFound: false });
  });

  test('a staging failure is the fact\'s error, which up then reports', async () => {
    const fact = composeProjectFact({ dir, project: 'app', file: 'docker-compose.yml', command: 'auto', inputs: { composeFile: composeText() } });
    const run = await runSh(`(\n${fact.script}\n) </dev/null`, { env: { PATH: bin, FAKE_STATE: state, TMPDIR: join(root, 'no-such-dir') } });
    expect(fact.parse(run.stdout, run.exitCode ?? 1).error).toBe('compose config failed: cannot make a temporary directory for the compose files (mktemp -d)');
  });
});

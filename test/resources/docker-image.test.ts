import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { DockerImageState } from '../../src/facts/docker.js';
import { dockerImageResource, dockerLoadScript, dockerSaveSource, localImageId, localImageIds, type DockerImageDesired } from '../../src/resources/docker-image.js';
import { outcomeOf, planOf, type PlanRow } from './plan-table.js';

const ID = 'sha256:248704441a801a555259c11cfc41340095150c049174c9e4e0df804db68d3f57';
const ID2 = 'sha256:9f3c0a8f5b1e2d4c6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1d2e3f4a5b6c7d8e9f';
const OLD = 'sha256:9d0e4ee0e7ae6e2a5b5c9a6f1bcad10f51f0b8e3c1f6f1d6b0a0f4a2ee2b1c3d';
const facts = (image: DockerImageState) => ({ image });
const LOAD = [
  'docker load || exit 1',
  `i=$(docker image inspect --format '{{.Id}}' app:1.4) || exit 1`,
  `if [ "$i" != ${ID} ]; then printf 'loaded %s but it is %s, not %s\\n' app:1.4 "$i" ${ID} >&2; exit 1; fi`,
].join('\n');

const rows: PlanRow<DockerImageDesired>[] = [
  { name: 'noop: the host has that ID', desired: { ref: 'app:1.4', id: ID }, facts: facts({ status: 'present', id: ID }), expected: { noop: 'app:1.4 is 248704441a80 on the host' } },
  { name: 'absent: load', desired: { ref: 'app:1.4', id: ID }, facts: facts({ status: 'absent' }), expected: { scripts: [LOAD] } },
  { name: 'another ID under the tag: load', desired: { ref: 'app:1.4', id: ID }, facts: facts({ status: 'present', id: OLD }), expected: { scripts: [LOAD] } },
  { name: 'docker not installed yet (check mode before the docker role ran): load', desired: { ref: 'app:1.4', id: ID }, facts: facts({ status: 'no-docker' }), expected: { scripts: [LOAD] } },
  { name: 'daemon down: load (its own error says why if it still is)', desired: { ref: 'app:1.4', id: ID }, facts: facts({ status: 'daemon-down' }), expected: { scripts: [LOAD] } },
  {
    name: 'registry and port in the reference',
    desired: { ref: 'registry.local:5000/team/app:1.4', id: ID },
    facts: facts({ status: 'present', id: ID }),
    expected: { noop: 'registry.local:5000/team/app:1.4 is 248704441a80 on the host' },
  },
  { name: 'an option as reference', desired: { ref: '--output=/etc/passwd', id: ID }, facts: facts({ status: 'absent' }), expected: { error: 'docker image: invalid image reference "--output=/etc/passwd"' } },
  { name: 'a shell word in the reference', desired: { ref: 'app:1;reboot', id: ID }, facts: facts({ status: 'absent' }), expected: { error: 'docker image: invalid image reference "app:1;reboot"' } },
  {
    name: 'an ID that is not an image ID',
    desired: { ref: 'app:1.4', id: '2487044' },
    facts: facts({ status: 'absent' }),
    expected: { error: 'docker image app:1.4: id must be an image ID like sha256:<64 hex> (use localImageId(ref)), got "2487044"' },
  },
];

describe('dockerImageResource.plan', () => {
  test.each(rows)('$name', ({ desired, facts: given, expected }) => {
    expect(outcomeOf(dockerImageResource, desired, given)).toEqual(expected);
  });

  test('changes say why; the step streams `docker save` into its stdin', () => {
    const plan = planOf(dockerImageResource, { ref: 'app:1.4', id: ID }, facts({ status: 'present', id: OLD }));
    expect(plan).toMatchObject({
      action: 'change',
      changes: ['load app:1.4 (248704441a80): app:1.4 is 9d0e4ee0e7ae on the host, 248704441a80 on the controller'],
      steps: [{ label: 'docker load app:1.4' }],
    });
    expect(plan.action === 'change' && typeof plan.steps[0]?.stream?.open).toBe('function');
    expect(planOf(dockerImageResource, { ref: 'app:1.4', id: ID }, facts({ status: 'no-docker' }))).toMatchObject({
      changes: ['load app:1.4 (248704441a80): docker is not installed on the host yet'],
    });
  });

  test('facts, invalidation (compose hashes include the image ID) and description', () => {
    expect(Object.values(dockerImageResource.facts({ ref: 'app:1.4', id: ID }, { diff: false })).map((fact) => fact.key)).toEqual(['docker-image:app:1.4']);
    expect(dockerImageResource.invalidates({ ref: 'app:1.4', id: ID })).toEqual(['docker-image:app:1.4', 'status:compose:*']);
    expect(dockerImageResource.describe({ ref: 'app:1.4', id: ID })).toBe('docker image app:1.4');
    expect(dockerLoadScript({ ref: 'app:1.4', id: ID })).toBe(LOAD);
  });
});

// A stand-in docker CLI on the controller: `save` prints bytes or fails, `image inspect` knows one image.
describe('controller side: docker save as a stream, localImageId', () => {
  let dir: string;
  let fake: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'hy-fake-save-'));
    fake = join(dir, 'docker');
    writeFileSync(
      fake,
      `#!/bin/sh
case "$1 $2" in
  'save app:1') printf 'tar-bytes-of-app' ;;
  'save gone:1') printf 'partial'; echo 'Error response from daemon: reference does not exist' >&2; exit 1 ;;
  'image inspect') echo "$*" >> "$(dirname "$0")/calls"; shift 4; code=0
    for ref in "$@"; do case "$ref" in app:1) echo ${ID} ;; web:2) echo ${ID2} ;; *) echo "Error: No such image: $ref" >&2; code=1 ;; esac; done
    exit $code ;;
esac
`,
    );
    chmodSync(fake, 0o755);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  async function read(stream: NodeJS.ReadableStream): Promise<string> {
    let text = '';
    for await (const chunk of stream) text += String(chunk);
    return text;
  }

  test('a successful save streams its bytes and ends', async () => {
    expect(await read(dockerSaveSource('app:1', fake).open())).toBe('tar-bytes-of-app');
  });

  test('a failed save errors the stream (the host never sees a clean end) with docker\'s message', async () => {
    await expect(read(dockerSaveSource('gone:1', fake).open())).rejects.toThrow('docker save gone:1 failed (exit code 1): Error response from daemon: reference does not exist');
  });

  test('localImageId returns the ID, or says the image is missing on the controller', () => {
    expect(localImageId('app:1', fake)).toBe(ID);
    expect(() => localImageId('missing:2', fake)).toThrow('image missing:2 is not on this controller (docker image inspect: Error: No such image: missing:2); build or load it here first');
    expect(() => localImageId('-rf', fake)).toThrow('invalid image reference');
  });

  test('localImageIds asks docker once for all refs, once per turn of the event loop, and names a missing one', async () => {
    const calls = join(dir, 'calls');
    await new Promise((resolve) => setImmediate(resolve));
    rmSync(calls, { force: true });
    // Every host's tasks are built in one synchronous pass: one docker call serves them all.
    for (let host = 0; host < 50; host++) expect(localImageIds(['app:1', 'web:2', 'app:1'], fake)).toEqual({ 'app:1': ID, 'web:2': ID2 });
    expect(localImageId('web:2', fake)).toBe(ID2);
    expect(readFileSync(calls, 'utf8')).toBe('image inspect --format {{.Id}} app:1 web:2\n');
    // The next turn (a later run of a long-lived daemon) asks again.
    await new Promise((resolve) => setImmediate(resolve));
    expect(localImageIds(['web:2'], fake)).toEqual({ 'web:2': ID2 });
    expect(readFileSync(calls, 'utf8').split('\n').filter(Boolean)).toHaveLength(2);
    await new Promise((resolve) => setImmediate(resolve));
    expect(() => localImageIds(['app:1', 'gone:3'], fake)).toThrow('image gone:3 is not on this controller (docker image inspect: Error: No such image: gone:3); build or load it here first');
  });
});

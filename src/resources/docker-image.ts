import { execFileSync, spawn } from 'node:child_process';
import { PassThrough } from 'node:stream';
import { HalyardError } from '../core/errors.js';
import { sh } from '../core/shell.js';
import { COMPOSE_FACTS, dockerImageFact, type DockerImageState } from '../facts/docker.js';
import { PlanError, type Plan, type ResourceType, type StreamSource } from './types.js';

// An image shipped from the controller to the host (`docker save` here piped into `docker load` there; no registry).
export interface DockerImageDesired {
  /** Image reference with a tag, e.g. "task-tracker:1.4" (what `docker save` names and compose files use). */
  ref: string;
  /** The image ID on the controller (`localImageId(ref)`), e.g. "sha256:2487...": the host must have exactly it. */
  id: string;
}

// A tagged reference (registry/name:tag, name@sha256:...); never an option, a space or a shell word.
const IMAGE_REF = /^[a-z0-9][a-z0-9._/-]*(:[0-9]+\/[a-z0-9._/-]+)?(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[0-9a-f]{64})?$/;
const IMAGE_ID = /^sha256:[0-9a-f]{64}$/;

// The docker-image resource kind: noop when the host has that ID under that ref, else one streamed `docker load`.
export const dockerImageResource: ResourceType<DockerImageDesired> = {
  kind: 'docker-image',
  describe: (desired) => `docker image ${desired.ref}`,
  facts: (desired) => {
    checkDockerImageDesired(desired);
    return { image: dockerImageFact(desired.ref) };
  },
  // A new image under a tag changes the config hash compose v1 computes (it holds the image ID) and what v2 compares;
  // a compose project given this ref and ID in `expectImages` predicts that recreate before the load (check mode).
  invalidates: (desired) => [`docker-image:${desired.ref}`, COMPOSE_FACTS],
  plan(desired, facts): Plan {
    checkDockerImageDesired(desired);
    const state = facts.image as DockerImageState;
    if (state.status === 'present' && state.id === desired.id) return { action: 'noop', reason: `${desired.ref} is ${shortId(desired.id)} on the host` };
    const why =
      state.status === 'present'
        ? `${desired.ref} is ${shortId(state.id)} on the host, ${shortId(desired.id)} on the controller`
        : state.status === 'absent'
          ? `${desired.ref} is not on the host`
          : state.status === 'no-docker'
            ? `docker is not installed on the host yet`
            : `the docker daemon on the host is not answering`;
    return {
      action: 'change',
      changes: [`load ${desired.ref} (${shortId(desired.id)}): ${why}`],
      steps: [{ label: `docker load ${desired.ref}`, script: dockerLoadScript(desired), stream: dockerSaveSource(desired.ref) }],
    };
  },
};

// The host side: load the stream, then check the reference names the expected ID (a stale save is caught here).
export function dockerLoadScript(desired: DockerImageDesired): string {
  const { ref, id } = desired;
  return sh.lines([
    sh`docker load || exit 1`,
    sh`i=$(docker image inspect --format '{{.Id}}' ${ref}) || exit 1`,
    sh`if [ "$i" != ${id} ]; then printf 'loaded %s but it is %s, not %s\\n' ${ref} "$i" ${id} >&2; exit 1; fi`,
  ]).text;
}

// The controller side: `docker save REF` (argv, no shell) as a stream; a failed save errors the stream, never ends it cleanly.
export function dockerSaveSource(ref: string, dockerCommand = 'docker'): StreamSource {
  return {
    open() {
      const out = new PassThrough();
      const child = spawn(dockerCommand, ['save', ref], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
        stderr = (stderr + chunk).slice(-2000);
      });
      // end: false, so the host sees EOF only once the save is known to have succeeded.
      child.stdout.pipe(out, { end: false });
      child.on('error', (error) => out.destroy(new HalyardError('E_DOCKER_SAVE', `docker save ${ref} could not start: ${error.message}`, { cause: error })));
      child.on('close', (code, signal) => {
        if (code === 0) out.end();
        else out.destroy(new HalyardError('E_DOCKER_SAVE', `docker save ${ref} failed (${code === null ? `signal ${signal}` : `exit code ${code}`}): ${stderr.trim()}`));
      });
      return out;
    },
  };
}

// The ID of an image on this controller, for roles: `dockerImage({ ref, id: localImageId(ref) })`.
export function localImageId(ref: string, dockerCommand = 'docker'): string {
  return localImageIds([ref], dockerCommand)[ref]!;
}

// IDs already read in this turn of the event loop, by docker command and ref. A playbook builds every
// host's tasks in one synchronous pass, and a role that ships 9 images asked docker 9 times per host:
// 397 ms of a one-host site no-op, some 20 s of a 50-host one. Nothing on the controller changes
// the images within one synchronous pass; the next turn (a later run of a long-lived daemon, tasks
// built after facts) asks again.
let idsThisTurn: Map<string, string> | undefined;

// The IDs of images on this controller, in one `docker image inspect` for those not read this turn.
export function localImageIds(refs: readonly string[], dockerCommand = 'docker'): Record<string, string> {
  for (const ref of refs) checkImageRef(ref);
  if (idsThisTurn === undefined) {
    const cache = new Map<string, string>();
    idsThisTurn = cache;
    setImmediate(() => {
      if (idsThisTurn === cache) idsThisTurn = undefined;
    });
  }
  const cache = idsThisTurn;
  const key = (ref: string) => `${dockerCommand}\0${ref}`;
  const unread = [...new Set(refs.filter((ref) => !cache.has(key(ref))))];
  if (unread.length > 0) {
    let lines: string[];
    try {
      lines = inspectIds(unread, dockerCommand);
    } catch (error) {
      // Which one is missing: asked one by one, so the error names it.
      if (unread.length === 1) throw missingImage(unread[0]!, error);
      for (const ref of unread) {
        try {
          inspectIds([ref], dockerCommand);
        } catch (single) {
          throw missingImage(ref, single);
        }
      }
      throw missingImage(unread.join(' '), error);
    }
    unread.forEach((ref, index) => cache.set(key(ref), lines[index] ?? ''));
  }
  return Object.fromEntries(refs.map((ref) => [ref, cache.get(key(ref))!]));
}

function inspectIds(refs: readonly string[], dockerCommand: string): string[] {
  const out = execFileSync(dockerCommand, ['image', 'inspect', '--format', '{{.Id}}', ...refs], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const lines = out.trim().split('\n');
  if (lines.length !== refs.length) throw new Error(`expected ${refs.length} image IDs, got ${JSON.stringify(out.trim())}`);
  return lines;
}

function missingImage(ref: string, error: unknown): HalyardError {
  const stderr = String((error as { stderr?: unknown }).stderr ?? (error as Error).message).trim();
  return new HalyardError(
    'E_LOCAL_IMAGE_MISSING',
    `image ${ref} is not on this controller (docker image inspect: ${stderr.split('\n')[0] ?? ''}); build or load it here first (docker build -t ${ref} .)`,
    { cause: error },
  );
}

// Whether a value is a tagged image reference this resource accepts (compose projects check their expectImages with it).
export function isImageRef(ref: unknown): ref is string {
  return typeof ref === 'string' && ref.length <= 255 && IMAGE_REF.test(ref);
}

// Whether a value is a full image ID, sha256:<64 hex>, as localImageId returns it.
export function isImageId(id: unknown): id is string {
  return typeof id === 'string' && IMAGE_ID.test(id);
}

function checkImageRef(ref: string): void {
  if (!isImageRef(ref)) throw new PlanError(`docker image: invalid image reference ${JSON.stringify(ref)}`);
}

function checkDockerImageDesired(desired: DockerImageDesired): void {
  checkImageRef(desired.ref);
  if (!isImageId(desired.id)) {
    throw new PlanError(`docker image ${desired.ref}: id must be an image ID like sha256:<64 hex> (use localImageId(ref)), got ${JSON.stringify(desired.id)}`);
  }
}

function shortId(id: string): string {
  return id.replace(/^sha256:/, '').slice(0, 12);
}

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
  checkImageRef(ref);
  try {
    return execFileSync(dockerCommand, ['image', 'inspect', '--format', '{{.Id}}', ref], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  } catch (error) {
    const stderr = String((error as { stderr?: unknown }).stderr ?? (error as Error).message).trim();
    throw new HalyardError(
      'E_LOCAL_IMAGE_MISSING',
      `image ${ref} is not on this controller (docker image inspect: ${stderr.split('\n')[0] ?? ''}); build or load it here first (docker build -t ${ref} .)`,
      { cause: error },
    );
  }
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

import { createHash } from 'node:crypto';
import { closeSync, createReadStream, fstatSync, openSync, readSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { PassThrough } from 'node:stream';
import { createGzip } from 'node:zlib';
import { formatBytes } from '../core/bytes.js';
import { HalyardError } from '../core/errors.js';
import { sh } from '../core/shell.js';
import { GUARD_FACTS } from '../facts/command.js';
import { pathFact, type PathState } from '../facts/file.js';
import { serviceFactsStaleAfter } from '../facts/service.js';
import { checkAbsolutePath, checkOwnership, formatMode, ownershipCommands, ownershipDrift, type Ownership, type OwnershipArgs } from './ownership.js';
import { PlanError, type Plan, type ResourceType, type Step, type StreamSource } from './types.js';
import { staleTempCleanup, TEMP_FILE } from './file.js';

// A file copied from the controller (a runtime, a release tarball): streamed, never held whole,
// compared by sha256, checked on the host before it is renamed into place.
export interface UploadDesired extends OwnershipArgs {
  /** Absolute path of the local file on the controller. */
  src: string;
  /** Absolute path on the host. */
  path: string;
  /** sha256 (hex) of the local file when the task was made: what the host must end up with. */
  sha256: string;
  /** Its size in bytes, for messages. */
  size: number;
  /** Permission bits of the local file: the mode of a new file when `mode` is not given. */
  localMode: number;
  /** gzip in transit (gunzip on the host); off for data that is already compressed. */
  compress: boolean;
  /**
   * A check run on the uploaded temp file before it replaces the target (Ansible's `validate`):
   * argv, where the word "%s" is the temp file's path, e.g. ["%s", "--version"] or ["visudo", "-cf", "%s"].
   */
  validate?: string[];
}

// What a playbook gives upload(); the digest is taken when the task is made.
export type UploadOptions = Omit<UploadDesired, 'sha256' | 'size' | 'localMode' | 'compress'> & { compress?: boolean };

/** Suffixes of data that gzip would not shrink. */
const COMPRESSED = /\.(gz|tgz|zst|xz|bz2|zip|7z|br|lz4|jpe?g|png|webp)$/i;

const digests = new Map<string, { sha256: string; size: number; mode: number }>();

// The sha256, size and mode of a local file, read once per (path, size, mtime) in a process.
export function localFileDigest(path: string): { sha256: string; size: number; mode: number } {
  const absolute = isAbsolute(path) ? path : resolve(path);
  let fd: number;
  try {
    fd = openSync(absolute, 'r');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new HalyardError('E_LOCAL_FILE', `upload: cannot read ${absolute} on the controller (${code === 'ENOENT' ? 'no such file' : code})`, { cause: error });
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw new HalyardError('E_LOCAL_FILE', `upload: ${absolute} on the controller is not a regular file`);
    const key = `${absolute}\0${stat.dev}:${stat.ino}:${stat.size}:${stat.mtimeMs}`;
    const known = digests.get(key);
    if (known) return known;
    const hash = createHash('sha256');
    const buffer = Buffer.allocUnsafe(1024 * 1024);
    for (let read = readSync(fd, buffer); read > 0; read = readSync(fd, buffer)) hash.update(buffer.subarray(0, read));
    const digest = { sha256: hash.digest('hex'), size: stat.size, mode: stat.mode & 0o7777 };
    digests.set(key, digest);
    return digest;
  } finally {
    closeSync(fd);
  }
}

// The desired state of an upload: the local file's digest now, compression by its name unless told.
export function uploadDesired(options: UploadOptions): UploadDesired {
  const src = isAbsolute(options.src) ? options.src : resolve(options.src);
  const digest = localFileDigest(src);
  return { ...options, src, sha256: digest.sha256, size: digest.size, localMode: digest.mode, compress: options.compress ?? !COMPRESSED.test(src) };
}

// The upload resource kind: noop when the host's file has the sha256, owner and mode; else one streamed copy.
export const uploadResource: ResourceType<UploadDesired> = {
  kind: 'upload',
  describe: (desired) => `upload ${desired.path}`,
  facts: (desired) => ({ path: pathFact(desired.path) }),
  invalidates: (desired) => [`path:${desired.path}`, `exists:${desired.path}`, GUARD_FACTS, ...serviceFactsStaleAfter(desired.path)],
  plan(desired, facts, context): Plan {
    checkUploadDesired(desired);
    const state = facts.path as PathState;
    if (state.type !== 'absent' && state.type !== 'file') throw new PlanError(`${desired.path} is a ${state.type}, not a regular file; remove it first`);
    const size = formatBytes(desired.size);
    if (state.type === 'absent') {
      const wanted = { ...desired, mode: desired.mode ?? formatMode(desired.localMode) };
      return { action: 'change', changes: [`upload ${desired.path} (${size}) from ${desired.src}`], steps: [uploadStep(desired, wanted, context.runStartedOnHost)] };
    }
    const drift = ownershipDrift(desired, state);
    if (state.sha256 !== desired.sha256) {
      const wanted: Ownership = { owner: desired.owner ?? state.uid, group: desired.group ?? state.gid, mode: desired.mode ?? state.mode };
      return {
        action: 'change',
        changes: [`content of ${desired.path} differs from ${desired.src} (sha256 ${state.sha256?.slice(0, 12)} -> ${desired.sha256.slice(0, 12)}, ${size})`, ...drift],
        steps: [uploadStep(desired, wanted, context.runStartedOnHost)],
      };
    }
    if (drift.length > 0) return { action: 'change', changes: drift, steps: [{ label: `set ownership of ${desired.path}`, script: sh.join(ownershipCommands(sh`${desired.path}`, desired), sh` && `).text }] };
    return { action: 'noop', reason: `${desired.path} already has sha256 ${desired.sha256.slice(0, 12)}, owner and mode` };
  },
};

function uploadStep(desired: UploadDesired, wanted: Ownership, staleBefore: number | undefined): Step {
  return { label: `upload ${desired.path}`, script: uploadScript(desired, wanted, staleBefore), stream: uploadSource(desired) };
}

// The host side: receive into a temp file beside the target, check sha256 (and validate), then rename.
// It travels in argv (a streamed step), so it holds paths and hashes only.
export function uploadScript(desired: UploadDesired, wanted: Ownership, staleBefore?: number): string {
  const dir = desired.path.slice(0, desired.path.lastIndexOf('/'));
  const receive = desired.compress ? sh`gzip -dc` : sh`cat`;
  const lines = [
    ...staleTempCleanup(dir, staleBefore),
    // Traps first: a signal right after mktemp must not leave the temp file behind.
    sh`t=`,
    sh`trap 'if [ -n "$t" ]; then rm -f -- "$t"; fi' EXIT`,
    sh`trap 'exit 1' HUP INT TERM PIPE`,
    sh`t=$(mktemp ${`${dir}/.halyard.XXXXXXXX`}) || exit 1`,
    sh`${receive} > "$t" || { echo ${`upload of ${desired.path} was cut short`} >&2; exit 1; }`,
    sh`s=$(sha256sum < "$t" | cut -c1-64)`,
    sh`if [ "$s" != ${desired.sha256} ]; then printf 'received sha256 %s, expected %s: the local file changed during the upload, or the stream was damaged\\n' "$s" ${desired.sha256} >&2; exit 1; fi`,
  ];
  // Ownership before validation: a check that executes the file needs its mode.
  const ownership = ownershipCommands(TEMP_FILE, wanted);
  if (ownership.length > 0) lines.push(sh`${sh.join(ownership, sh` && `)} || exit 1`);
  if (desired.validate) {
    const argv = desired.validate.map((word) => (word === '%s' ? TEMP_FILE : word));
    lines.push(sh`${argv} >&2 || { echo ${`validation of ${desired.path} failed: ${desired.validate.join(' ')}`} >&2; exit 1; }`);
  }
  lines.push(sh`mv -f -- ${TEMP_FILE} ${desired.path}`);
  return sh.lines(lines).text;
}

// The controller side: the file read in chunks (gzip level 1 when compressing: cheap, and halves a binary).
export function uploadSource(desired: Pick<UploadDesired, 'src' | 'compress'>): StreamSource {
  return {
    open() {
      const file = createReadStream(desired.src, { highWaterMark: 256 * 1024 });
      if (!desired.compress) return file;
      const gzip = createGzip({ level: 1 });
      const out = new PassThrough();
      file.on('error', (error) => out.destroy(new HalyardError('E_LOCAL_FILE', `upload: reading ${desired.src}: ${error.message}`, { cause: error })));
      gzip.on('error', (error) => out.destroy(error));
      file.pipe(gzip).pipe(out);
      return out;
    },
  };
}

function checkUploadDesired(desired: UploadDesired): void {
  checkAbsolutePath(desired.path, 'upload');
  checkOwnership(desired);
  if (!/^[0-9a-f]{64}$/.test(desired.sha256)) throw new PlanError(`upload ${desired.path}: sha256 must be 64 hex digits (use upload() to make the task)`);
  if (desired.validate !== undefined) {
    if (!Array.isArray(desired.validate) || desired.validate.length === 0 || !desired.validate.includes('%s')) {
      throw new PlanError(`upload ${desired.path}: validate must be an argv holding the word "%s" (the uploaded file), e.g. ["%s", "--version"]`);
    }
    if (desired.validate.some((word) => typeof word !== 'string' || word.includes('\0'))) throw new PlanError(`upload ${desired.path}: validate words must be strings without NUL bytes`);
  }
}

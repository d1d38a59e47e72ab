import { sh } from '../core/shell.js';
import { FactParseError, defineFact, describeOutput, type Fact } from './fact.js';

// What a path is on the host; 'absent' when nothing (not even a dangling link) is there.
export type PathType = 'absent' | 'file' | 'directory' | 'symlink' | 'other';

// The state of one path: type, owner ids and names, mode bits, size and (regular files) sha256.
export interface PathState {
  type: PathType;
  uid?: number;
  gid?: number;
  user?: string;
  group?: string;
  /** Permission bits as a number (e.g. 0o644, 0o1777). */
  mode?: number;
  size?: number;
  sha256?: string;
  /** Base64 of the current content, only when asked for (diff mode) and small enough. */
  contentBase64?: string;
}

/** Files larger than this are never read back for diffs. */
export const DIFF_MAX_BYTES = 256 * 1024;

// The fact for a path; withContent adds the content (diff mode) for small regular files.
export function pathFact(path: string, options: { withContent?: boolean } = {}): Fact<PathState> {
  const content = options.withContent
    ? sh`\n  if [ -f ${path} ] && [ ! -L ${path} ] && [ "$(stat -c %s -- ${path})" -le ${DIFF_MAX_BYTES} ]; then printf 'content '; base64 -w0 -- ${path}; echo; fi`
    : sh``;
  const script = sh.lines([
    sh`if [ -e ${path} ] || [ -L ${path} ]; then`,
    sh`  stat -c 'stat %F|%u|%g|%U|%G|%a|%s' -- ${path} || exit 3`,
    // Hash from stdin: sha256sum escapes names holding a newline or backslash ("\\<hash>  name").
    sh`  if [ -f ${path} ] && [ ! -L ${path} ]; then printf 'sha256 '; sha256sum < ${path} | cut -c1-64; fi${content}`,
    sh`else echo absent; fi`,
  ]).text;
  return defineFact(`path:${path}${options.withContent ? ':content' : ''}`, script, (stdout, exitCode) =>
    parsePathState(`path:${path}`, stdout, exitCode),
  );
}

// Pure parser for pathFact output (tested with tables).
export function parsePathState(key: string, stdout: string, exitCode: number): PathState {
  if (exitCode !== 0) throw new FactParseError(key, `stat failed with exit code ${exitCode}`);
  const lines = stdout.split('\n').filter((line) => line !== '');
  if (lines[0] === 'absent') return { type: 'absent' };
  const state: PathState = { type: 'other' };
  if (!lines.some((line) => line.startsWith('stat '))) throw new FactParseError(key, `no stat line in probe output (${describeOutput(stdout)})`);
  for (const [index, line] of lines.entries()) {
    const space = line.indexOf(' ');
    const tag = line.slice(0, space);
    const rest = line.slice(space + 1);
    if (tag === 'stat') {
      const [kind, uid, gid, user, group, mode, size] = rest.split('|');
      if (size === undefined) throw new FactParseError(key, `unexpected stat output on line ${index + 1} (${rest.split('|').length} fields, 7 expected)`);
      state.type = pathTypeOf(kind ?? '');
      state.uid = Number(uid);
      state.gid = Number(gid);
      state.user = user ?? '';
      state.group = group ?? '';
      state.mode = parseInt(mode ?? '', 8);
      state.size = Number(size);
    } else if (tag === 'sha256') {
      // A sha256sum that prints anything else (escapes, a lie) fails the fact, never reaches a plan.
      if (!/^[0-9a-f]{64}$/.test(rest.trim())) throw new FactParseError(key, `sha256sum printed something other than a 64-digit hex hash on line ${index + 1}`);
      state.sha256 = rest.trim();
    } else if (tag === 'content') {
      if (!/^[A-Za-z0-9+/=]*$/.test(rest.trim())) throw new FactParseError(key, `base64 printed something other than base64 on line ${index + 1}`);
      state.contentBase64 = rest.trim();
    }
  }
  return state;
}

function pathTypeOf(kind: string): PathType {
  if (kind === 'regular file' || kind === 'regular empty file') return 'file';
  if (kind === 'directory') return 'directory';
  if (kind === 'symbolic link') return 'symlink';
  return 'other';
}

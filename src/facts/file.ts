import { createHash } from 'node:crypto';
import { sh, type ShellScript } from '../core/shell.js';
import { FactParseError, defineBatchedFact, type Fact, type FactFamily } from './fact.js';

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

// One path a probe asks about, and whether its content comes back too (diff mode).
export interface PathProbeItem {
  path: string;
  withContent: boolean;
}

/**
 * One lstat record per path, fields ended by NUL (a name may hold any other byte): a tag, the raw
 * mode in hex (type and permission bits, never translated as %F is), uid, gid, owner and group
 * names, size, and the name as given.
 */
const STAT_FORMAT = 'stat\\0%f\\0%u\\0%g\\0%U\\0%G\\0%s\\0%n\\0';
const STAT_FIELDS = 7;
/** Listed first to stat, which must report it: proves the host's stat understood --printf. */
const STAT_SENTINEL = '/';
/** Hashed first when anything is: proves sha256sum understood -z (GNU coreutils 8.30, 2018). */
const HASH_SENTINEL = '/dev/null';
const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

/** Keeps in "$@" the paths that are regular files, not symlinks (builtins only: no process). */
const KEEP_REGULAR_FILES = sh`for p in "$@"; do shift; if [ -f "$p" ] && [ ! -L "$p" ]; then set -- "$@" "$p"; fi; done`;

// The shell for some paths: one `stat` for all of them, one `sha256sum` for the regular files and,
// in diff mode, one `stat`, `cat` and `base64` for the small files' content. Output is tokens
// ended by NUL: `stat` records, then `sha256` and sha256sum's "HASH  NAME" lines (-z: names are
// never escaped), then maybe `content` with `file SIZE NAME` triples and `base64` of them all
// concatenated, then `end`.
export function pathsProbeScript(items: readonly PathProbeItem[]): string {
  const paths = [...new Set(items.map((item) => item.path))];
  const withContent = [...new Set(items.filter((item) => item.withContent).map((item) => item.path))];
  const lines: ShellScript[] = [
    sh`set -- ${paths}`,
    sh`stat --printf ${STAT_FORMAT} -- ${STAT_SENTINEL} "$@" 2>/dev/null`,
    KEEP_REGULAR_FILES,
    sh`printf 'sha256\\0'`,
    sh`if [ "$#" -gt 0 ]; then sha256sum -z -- ${HASH_SENTINEL} "$@" 2>/dev/null; fi`,
  ];
  if (withContent.length > 0) {
    lines.push(
      sh`set -- ${withContent}`,
      KEEP_REGULAR_FILES,
      sh`printf 'content\\0'`,
      // Sizes in the order of "$@": each small file is named, kept, and later read with the others.
      sh`if [ "$#" -gt 0 ]; then for s in $(stat -c %s -- "$@" 2>/dev/null); do f=$1; shift; if [ "$s" -le ${DIFF_MAX_BYTES} ]; then set -- "$@" "$f"; printf 'file\\0%s\\0%s\\0' "$s" "$f"; fi; done; fi`,
      sh`printf 'base64\\0'`,
      sh`if [ "$#" -gt 0 ]; then cat -- "$@" 2>/dev/null | base64 -w0; fi`,
      sh`printf '\\0'`,
    );
  }
  lines.push(sh`printf 'end\\0'`);
  return sh.lines(lines).text;
}

// The family of path facts: every path of a probe in one section.
export const pathFamily: FactFamily<PathProbeItem, PathState> = {
  name: 'halyard:path',
  script: pathsProbeScript,
  parse: parsePathStates,
};

// The fact for a path; withContent adds the content (diff mode) for small regular files.
export function pathFact(path: string, options: { withContent?: boolean } = {}): Fact<PathState> {
  const withContent = options.withContent === true;
  return defineBatchedFact(`path:${path}${withContent ? ':content' : ''}`, pathFamily, { path, withContent });
}

// Pure parser for one path's probe output (tested with tables).
export function parsePathState(path: string, stdout: string, exitCode: number, options: { withContent?: boolean } = {}): PathState {
  const [state] = parsePathStates(stdout, exitCode, [{ path, withContent: options.withContent === true }]);
  if (!state) throw new FactParseError(`path:${path}`, 'no state in probe output');
  return state;
}

interface StatRecord {
  rawMode: number;
  uid: number;
  gid: number;
  user: string;
  group: string;
  size: number;
}

// Pure parser for pathsProbeScript output: each item's state, in order. Host bytes (names, hashes,
// content) never reach an error message.
export function parsePathStates(stdout: string, exitCode: number, items: readonly PathProbeItem[]): PathState[] {
  const sectionKey = `path:${items[0]?.path ?? ''}`;
  const fail = (detail: string, key = sectionKey) => new FactParseError(key, detail);
  if (exitCode !== 0) throw fail(`probe failed with exit code ${exitCode}`);
  const wanted = new Set(items.map((item) => item.path));
  const tokens = stdout.split('\0');
  if (tokens.pop() !== '') throw fail('probe output does not end with a complete record');
  let at = 0;

  const stats = new Map<string, StatRecord>();
  let statSentinel = false;
  while (tokens[at] === 'stat') {
    const fields = tokens.slice(at + 1, at + 1 + STAT_FIELDS);
    at += 1 + STAT_FIELDS;
    if (fields.length !== STAT_FIELDS) throw fail(`a stat record is cut short (${fields.length} fields, ${STAT_FIELDS} expected)`);
    const [rawMode = '', uid = '', gid = '', user = '', group = '', size = '', name = ''] = fields;
    if (!/^[0-9a-f]{1,8}$/.test(rawMode) || !/^\d+$/.test(uid) || !/^\d+$/.test(gid) || !/^\d+$/.test(size)) throw fail('stat printed a record whose mode, ids or size are not numbers');
    if (!statSentinel) {
      if (name !== STAT_SENTINEL) throw fail(`stat did not report ${STAT_SENTINEL} first`);
      statSentinel = true;
      continue;
    }
    if (!wanted.has(name)) throw fail('stat printed a record for a path that was not asked for');
    if (stats.has(name)) throw fail('stat printed two records for one path');
    stats.set(name, { rawMode: parseInt(rawMode, 16), uid: Number(uid), gid: Number(gid), user, group, size: Number(size) });
  }
  if (!statSentinel) throw fail(`stat printed no record for ${STAT_SENTINEL} (GNU coreutils stat with --printf is needed)`);

  if (tokens[at++] !== 'sha256') throw fail('no sha256 part in probe output');
  const hashes = new Map<string, string>();
  let hashSentinel = false;
  while (at < tokens.length && tokens[at] !== 'content' && tokens[at] !== 'end') {
    const match = /^([0-9a-f]{64}) [ *]([^]*)$/.exec(tokens[at++] ?? '');
    if (!match) throw fail('sha256sum printed something other than a 64-digit hex hash and a name');
    const [, hash = '', name = ''] = match;
    if (!hashSentinel) {
      if (name !== HASH_SENTINEL || hash !== EMPTY_SHA256) throw fail(`sha256sum did not hash ${HASH_SENTINEL} first`);
      hashSentinel = true;
      continue;
    }
    if (!wanted.has(name)) throw fail('sha256sum printed a hash for a path that was not asked for');
    hashes.set(name, hash);
  }

  const contents = new Map<string, Buffer>();
  if (tokens[at] === 'content') {
    at += 1;
    const listed: { name: string; size: number }[] = [];
    while (tokens[at] === 'file') {
      const size = tokens[at + 1] ?? '';
      const name = tokens[at + 2];
      at += 3;
      if (name === undefined || !/^\d+$/.test(size)) throw fail('a content record is cut short');
      if (!wanted.has(name)) throw fail('the content part names a path that was not asked for');
      listed.push({ name, size: Number(size) });
    }
    if (tokens[at++] !== 'base64') throw fail('no base64 part in probe output');
    const encoded = tokens[at++] ?? '';
    if (!/^[A-Za-z0-9+/=]*$/.test(encoded)) throw fail('base64 printed something other than base64');
    const bytes = Buffer.from(encoded, 'base64');
    const total = listed.reduce((sum, file) => sum + file.size, 0);
    // Sizes and bytes disagree when a file changed between the two reads: no content is trusted then.
    if (total === bytes.length) {
      let offset = 0;
      for (const file of listed) {
        contents.set(file.name, bytes.subarray(offset, offset + file.size));
        offset += file.size;
      }
    }
  }
  if (tokens[at++] !== 'end' || at !== tokens.length) throw fail('unexpected output after the probe of paths');

  return items.map((item) => {
    const key = `path:${item.path}`;
    const record = stats.get(item.path);
    if (!record) return { type: 'absent' };
    const type = pathTypeOf(record.rawMode);
    const state: PathState = { type, uid: record.uid, gid: record.gid, user: record.user, group: record.group, mode: record.rawMode & 0o7777, size: record.size };
    if (type !== 'file') return state;
    const hash = hashes.get(item.path);
    if (hash === undefined) {
      if (!hashSentinel) throw fail('sha256sum printed nothing (GNU coreutils 8.30 or newer is needed for sha256sum -z)', key);
      throw fail('sha256sum printed no hash for it (the file is unreadable, or changed while it was probed)', key);
    }
    state.sha256 = hash;
    if (item.withContent && record.size <= DIFF_MAX_BYTES) {
      const content = contents.get(item.path);
      // The content shown in a diff must be the content whose hash the plan compared.
      if (content === undefined || content.length !== record.size || createHash('sha256').update(content).digest('hex') !== hash) {
        throw fail('its content could not be read back whole (the file changed while it was probed; run again)', key);
      }
      state.contentBase64 = content.toString('base64');
    }
    return state;
  });
}

function pathTypeOf(rawMode: number): PathType {
  const format = rawMode & 0o170000;
  if (format === 0o100000) return 'file';
  if (format === 0o040000) return 'directory';
  if (format === 0o120000) return 'symlink';
  return 'other';
}

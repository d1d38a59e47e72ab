import { createRequire } from 'node:module';
import { sh, type ShellScript } from '../core/shell.js';
import { contentBytes, contentForDisplay, contentIsSecret, contentSha256, type FileContent } from '../core/template.js';
import { GUARD_FACTS } from '../facts/command.js';
import { pathFact, type PathState } from '../facts/file.js';
import { serviceFactsStaleAfter } from '../facts/service.js';
import { checkAbsolutePath, checkOwnership, ownershipCommands, ownershipDrift, type Ownership, type OwnershipArgs } from './ownership.js';
import { PlanError, type FileDiff, type Plan, type ResourceType, type Step } from './types.js';

// diff is loaded by the first --diff, not by every apply (19 modules on the start-up path).
const requireLazily = createRequire(import.meta.url);

// A regular file with exact content and ownership, written atomically (temp file, chown, chmod, rename).
export interface FileDesired extends OwnershipArgs {
  path: string;
  content: FileContent;
  /** Treat the content as secret even when it holds no Secret value (no diff lines shown). */
  sensitive?: boolean;
}

/** Mode for a new file when none is given. */
const DEFAULT_NEW_FILE_MODE = '0644';

/** The temp file the write scripts fill, as the shell variable holding its path. */
export const TEMP_FILE = sh`"$t"`;

// Shell that writes content to a temp file beside the target, sets ownership and renames it over.
export function atomicWriteScript(path: string, content: Buffer, wanted: Ownership, options: { staleBefore?: number } = {}): string {
  // '' for a file in '/', so the temp file is "/.halyard.X", not "//.halyard.X".
  const dir = path.slice(0, path.lastIndexOf('/'));
  // Here-document data under a quoted delimiter, inserted as is: base64 holds only letters, digits, '+', '/' and '='.
  const base64 = sh.trusted(content.toString('base64').replace(/(.{76})/g, '$1\n'));
  const finish = sh.join([...ownershipCommands(TEMP_FILE, wanted), sh`mv -f -- ${TEMP_FILE} ${path}`], sh` && `);
  return sh.lines([
    ...staleTempCleanup(dir, options.staleBefore),
    // Traps first: a signal after mktemp must not leave the temp file behind (SIGKILL can; the
    // next write into this directory removes it).
    sh`t=`,
    sh`trap 'if [ -n "$t" ]; then rm -f -- "$t"; fi' EXIT`,
    sh`trap 'exit 1' HUP INT TERM PIPE`,
    sh`t=$(mktemp ${`${dir}/.halyard.XXXXXXXX`}) || exit 1`,
    sh`if base64 -d > "$t" <<'HALYARD_EOF'`,
    base64,
    sh`HALYARD_EOF`,
    sh`then ${finish} && t= || exit 1`,
    sh`else exit 1; fi`,
  ]).text;
}

// Removes halyard's own temp files (mktemp's .halyard.XXXXXXXX, nothing else) left in `dir` by a
// run killed mid-write, when they are older than this run's start on the host's clock.
export function staleTempCleanup(dir: string, staleBefore: number | undefined): ShellScript[] {
  if (staleBefore === undefined) return [];
  return [sh`find ${dir === '' ? '/' : dir} -maxdepth 1 -type f -name '.halyard.????????' ! -newermt @${Math.floor(staleBefore)} -delete 2>/dev/null`];
}

// The file resource kind.
export const fileResource: ResourceType<FileDesired> = {
  kind: 'file',
  describe: (desired) => `file ${desired.path}`,
  facts: (desired, context) => ({ path: pathFact(desired.path, { withContent: context.diff }) }),
  // The path itself (its content fact too), its existence guard, guard snippets that may read it, and
  // services when it is a unit file (a service task after it must see the new unit, not "not-found").
  invalidates: (desired) => [`path:${desired.path}`, `exists:${desired.path}`, GUARD_FACTS, ...serviceFactsStaleAfter(desired.path)],
  plan(desired, facts, context): Plan {
    checkAbsolutePath(desired.path, 'file');
    checkOwnership(desired);
    const state = facts.path as PathState;
    if (state.type !== 'absent' && state.type !== 'file') {
      throw new PlanError(`${desired.path} is a ${state.type}, not a regular file; remove it first`);
    }
    const wantedSha = contentSha256(desired.content);
    // A hash prefix or a length of secret content can give it away (a 6-digit PIN from its sha256
    // prefix in under a second): such files say only that their content is secret.
    const secret = desired.sensitive === true || contentIsSecret(desired.content);
    if (state.type === 'absent') {
      const wanted = { ...desired, mode: desired.mode ?? DEFAULT_NEW_FILE_MODE };
      return {
        action: 'change',
        changes: [secret ? `create ${desired.path} (secret content)` : `create ${desired.path} (${contentBytes(desired.content).length} bytes)`],
        steps: [writeStep(desired, wanted, context.runStartedOnHost)],
        ...(context.diff ? { diff: fileDiff(desired, undefined) } : {}),
      };
    }
    const drift = ownershipDrift(desired, state);
    if (state.sha256 !== wantedSha) {
      // Keep the current owner and mode unless the resource sets them, as Ansible's atomic_move does.
      const wanted: Ownership = {
        owner: desired.owner ?? state.uid,
        group: desired.group ?? state.gid,
        mode: desired.mode ?? state.mode,
      };
      return {
        action: 'change',
        changes: [secret ? `content of ${desired.path} differs (secret content)` : `content of ${desired.path} differs (sha256 ${state.sha256?.slice(0, 12)} -> ${wantedSha.slice(0, 12)})`, ...drift],
        steps: [writeStep(desired, wanted, context.runStartedOnHost)],
        ...(context.diff ? { diff: fileDiff(desired, state) } : {}),
      };
    }
    if (drift.length > 0) {
      const steps: Step[] = [{ label: `set ownership of ${desired.path}`, script: sh.join(ownershipCommands(sh`${desired.path}`, desired), sh` && `).text }];
      return { action: 'change', changes: drift, steps };
    }
    return { action: 'noop', reason: `${desired.path} already has this content, owner and mode` };
  },
};

function writeStep(desired: FileDesired, wanted: Ownership, staleBefore: number | undefined): Step {
  return { label: `write ${desired.path}`, script: atomicWriteScript(desired.path, contentBytes(desired.content), wanted, staleBefore === undefined ? {} : { staleBefore }) };
}

// A unified diff with secrets masked; secret or binary files get a one-line note instead of lines.
export function fileDiff(desired: FileDesired, state: PathState | undefined): FileDiff {
  const path = desired.path;
  if (desired.sensitive || contentIsSecret(desired.content)) {
    return { path, text: `--- ${path}\n+++ ${path}\n(content holds secrets; diff not shown)\n` };
  }
  const after = contentForDisplay(desired.content);
  let before = '';
  if (state && state.type === 'file') {
    if (state.contentBase64 === undefined) return { path, text: `--- ${path}\n+++ ${path}\n(file too large to diff)\n` };
    const bytes = Buffer.from(state.contentBase64, 'base64');
    if (bytes.subarray(0, 8000).includes(0)) return { path, text: `--- ${path}\n+++ ${path}\n(binary content differs)\n` };
    before = bytes.toString('utf8');
  }
  if (after === undefined) return { path, text: `--- ${path}\n+++ ${path}\n(binary content differs)\n` };
  const { createTwoFilesPatch } = requireLazily('diff') as typeof import('diff');
  const text = createTwoFilesPatch(state && state.type === 'file' ? path : '/dev/null', path, before, after, '', '', { context: 3 });
  // Drop the "Index:" banner and the empty header timestamps so the diff reads like `diff -u`.
  const cleaned = text.replace(/^Index: .*\n=+\n/, '').replace(/^(---|\+\+\+) (.*)\t$/gm, '$1 $2');
  return { path, text: cleaned };
}

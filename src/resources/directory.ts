import { sh } from '../core/shell.js';
import { GUARD_FACTS } from '../facts/command.js';
import { pathFact, type PathState } from '../facts/file.js';
import { checkAbsolutePath, checkOwnership, ownershipCommands, ownershipDrift, type OwnershipArgs } from './ownership.js';
import { PlanError, type Plan, type ResourceType } from './types.js';

// A directory with ownership and mode (applied to the directory itself, not recursively).
export interface DirectoryDesired extends OwnershipArgs {
  path: string;
}

// The directory resource kind: mkdir -p when absent, chown/chmod when drifted.
export const directoryResource: ResourceType<DirectoryDesired> = {
  kind: 'directory',
  describe: (desired) => `directory ${desired.path}`,
  facts: (desired) => ({ path: pathFact(desired.path) }),
  // Creating parents can change the state of any path below, and of the parents themselves.
  invalidates: (desired) => [
    `path:${desired.path}*`,
    `exists:${desired.path}*`,
    ...parentsOf(desired.path).flatMap((parent) => [`path:${parent}`, `exists:${parent}`]),
    GUARD_FACTS,
  ],
  plan(desired, facts): Plan {
    checkAbsolutePath(desired.path, 'directory');
    checkOwnership(desired);
    const state = facts.path as PathState;
    if (state.type === 'absent') {
      const script = sh.join([sh`mkdir -p -- ${desired.path}`, ...ownershipCommands(sh`${desired.path}`, desired)], sh` && `).text;
      return { action: 'change', changes: [`create directory ${desired.path}`], steps: [{ label: `create ${desired.path}`, script }] };
    }
    if (state.type !== 'directory') throw new PlanError(`${desired.path} is a ${state.type}, not a directory; remove it first`);
    const drift = ownershipDrift(desired, state);
    if (drift.length === 0) return { action: 'noop', reason: `${desired.path} already exists with this owner and mode` };
    return {
      action: 'change',
      changes: drift,
      steps: [{ label: `set ownership of ${desired.path}`, script: sh.join(ownershipCommands(sh`${desired.path}`, desired), sh` && `).text }],
    };
  },
};

// Every proper ancestor of an absolute path, nearest last ("/a/b/c" -> ["/a", "/a/b"]).
export function parentsOf(path: string): string[] {
  const parts = path.split('/').filter(Boolean);
  return parts.slice(0, -1).map((_, index) => `/${parts.slice(0, index + 1).join('/')}`);
}

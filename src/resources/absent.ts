import { sh } from '../core/shell.js';
import { GUARD_FACTS } from '../facts/command.js';
import { pathFact, type PathState } from '../facts/file.js';
import { serviceFactsStaleAfter } from '../facts/service.js';
import { checkAbsolutePath } from './ownership.js';
import { PlanError, type Plan, type ResourceType } from './types.js';

// A path that must not exist (file, link or, with recursive, a whole directory tree).
export interface AbsentDesired {
  path: string;
  /** Allow removing a non-empty directory. */
  recursive?: boolean;
}

/** Paths never removed, whatever a playbook says. */
const PROTECTED_PATHS = new Set([
  '/', '/bin', '/boot', '/dev', '/etc', '/home', '/lib', '/lib32', '/lib64', '/opt', '/proc', '/root', '/run', '/sbin', '/srv',
  '/sys', '/tmp', '/usr', '/usr/bin', '/usr/lib', '/usr/local', '/usr/sbin', '/var', '/var/lib', '/var/log',
]);

// The absent resource kind.
export const absentResource: ResourceType<AbsentDesired> = {
  kind: 'absent',
  describe: (desired) => `absent ${desired.path}`,
  facts: (desired) => ({ path: pathFact(desired.path) }),
  // Removing a directory removes everything below it; guards (creates/unless) may read any path.
  // Removing a unit file or drop-in changes what systemd reports for services.
  invalidates: (desired) => [`path:${desired.path}*`, `exists:${desired.path}*`, GUARD_FACTS, ...serviceFactsStaleAfter(desired.path)],
  plan(desired, facts): Plan {
    checkAbsolutePath(desired.path, 'absent');
    if (PROTECTED_PATHS.has(desired.path)) throw new PlanError(`refusing to remove ${desired.path}`);
    const state = facts.path as PathState;
    if (state.type === 'absent') return { action: 'noop', reason: `${desired.path} does not exist` };
    const path = desired.path;
    const script = state.type !== 'directory' ? sh`rm -f -- ${path}` : desired.recursive ? sh`rm -rf -- ${path}` : sh`rmdir -- ${path}`;
    return { action: 'change', changes: [`remove ${state.type} ${desired.path}`], steps: [{ label: `remove ${desired.path}`, script: script.text }] };
  },
};

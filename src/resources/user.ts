import { sh } from '../core/shell.js';
import { GUARD_FACTS } from '../facts/command.js';
import { groupFact, userFact, type GroupInfo, type UserInfo } from '../facts/users.js';
import { checkAbsolutePath } from './ownership.js';
import { PlanError, type Plan, type ResourceType } from './types.js';

// A local user account (useradd/usermod/userdel).
export interface UserDesired {
  name: string;
  uid?: number;
  /** Primary group, by name or gid; it must exist. Unset: a new user gets the group of its own name. */
  group?: string | number;
  /** Supplementary groups (names); they must exist. */
  groups?: string[];
  /** Default true: add to `groups` and keep other memberships; false: memberships become exactly `groups`. */
  append?: boolean;
  home?: string;
  shell?: string;
  /** A system account (useradd -r); only used when creating. */
  system?: boolean;
  /** Create the home directory when creating the user; default true, false for system users. */
  createHome?: boolean;
  /** Default 'present'. */
  state?: 'present' | 'absent';
}

/** Names useradd accepts on every supported distribution (and that cannot be taken for options or ids). */
export const ACCOUNT_NAME = /^[A-Za-z_][A-Za-z0-9_.-]{0,30}\$?$/;
const MAX_ID = 4294967294;

// The user resource kind.
export const userResource: ResourceType<UserDesired> = {
  kind: 'user',
  describe: (desired) => `user ${desired.name}${desired.state === 'absent' ? ' (absent)' : ''}`,
  facts: (desired) => {
    checkAccountName(desired.name, 'user');
    return { user: userFact(desired.name), ownGroup: groupFact(desired.name) };
  },
  // A new user may get a group of its name; usermod -u re-owns the home; stat and id show names.
  invalidates: (desired) => [`user:${desired.name}`, 'group:*', 'path:*', 'exists:*', GUARD_FACTS],
  plan(desired, facts): Plan {
    checkUserDesired(desired);
    const user = facts.user as UserInfo;
    const name = desired.name;
    if (desired.state === 'absent') {
      if (!user.exists) return { action: 'noop', reason: `user ${name} does not exist` };
      return { action: 'change', changes: [`remove user ${name}`], steps: [{ label: `remove user ${name}`, script: sh`userdel -- ${name}`.text }] };
    }
    if (!user.exists) return createUser(desired, facts.ownGroup as GroupInfo | undefined);

    const args: string[] = [];
    const changes: string[] = [];
    if (desired.uid !== undefined && desired.uid !== user.uid) {
      args.push('-u', String(desired.uid));
      changes.push(`uid ${user.uid} -> ${desired.uid}`);
    }
    if (desired.group !== undefined && String(desired.group) !== user.group && String(desired.group) !== String(user.gid)) {
      args.push('-g', String(desired.group));
      changes.push(`primary group ${user.group ?? user.gid} -> ${desired.group}`);
    }
    if (desired.groups !== undefined) {
      const wanted = [...new Set(desired.groups)];
      if (desired.append ?? true) {
        const missing = wanted.filter((group) => !user.groups.includes(group));
        if (missing.length > 0) {
          args.push('-a', '-G', missing.join(','));
          changes.push(`add to groups ${missing.join(', ')}`);
        }
      } else {
        const primary = desired.group !== undefined ? String(desired.group) : user.group;
        const current = user.groups.filter((group) => group !== user.group).sort();
        const exact = wanted.filter((group) => group !== primary).sort();
        if (current.join(',') !== exact.join(',')) {
          args.push('-G', exact.join(','));
          changes.push(`groups ${current.join(',') || '(none)'} -> ${exact.join(',') || '(none)'}`);
        }
      }
    }
    if (desired.home !== undefined && desired.home !== user.home) {
      args.push('-d', desired.home);
      changes.push(`home ${user.home} -> ${desired.home}`);
    }
    if (desired.shell !== undefined && desired.shell !== user.shell) {
      args.push('-s', desired.shell);
      changes.push(`shell ${user.shell} -> ${desired.shell}`);
    }
    if (args.length === 0) return { action: 'noop', reason: `user ${name} exists${settingsNamed(desired)}` };
    return { action: 'change', changes, steps: [{ label: `modify user ${name}`, script: sh`usermod ${args} -- ${name}`.text }] };
  },
};

function createUser(desired: UserDesired, ownGroup: GroupInfo | undefined): Plan {
  const args: string[] = [];
  if (desired.uid !== undefined) args.push('-u', String(desired.uid));
  if (desired.group !== undefined) args.push('-g', String(desired.group));
  // useradd refuses to create a user whose name is already a group unless told to join it.
  else if (ownGroup?.exists) args.push('-g', desired.name);
  const groups = [...new Set(desired.groups ?? [])];
  if (groups.length > 0) args.push('-G', groups.join(','));
  if (desired.home !== undefined) args.push('-d', desired.home);
  if (desired.shell !== undefined) args.push('-s', desired.shell);
  if (desired.system) args.push('-r');
  args.push((desired.createHome ?? !desired.system) ? '-m' : '-M');
  return {
    action: 'change',
    changes: [`create user ${desired.name}`],
    steps: [{ label: `create user ${desired.name}`, script: sh`useradd ${args} -- ${desired.name}`.text }],
  };
}

function settingsNamed(desired: UserDesired): string {
  const parts = ['uid', 'group', 'groups', 'home', 'shell'].filter((key) => desired[key as keyof UserDesired] !== undefined);
  return parts.length === 0 ? '' : ` with the wanted ${parts.join(', ')}`;
}

// Validates a user or group name before it reaches a command line.
export function checkAccountName(name: unknown, what: 'user' | 'group'): void {
  if (typeof name !== 'string' || !ACCOUNT_NAME.test(name)) throw new PlanError(`invalid ${what} name ${JSON.stringify(name)}`);
}

// Validates a uid or gid.
export function checkAccountId(id: unknown, what: string): void {
  if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id > MAX_ID) throw new PlanError(`invalid ${what} ${JSON.stringify(id)}`);
}

function checkUserDesired(desired: UserDesired): void {
  checkAccountName(desired.name, 'user');
  if (desired.state !== undefined && desired.state !== 'present' && desired.state !== 'absent') {
    throw new PlanError(`user ${desired.name}: invalid state ${JSON.stringify(desired.state)}`);
  }
  if (desired.uid !== undefined) checkAccountId(desired.uid, 'uid');
  if (desired.group !== undefined) {
    if (typeof desired.group === 'number') checkAccountId(desired.group, 'gid');
    else checkAccountName(desired.group, 'group');
  }
  if (desired.groups !== undefined) {
    if (!Array.isArray(desired.groups)) throw new PlanError(`user ${desired.name}: groups must be a list of names`);
    for (const group of desired.groups) checkAccountName(group, 'group');
  }
  for (const [what, value] of [['home', desired.home], ['shell', desired.shell]] as const) {
    if (value === undefined) continue;
    checkAbsolutePath(value, `user ${desired.name} ${what}`);
    // passwd fields are ':'-separated lines.
    if (/[:\n]/.test(value)) throw new PlanError(`user ${desired.name} ${what} must not contain ':' or a newline`);
  }
}

import { sh } from '../core/shell.js';
import { GUARD_FACTS } from '../facts/command.js';
import { groupFact, type GroupInfo } from '../facts/users.js';
import { PlanError, type Plan, type ResourceType } from './types.js';
import { checkAccountId, checkAccountName } from './user.js';

// A local group (groupadd/groupmod/groupdel).
export interface GroupDesired {
  name: string;
  gid?: number;
  /** A system group (groupadd -r); only used when creating. */
  system?: boolean;
  /** Default 'present'. */
  state?: 'present' | 'absent';
}

// The group resource kind.
export const groupResource: ResourceType<GroupDesired> = {
  kind: 'group',
  describe: (desired) => `group ${desired.name}${desired.state === 'absent' ? ' (absent)' : ''}`,
  facts: (desired) => {
    checkAccountName(desired.name, 'group');
    return { group: groupFact(desired.name) };
  },
  // Users' group names (id -Gn) and paths' group names (stat %G) follow the group.
  invalidates: (desired) => [`group:${desired.name}`, 'user:*', 'path:*', GUARD_FACTS],
  plan(desired, facts): Plan {
    checkAccountName(desired.name, 'group');
    if (desired.gid !== undefined) checkAccountId(desired.gid, 'gid');
    if (desired.state !== undefined && desired.state !== 'present' && desired.state !== 'absent') {
      throw new PlanError(`group ${desired.name}: invalid state ${JSON.stringify(desired.state)}`);
    }
    const group = facts.group as GroupInfo;
    const name = desired.name;
    if (desired.state === 'absent') {
      if (!group.exists) return { action: 'noop', reason: `group ${name} does not exist` };
      return { action: 'change', changes: [`remove group ${name}`], steps: [{ label: `remove group ${name}`, script: sh`groupdel -- ${name}`.text }] };
    }
    if (!group.exists) {
      const argv = ['groupadd'];
      if (desired.gid !== undefined) argv.push('-g', String(desired.gid));
      if (desired.system) argv.push('-r');
      argv.push('--', name);
      return { action: 'change', changes: [`create group ${name}`], steps: [{ label: `create group ${name}`, script: sh`${argv}`.text }] };
    }
    if (desired.gid !== undefined && desired.gid !== group.gid) {
      return {
        action: 'change',
        changes: [`gid ${group.gid} -> ${desired.gid}`],
        steps: [{ label: `set gid of group ${name}`, script: sh`groupmod -g ${desired.gid} -- ${name}`.text }],
      };
    }
    return { action: 'noop', reason: `group ${name} exists${desired.gid !== undefined ? ` with gid ${desired.gid}` : ''}` };
  },
};

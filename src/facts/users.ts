import { sh } from '../core/shell.js';
import { FactParseError, defineFact, describeOutput, type Fact } from './fact.js';

// A user account as getent and id report it; exists=false when getent knows no such user.
export interface UserInfo {
  exists: boolean;
  name: string;
  uid?: number;
  gid?: number;
  /** Name of the primary group (`id -gn`); undefined when the gid has no group entry. */
  group?: string;
  /** Every group the user is in, primary first (`id -Gn`). */
  groups: string[];
  gecos?: string;
  home?: string;
  shell?: string;
}

// A group as getent reports it; exists=false when there is no such group.
export interface GroupInfo {
  exists: boolean;
  name: string;
  gid?: number;
  /** Users listed in the group entry (supplementary members; primary members are not listed there). */
  members: string[];
}

// The fact for one user: its passwd entry and group memberships.
export function userFact(name: string): Fact<UserInfo> {
  const key = `user:${name}`;
  const script = sh.lines([
    sh`e=$(getent passwd -- ${name}); rc=$?`,
    sh`if [ "$rc" -eq 2 ]; then echo absent; exit 0; fi`,
    sh`if [ "$rc" -ne 0 ]; then exit "$rc"; fi`,
    sh`printf 'passwd %s\\n' "$e"`,
    sh`g=$(id -gn -- ${name} 2>/dev/null) && printf 'group %s\\n' "$g"`,
    sh`printf 'groups %s\\n' "$(id -Gn -- ${name} 2>/dev/null)"`,
  ]).text;
  return defineFact(key, script, (stdout, exitCode) => parseUserInfo(key, name, stdout, exitCode));
}

// Pure parser for userFact output.
export function parseUserInfo(key: string, name: string, stdout: string, exitCode: number): UserInfo {
  if (exitCode !== 0) throw new FactParseError(key, `getent failed with exit code ${exitCode}`);
  const lines = stdout.split('\n').filter((line) => line !== '');
  if (lines[0] === 'absent') return { exists: false, name, groups: [] };
  const info: UserInfo = { exists: true, name, groups: [] };
  let sawPasswd = false;
  for (const line of lines) {
    const space = line.indexOf(' ');
    const tag = space < 0 ? line : line.slice(0, space);
    const rest = space < 0 ? '' : line.slice(space + 1);
    if (tag === 'passwd') {
      // name:password:uid:gid:gecos:home:shell (gecos may hold spaces but never ':').
      const fields = rest.split(':');
      if (fields.length !== 7) throw new FactParseError(key, `unexpected passwd entry (${fields.length} fields, 7 expected)`);
      const [, , uid, gid, gecos, home, shell] = fields as [string, string, string, string, string, string, string];
      if (!/^\d+$/.test(uid) || !/^\d+$/.test(gid)) throw new FactParseError(key, 'unexpected passwd entry (uid or gid not a number)');
      info.uid = Number(uid);
      info.gid = Number(gid);
      info.gecos = gecos;
      info.home = home;
      info.shell = shell;
      sawPasswd = true;
    } else if (tag === 'group') {
      info.group = rest;
    } else if (tag === 'groups') {
      info.groups = rest.split(' ').filter(Boolean);
    }
  }
  if (!sawPasswd) throw new FactParseError(key, 'no passwd entry in probe output');
  return info;
}

// The fact for one group: its gid and listed members.
export function groupFact(name: string): Fact<GroupInfo> {
  const key = `group:${name}`;
  const script = sh.lines([
    sh`e=$(getent group -- ${name}); rc=$?`,
    sh`if [ "$rc" -eq 2 ]; then echo absent; exit 0; fi`,
    sh`if [ "$rc" -ne 0 ]; then exit "$rc"; fi`,
    sh`printf 'group %s\\n' "$e"`,
  ]).text;
  return defineFact(key, script, (stdout, exitCode) => parseGroupInfo(key, name, stdout, exitCode));
}

// Pure parser for groupFact output.
export function parseGroupInfo(key: string, name: string, stdout: string, exitCode: number): GroupInfo {
  if (exitCode !== 0) throw new FactParseError(key, `getent failed with exit code ${exitCode}`);
  const line = stdout.split('\n').find((entry) => entry !== '');
  if (line === 'absent') return { exists: false, name, members: [] };
  if (!line?.startsWith('group ')) throw new FactParseError(key, `unexpected output (${describeOutput(stdout)})`);
  // name:password:gid:member,member
  const fields = line.slice('group '.length).split(':');
  const gid = fields[2] ?? '';
  if (fields.length !== 4 || !/^\d+$/.test(gid)) throw new FactParseError(key, `unexpected group entry (${fields.length} fields, 4 expected, gid ${/^\d+$/.test(gid) ? 'numeric' : 'not numeric'})`);
  return { exists: true, name, gid: Number(gid), members: (fields[3] ?? '').split(',').filter(Boolean) };
}

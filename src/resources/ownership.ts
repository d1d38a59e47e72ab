import { sh, type ShellScript } from '../core/shell.js';
import type { PathState } from '../facts/file.js';
import { PlanError } from './types.js';

// Owner, group and mode as planners pass them around: names or ids, octal strings or mode bits.
export interface Ownership {
  owner?: string | number;
  group?: string | number;
  mode?: string | number;
}

// Owner, group and mode as a playbook writes them: the mode is a string of octal digits ("0644"),
// never a number (644 is not 0o644: it would land as mode 1204).
export interface OwnershipArgs {
  owner?: string | number;
  group?: string | number;
  mode?: string;
}

// Parses '0644', '644', '1777' or 0o644 into permission bits; rejects anything else loudly.
export function parseMode(mode: string | number): number {
  if (typeof mode === 'number') {
    if (!Number.isInteger(mode) || mode < 0 || mode > 0o7777) throw new PlanError(`invalid mode ${mode}`);
    return mode;
  }
  if (!/^0?[0-7]{3,4}$/.test(mode)) throw new PlanError(`invalid mode "${mode}": use octal like "0644"`);
  return parseInt(mode, 8);
}

// Formats permission bits the way chmod takes them ("0644").
export function formatMode(mode: number): string {
  return mode.toString(8).padStart(4, '0');
}

// Whether an owner given by name or id matches what stat reported.
export function ownerMatches(wanted: string | number, id: number | undefined, name: string | undefined): boolean {
  const text = String(wanted);
  return text === String(id) || text === name;
}

// Differences between wanted ownership and the path's state, as human lines.
export function ownershipDrift(wanted: Ownership, state: PathState): string[] {
  const drift: string[] = [];
  if (wanted.owner !== undefined && !ownerMatches(wanted.owner, state.uid, state.user)) {
    drift.push(`owner ${state.user ?? state.uid} -> ${wanted.owner}`);
  }
  if (wanted.group !== undefined && !ownerMatches(wanted.group, state.gid, state.group)) {
    drift.push(`group ${state.group ?? state.gid} -> ${wanted.group}`);
  }
  if (wanted.mode !== undefined && parseMode(wanted.mode) !== state.mode) {
    drift.push(`mode ${state.mode === undefined ? '?' : formatMode(state.mode)} -> ${formatMode(parseMode(wanted.mode))}`);
  }
  return drift;
}

// chown/chmod commands for a path (sh`${path}`) or a shell variable reference (TEMP_FILE, sh`"$t"`), omitting unset parts.
export function ownershipCommands(target: ShellScript, wanted: Ownership): ShellScript[] {
  const commands: ShellScript[] = [];
  if (wanted.owner !== undefined || wanted.group !== undefined) {
    const spec = `${wanted.owner ?? ''}${wanted.group !== undefined ? `:${wanted.group}` : ''}`;
    commands.push(sh`chown ${spec} -- ${target}`);
  }
  if (wanted.mode !== undefined) commands.push(sh`chmod ${formatMode(parseMode(wanted.mode))} -- ${target}`);
  return commands;
}

// Rejects paths that would be ambiguous or dangerous on the host.
export function checkAbsolutePath(path: string, what: string): void {
  if (typeof path !== 'string' || !path.startsWith('/')) throw new PlanError(`${what} path must be absolute: ${JSON.stringify(path)}`);
  if (path.includes('\0')) throw new PlanError(`${what} path contains a NUL byte`);
  if (path.length > 1 && path.endsWith('/')) throw new PlanError(`${what} path must not end with "/": ${path}`);
  if (path.split('/').includes('..')) throw new PlanError(`${what} path must not contain "..": ${path}`);
  // "//etc" or "/./etc" would name a protected path under another spelling and miss fact invalidation.
  if (path !== '/' && path.split('/').slice(1).some((part) => part === '' || part === '.')) {
    throw new PlanError(`${what} path must be normalized (no "//" or "/./"): ${path}`);
  }
}

// Validates owner/group names or ids before they reach a command line.
export function checkOwnership(wanted: Ownership): void {
  for (const [what, value] of [['owner', wanted.owner], ['group', wanted.group]] as const) {
    if (value === undefined) continue;
    if (typeof value === 'number' ? !Number.isInteger(value) || value < 0 : !/^[A-Za-z0-9_][A-Za-z0-9_.-]*\$?$/.test(value)) {
      throw new PlanError(`invalid ${what} ${JSON.stringify(value)}`);
    }
  }
  if (wanted.mode !== undefined) parseMode(wanted.mode);
}

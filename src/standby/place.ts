// Where a user's standby processes listen, and whether standby is on. The client reads this before
// anything else loads, so it uses Node's own modules only.
import { createHash } from 'node:crypto';
import { lstatSync, mkdirSync, readdirSync, readFileSync, realpathSync, statSync, type Stats } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// A user's standby directory (`base`, which holds the switch) and the folder of standbys that
// belong to this build of halyard run by this Node (`dir`).
export interface StandbyPlace {
  base: string;
  dir: string;
  switchFile: string;
  serveScript: string;
}

// The switch's contents: how long a standby waits for a command before it exits.
export interface StandbySwitch {
  idleMinutes: number;
}

// A standby's base is refused when another user could have placed or read its sockets.
export class StandbyPlaceError extends Error {}

// The user's standby base: the login's runtime directory (XDG_RUNTIME_DIR, removed at logout) or
// the temporary directory, one folder per user id.
export function standbyBase(env: NodeJS.ProcessEnv = process.env): string {
  const runtime = env.XDG_RUNTIME_DIR;
  const parent = runtime && isDirectory(runtime) ? runtime : tmpdir();
  return join(parent, `halyard-standby-${process.getuid?.() ?? 0}`);
}

// The place of standbys for the halyard in `distRoot` (its compiled dist/ folder). A rebuilt or
// upgraded halyard, another Node, other Node flags or other variables Node reads at start-up
// (NODE_OPTIONS, NODE_EXTRA_CA_CERTS, UV_THREADPOOL_SIZE...) get another folder, so a standby only
// ever runs the code the client would have run, as it would have run it.
export function standbyPlace(distRoot: string, env: NodeJS.ProcessEnv = process.env): StandbyPlace {
  const base = standbyBase(env);
  const serveScript = join(distRoot, 'standby/serve.js');
  const startUp = Object.entries(nodeStartUpVariables(env)).map(([name, value]) => `${name}=${value}`);
  const build = [realpathSync(distRoot), fileIdentity(join(distRoot, 'cli/main.js')), fileIdentity(serveScript), process.execPath, process.version, process.execArgv.join(' '), ...startUp];
  const key = createHash('sha256').update(build.join('\0')).digest('hex').slice(0, 16);
  return { base, dir: join(base, key), switchFile: switchFileOf(base), serveScript };
}

// The file whose presence turns standby on for the user: `halyard standby start` writes it.
export function switchFileOf(base: string): string {
  return join(base, 'switch.json');
}

// Variables Node reads when it starts (NODE_*, UV_*), sorted by name.
export function nodeStartUpVariables(env: NodeJS.ProcessEnv): Record<string, string> {
  const entries = Object.entries(env).filter((entry): entry is [string, string] => /^(NODE|UV)_/.test(entry[0]) && typeof entry[1] === 'string');
  return Object.fromEntries(entries.sort(([a], [b]) => (a < b ? -1 : 1)));
}

// What a standby process is started with: where the user's files are (home, caches, temporary
// and runtime directories), the locale, and what Node reads at start-up. Nothing else: every
// command brings its own environment.
export function standbyEnvironment(env: NodeJS.ProcessEnv): Record<string, string> {
  const kept = Object.entries(env).filter((entry): entry is [string, string] => typeof entry[1] === 'string' && (STANDBY_VARIABLES.has(entry[0]) || entry[0].startsWith('LC_')));
  return { ...Object.fromEntries(kept), ...nodeStartUpVariables(env) };
}

const STANDBY_VARIABLES = new Set(['PATH', 'HOME', 'USER', 'LOGNAME', 'LANG', 'TZ', 'TMPDIR', 'XDG_RUNTIME_DIR', 'XDG_CACHE_HOME']);

// The base, checked as tmux and ssh check theirs: a directory of this user's, closed to others.
// Undefined when it does not exist.
export function checkedBase(place: Pick<StandbyPlace, 'base'>): Stats | undefined {
  let stats: Stats;
  try {
    stats = lstatSync(place.base);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const uid = process.getuid?.();
  if (!stats.isDirectory()) throw new StandbyPlaceError(`${place.base} is not a directory`);
  if (uid !== undefined && stats.uid !== uid) throw new StandbyPlaceError(`${place.base} belongs to user id ${stats.uid}, not ${uid}`);
  if ((stats.mode & 0o077) !== 0) throw new StandbyPlaceError(`${place.base} is open to other users (mode ${(stats.mode & 0o777).toString(8)}); it must be 0700`);
  return stats;
}

// Creates the base (0700) and this build's folder, checking the base.
export function makePlace(place: StandbyPlace): void {
  if (checkedBase(place) === undefined) mkdirSync(place.base, { mode: 0o700 });
  checkedBase(place);
  mkdirSync(place.dir, { recursive: true, mode: 0o700 });
}

// The switch, when standby is on.
export function readSwitch(place: Pick<StandbyPlace, 'switchFile'>): StandbySwitch | undefined {
  const text = readIfPresent(place.switchFile);
  if (text === undefined) return undefined;
  let idle: unknown;
  try {
    idle = (JSON.parse(text) as { idleMinutes?: unknown } | null)?.idleMinutes;
  } catch {
    throw new StandbyPlaceError(`${place.switchFile} is not the JSON \`halyard standby start\` writes; run it again, or \`halyard standby stop\``);
  }
  return { idleMinutes: typeof idle === 'number' && idle > 0 ? idle : DEFAULT_IDLE_MINUTES };
}

// How long a standby waits for a command when `halyard standby start` is not told.
export const DEFAULT_IDLE_MINUTES = 30;

// A standby as its socket's name tells it: `ready-PID.sock` takes a command, `starting-PID.sock`
// is still loading.
export interface StandbyEntry {
  state: 'ready' | 'starting';
  pid: number;
  path: string;
}

// The standbys in this build's folder.
export function listStandbys(place: StandbyPlace): StandbyEntry[] {
  let names: string[];
  try {
    names = readdirSync(place.dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  return names.flatMap((name) => {
    const match = /^(ready|starting)-(\d+)\.sock$/.exec(name);
    return match ? [{ state: match[1] as StandbyEntry['state'], pid: Number(match[2]), path: join(place.dir, name) }] : [];
  });
}

// A file's text, or undefined when there is no such file (other errors are thrown).
export function readIfPresent(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

function fileIdentity(path: string): string {
  const stats = statSync(path);
  return `${stats.size}:${stats.mtimeMs}:${stats.ino}`;
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

// `halyard standby start|stop|status`: turns standby on and off for the user and says what is
// ready. The switch is per user (every halyard build of theirs); standbys are per build.
import { readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { HalyardError } from '../core/errors.js';
import { ExitCode } from '../core/exit-codes.js';
import { claim, startStandby } from './client.js';
import { encodeFrame, Frame, type StandbyRequest } from './protocol.js';
import { checkedBase, listStandbys, makePlace, readIfPresent, readSwitch, standbyPlace, StandbyPlaceError, type StandbyEntry, type StandbyPlace } from './place.js';

// Standby could not be turned on: its directory is unsafe, or no standby became ready.
export class StandbyError extends HalyardError {
  constructor(message: string) {
    super('E_STANDBY', message, { exitCode: ExitCode.Internal });
  }
}

// What `standby start` did.
export interface StandbyStarted {
  pid: number;
  idleMinutes: number;
  seconds: number;
}

// Turns standby on (idle minutes in the switch) and waits until a standby of this build is ready.
export async function startStandbys(distRoot: string, idleMinutes: number, timeoutMs = 30_000): Promise<StandbyStarted> {
  const started = Date.now();
  const place = standbyPlace(distRoot);
  try {
    makePlace(place);
  } catch (error) {
    if (error instanceof StandbyPlaceError) throw new StandbyError(`standby not turned on: ${error.message}`);
    throw error;
  }
  const temporary = `${place.switchFile}.${process.pid}`;
  writeFileSync(temporary, `${JSON.stringify({ idleMinutes })}\n`, { mode: 0o600 });
  renameSync(temporary, place.switchFile);
  const pid = listStandbys(place).length === 0 ? startStandby(place) : undefined;
  for (;;) {
    const ready = listStandbys(place).find((entry) => entry.state === 'ready');
    if (ready) return { pid: ready.pid, idleMinutes, seconds: (Date.now() - started) / 1000 };
    if (pid !== undefined) {
      const failure = readIfPresent(join(place.dir, `failed-${pid}.txt`));
      if (failure !== undefined) {
        rmSync(join(place.dir, `failed-${pid}.txt`), { force: true });
        throw new StandbyError(`the standby process ended before it was ready: ${failure.trim()}`);
      }
    }
    if (Date.now() - started > timeoutMs) throw new StandbyError(`no standby became ready in ${place.dir} within ${timeoutMs / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

// Turns standby off and ends every standby of the user's, of every build. Returns how many ended.
export async function stopStandbys(distRoot: string): Promise<number> {
  const place = standbyPlace(distRoot);
  if (checkedBase(place) === undefined) return 0;
  rmSync(place.switchFile, { force: true });
  let ended = 0;
  for (const folder of buildFolders(place)) {
    for (const entry of listStandbys({ ...place, dir: folder })) if (await endStandby(entry)) ended += 1;
  }
  return ended;
}

// What `standby status` prints.
export interface StandbyStatus {
  on: boolean;
  idleMinutes?: number;
  place: string;
  standbys: StandbyEntry[];
  otherBuilds: number;
}

// Whether standby is on, and this build's standbys.
export function standbyStatus(distRoot: string): StandbyStatus {
  const place = standbyPlace(distRoot);
  let exists: boolean;
  let settings: ReturnType<typeof readSwitch>;
  try {
    exists = checkedBase(place) !== undefined;
    settings = exists ? readSwitch(place) : undefined;
  } catch (error) {
    if (error instanceof StandbyPlaceError) throw new StandbyError(error.message);
    throw error;
  }
  const others = exists ? buildFolders(place).filter((folder) => folder !== place.dir).reduce((count, folder) => count + listStandbys({ ...place, dir: folder }).length, 0) : 0;
  return { on: settings !== undefined, ...(settings ? { idleMinutes: settings.idleMinutes } : {}), place: place.dir, standbys: exists ? listStandbys(place) : [], otherBuilds: others };
}

function buildFolders(place: StandbyPlace): string[] {
  return readdirSync(place.base, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && /^[0-9a-f]{16}$/.test(entry.name))
    .map((entry) => join(place.base, entry.name));
}

// A ready standby is claimed as a client claims it and told to stop; one still starting is sent
// SIGTERM when its process is a standby (its command line names serve.js).
async function endStandby(entry: StandbyEntry): Promise<boolean> {
  if (entry.state === 'starting') {
    if (!commandLineOf(entry.pid).includes('standby/serve.js')) return false;
    process.kill(entry.pid, 'SIGTERM');
    return true;
  }
  const socket = await claim(entry);
  if (!socket) return false;
  const stop: StandbyRequest = { stop: true, argv: [], cwd: '/', env: {}, umask: 0o022, stdin: { isTTY: false }, stdout: { isTTY: false }, stderr: { isTTY: false } };
  await new Promise<void>((resolve) => {
    socket.once('close', () => resolve());
    socket.once('error', () => undefined);
    socket.end(encodeFrame(Frame.Request, JSON.stringify(stop)));
  });
  return true;
}

function commandLineOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return '';
  }
}

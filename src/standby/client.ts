// The client half of standby: bin/halyard.js asks it first. When standby is on and a standby
// process is ready, the command runs there (modules loaded, code warm) while this process relays
// its terminal, signals and exit status; otherwise the command runs here as always. Only Node's own
// modules load here, so a run without standby pays one lstat for it.
import type { Socket } from 'node:net';
import { renameSync, unlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeFrame, Frame, FrameReader, RELAYED_SIGNALS, type RelayedSignal, type StandbyRequest, type TerminalEnd } from './protocol.js';
import { checkedBase, listStandbys, makePlace, readSwitch, standbyBase, standbyEnvironment, standbyPlace, StandbyPlaceError, switchFileOf, type StandbyEntry, type StandbyPlace } from './place.js';

// Commands that never run in a standby: the daemon lives for days under a service manager, and
// `standby` manages the standbys themselves.
const OWN_PROCESS_COMMANDS = new Set(['daemon', 'standby']);

// This build's dist/ folder (this file is dist/standby/client.js).
export const DIST_ROOT = fileURLToPath(new URL('..', import.meta.url));

// How a command handed to a standby ended: its exit status, or the signal the client received
// that ended the standby before it reported one.
export type HandOverResult = { exitCode: number } | { signal: RelayedSignal };

// Standby for one command: whether it may use one (worked out once: the switch, the base's
// checks, the build's folder), handing it over, and keeping a standby ready for the next.
export interface StandbyForCommand {
  // Runs the command in a ready standby; undefined when it must run in this process.
  handOver(): Promise<HandOverResult | undefined>;
  // After the command, wherever it ran and however it ended (a signal's default action runs no
  // code in a standby): start one for the next command when none is ready or starting. A failure
  // never fails the command that just ran: a warning, and the next runs in its own process.
  keepOneReady(): void;
}

// Standby as it stands for `argv` run with `env`.
export function standbyFor(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): StandbyForCommand {
  const place = switchedOnPlace(argv, env);
  return {
    handOver: async () => {
      if (place === undefined) return undefined;
      for (const entry of listStandbys(place)) {
        if (entry.state !== 'ready') continue;
        const socket = await claim(entry);
        if (socket) return relay(socket, argv, env);
      }
      return undefined;
    },
    keepOneReady: () => {
      if (place === undefined) return;
      try {
        if (listStandbys(place).length > 0) return;
        makePlace(place);
        startStandby(place, env);
      } catch (error) {
        process.stderr.write(`halyard: warning: no standby started for the next command: ${error instanceof Error ? error.message : String(error)}\n`);
      }
    },
  };
}

// Starts one standby process for `place` in a session of its own (a terminal's Ctrl-C is not its
// business). It gets only what locates the user's files and what Node reads at start-up
// (standbyEnvironment): each command brings its own environment, so a secret in one command's
// never waits in an idle standby.
export function startStandby(place: StandbyPlace, env: NodeJS.ProcessEnv = process.env): number | undefined {
  const { spawn } = createRequire(import.meta.url)('node:child_process') as typeof import('node:child_process');
  const child = spawn(process.execPath, standbyNodeArgs(place, process.execArgv, env), { cwd: place.dir, env: standbyEnvironment(env), detached: true, stdio: 'ignore' });
  child.unref();
  return child.pid;
}

/**
 * Old generation V8 starts a standby with, in MB. An idle process's memory reducer shrinks its heap
 * limit to about what is live (19 MB), so a command arriving 10 s or more after the standby became
 * ready ran a full mark-compact every 70 ms while it streamed: 13-15 of them in a 200 MiB restore,
 * its stream at 34-51 MiB/s against 54-70 MiB/s with this floor (no mark-compact; peak RSS 102-104
 * MiB against 108-112). A process of its own never idles before its command and needs no floor.
 */
export const STANDBY_INITIAL_OLD_SPACE_MB = 64;

// The node arguments of a standby: the client's own flags (so it runs as the client would have),
// after the heap floor unless those flags or NODE_OPTIONS size the heap themselves.
export function standbyNodeArgs(place: StandbyPlace, execArgv: readonly string[], env: NodeJS.ProcessEnv): string[] {
  const sizesHeap = [...execArgv, env.NODE_OPTIONS ?? ''].some((flag) => /old[-_]space[-_]size|initial[-_]heap[-_]size/.test(flag));
  const floor = sizesHeap ? [] : [`--initial-old-space-size=${STANDBY_INITIAL_OLD_SPACE_MB}`];
  return [...floor, ...execArgv, place.serveScript, place.dir];
}

// Help and the version load commander alone, which starts faster here than a hand-over does
// (156-166 ms against 187-190 ms measured for --version).
function printsHelpOnly(argv: readonly string[]): boolean {
  const args = argv.slice(2);
  return args.length === 0 || args[0] === 'help' || args.some((arg) => arg === '--help' || arg === '-h' || arg === '--version' || arg === '-V');
}

// The place of this build's standbys when standby is on and this command may use it.
function switchedOnPlace(argv: readonly string[], env: NodeJS.ProcessEnv): StandbyPlace | undefined {
  if (env.HALYARD_STANDBY === 'off' || OWN_PROCESS_COMMANDS.has(argv[2] ?? '') || printsHelpOnly(argv)) return undefined;
  // A debugger attached to this process would not see a command run elsewhere.
  if (process.execArgv.some((flag) => flag.startsWith('--inspect'))) return undefined;
  const base = standbyBase(env);
  try {
    if (checkedBase({ base }) === undefined || readSwitch({ switchFile: switchFileOf(base) }) === undefined) return undefined;
    return standbyPlace(DIST_ROOT, env);
  } catch (error) {
    if (!(error instanceof StandbyPlaceError)) throw error;
    process.stderr.write(`halyard: warning: standby not used: ${error.message}\n`);
    return undefined;
  }
}

// Takes a ready standby for this process alone (a command, or `standby stop`): renaming its socket
// is atomic, so two never get the same one. A socket nobody answers (its process gone) is removed.
export async function claim(entry: StandbyEntry): Promise<Socket | undefined> {
  const claimed = join(dirname(entry.path), `claimed-${entry.pid}-${process.pid}.sock`);
  try {
    renameSync(entry.path, claimed);
  } catch {
    return undefined;
  }
  const { createConnection } = await import('node:net');
  try {
    return await new Promise<Socket>((resolve, reject) => {
      const socket = createConnection(claimed);
      socket.once('connect', () => resolve(socket));
      socket.once('error', reject);
    });
  } catch {
    return undefined;
  } finally {
    try {
      unlinkSync(claimed);
    } catch {
      // Already gone.
    }
  }
}

function terminalEnd(stream: NodeJS.ReadStream | NodeJS.WriteStream): TerminalEnd {
  const tty = stream.isTTY === true;
  const size = tty && 'columns' in stream ? { columns: stream.columns, rows: stream.rows } : {};
  return { isTTY: tty, ...size };
}

// Sends the request, then relays until the standby's socket closes.
function relay(socket: Socket, argv: readonly string[], env: NodeJS.ProcessEnv): Promise<HandOverResult> {
  const request: StandbyRequest = {
    argv: [...argv],
    cwd: process.cwd(),
    env: Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => typeof entry[1] === 'string')),
    umask: process.umask(),
    stdin: terminalEnd(process.stdin),
    stdout: terminalEnd(process.stdout),
    stderr: terminalEnd(process.stderr),
  };
  const send = (type: Parameters<typeof encodeFrame>[0], payload?: Buffer | string) => {
    if (!socket.destroyed) socket.write(encodeFrame(type, payload));
  };
  send(Frame.Request, JSON.stringify(request));

  return new Promise((resolve) => {
    let exitCode: number | undefined;
    let received: RelayedSignal | undefined;
    let rawMode = false;
    let stdinFlowing = false;
    const onStdin = (chunk: Buffer) => send(Frame.Stdin, chunk);
    const onStdinEnd = () => send(Frame.StdinEnd);
    const onSignal = (name: RelayedSignal) => {
      received = name;
      send(Frame.Signal, name);
    };
    const signalHandlers = RELAYED_SIGNALS.map((name) => [name, () => onSignal(name)] as const);
    for (const [name, handler] of signalHandlers) process.on(name, handler);
    const onResize = () => send(Frame.Resize, JSON.stringify({ stdout: terminalEnd(process.stdout), stderr: terminalEnd(process.stderr) }));
    if (process.stdout.isTTY) process.stdout.on('resize', onResize);

    // A stream that cannot take more now (a pipe whose reader is slow) stops the socket until it
    // drains, so the standby waits as a process writing to that pipe would, and nothing piles up here.
    const passOn = (stream: NodeJS.WriteStream, payload: Buffer) => {
      if (stream.write(payload) || socket.isPaused()) return;
      socket.pause();
      stream.once('drain', () => socket.resume());
    };
    const reader = new FrameReader((type, payload) => {
      switch (type) {
        case Frame.Stdout:
          passOn(process.stdout, payload);
          break;
        case Frame.Stderr:
          passOn(process.stderr, payload);
          break;
        case Frame.Exit:
          exitCode = payload.readInt32BE(0);
          break;
        case Frame.RawMode:
          rawMode = payload[0] === 1;
          if (process.stdin.isTTY) process.stdin.setRawMode(rawMode);
          break;
        case Frame.StdinWant:
          if (!stdinFlowing) {
            stdinFlowing = true;
            process.stdin.on('data', onStdin).once('end', onStdinEnd).resume();
          }
          break;
        case Frame.StdinPause:
          if (stdinFlowing) {
            stdinFlowing = false;
            process.stdin.off('data', onStdin).off('end', onStdinEnd).pause();
          }
          break;
      }
    });
    socket.on('data', (chunk: Buffer) => reader.push(chunk));
    socket.on('error', () => {
      // The standby's end closed mid-write: 'close' follows and reports what is known.
    });
    socket.once('close', () => {
      for (const [name, handler] of signalHandlers) process.off(name, handler);
      process.stdout.off('resize', onResize);
      if (rawMode && process.stdin.isTTY) process.stdin.setRawMode(false);
      if (stdinFlowing) process.stdin.off('data', onStdin).off('end', onStdinEnd).pause();
      if (exitCode !== undefined) resolve({ exitCode });
      else if (received !== undefined) resolve({ signal: received });
      else {
        process.stderr.write('halyard: the standby process ended without an exit status (run again with HALYARD_STANDBY=off to run in a process of its own)\n');
        resolve({ exitCode: 70 });
      }
    });
  });
}

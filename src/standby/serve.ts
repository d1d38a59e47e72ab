// A standby process: `node dist/standby/serve.js DIR`, started by `halyard standby start` or by the
// command before. It loads the CLI, warms it up on a playbook of its own, then waits on
// DIR/ready-PID.sock for one command. That command gets this process as a fresh one would be:
// the client's argv, cwd, environment, umask, terminal and signals; it loads its playbook and
// inventory then, so nothing it runs was read before it came. When the command ends, the process
// exits with its status; the client starts the next standby (src/standby/client.ts).
import { Console } from 'node:console';
import { mkdirSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { createServer, type Socket } from 'node:net';
import { dirname, join } from 'node:path';
import tty from 'node:tty';
import { main } from '../cli/main.js';
import { markStandbyProcess } from '../core/child-stdio.js';
import { Frame, FrameReader, RELAYED_SIGNALS, type StandbyRequest, type TerminalEnd } from './protocol.js';
import { readIfPresent, readSwitch, switchFileOf } from './place.js';
import { FrameWriter, RelayedInput, RelayedOutput } from './relay.js';

const dir = process.argv[2];
if (!dir) {
  process.stderr.write('usage: node serve.js DIR (halyard standby start runs it)\n');
  process.exit(64);
}
const base = dirname(dir);
const ownEnv = { ...process.env };
const starting = join(dir, `starting-${process.pid}.sock`);
const ready = join(dir, `ready-${process.pid}.sock`);
const claimWait = 10_000;
// Set when the idle time ran out while a client was taking the socket.
let claimTimer: NodeJS.Timeout | undefined;

try {
  await warmUp();
} catch (error) {
  // `halyard standby start` shows this instead of waiting for a socket that will not come.
  writeFileSync(join(dir, `failed-${process.pid}.txt`), `${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(70);
}
const settings = readSwitch({ switchFile: switchFileOf(base) });
if (settings === undefined) process.exit(0);

const idleSignals = RELAYED_SIGNALS.map((name) => [name, () => process.exit(0)] as const);
for (const [name, handler] of idleSignals) process.on(name, handler);
process.on('exit', removeSockets);
const server = createServer();
const idle = setTimeout(expire, settings.idleMinutes * 60_000);
server.on('connection', (socket) => void serve(socket));
server.listen(starting, () => {
  renameSync(starting, ready);
});

// Waited long enough: withdraw the socket unless a client has just taken it.
function expire(): void {
  try {
    renameSync(ready, join(dir!, `expired-${process.pid}.sock`));
  } catch {
    claimTimer = setTimeout(() => process.exit(0), claimWait);
    claimTimer.unref();
    return;
  }
  process.exit(0);
}

function removeSockets(): void {
  for (const path of [starting, ready, join(dir!, `expired-${process.pid}.sock`)]) {
    try {
      unlinkSync(path);
    } catch {
      // Not there.
    }
  }
}

// One command, then this process ends with it.
async function serve(socket: Socket): Promise<void> {
  server.close();
  clearTimeout(idle);
  clearTimeout(claimTimer);
  for (const [name, handler] of idleSignals) process.off(name, handler);
  process.off('exit', removeSockets);
  const usageBefore = process.resourceUsage();
  const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) process.exit(70);
  const writer = new FrameWriter(fd);
  let session: Session | undefined;
  let exited = false;
  process.once('exit', () => {
    exited = true;
  });
  const reader = new FrameReader((type, payload) => {
    if (session === undefined) {
      if (type !== Frame.Request) process.exit(70);
      const request = JSON.parse(payload.toString('utf8')) as StandbyRequest;
      if (request.stop) process.exit(0);
      session = begin(request, writer, socket);
      void run(request, session, usageBefore);
      return;
    }
    switch (type) {
      case Frame.Stdin:
        session.stdin.received(payload);
        break;
      case Frame.StdinEnd:
        session.stdin.ended();
        break;
      case Frame.Signal: {
        const name = payload.toString('utf8');
        if ((RELAYED_SIGNALS as readonly string[]).includes(name)) process.kill(process.pid, name);
        break;
      }
      case Frame.Resize: {
        const size = JSON.parse(payload.toString('utf8')) as { stdout: TerminalEnd; stderr: TerminalEnd };
        session.stdout.resize(size.stdout);
        session.stderr.resize(size.stderr);
        break;
      }
    }
  });
  socket.on('data', (chunk: Buffer) => reader.push(chunk));
  socket.on('error', () => {
    // 'close' follows.
  });
  // The client went away without the command ending (killed, or its terminal closed): the command
  // gets the hangup a terminal's end sends.
  socket.once('close', () => {
    if (!exited) process.kill(process.pid, 'SIGHUP');
  });
}

interface Session {
  stdout: RelayedOutput;
  stderr: RelayedOutput;
  stdin: RelayedInput;
}

// Makes this process what the shell would have started: the client's argv, directory,
// environment, umask and streams.
function begin(request: StandbyRequest, writer: FrameWriter, socket: Socket): Session {
  const session: Session = {
    stdout: new RelayedOutput(writer, Frame.Stdout, request.stdout),
    stderr: new RelayedOutput(writer, Frame.Stderr, request.stderr),
    stdin: new RelayedInput(writer, request.stdin, (hold) => (hold ? socket.ref() : socket.unref())),
  };
  for (const [name, stream] of [['stdout', session.stdout], ['stderr', session.stderr], ['stdin', session.stdin]] as const) {
    Object.defineProperty(process, name, { configurable: true, enumerable: true, get: () => stream });
  }
  globalThis.console = new Console({ stdout: session.stdout, stderr: session.stderr });
  const ownIsatty = tty.isatty;
  const ends = [request.stdin, request.stdout, request.stderr];
  tty.isatty = (fd: number) => (fd >= 0 && fd <= 2 ? ends[fd]!.isTTY : ownIsatty(fd));
  syncBuiltinESMExports();
  replaceEnvironment(request.env);
  process.umask(request.umask);
  process.argv = [...request.argv];
  markStandbyProcess();
  process.on('uncaughtExceptionMonitor', (error) => session.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`));
  process.on('exit', (code) => {
    const status = Buffer.alloc(4);
    status.writeInt32BE(code);
    writer.send(Frame.Exit, status);
  });
  socket.unref();
  return session;
}

async function run(request: StandbyRequest, session: Session, usageBefore: NodeJS.ResourceUsage): Promise<void> {
  try {
    process.chdir(request.cwd);
  } catch (error) {
    session.stderr.write(`halyard: cannot run in ${request.cwd}: ${(error as Error).message}\n`);
    process.exit(70);
  }
  try {
    await main(process.argv, { usageBefore });
  } catch (error) {
    session.stderr.write(`halyard: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(70);
  }
}

// Runs the CLI once on a playbook and inventory of its own (listing tasks: no host is contacted),
// so the command's code is loaded and compiled before it comes. Nothing the command reads is
// cached by it: playbooks load afresh for each run, ansible.cfg and inventories are read per run.
async function warmUp(): Promise<void> {
  const folder = join(base, 'warm-up');
  mkdirSync(folder, { recursive: true, mode: 0o700 });
  const files = {
    'playbook.ts': [
      "import { definePlaybook, directory, file } from 'halyard';",
      '',
      '// What a standby runs (listing tasks only) to load and compile the CLI before its command.',
      'export default definePlaybook({',
      "  name: 'standby warm-up',",
      "  hosts: 'all',",
      '  tasks: (host) => [',
      "    directory({ path: '/srv/warm-up', mode: '0755' }),",
      "    file({ path: '/srv/warm-up/host.txt', content: `${host.name}\\n`, mode: '0644' }),",
      '  ],',
      '});',
      '',
    ].join('\n'),
    'inventory.yml': 'all:\n  hosts:\n    warm-up-1:\n      ansible_host: 127.0.0.1\n      ansible_user: nobody\n  vars:\n    warm_up: true\n',
  };
  for (const [name, text] of Object.entries(files)) {
    const path = join(folder, name);
    if (readIfPresent(path) === text) continue;
    const temporary = `${path}.${process.pid}`;
    writeFileSync(temporary, text);
    renameSync(temporary, path);
  }
  replaceEnvironment({ PATH: ownEnv.PATH, HOME: ownEnv.HOME, XDG_CACHE_HOME: ownEnv.XDG_CACHE_HOME });
  const writes = [process.stdout.write, process.stderr.write];
  let errors = '';
  process.stdout.write = () => true;
  process.stderr.write = (chunk: string | Uint8Array) => {
    errors += String(chunk);
    return true;
  };
  let code: number | string | undefined;
  try {
    process.chdir(folder);
    await main(['node', 'halyard', 'apply', 'playbook.ts', '-i', 'inventory.yml', '--list-tasks']);
    code = process.exitCode ?? undefined;
  } finally {
    [process.stdout.write, process.stderr.write] = writes as [typeof process.stdout.write, typeof process.stderr.write];
    process.exitCode = undefined;
    replaceEnvironment(ownEnv);
    process.chdir(dir!);
  }
  if (code !== undefined && Number(code) !== 0) throw new Error(`its warm-up run (halyard apply --list-tasks in ${folder}) exited with ${code}: ${errors.trim()}`);
  // The backup commands' modules and the S3 SDK, whose evaluation held a backup's event loop during
  // its handshake (on standby, a median 0.15 s more per backup without them; 11 MB while idle).
  // Loaded only: no client made, no credentials or files read.
  await Promise.all([import('../backup/index.js'), import('../aws/objects.js')]);
}

// process.env holding exactly `values` (a variable set to undefined is left out), for child
// processes as for this one.
function replaceEnvironment(values: NodeJS.ProcessEnv): void {
  for (const name of Object.keys(process.env)) delete process.env[name];
  for (const [name, value] of Object.entries(values)) if (value !== undefined) process.env[name] = value;
}

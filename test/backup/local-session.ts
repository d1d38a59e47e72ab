import { spawn } from 'node:child_process';
import { PassThrough, type Writable } from 'node:stream';
import { DEFERRED_SCRIPT_READER, deferredScriptHeader } from '../../src/ssh/sudo.js';
import type { ExecRequest, ExecResult, ExecStream, HostSession, StreamExecRequest } from '../../src/ssh/types.js';

// A HostSession that runs scripts locally (`sh -s` / `sh -c`), as root already: the backup code
// without SSH. `env` is added to the scripts' environment (a PATH with stub commands). Like sshd, it
// starts each command in its own session and process group, and an abort signals that whole group.
export function localSession(name: string, env: Record<string, string> = {}): HostSession & { scripts: string[]; readonly shellRequests: number } {
  let execs = 0;
  // Writes into streams started with their script (a locked host's shell): one per request.
  let shellRequests = 0;
  const scripts: string[] = [];
  const run = (args: string[]) => spawn('sh', args, { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...env }, detached: true });
  return {
    scripts,
    target: { name, address: '127.0.0.1', port: 22, user: undefined, privateKeyFile: undefined, become: false, becomePassword: undefined },
    get execCount() {
      return execs;
    },
    get shellRequests() {
      return shellRequests;
    },
    exec(request: ExecRequest): Promise<ExecResult> {
      execs += 1;
      scripts.push(request.script);
      const started = Date.now();
      const child = run(['-s']);
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
      child.stdin.end(request.script);
      return new Promise((resolve) => child.on('close', (code, signal) => resolve({ exitCode: code, signal, stdout, stderr, durationMs: Date.now() - started })));
    },
    execStream(request: StreamExecRequest): ExecStream {
      execs += 1;
      const started = Date.now();
      const script = request.script;
      // A deferred script: the same reader as on a host, the script sent ahead of the caller's stdin.
      const child = run(['-c', typeof script === 'string' ? script : DEFERRED_SCRIPT_READER]);
      let stdin: Writable = child.stdin;
      if (typeof script === 'string') {
        scripts.push(script);
        const write = child.stdin.write.bind(child.stdin) as (...args: unknown[]) => boolean;
        child.stdin.write = ((...args: unknown[]) => {
          shellRequests += 1;
          return write(...args);
        }) as typeof child.stdin.write;
      } else {
        const input = new PassThrough();
        stdin = input;
        script.then(
          (text) => {
            scripts.push(text);
            child.stdin.write(deferredScriptHeader(text));
            input.pipe(child.stdin);
          },
          () => child.stdin.end(),
        );
      }
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-65536)));
      child.stdin.on('error', () => undefined);
      const done = new Promise<ExecResult>((resolve) => child.on('close', (code, signal) => resolve({ exitCode: code, signal, stdout: '', stderr, durationMs: Date.now() - started })));
      return { stdin, stdout: child.stdout, stderrTail: () => stderr, done, abort: () => signalGroup(child.pid) };
    },
    async close() {},
  };
}

// TERM to a command's process group, as sshd passes on a channel's signal; nothing if it is gone.
function signalGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGTERM');
  } catch {
    // The group has ended already.
  }
}

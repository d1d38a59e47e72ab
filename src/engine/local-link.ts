import { spawn } from 'node:child_process';
import { ConnectError } from '../core/errors.js';
import type { Host } from '../inventory/types.js';
import type { ExecResult } from '../ssh/types.js';
import { guardedShellScript } from './guard.js';
import type { HostLink } from './host-run.js';
import type { ShellTransport } from './remote-shell.js';

// `ansible_connection: local`: the host is the controller itself. The run shell is the same guarded
// `sh -s` a remote host gets (same lock, same steps), started here; with become and a non-root
// controller it goes through `sudo -n` (a sudo password is not asked for here).
// `undoDir` keeps the undo records of tests that run as root out of this machine's /var/lib.
export function localLink(host: Pick<Host, 'name' | 'become' | 'becomePassword'>, options: { undoDir?: string } = {}): HostLink & { close(): Promise<void> } {
  let execs = 0;
  const asRoot = host.become && process.getuid?.() !== 0;
  if (asRoot && host.becomePassword !== undefined) {
    throw new ConnectError('E_LOCAL_BECOME', `${host.name}: become with a password is not supported for ansible_connection: local (allow the user passwordless sudo, or run halyard as root)`);
  }
  const command = (script: string): [string, string[]] => (asRoot ? ['sudo', ['-n', '--', 'sh', '-c', script]] : ['sh', ['-c', script]]);
  const run = (script: string) => {
    execs += 1;
    const [file, args] = command(script);
    return spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  };
  return {
    execCount: () => execs,
    async openShell(): Promise<ShellTransport> {
      const started = Date.now();
      const child = run(guardedShellScript(options.undoDir));
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
        stderr = (stderr + chunk).slice(-65_536);
      });
      const done = new Promise<ExecResult>((resolve, reject) => {
        child.on('error', reject);
        child.on('close', (code, signal) => resolve({ exitCode: code, signal, stdout: '', stderr, durationMs: Date.now() - started }));
      });
      return { stdin: child.stdin, stdout: child.stdout, done };
    },
    async runStream(_label, script, source, timeoutMs) {
      const child = run(script);
      let output = '';
      const keep = (chunk: Buffer) => {
        output = (output + chunk.toString('utf8')).slice(-16_384);
      };
      child.stdout.on('data', keep);
      child.stderr.on('data', keep);
      child.stdin.on('error', () => undefined);
      source.pipe(child.stdin);
      const timer = setTimeout(() => child.kill('SIGTERM'), timeoutMs);
      try {
        const exitCode = await new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
        return { exitCode, output };
      } finally {
        clearTimeout(timer);
      }
    },
    close: async () => undefined,
  };
}

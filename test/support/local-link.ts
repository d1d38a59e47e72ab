import { spawn } from 'node:child_process';
import { guardedShellScript } from '../../src/engine/guard.js';
import type { HostLink } from '../../src/engine/host-run.js';
import type { ShellTransport } from '../../src/engine/remote-shell.js';
import type { ExecResult } from '../../src/ssh/types.js';

// A HostLink whose shell is a local guarded `sh -s` (as on hosts): exercises the engine and generated
// scripts without SSH. `undoDir` keeps records of runs as root out of this machine's /var/lib.
export function localLink(options: { undoDir?: string } = {}): HostLink & { execs: number } {
  const link = {
    execs: 0,
    execCount: () => link.execs,
    async openShell(): Promise<ShellTransport> {
      link.execs += 1;
      const started = Date.now();
      const child = spawn('sh', ['-c', guardedShellScript(options.undoDir ?? '/nonexistent/halyard-undo')], { stdio: ['pipe', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.setEncoding('utf8');
      child.stderr.on('data', (chunk: string) => {
        stderr = (stderr + chunk).slice(-65536);
      });
      const done = new Promise<ExecResult>((resolve) => {
        child.on('close', (code, signal) =>
          resolve({ exitCode: code, signal, stdout: '', stderr, durationMs: Date.now() - started }),
        );
      });
      return { stdin: child.stdin, stdout: child.stdout, done };
    },
  };
  return link;
}

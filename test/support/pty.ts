import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { SYSTEM_PYTHON } from './ansible-oracle.js';
import { CLI } from './cli.js';

// What a CLI run on a terminal printed (stdout and stderr as the terminal shows them) and returned.
export interface TerminalRun {
  exitCode: number;
  output: string;
  /** Prompts that were never seen (each one's answer was not typed). */
  unanswered: string[];
}

// Python's pty module (Debian's python3): runs argv on a pseudo-terminal, types each answer once
// its prompt (a regex) has appeared after the previous answer, and collects what was shown.
const DRIVER = String.raw`
import json, os, pty, re, select, sys, time
job = json.loads(sys.argv[1])
pid, fd = pty.fork()
if pid == 0:
    os.chdir(job["cwd"])
    env = dict(os.environ); env.update(job["env"])
    os.execvpe(job["argv"][0], job["argv"], env)
out = b""; seen = 0; pending = list(job["answers"]); deadline = time.time() + job["timeout"]
while time.time() < deadline:
    ready, _, _ = select.select([fd], [], [], 0.1)
    if not ready: continue
    try: data = os.read(fd, 65536)
    except OSError: break
    if not data: break
    out += data
    if pending and re.search(pending[0][0].encode(), out[seen:]):
        os.write(fd, pending[0][1].encode() + b"\r"); pending.pop(0); seen = len(out)
else:
    os.kill(pid, 9)
_, status = os.waitpid(pid, 0)
print(json.dumps({"exitCode": os.waitstatus_to_exitcode(status), "output": out.decode("utf-8", "replace"), "unanswered": [p for p, _ in pending]}))
`;

// Runs `halyard ARGS` on a terminal, typing `answers` ([prompt regex, text]) as a person would.
export function runCliOnTerminal(args: string[], answers: Array<[string, string]>, options: { env?: Record<string, string>; cwd?: string; timeoutMs?: number } = {}): Promise<TerminalRun> {
  const job = {
    argv: [process.execPath, CLI, ...args],
    answers,
    cwd: options.cwd ?? resolve(import.meta.dirname, '../..'),
    env: { CI: '1', HALYARD_STANDBY: 'off', ...options.env },
    timeout: (options.timeoutMs ?? 60_000) / 1000,
  };
  return new Promise((done, fail) => {
    execFile(SYSTEM_PYTHON, ['-c', DRIVER, JSON.stringify(job)], { maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
      if (error) fail(new Error(`terminal driver failed: ${error.message}\n${stderr}`));
      else done(JSON.parse(stdout) as TerminalRun);
    });
  });
}

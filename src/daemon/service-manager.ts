import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const runFile = promisify(execFile);

// systemd's Type=notify: `systemctl start` and `restart` (so the role's handler, so the apply) wait
// for this and fail when the daemon exits before it, as it does on an unsafe lease store or a bad
// file. Without it a restart "succeeded" the moment node was forked, and the apply was green over a
// dead service. `systemd-notify` waits until systemd has read the message (its barrier), so the
// message is never lost when the helper exits first. Outside systemd (no NOTIFY_SOCKET) it is a no-op.
export async function tellServiceManagerReady(environment: NodeJS.ProcessEnv = process.env, program = 'systemd-notify'): Promise<'told' | 'no-service-manager'> {
  if (!environment['NOTIFY_SOCKET']) return 'no-service-manager';
  await runFile(program, ['--ready', `--status=running`], { env: environment, timeout: 30_000 });
  return 'told';
}

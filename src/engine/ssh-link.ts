import { ConnectError } from '../core/errors.js';
import type { Host } from '../inventory/types.js';
import type { SshPool } from '../ssh/index.js';
import type { ConnectTarget } from '../ssh/types.js';
import { guardedShellScript } from './guard.js';
import { localLink } from './local-link.js';
import type { HostLink } from './host-run.js';

/** The run shell lives as long as the host run; each request inside it has its own timeout. */
const RUN_SHELL_TIMEOUT_MS = 6 * 60 * 60 * 1000;

// What the SSH layer needs from an inventory host.
export function connectTargetOf(host: Host): ConnectTarget {
  if (host.local) throw new ConnectError('E_LOCAL_CONNECTION', `${host.name} has ansible_connection: local; only apply and drift checks run on the controller, this command connects over SSH`);
  // A command that connects fetches the sudo password first (resolve-secrets.ts); never send the reference.
  if (host.becomePasswordRef) throw new ConnectError('E_SECRET_UNRESOLVED', `${host.name}: the sudo password !aws_secret ${host.becomePasswordRef.toString()} was not fetched before connecting`);
  return {
    name: host.name,
    address: host.address,
    port: host.port,
    user: host.user,
    privateKeyFile: host.privateKeyFile,
    become: host.become,
    becomePassword: host.becomePassword,
    ...(host.route ? { route: host.route } : {}),
  };
}

// Connects to a host through the pool and exposes the engine's HostLink: one guarded `sh -s` per run.
export async function sshLink(pool: SshPool, host: Host): Promise<HostLink & { close(): Promise<void> }> {
  const session = await pool.session(connectTargetOf(host));
  const before = session.execCount;
  return {
    execCount: () => session.execCount - before,
    async openShell() {
      const stream = session.execStream({ label: `halyard run on ${host.name}`, script: guardedShellScript(), timeoutMs: RUN_SHELL_TIMEOUT_MS });
      return { stdin: stream.stdin, stdout: stream.stdout, done: stream.done };
    },
    async runStream(label, script, source, timeoutMs) {
      const stream = session.execStream({ label, script, timeoutMs });
      let output = '';
      stream.stdout.setEncoding('utf8');
      stream.stdout.on('data', (chunk: string) => {
        output = (output + chunk).slice(-16_384);
      });
      // pipe() applies backpressure: a slow host slows the local reader, nothing is held whole.
      // A local read error stops the remote side at once (it must never see a clean EOF), and is the step's error.
      let sourceError: Error | undefined;
      source.on('error', (error: Error) => {
        sourceError = error;
        source.unpipe(stream.stdin);
        stream.abort();
      });
      source.pipe(stream.stdin);
      try {
        const result = await stream.done;
        if (sourceError) return { exitCode: null, output: `${output}${stream.stderrTail()}${sourceError.message}` };
        return { exitCode: result.exitCode, output: `${output}${stream.stderrTail()}` };
      } catch (error) {
        const message = sourceError?.message ?? (error instanceof Error ? error.message : String(error));
        return { exitCode: null, output: `${output}${stream.stderrTail()}${message}` };
      }
    },
    close: () => session.close(),
  };
}

// The link for a host: the controller itself for `ansible_connection: local`, else SSH.
export async function hostLink(pool: SshPool, host: Host): Promise<HostLink & { close(): Promise<void> }> {
  if (host.local) return localLink(host);
  return sshLink(pool, host);
}

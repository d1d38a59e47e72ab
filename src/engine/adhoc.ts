import type { Redactor } from '../core/secret.js';
import type { Host } from '../inventory/types.js';
import type { HostSession } from '../ssh/types.js';
import { withHostLock } from './locked-host.js';
import { newLockOwner } from './lock.js';
import { errorFields, inHostOrder } from './results.js';
import { mapLimit } from '../core/map-limit.js';

// One host's answer to an ad-hoc command (`halyard exec`).
export interface AdHocHostResult {
  /** The command's exit code; absent when it never ran (unreachable, locked). */
  exitCode?: number;
  /** stdout and stderr together, as the command printed them (the last 64 KiB), secrets masked. */
  output: string;
  durationMs: number;
  unreachable: boolean;
  /** Why the command did not run, safe to print. */
  error?: string;
  errorCode?: string;
  errorClass?: string;
}

// Every host's answer, in inventory order; ok when every host ran the command and it exited 0.
export interface AdHocResult {
  ok: boolean;
  durationMs: number;
  hosts: Record<string, AdHocHostResult>;
}

// How an ad-hoc command runs.
export interface AdHocOptions {
  forks: number;
  lockWaitSeconds: number;
  timeoutMs: number;
  redactor: Redactor;
  /** Opens the SSH session to a host; throws ConnectError when unreachable. */
  session(host: Host): Promise<HostSession>;
  /** Each host's answer as it arrives (live output). */
  onHost?(host: string, result: AdHocHostResult): void;
}

// Runs one shell command on every host in parallel (bounded by forks), each under the engine's
// host lock like any remote action: a command never runs beside a converge or a backup. A host
// that fails, is unreachable or locked never stops the others.
export async function runAdHoc(hosts: readonly Host[], script: string, options: AdHocOptions): Promise<AdHocResult> {
  const started = Date.now();
  const owner = newLockOwner();
  const results = new Map<string, AdHocHostResult>();
  const redact = (text: string) => options.redactor.redact(text);
  await mapLimit([...hosts], Math.max(1, options.forks), async (host) => {
    const hostStarted = Date.now();
    let result: AdHocHostResult;
    let session: HostSession | undefined;
    try {
      session = await options.session(host);
    } catch (error) {
      result = { output: '', durationMs: Date.now() - hostStarted, unreachable: true, ...errorFields(error, redact) };
    }
    if (session) {
      try {
        const ran = await withHostLock(session, { label: `exec on ${host.name}`, waitSeconds: options.lockWaitSeconds, timeoutMs: options.timeoutMs, owner }, (held) => held.exec(`exec on ${host.name}`, script));
        result = { exitCode: ran.exitCode, output: redact(ran.output), durationMs: Date.now() - hostStarted, unreachable: false };
      } catch (error) {
        result = { output: '', durationMs: Date.now() - hostStarted, unreachable: false, ...errorFields(error, redact) };
      }
    }
    results.set(host.name, result!);
    options.onHost?.(host.name, result!);
  });
  const ordered = inHostOrder(hosts, results);
  const ok = Object.values(ordered).every((result) => result.exitCode === 0);
  return { ok, durationMs: Date.now() - started, hosts: ordered };
}

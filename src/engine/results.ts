import { ExitCode, type ExitCodeValue } from '../core/exit-codes.js';
import { nameTable } from '../core/name-table.js';
import type { HostSlice } from '../inventory/slice.js';
import type { FileDiff } from '../resources/types.js';

// The outcome of one task on one host, as the recap and --json report it.
export type TaskStatus = 'ok' | 'changed' | 'failed' | 'skipped';

// One task's result on one host.
export interface TaskResult {
  name: string;
  status: TaskStatus;
  durationMs: number;
  error?: string;
  /** What changed (or would change in check mode), safe to print. */
  changes?: string[];
  /** Why nothing was done. */
  reason?: string;
  diff?: FileDiff;
  handler?: boolean;
}

// One host's results for a run.
export interface HostResult {
  ok: number;
  changed: number;
  failed: number;
  skipped: number;
  unreachable: boolean;
  /** Remote command executions on this host during the run (connection set-up aside). */
  execs: number;
  /** Round trips over the run's shell (a converged host: 1); absent when the host was not reached. */
  requests?: number;
  tasks: TaskResult[];
  /** Host-level error (unreachable, locked), safe to print. */
  error?: string;
  /** The code of that error (`E_HOST_LOCKED`, `E_HOSTKEY_CHANGED`, ...), for callers that branch on it. */
  errorCode?: string;
  /** The class of that error (`ConnectError`, `PlaybookError`, `HalyardError`, `Error`...). */
  errorClass?: string;
  /** Handlers notified but not run (a task failed): written down on the host, they run next time. */
  pendingHandlers?: string[];
}

// A controller step's outcome (after the hosts), reported beside them.
export interface ControllerStepResult {
  name: string;
  status: 'ok' | 'changed' | 'failed' | 'skipped';
  durationMs: number;
  error?: string;
  errorCode?: string;
  errorClass?: string;
  reason?: string;
}

// The --json document.
export interface RunResult {
  ok: boolean;
  durationMs: number;
  check: boolean;
  /** The playbook's name (definePlaybook's), so `report merge` refuses results of two playbooks. */
  playbook?: string;
  /** With --slice: which slice of the selected hosts this run covered. */
  slice?: HostSlice;
  hosts: Record<string, HostResult>;
  /** Present when the playbook has controller steps (afterHosts). */
  controller?: ControllerStepResult[];
}

// Counts task statuses into a host result.
export function summarize(tasks: TaskResult[], extra: { unreachable: boolean; execs: number; requests?: number; error?: string; errorCode?: string; errorClass?: string; pendingHandlers?: string[] }): HostResult {
  const count = (status: TaskStatus) => tasks.filter((task) => task.status === status).length;
  return {
    ok: count('ok'),
    changed: count('changed'),
    failed: count('failed'),
    skipped: count('skipped'),
    unreachable: extra.unreachable,
    execs: extra.execs,
    ...(extra.requests !== undefined ? { requests: extra.requests } : {}),
    tasks,
    ...(extra.error !== undefined ? { error: extra.error } : {}),
    ...(extra.error !== undefined && extra.errorCode !== undefined ? { errorCode: extra.errorCode } : {}),
    ...(extra.error !== undefined && extra.errorClass !== undefined ? { errorClass: extra.errorClass } : {}),
    ...(extra.pendingHandlers?.length ? { pendingHandlers: extra.pendingHandlers } : {}),
  };
}

// The code of an error for a host result, when it carries one.
export function errorCodeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^E_[A-Z0-9_]+$/.test(code) ? code : undefined;
}

// What a result says about an error: its message (masked by the caller's redact), its code and its
// class, so callers branch on what failed rather than on words.
export function errorFields(error: unknown, redact: (text: string) => string): { error: string; errorCode?: string; errorClass?: string } {
  const code = errorCodeOf(error);
  const name = error instanceof Error ? error.name || error.constructor.name : undefined;
  return { error: redact(error instanceof Error ? error.message : String(error)), ...(code !== undefined ? { errorCode: code } : {}), ...(name !== undefined ? { errorClass: name } : {}) };
}

// Whether a host counts as failed for exit codes and --max-fail-percent.
export function hostFailed(result: HostResult): boolean {
  return result.unreachable || result.failed > 0 || result.error !== undefined;
}

// Exit code of a finished run: 1 on any failure, 2 for pending changes in check mode, else 0.
export function exitCodeFor(result: RunResult): ExitCodeValue {
  const hosts = Object.values(result.hosts);
  const steps = result.controller ?? [];
  if (hosts.some(hostFailed) || steps.some((step) => step.status === 'failed')) return ExitCode.HostFailed;
  if (result.check && (hosts.some((host) => host.changed > 0) || steps.some((step) => step.status === 'changed'))) return ExitCode.ChangesPending;
  return ExitCode.Ok;
}

// Per-host results in inventory order, as a null-prototype table (no host name can vanish into
// Object's prototype); hosts without a result are left out.
export function inHostOrder<R>(hosts: ReadonlyArray<{ name: string }>, results: ReadonlyMap<string, R>): Record<string, R> {
  return nameTable(
    hosts.flatMap((host): Array<[string, R]> => {
      const result = results.get(host.name);
      return result === undefined ? [] : [[host.name, result]];
    }),
  );
}

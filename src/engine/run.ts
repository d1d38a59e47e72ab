import { mapLimit } from '../core/map-limit.js';
import type { Redactor } from '../core/secret.js';
import type { Host } from '../inventory/types.js';
import type { HostWork, HostWorkSource } from './work.js';
import { errorText, runHost, type HostEvent, type HostLink } from './host-run.js';
import { newLockOwner, type LockOwner } from './lock.js';
import { errorFields, hostFailed, inHostOrder, summarize, type HostResult, type RunResult } from './results.js';

export type { HostWork, HostWorkSource } from './work.js';

// Everything a fleet run needs besides the hosts and their work.
export interface RunOptions {
  check: boolean;
  diff: boolean;
  /** Hosts run at once. */
  forks: number;
  /** Batch size: a count or a percentage ("30%"); undefined runs all hosts as one batch. */
  serial?: string;
  /** Stop starting new batches once more than this percentage of a batch failed. */
  maxFailPercent?: number;
  lockWaitSeconds: number;
  /** Recorded beside each host's lock: a daemon's drift check says so, and other runs ask past it. */
  lockPurpose?: LockOwner['purpose'];
  /** Run notified handlers on a host even after one of its tasks failed. */
  forceHandlers?: boolean;
  probeTimeoutMs: number;
  stepTimeoutMs: number;
  redactor: Redactor;
  /** Opens the connection to a host; throws ConnectError when unreachable. */
  connect(host: Host): Promise<HostLink & { close(): Promise<void> }>;
  onEvent?: (event: HostEvent | { type: 'host-done'; host: string; result: HostResult }) => void;
}

// The batched probe gets 120 s at most, and never more than --timeout, which bounds every request.
export function probeTimeoutMs(commandTimeoutMs: number): number {
  return Math.min(120_000, commandTimeoutMs);
}

// Runs every host in parallel (bounded by forks), batch by batch; a failing host never stops the others.
export async function runFleet(hosts: Host[], workFor: (host: Host) => HostWork | HostWorkSource, options: RunOptions): Promise<RunResult> {
  const started = Date.now();
  const lockOwner: LockOwner = { ...newLockOwner(), ...(options.lockPurpose ? { purpose: options.lockPurpose } : {}) };
  const results = new Map<string, HostResult>();
  const batches = splitBatches(hosts, options.serial);
  let aborted: string | undefined;

  for (const batch of batches) {
    if (aborted) {
      for (const host of batch) results.set(host.name, summarize([], { unreachable: false, execs: 0, error: aborted }));
      continue;
    }
    await mapLimit(batch, Math.max(1, options.forks), async (host) => {
      let result: HostResult;
      let link: (HostLink & { close(): Promise<void> }) | undefined;
      try {
        const work = workFor(host);
        const connecting = Date.now();
        try {
          link = await options.connect(host);
          options.onEvent?.({ type: 'request', host: host.name, phase: 'done', id: 0, label: 'connect', exitCode: 0, durationMs: Date.now() - connecting });
        } catch (error) {
          options.onEvent?.({ type: 'request', host: host.name, phase: 'failed', id: 0, label: 'connect', durationMs: Date.now() - connecting, error: options.redactor.redact(errorText(error)) });
          result = summarize([], { unreachable: true, execs: 0, ...errorFields(error, (text) => options.redactor.redact(text)) });
          results.set(host.name, result);
          options.onEvent?.({ type: 'host-done', host: host.name, result });
          return;
        }
        result = await runHost(host.name, link, work, {
          check: options.check,
          diff: options.diff,
          lockOwner,
          lockWaitSeconds: options.lockWaitSeconds,
          ...(options.forceHandlers ? { forceHandlers: true } : {}),
          probeTimeoutMs: options.probeTimeoutMs,
          stepTimeoutMs: options.stepTimeoutMs,
          redactor: options.redactor,
          ...(options.onEvent ? { onEvent: options.onEvent } : {}),
        });
      } catch (error) {
        result = summarize([], { unreachable: false, execs: link?.execCount() ?? 0, ...errorFields(error, (text) => options.redactor.redact(text)) });
      } finally {
        await link?.close().catch(() => {});
      }
      results.set(host.name, result);
      options.onEvent?.({ type: 'host-done', host: host.name, result });
    });
    const failed = batch.filter((host) => {
      const result = results.get(host.name);
      return result !== undefined && hostFailed(result);
    }).length;
    const failedPercent = (failed / batch.length) * 100;
    if (batches.length > 1 && failed === batch.length) {
      aborted = 'not run: every host of the previous batch failed';
    } else if (options.maxFailPercent !== undefined && failedPercent > options.maxFailPercent) {
      aborted = `not run: ${failed} of ${batch.length} hosts failed in the previous batch (over --max-fail-percent ${options.maxFailPercent})`;
    }
  }

  // In inventory order; a null-prototype table, so no host name can vanish into Object's prototype.
  const ordered = inHostOrder(hosts, results);
  const ok = Object.values(ordered).every((result) => !hostFailed(result));
  return { ok, durationMs: Date.now() - started, check: options.check, hosts: ordered };
}

// Splits hosts into batches for --serial ("2" or "30%"); at least one host per batch.
export function splitBatches<T>(hosts: T[], serial: string | undefined): T[][] {
  if (serial === undefined || hosts.length === 0) return [hosts];
  const match = /^(\d+)(%?)$/.exec(serial.trim());
  if (!match) throw new Error(`--serial must be a number or a percentage, got "${serial}"`);
  const amount = Number(match[1]);
  const size = match[2] ? Math.max(1, Math.floor((hosts.length * amount) / 100)) : Math.max(1, amount);
  const batches: T[][] = [];
  for (let index = 0; index < hosts.length; index += size) batches.push(hosts.slice(index, index + size));
  return batches;
}

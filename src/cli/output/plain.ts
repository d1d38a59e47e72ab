import type { HostEvent } from '../../engine/host-run.js';
import type { HostResult } from '../../engine/results.js';

// Events the CLI renders: the engine's per-task events plus host completion.
export type ProgressEvent = HostEvent | { type: 'host-done'; host: string; result: HostResult };

// One line per event for logs and pipes (no TTY): stable, greppable, never holding secrets.
export function plainLine(event: ProgressEvent, options: { check: boolean; verbose: boolean }): string | undefined {
  if (event.type === 'phase') return options.verbose ? `${event.host} | ${event.phase}` : undefined;
  if (event.type === 'host-done') {
    const result = event.result;
    if (result.unreachable) return `${event.host} | UNREACHABLE | ${result.error ?? ''}`;
    if (result.error) return `${event.host} | FAILED | ${result.error}`;
    return undefined;
  }
  const { result } = event;
  const status = result.status === 'changed' && options.check ? 'would change' : result.status;
  if (result.status === 'ok' && !options.verbose) return undefined;
  const detail =
    result.status === 'failed'
      ? result.error ?? ''
      : result.status === 'changed'
        ? (result.changes ?? []).join('; ')
        : result.reason ?? '';
  return `${event.host} | ${status} | ${result.name}${detail ? ` | ${detail.replace(/\n/g, ' ⏎ ')}` : ''}`;
}

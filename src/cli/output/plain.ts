import { visible, visibleLine } from '../../core/visible.js';
import type { HostEvent } from '../../engine/host-run.js';
import type { HostResult } from '../../engine/results.js';

// Events the CLI renders: the engine's per-task events plus host completion.
export type ProgressEvent = HostEvent | { type: 'host-done'; host: string; result: HostResult };

// One line per event for logs and pipes (no TTY): stable, greppable, never holding secrets.
// Host and task names come from inventories and playbooks: shown on one line, escapes visible.
export function plainLine(event: ProgressEvent, options: { check: boolean; verbose: boolean }): string | undefined {
  const host = visibleLine(event.host);
  if (event.type === 'phase') return options.verbose ? `${host} | ${event.phase}` : undefined;
  if (event.type === 'task-start' || event.type === 'request') return undefined;
  if (event.type === 'host-done') {
    const result = event.result;
    if (result.unreachable) return `${host} | UNREACHABLE | ${visible(result.error ?? '')}`;
    if (result.error) return `${host} | FAILED | ${visible(result.error)}`;
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
  return `${host} | ${status} | ${visibleLine(result.name)}${detail ? ` | ${visible(detail).replace(/\n/g, ' ⏎ ')}` : ''}`;
}

import { visible, visibleLine } from '../../core/visible.js';
import type { HostResult, RunResult } from '../../engine/results.js';
import { hostFailed } from '../../engine/results.js';

// The final per-host summary, Ansible's PLAY RECAP with halyard's exec count.
// Names are shown on one line with escapes visible; messages keep their lines, escapes visible.
export function formatRecap(result: RunResult): string {
  const names = Object.keys(result.hosts);
  const shown = (name: string) => visibleLine(name);
  const width = Math.max(4, ...names.map((name) => shown(name).length));
  const lines = [`RECAP${result.slice ? ` (slice ${result.slice.index}/${result.slice.count})` : ''}${result.check ? ' (check mode: nothing was changed)' : ''}`];
  for (const name of names) {
    const host = result.hosts[name] as HostResult;
    const verdict = host.unreachable ? 'UNREACHABLE' : hostFailed(host) ? 'FAILED' : host.changed > 0 ? (result.check ? 'DRIFTED' : 'CHANGED') : 'OK';
    lines.push(
      `${shown(name).padEnd(width)}  ${verdict.padEnd(11)} ok=${host.ok} changed=${host.changed} failed=${host.failed} ` +
        `skipped=${host.skipped} unreachable=${host.unreachable ? 1 : 0} execs=${host.execs}`,
    );
    if (host.error) lines.push(indent(`error: ${visible(host.error)}`, width + 2));
    if (host.pendingHandlers?.length) {
      lines.push(indent(`pending handlers (recorded on the host, they run on the next run; --force-handlers runs them despite a failure): ${host.pendingHandlers.map((handler) => visibleLine(handler)).join(', ')}`, width + 2));
    }
    for (const task of host.tasks) {
      if (task.status === 'failed' && task.error) lines.push(indent(`failed: ${visibleLine(task.name)}: ${visible(task.error)}`, width + 2));
    }
  }
  for (const step of result.controller ?? []) {
    lines.push(`controller: ${visibleLine(step.name)}: ${step.status}${step.error ? ` (${visible(step.error)})` : step.reason ? ` (${visible(step.reason)})` : ''}`);
  }
  lines.push(`finished in ${(result.durationMs / 1000).toFixed(2)} s`);
  return lines.join('\n');
}

// Indents every line of a possibly multi-line message.
export function indent(text: string, columns: number): string {
  const pad = ' '.repeat(columns);
  return text
    .split('\n')
    .map((line) => pad + line)
    .join('\n');
}

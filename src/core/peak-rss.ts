import { readFileSync } from 'node:fs';

// This program's own peak resident memory, in KiB. getrusage's maxRSS is not that for a spawned
// process on Linux: exec folds the forked copy of the parent's memory into it, so a CLI run from
// a 300 MiB parent "peaks" at 300 MiB however little it uses (measured: 304 MiB reported for a
// bare `node -e` whose own peak was 39 MiB). /proc/self/status's VmHWM belongs to the program's
// own address space; elsewhere maxRSS is the best there is.
export function peakRssKb(): number {
  try {
    const match = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (match) return Number(match[1]);
  } catch {
    // Not Linux, or no /proc: fall through.
  }
  return process.resourceUsage().maxRSS;
}

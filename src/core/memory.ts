import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

// V8 frees a dead Buffer's memory only when its small JS wrapper is collected, and it starts a
// collection for external memory only after tens of MB of it have piled up. A backup streams
// hundreds of MB through short-lived 32 KiB chunks (SSH packets), so without help the controller's
// peak RSS is set by that heuristic rather than by the parts it really holds. A young-generation
// collection (a scavenge, about a millisecond for this heap) every few MiB keeps it bounded.

type GcFunction = (options?: { type?: 'major' | 'minor'; execution?: 'sync' | 'async' }) => void;

let cached: GcFunction | null | undefined;

function gcFunction(): GcFunction | null {
  if (cached !== undefined) return cached;
  try {
    const existing = (globalThis as { gc?: GcFunction }).gc;
    if (typeof existing === 'function') {
      cached = existing;
    } else {
      setFlagsFromString('--expose-gc');
      cached = runInNewContext('gc') as GcFunction;
    }
  } catch {
    cached = null;
  }
  return cached;
}

/** Bytes streamed between two young-generation collections: RSS stays bounded, at about 1 ms each. */
export const SCAVENGE_EVERY_BYTES = 4 * 1024 * 1024;

/** Calls `collect()` after every `everyBytes` passed to `add(bytes)` (best effort: a no-op without gc). */
export function scavenger(everyBytes: number): { add(bytes: number): void } {
  let since = 0;
  return {
    add(bytes) {
      since += bytes;
      if (since < everyBytes) return;
      since = 0;
      const gc = gcFunction();
      if (gc) gc({ type: 'minor', execution: 'sync' });
    },
  };
}

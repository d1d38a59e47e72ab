import { createHash } from 'node:crypto';
import { SCAVENGE_EVERY_BYTES, scavenger } from './memory.js';

/** The sha256 and size of a stream's bytes, taken as they pass, with the young-generation
 * collections that keep a long stream's RSS bounded (memory.ts): a backup's upload, a restore and a
 * verify tally their bytes the same way. */
export class StreamTally {
  readonly #hash = createHash('sha256');
  readonly #scavenger = scavenger(SCAVENGE_EVERY_BYTES);
  bytes = 0;

  add(chunk: Buffer): void {
    this.#hash.update(chunk);
    this.bytes += chunk.length;
    this.#scavenger.add(chunk.length);
  }

  /** The sha256 (hex) of everything added; call once, at the end. */
  digest(): string {
    return this.#hash.digest('hex');
  }
}

import { createHash, randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { REGROUPED_WRITE_BYTES, TallyingRegrouper } from '../../src/core/stream-tally.js';

// Runs `pieces` through a regrouper and returns the sizes of the writes it handed on, their bytes and its tally.
async function regroup(pieces: Buffer[]): Promise<{ writes: number[]; bytes: Buffer; sha256: string; tallied: number }> {
  const regrouper = new TallyingRegrouper();
  const writes: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      writes.push(chunk);
      done();
    },
  });
  await pipeline(Readable.from(pieces, { objectMode: false }), regrouper, sink);
  return { writes: writes.map((write) => write.length), bytes: Buffer.concat(writes), sha256: regrouper.tally.digest(), tallied: regrouper.tally.bytes };
}

describe('TallyingRegrouper', () => {
  it('hands 16 KiB pieces (HTTPS records) on in 256 KiB writes, the rest in one last write, bytes and tally unchanged', async () => {
    const pieces = Array.from({ length: 40 }, () => randomBytes(16 * 1024));
    pieces.push(randomBytes(1000));
    const whole = Buffer.concat(pieces);
    const { writes, bytes, sha256, tallied } = await regroup(pieces);
    expect(writes).toEqual([REGROUPED_WRITE_BYTES, REGROUPED_WRITE_BYTES, 8 * 16 * 1024 + 1000]);
    expect(bytes.equals(whole)).toBe(true);
    expect(sha256).toBe(createHash('sha256').update(whole).digest('hex'));
    expect(tallied).toBe(whole.length);
  });

  it('a piece larger than a write passes whole; pieces that overshoot are joined, not split', async () => {
    const big = randomBytes(REGROUPED_WRITE_BYTES * 2 + 5);
    const odd = Array.from({ length: 5 }, () => randomBytes(60 * 1024));
    const { writes, bytes } = await regroup([big, ...odd]);
    expect(writes).toEqual([big.length, 5 * 60 * 1024]);
    expect(bytes.equals(Buffer.concat([big, ...odd]))).toBe(true);
  });

  it('an empty stream hands nothing on and tallies the empty sha256', async () => {
    const { writes, sha256, tallied } = await regroup([]);
    expect(writes).toEqual([]);
    expect(tallied).toBe(0);
    expect(sha256).toBe(createHash('sha256').digest('hex'));
  });
});

import { describe, expect, it } from 'vitest';
import { DEFAULT_PART_SIZING, MAX_PART_SIZE, partSizeFor } from '../../src/aws/multipart-upload.js';

// The part-size schedule of streamed uploads (the uploads themselves: objects.test.ts, against the
// emulator and s3rver).

const MiB = 1024 * 1024;

describe('partSizeFor', () => {
  it('8 MiB for the first 1000 parts, doubling every 1000, at most 1 GiB; none past part 10,000', () => {
    expect([1, 1000, 1001, 2000, 2001, 7000, 7001, 8001, 10_000].map((n) => partSizeFor(n))).toEqual([
      8 * MiB, 8 * MiB, 16 * MiB, 16 * MiB, 32 * MiB, 512 * MiB, MAX_PART_SIZE, MAX_PART_SIZE, MAX_PART_SIZE,
    ]);
    expect([0, 10_001, 1.5].map((n) => partSizeFor(n))).toEqual([undefined, undefined, undefined]);
  });

  it('holds 7.8 GiB in 8 MiB parts and about 3.9 TiB in all 10,000 (fixed 8 MiB parts stop at 78 GiB)', () => {
    const total = (parts: number) => Array.from({ length: parts }, (_, i) => partSizeFor(i + 1)!).reduce((sum, size) => sum + size, 0);
    expect(total(1000) / 1024 ** 3).toBeCloseTo(7.8125, 4);
    expect(total(DEFAULT_PART_SIZING.maxParts) / 1024 ** 4).toBeCloseTo(3.899, 3);
  });
});

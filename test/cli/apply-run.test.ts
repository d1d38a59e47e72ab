// The live progress view's size gate: one line per host, redrawn every frame, so only runs whose
// lines fit on the terminal get it; larger runs print plain lines (measured in src/cli/apply-run.ts).
import { describe, expect, it } from 'vitest';
import { liveViewFits } from '../../src/cli/apply-run.js';

describe('liveViewFits', () => {
  it('keeps the live view while every host line fits on the screen, with two rows to spare', () => {
    expect(liveViewFits(3, 24)).toBe(true);
    expect(liveViewFits(22, 24)).toBe(true);
    expect(liveViewFits(23, 24)).toBe(false);
    expect(liveViewFits(1000, 50)).toBe(false);
  });

  it('shows one host live on a terminal that reports no size', () => {
    expect(liveViewFits(1, undefined)).toBe(true);
    expect(liveViewFits(2, undefined)).toBe(false);
  });
});

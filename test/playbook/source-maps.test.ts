// Stack positions in a playbook's bundle, told in the files and lines it was bundled from.
import { describe, expect, it } from 'vitest';
import { originalPosition, registerSourceMap } from '../../src/playbook/source-maps.js';

// A two-line bundle: line 1 is the bundler's own helper (no mapping), line 2 came from play.ts line 7
// (";AAMA": nothing on line 1, then column 0 of line 2 from source 0, line 0 + 6, column 0).
const payload = { version: 3, file: 'play.mjs', sources: ['/work/project/play.ts'], names: [], mappings: ';AAMA' };

describe('originalPosition', () => {
  it('maps a position in a registered bundle to its source file and line, by path or file URL', () => {
    registerSourceMap('/cache/play.ts.abc.mjs', { payload: payload as never });
    expect(originalPosition('/cache/play.ts.abc.mjs', 2, 5)).toEqual({ file: '/work/project/play.ts', line: 7 });
    expect(originalPosition('file:///cache/play.ts.abc.mjs', 2, 1)).toEqual({ file: '/work/project/play.ts', line: 7 });
  });

  it('is null on a bundle line with no source (the bundler\'s helpers), undefined outside bundles', () => {
    registerSourceMap('/cache/helpers.mjs', { payload: payload as never });
    expect(originalPosition('/cache/helpers.mjs', 1, 1)).toBeNull();
    expect(originalPosition('/work/project/other.mjs', 2, 1)).toBeUndefined();
  });

  it('reads a map file only when asked, and treats a missing or broken one as no source', () => {
    registerSourceMap('/cache/gone.mjs', { mapFile: '/nonexistent/gone.mjs.map' });
    expect(originalPosition('/cache/gone.mjs', 2, 1)).toBeNull();
  });
});

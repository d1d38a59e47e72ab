import { describe, expect, it } from 'vitest';
import { STANDBY_INITIAL_OLD_SPACE_MB, standbyNodeArgs } from '../../src/standby/client.js';
import type { StandbyPlace } from '../../src/standby/place.js';

const place: StandbyPlace = { base: '/run/user/0/halyard-standby-0', dir: '/run/user/0/halyard-standby-0/0123456789abcdef', switchFile: '/run/user/0/halyard-standby-0/switch.json', serveScript: '/opt/halyard/dist/standby/serve.js' };

describe('standbyNodeArgs', () => {
  it("puts the heap floor before the client's own flags, then the serve script and the folder", () => {
    expect(STANDBY_INITIAL_OLD_SPACE_MB).toBe(64);
    expect(standbyNodeArgs(place, [], {})).toEqual(['--initial-old-space-size=64', '/opt/halyard/dist/standby/serve.js', '/run/user/0/halyard-standby-0/0123456789abcdef']);
    expect(standbyNodeArgs(place, ['--enable-source-maps'], { NODE_OPTIONS: '--no-warnings' })).toEqual([
      '--initial-old-space-size=64',
      '--enable-source-maps',
      '/opt/halyard/dist/standby/serve.js',
      '/run/user/0/halyard-standby-0/0123456789abcdef',
    ]);
  });

  it('leaves the heap to a user who sizes it, in the flags or in NODE_OPTIONS', () => {
    expect(standbyNodeArgs(place, ['--max-old-space-size=512'], {})).toEqual(['--max-old-space-size=512', place.serveScript, place.dir]);
    expect(standbyNodeArgs(place, ['--initial_old_space_size=8'], {})).toEqual(['--initial_old_space_size=8', place.serveScript, place.dir]);
    expect(standbyNodeArgs(place, [], { NODE_OPTIONS: '--no-warnings --max-old-space-size=256' })).toEqual([place.serveScript, place.dir]);
    expect(standbyNodeArgs(place, [], { NODE_OPTIONS: '--initial-heap-size=32' })).toEqual([place.serveScript, place.dir]);
  });
});

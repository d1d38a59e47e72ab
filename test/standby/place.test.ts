// Where standbys live and what they start with: the base in the login's runtime directory (else the
// temporary directory), refused when others could enter it; a folder per build and per Node
// start-up settings; an environment that keeps no command's secrets.
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkedBase, listStandbys, makePlace, nodeStartUpVariables, readSwitch, standbyBase, standbyEnvironment, standbyPlace, StandbyPlaceError } from '../../src/standby/place.js';

const DIST = resolve(import.meta.dirname, '../../dist');
const uid = process.getuid!();

describe('standby place', () => {
  it('the base is in XDG_RUNTIME_DIR when it exists, else in the temporary directory', () => {
    const runtime = mkdtempSync(join(tmpdir(), 'hy-place-'));
    expect(standbyBase({ XDG_RUNTIME_DIR: runtime })).toBe(join(runtime, `halyard-standby-${uid}`));
    expect(standbyBase({ XDG_RUNTIME_DIR: join(runtime, 'gone') })).toBe(join(tmpdir(), `halyard-standby-${uid}`));
    expect(standbyBase({})).toBe(join(tmpdir(), `halyard-standby-${uid}`));
  });

  it('a folder per build and per Node start-up variable; other variables do not matter', () => {
    const env = { XDG_RUNTIME_DIR: tmpdir(), PATH: '/usr/bin' };
    const plain = standbyPlace(DIST, env);
    expect(standbyPlace(DIST, { ...env, AWS_PROFILE: 'prod', CI: '1' }).dir).toBe(plain.dir);
    expect(standbyPlace(DIST, { ...env, NODE_OPTIONS: '--max-old-space-size=4096' }).dir).not.toBe(plain.dir);
    expect(standbyPlace(DIST, { ...env, UV_THREADPOOL_SIZE: '16' }).dir).not.toBe(plain.dir);
    expect(plain.serveScript).toBe(join(DIST, 'standby/serve.js'));
  });

  it("a standby's environment: files' places, locale and Node's start-up variables, nothing else", () => {
    const env = {
      PATH: '/usr/bin',
      HOME: '/home/ops',
      USER: 'ops',
      LANG: 'C.UTF-8',
      LC_TIME: 'en_GB.UTF-8',
      XDG_RUNTIME_DIR: '/run/user/1000',
      NODE_EXTRA_CA_CERTS: '/etc/ssl/corp.pem',
      AWS_SECRET_ACCESS_KEY: 'secret',
      ANSIBLE_VAULT_PASSWORD_FILE: '/home/ops/.vault',
      SSH_AUTH_SOCK: '/tmp/agent',
    };
    expect(standbyEnvironment(env)).toEqual({
      PATH: '/usr/bin',
      HOME: '/home/ops',
      USER: 'ops',
      LANG: 'C.UTF-8',
      LC_TIME: 'en_GB.UTF-8',
      XDG_RUNTIME_DIR: '/run/user/1000',
      NODE_EXTRA_CA_CERTS: '/etc/ssl/corp.pem',
    });
    expect(nodeStartUpVariables({ UV_THREADPOOL_SIZE: '8', NODE_OPTIONS: '-r x', NODEJS: 'no' })).toEqual({ NODE_OPTIONS: '-r x', UV_THREADPOOL_SIZE: '8' });
  });

  it('a base that is not a 0700 directory of this user is refused, naming why', () => {
    const runtime = mkdtempSync(join(tmpdir(), 'hy-place-'));
    const place = standbyPlace(DIST, { XDG_RUNTIME_DIR: runtime });
    expect(checkedBase(place)).toBeUndefined();
    makePlace(place);
    expect(checkedBase(place)?.isDirectory()).toBe(true);
    chmodSync(place.base, 0o750);
    expect(() => checkedBase(place)).toThrow(new StandbyPlaceError(`${place.base} is open to other users (mode 750); it must be 0700`));
    const file = standbyPlace(DIST, { XDG_RUNTIME_DIR: mkdtempSync(join(tmpdir(), 'hy-place-')) });
    writeFileSync(file.base, '');
    expect(() => checkedBase(file)).toThrow(`${file.base} is not a directory`);
  });

  it('the switch holds the idle minutes; the folder lists ready and starting standbys by pid', () => {
    const place = standbyPlace(DIST, { XDG_RUNTIME_DIR: mkdtempSync(join(tmpdir(), 'hy-place-')) });
    expect(readSwitch(place)).toBeUndefined();
    makePlace(place);
    writeFileSync(place.switchFile, '{"idleMinutes":5}\n');
    expect(readSwitch(place)).toEqual({ idleMinutes: 5 });
    writeFileSync(place.switchFile, '{}\n');
    expect(readSwitch(place)).toEqual({ idleMinutes: 30 });
    // A switch cut short (a full disk) is a warning for the client, not an error in every command.
    writeFileSync(place.switchFile, '{"idleMin');
    expect(() => readSwitch(place)).toThrow(StandbyPlaceError);
    for (const name of ['ready-12.sock', 'starting-13.sock', 'claimed-14-99.sock', 'expired-15.sock', 'notes.txt']) writeFileSync(join(place.dir, name), '');
    mkdirSync(join(place.dir, 'ready-16.sock.d'));
    expect(listStandbys(place).sort((a, b) => a.pid - b.pid)).toEqual([
      { state: 'ready', pid: 12, path: join(place.dir, 'ready-12.sock') },
      { state: 'starting', pid: 13, path: join(place.dir, 'starting-13.sock') },
    ]);
  });
});

import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { describe, expect, test } from 'vitest';
import { backupStreamScript, findContainerScript, restoreStreamScript } from '../../src/backup/plan.js';
import type { VolumeSpec } from '../../src/backup/config.js';

const POSTGRES = { name: 'appdb', hosts: 'all', kind: 'postgres', database: 'app', user: 'app', container: 'postgres', stop: [] } as unknown as VolumeSpec;

// A fake `docker` on PATH: `ps` answers from two env vars (by name, by compose service label), `exec` echoes.
function withFakeDocker(byName: string, byService: string, script: string) {
  const bin = mkdtempSync(join(tmpdir(), 'hy-fake-docker-'));
  writeFileSync(
    join(bin, 'docker'),
    `#!/bin/sh
case "$1" in
  ps) case "$4" in name=*) [ -n "$BY_NAME" ] && echo "$BY_NAME";; label=*) [ -n "$BY_SERVICE" ] && echo "$BY_SERVICE";; esac;;
  exec) shift; echo "exec $*";;
esac
`,
  );
  chmodSync(join(bin, 'docker'), 0o755);
  return spawnSync('sh', ['-c', script], { encoding: 'utf8', env: { PATH: `${bin}:/usr/bin:/bin`, BY_NAME: byName, BY_SERVICE: byService } });
}

describe('Postgres in a container: by container name, else by Compose service', () => {
  test('the exact scripts', () => {
    expect(findContainerScript('postgres')).toBe(
      [
        `c=$(docker ps -q --filter 'name=^/postgres$' | head -n 1)`,
        `[ -n "$c" ] || c=$(docker ps -q --filter 'label=com.docker.compose.service=postgres' | head -n 1)`,
        `[ -n "$c" ] || { echo "no running container named "postgres" and none of a compose service "postgres >&2; exit 1; }`,
      ].join('\n'),
    );
    expect(backupStreamScript(POSTGRES, undefined, 'none')).toBe(`${findContainerScript('postgres')}\nexec docker exec "$c" pg_dump -Fc -U app app`);
    expect(restoreStreamScript(POSTGRES, undefined, 'none')).toBe(
      `${findContainerScript('postgres')}\nexec docker exec -i "$c" pg_restore --clean --if-exists --create --exit-on-error -U app -d postgres`,
    );
  });

  test('under sh: a container of that name wins; else the compose service (v1 and v2 names); else a clear error', () => {
    const script = backupStreamScript(POSTGRES, undefined, 'none');
    expect(withFakeDocker('aaa111', 'bbb222', script).stdout).toBe('exec aaa111 pg_dump -Fc -U app app\n');
    expect(withFakeDocker('', 'bbb222', script).stdout).toBe('exec bbb222 pg_dump -Fc -U app app\n');
    const missing = withFakeDocker('', '', script);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toBe('no running container named postgres and none of a compose service postgres\n');
  });
});

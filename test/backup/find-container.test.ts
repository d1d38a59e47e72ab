import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { describe, expect, test } from 'vitest';
import { backupStreamScript, findContainerScript, parseSessionsEnded, restoreStreamScript } from '../../src/backup/plan.js';
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
    const psql = 'psql -X -q -At -v ON_ERROR_STOP=1 -U app -d postgres -v db=app';
    expect(restoreStreamScript(POSTGRES, undefined, 'none')).toBe(
      [
        findContainerScript('postgres'),
        'hy_in() { docker exec -i "$c" "$@"; }',
        `hy_open() { hy_in ${psql} <<'HALYARD_SQL' >/dev/null 2>&1`,
        "SELECT format('ALTER DATABASE %I ALLOW_CONNECTIONS true', :'db') FROM pg_database WHERE datname = :'db' \\gexec",
        'HALYARD_SQL',
        '}',
        'trap hy_open EXIT',
        "trap 'exit 1' HUP INT TERM PIPE",
        `hy_ended=$(hy_in ${psql} <<'HALYARD_SQL'`,
        "SELECT format('ALTER DATABASE %I ALLOW_CONNECTIONS false', :'db') FROM pg_database WHERE datname = :'db' \\gexec",
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = :'db' AND pid <> pg_backend_pid();",
        'HALYARD_SQL',
        ') || { hy_ended=0; echo "halyard restore: could not end the other sessions of the database" >&2; }',
        `printf '\\036halyard-sessions-ended %s\\n' "$hy_ended" >&2`,
        'hy_in pg_restore --clean --if-exists --create --exit-on-error -U app -d postgres',
      ].join('\n'),
    );
  });

  test("a restore under sh: the database closed and its other sessions ended first, opened again after whatever pg_restore did, pg_restore's status the script's", () => {
    const bin = mkdtempSync(join(tmpdir(), 'hy-fake-docker-'));
    const log = join(bin, 'calls');
    // docker exec logs the command and the SQL it reads; psql's close answers 2 sessions ended.
    writeFileSync(
      join(bin, 'docker'),
      `#!/bin/sh
case "$1" in
  ps) echo aaa111 ;;
  exec) shift 3; case "$1" in
    psql) sql=$(cat); echo "$1 $(echo "$sql" | grep -o 'ALLOW_CONNECTIONS [a-z]*')" >> '${log}'; case "$sql" in *terminate*) echo 2 ;; esac ;;
    pg_restore) echo "pg_restore $(wc -c)" >> '${log}'; exit "$PG_RESTORE_STATUS" ;;
  esac ;;
esac
`,
      { mode: 0o755 },
    );
    const run = (status: string) => {
      writeFileSync(log, '');
      const result = spawnSync('sh', ['-c', restoreStreamScript(POSTGRES, undefined, 'none')], { input: 'DUMP', encoding: 'utf8', env: { PATH: `${bin}:/usr/bin:/bin`, PG_RESTORE_STATUS: status } });
      return { status: result.status, stderr: result.stderr, calls: readFileSync(log, 'utf8') };
    };
    const good = run('0');
    expect(good.status).toBe(0);
    expect(good.calls).toBe('psql ALLOW_CONNECTIONS false\npg_restore 4\npsql ALLOW_CONNECTIONS true\n');
    expect(parseSessionsEnded(good.stderr)).toBe(2);
    const failed = run('1');
    expect(failed.status).toBe(1);
    expect(failed.calls).toBe('psql ALLOW_CONNECTIONS false\npg_restore 4\npsql ALLOW_CONNECTIONS true\n');
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

import { describe, expect, it } from 'vitest';
import { parseBackupConfig } from '../../src/backup/config.js';
import { DATA_FILE_NAMES, applyRetention, backupId, backupKeys, checkUnpacker, chooseCompression, createVolumeScript, findOrphans, inspectScript, parseBackupId, parseInspect, type PendingUpload, type RetentionItem } from '../../src/backup/plan.js';

// Retention is a pure function of backup times: a simulated month, pruning after every run (fake clock).

const at = (iso: string): RetentionItem => ({ id: backupId(new Date(iso)), time: new Date(iso) });

// Runs a backup at each time in order, pruning after each one as `backup run` does; returns what is left.
function simulate(times: string[], policy: { last: number; daily: number; weekly: number; monthly: number }): string[] {
  let kept: RetentionItem[] = [];
  for (const time of times) {
    kept.push(at(time));
    const decision = applyRetention(kept, policy, new Date(time));
    kept = decision.keep.map((entry) => entry.item);
  }
  return kept.map((item) => item.time.toISOString().slice(0, 16)).sort();
}

const day = (d: number, hour = '02') => `2026-01-${String(d).padStart(2, '0')}T${hour}:00:00Z`;

describe('applyRetention over a simulated month', () => {
  // January 2026: one backup a day at 02:00, two more at 14:00 on the 29th-31st. Jan 31 is a Saturday:
  // ISO weeks W05 = Jan 26-Feb 1, W04 = Jan 19-25, W03 = Jan 12-18.
  const month = [...Array.from({ length: 31 }, (_, i) => day(i + 1)), day(29, '14'), day(30, '14'), day(31, '14')].sort();

  it.each([
    {
      policy: { last: 2, daily: 5, weekly: 3, monthly: 2 },
      // last 2: 31@14, 31@02; daily 5: 31@14 30@14 29@14 28 27; weekly: 31@14 (W05) 25 (W04) 18 (W03); monthly: 31@14
      kept: ['01-18T02', '01-25T02', '01-27T02', '01-28T02', '01-29T14', '01-30T14', '01-31T02', '01-31T14'],
    },
    { policy: { last: 1, daily: 0, weekly: 0, monthly: 0 }, kept: ['01-31T14'] },
    { policy: { last: 3, daily: 0, weekly: 0, monthly: 0 }, kept: ['01-30T14', '01-31T02', '01-31T14'] },
    { policy: { last: 1, daily: 3, weekly: 0, monthly: 0 }, kept: ['01-29T14', '01-30T14', '01-31T14'] },
    // Weekly 6 reaches back to W01 (Dec 29-Jan 4): its newest is Jan 4 (a Sunday).
    { policy: { last: 1, daily: 0, weekly: 6, monthly: 0 }, kept: ['01-04T02', '01-11T02', '01-18T02', '01-25T02', '01-31T14'] },
  ])('keeps exactly $kept.length with $policy', ({ policy, kept }) => {
    expect(simulate(month, policy)).toEqual(kept.map((k) => `2026-${k.replace('T', 'T')}:00`));
  });

  it('monthly keeps the newest of each month across a year end; one-shot equals pruning as you go', () => {
    const times: string[] = [];
    for (let t = Date.parse('2025-11-15T03:00:00Z'); t <= Date.parse('2026-01-20T03:00:00Z'); t += 86_400_000) times.push(new Date(t).toISOString());
    const policy = { last: 1, daily: 0, weekly: 0, monthly: 3 };
    expect(simulate(times, policy)).toEqual(['2025-11-30T03:00', '2025-12-31T03:00', '2026-01-20T03:00']);
    const oneShot = applyRetention(times.map((t) => at(t)), policy, new Date('2026-01-20T03:00:00Z'));
    expect(oneShot.keep.map((k) => k.item.time.toISOString().slice(0, 16)).sort()).toEqual(simulate(times, policy));
    expect(oneShot.keep.find((k) => k.item.time.toISOString().startsWith('2026-01-20'))?.reasons).toEqual(['last', 'monthly']);
  });

  it('never prunes a backup from the future (clock skew)', () => {
    const decision = applyRetention([at('2026-01-01T00:00:00Z'), at('2026-01-05T00:00:00Z'), at('2026-01-03T00:00:00Z')], { last: 1, daily: 0, weekly: 0, monthly: 0 }, new Date('2026-01-02T00:00:00Z'));
    expect(decision.keep.map((k) => k.item.id)).toEqual([backupId(new Date('2026-01-05T00:00:00Z')), backupId(new Date('2026-01-03T00:00:00Z'))]);
    expect(decision.prune.map((p) => p.id)).toEqual([backupId(new Date('2026-01-01T00:00:00Z'))]);
  });
});

describe('backup planning', () => {
  it('a restore onto a removed Docker volume makes it again first (exact script)', () => {
    expect(createVolumeScript('app data')).toBe("docker volume inspect 'app data' >/dev/null 2>&1 || docker volume create 'app data' >/dev/null");
  });

  it('ids sort as time does and parse back; keys name host, volume, id', () => {
    const id = backupId(new Date('2026-03-04T05:06:07.089Z'));
    expect(id).toBe('20260304T050607.089Z');
    expect(parseBackupId(id)?.toISOString()).toBe('2026-03-04T05:06:07.089Z');
    // Only ids backupId gives: no month 13, no 30 February, no missing milliseconds.
    expect(['20261301T000000.000Z', '20260230T000000.000Z', '20260304T050607Z', `x${id}`].map(parseBackupId)).toEqual([undefined, undefined, undefined, undefined]);
    expect(backupKeys('pre/fix', 'web-1', 'data', id, 'dir', 'zstd')).toEqual({
      dataKey: `pre/fix/web-1/data/${id}/data.tar.zst`,
      manifestKey: `pre/fix/web-1/data/${id}/manifest.json`,
    });
    expect(backupKeys('p', 'db', 'app', id, 'postgres', 'none').dataKey).toBe(`p/db/app/${id}/data.pgdump`);
    expect(chooseCompression('auto', 'dir', true)).toBe('zstd');
    expect(chooseCompression('auto', 'volume', false)).toBe('gzip');
    expect(chooseCompression('zstd', 'postgres', true)).toBe('none');
    expect(chooseCompression('zstd', 'postgres', false)).toBe('none');
    expect(chooseCompression('zstd', 'dir', true)).toBe('zstd');
    expect(chooseCompression('gzip', 'dir', false)).toBe('gzip');
    expect(() => chooseCompression('zstd', 'volume', false)).toThrow(
      expect.objectContaining({ code: 'E_BACKUP_ZSTD', message: expect.stringContaining('the host has no zstd command: install zstd there, or set compression: auto') }),
    );
    expect(() => checkUnpacker('web-1/data', { id: 'X', compression: 'zstd' }, false)).toThrow(
      expect.objectContaining({ code: 'E_BACKUP_ZSTD', message: 'web-1/data: backup X is compressed with zstd, and the host has no zstd command: install zstd there to restore it; nothing was stopped' }),
    );
    for (const [compression, hostHasZstd] of [['zstd', true], ['gzip', false], ['none', false]] as const) {
      expect(() => checkUnpacker('web-1/data', { id: 'X', compression }, hostHasZstd)).not.toThrow();
    }
  });

  it('parses the inspect output, keeping only container ids', () => {
    const id = 'a'.repeat(64);
    expect(parseInspect(`compression=zstd\ncontainer=${id}\ncontainer=${id}\ncontainer=bad;rm\npath=/srv/data\n`)).toEqual({ zstd: true, path: '/srv/data', missing: false, mounted: false, containers: [id] });
    // A mount point (its own disk): a restore stages inside it.
    expect(parseInspect('compression=zstd\npath=/srv/data\nmounted=1\n')).toMatchObject({ path: '/srv/data', missing: false, mounted: true });
    // A path through a symlink: its real directory, what a restore swaps (the rest of the line, an absolute path).
    expect(parseInspect('path=/srv/data\nreal=/mnt/disk/my data \n').realPath).toBe('/mnt/disk/my data ');
    expect(parseInspect('path=/srv/data\nreal=\n').realPath).toBeUndefined();
    // A path and a mount's source are the rest of their line: blanks at the end are theirs.
    expect(parseInspect(`path=/srv/my data  \nmount=${id} /srv/my data  \nmount=${'b'.repeat(64)} /srv/my data\n`)).toMatchObject({ path: '/srv/my data  ', containers: [id] });
  });

  it("reads the Docker engine's JSON: labelled containers mounting inside the path or holding it, the listed ones; anything else fails", () => {
    const [inside, holding, outside, listed] = ['c', 'd', 'e', 'f'].map((digit) => digit.repeat(64)) as [string, string, string, string];
    const labelled = JSON.stringify([
      { Id: inside, Mounts: [{ Source: '/srv/data/sub/' }] },
      { Id: holding, Mounts: [{ Source: '/srv' }] },
      { Id: outside, Mounts: [{ Source: '/srv/data-other' }, { Source: '' }] },
      { Id: 'not-an-id', Mounts: [{ Source: '/srv/data' }] },
    ]);
    const output = `compression=zstd\npath=/srv/data\nlabelled-json=${labelled}\nlisted-json=${JSON.stringify([{ Id: listed, Mounts: null }, { Id: inside }])}\n`;
    expect(parseInspect(output)).toEqual({ zstd: true, path: '/srv/data', missing: false, mounted: false, containers: [inside, holding, listed], database: undefined });
    expect(() => parseInspect('path=/srv/data\nlabelled-json={"message":"page not found"}\n')).toThrow(/^the Docker engine's list of the labelled containers is not a list of containers: \{"message"/);
    expect(() => parseInspect(`path=/srv/data\nlisted-json=[{"Id":"${listed}","Mounts":[{"Target":"/x"}]}]\n`)).toThrow(/listed containers is not a list/);
  });

  it("a restore's inspect: every running container that mounts the data or a part of it is stopped too, one mounting a folder that holds it is not", () => {
    const [volume, part, root, parent, other] = ['1', '2', '3', '4', '5'].map((digit) => digit.repeat(64)) as [string, string, string, string, string];
    const data = '/var/lib/docker/volumes/appv/_data';
    const running = JSON.stringify([
      { Id: volume, Mounts: [{ Source: `${data}` }] },
      { Id: part, Mounts: [{ Source: '/etc/x' }, { Source: `${data}/conf/` }] },
      // A node exporter's `/:/host:ro`, a log shipper's parent folder: no use of the data itself.
      { Id: root, Mounts: [{ Source: '/' }] },
      { Id: parent, Mounts: [{ Source: '/var/lib/docker/volumes' }] },
      { Id: other, Mounts: [{ Source: `${data}-old` }] },
    ]);
    expect(parseInspect(`compression=zstd\npath=${data}\nlabelled-json=[]\nusing-json=${running}\n`).containers).toEqual([volume, part]);
    // The docker CLI's lines, read alike; a labelled container still stops when it holds the data.
    const lines = [`path=${data}`, `mount=${parent} /var/lib/docker/volumes`, `using=${parent} /var/lib/docker/volumes`, `using=${root} /`, `using=${volume} ${data}`, `using=${other} ${data}-old`, ''];
    expect(parseInspect(lines.join('\n')).containers).toEqual([parent, volume]);
    // An engine that answers the list with something else fails the inspect: nothing is stopped or swapped.
    expect(() => parseInspect(`path=${data}\nlabelled-json=[]\nusing-json=\n`)).toThrow(/running containers is not a list of containers/);
  });

  it("reads the docker CLI's mount lines as it reads the engine's JSON: one containment rule for both", () => {
    const [inside, holding, outside, listed] = ['c', 'd', 'e', 'f'].map((digit) => digit.repeat(64)) as [string, string, string, string];
    const output = [
      'compression=gzip',
      'path=/srv/data',
      `mount=${outside} /srv/data-other`,
      `mount=${inside} /srv/other`,
      `mount=${inside} /srv/data/sub dir/`,
      `mount=${holding} /srv`,
      `mount=${outside} `,
      'mount=$(reboot) /srv/data',
      `container=${listed}`,
      `container=${inside}`,
      '',
    ].join('\n');
    expect(parseInspect(output)).toEqual({ zstd: false, path: '/srv/data', missing: false, mounted: false, containers: [inside, holding, listed], database: undefined });
    // Backing up / holds every mount; a container with none holds nothing.
    expect(parseInspect(`path=/\nmount=${outside} /var/lib/x\n`).containers).toEqual([outside]);
    expect(parseInspect(`path=/srv/data\nmount=${outside}\n`).containers).toEqual([]);
    // A bind-mounted volume: its data lives at the device, its containers mount the Mountpoint.
    const bound = parseInspect(`volume-dir=/var/lib/docker/volumes/app/_data\npath=/srv/app\nmount=${inside} /var/lib/docker/volumes/app/_data\nmount=${holding} /srv/app/cache\nmount=${outside} /var/lib/docker/volumes/other/_data\n`);
    expect(bound).toMatchObject({ path: '/srv/app', volumeDir: '/var/lib/docker/volumes/app/_data', containers: [inside, holding] });
    expect(bound.unreachable).toBeUndefined();
    expect(parseInspect('path=/var/lib/docker/volumes/n/_data\nunreachable=its driver is rexray\n').unreachable).toBe('its driver is rexray');
    // A volume that does not exist: the names holding its name (no shell text gets through).
    expect(parseInspect('path=/var/lib/docker/volumes/app/_data\nmissing=1\nsimilar=proj_app\nsimilar=$(reboot)\nsimilar=app-old\n')).toMatchObject({ missing: true, similar: ['proj_app', 'app-old'] });
  });

  it('inspects the mounts of all labelled containers in one docker call, the listed ones in another; a dump stops only listed containers', () => {
    const volume = inspectScript({ name: 'grafana', hosts: 'all', stop: ['app', 'worker'], kind: 'volume', volume: 'grafana-data' });
    // Where the CLI would use the engine's default socket (or DOCKER_HOST's unix socket), curl asks its API.
    // The directory's real path (symlinks resolved), and whether that is a mount point.
    const mountPoint = [
      'if [ -d "$p" ] && hy_real=$(readlink -f -- "$p") && [ -n "$hy_real" ]; then',
      `  printf 'real=%s\\n' "$hy_real"`,
      '  if { if command -v mountpoint >/dev/null 2>&1; then mountpoint -q "$hy_real"; else [ "$(stat -c %d "$hy_real")" != "$(stat -c %d "$hy_real/..")" ]; fi; }; then echo mounted=1; fi',
      'fi',
    ];
    // A volume's directory from the docker CLI, where Docker mounts it only while a container uses it.
    const where = [
      "hy_nl='",
      "'",
      'hy_where() {',
      `  hy_w=$(docker volume inspect -f '{{.Mountpoint}}{{"\\n"}}{{if ne .Driver "local"}}driver {{.Driver}}{{else if index .Options "device"}}{{index .Options "type"}}|{{index .Options "o"}}|{{index .Options "device"}}{{end}}' "$1" 2>/dev/null) || return 1`,
      '  p=${hy_w%%"$hy_nl"*} hy_how=${hy_w#*"$hy_nl"}',
      '  [ "$hy_how" != "$hy_w" ] || hy_how=',
      '  case $hy_how in',
      "    '') ;;",
      `    'driver '*) printf 'unreachable=its driver is %s\\n' "\${hy_how#driver }" ;;`,
      '    *) hy_type=${hy_how%%|*}; hy_how=${hy_how#*|}; hy_o=${hy_how%%|*}; hy_dev=${hy_how#*|}',
      '      case ,$hy_o, in',
      `        *,bind,*|*,rbind,*) printf 'volume-dir=%s\\n' "$p"; p=$hy_dev ;;`,
      `        *) printf 'unreachable=Docker mounts it (type %s, options %s) from %s only while a container uses it\\n' "$hy_type" "$hy_o" "$hy_dev" ;;`,
      '      esac ;;',
      '  esac',
      '}',
    ];
    expect(volume.split('\n').slice(1, 17)).toEqual(where);
    expect(volume.split('\n').slice(17, 36)).toEqual([
      'hy_sock=/var/run/docker.sock',
      'case ${DOCKER_HOST:-} in unix://*) hy_sock=${DOCKER_HOST#unix://} ;; ?*) hy_sock= ;; esac',
      'hy_api() { curl -sf --unix-socket "$hy_sock" -G "http://docker$1" ${2:+--data-urlencode "$2"}; }',
      `if [ -n "$hy_sock" ] && [ -S "$hy_sock" ] && [ -z "\${DOCKER_CONTEXT:-}" ] && [ ! -d "\${DOCKER_CONFIG:-$HOME/.docker}/contexts" ] && command -v curl >/dev/null 2>&1 && hy_ps=$(hy_api /containers/json 'filters={"label":["halyard.backup.stop=true"]}'); then`,
      '  p= hy_vol=$(hy_api /volumes/grafana-data) || hy_vol=',
      `  case $hy_vol in *'"Mountpoint":'*'"Mountpoint":'*) ;; *'"Mountpoint":"/'*) p=\${hy_vol#*'"Mountpoint":"'}; p=\${p%%'"'*} ;; esac`,
      '  case $p in *\\\\*) p= ;; esac',
      `  case $hy_vol in '') ;; *'"device"'*) p= ;; *'"Driver":"local"'*) ;; *) p= ;; esac`,
      '  [ -n "$p" ] || hy_where grafana-data || p=/var/lib/docker/volumes/grafana-data/_data',
      "  printf 'path=%s\\n' \"$p\"",
      `  [ -d "$p" ] || { echo missing=1; docker volume ls -q --filter 'name=grafana-data' 2>/dev/null | sed 's/^/similar=/'; }`,
      ...mountPoint,
      "  printf 'labelled-json=%s\\n' \"$hy_ps\"",
      `  hy_named=$(hy_api /containers/json 'filters={"name":["^/app$","^/worker$"]}') && printf 'listed-json=%s\\n' "$hy_named"`,
      'else',
      'hy_ps= hy_named=',
    ]);
    // Elsewhere the labelled and the listed containers are asked for in the background while the
    // volume's directory is; each answer ends with its status, or it was lost (a full /tmp).
    expect(volume.split('\n').slice(35, 51)).toEqual([
      'hy_ps= hy_named=',
      'if command -v docker >/dev/null 2>&1; then',
      '  hy_ps=$(mktemp) || exit 1',
      '  { docker ps -q --no-trunc --filter label=halyard.backup.stop=true 2>/dev/null; echo "hy-end $?"; } >"$hy_ps" &',
      '  hy_ps_pid=$!',
      '  hy_named=$(mktemp) || exit 1',
      `  { docker ps -q --no-trunc --filter 'name=^/app$' --filter 'name=^/worker$' 2>/dev/null; echo "hy-end $?"; } >"$hy_named" &`,
      '  hy_named_pid=$!',
      'fi',
      'hy_where grafana-data || p=/var/lib/docker/volumes/grafana-data/_data',
      "printf 'path=%s\\n' \"$p\"",
      `[ -d "$p" ] || { echo missing=1; docker volume ls -q --filter 'name=grafana-data' 2>/dev/null | sed 's/^/similar=/'; }`,
      ...mountPoint,
    ]);
    expect(volume.split('\n').slice(51)).toEqual([
      'if [ -n "$hy_ps" ]; then',
      '  wait "$hy_ps_pid"',
      '  case $(tail -n 1 "$hy_ps") in',
      "    'hy-end 0')",
      "      set -- $(sed '$d' \"$hy_ps\")",
      '      if [ "$#" -gt 0 ]; then',
      `        docker inspect -f '{{range .Mounts}}mount={{$.Id}} {{.Source}}{{"\\n"}}{{end}}' "$@" 2>/dev/null`,
      '      fi',
      '      wait "$hy_named_pid"',
      '      case $(tail -n 1 "$hy_named") in',
      `        'hy-end 0') sed -e '$d' -e 's/^/container=/' "$hy_named" ;;`,
      "        'hy-end '*) ;;",
      '        *) echo answer-lost=1 ;;',
      '      esac',
      '      ;;',
      "    'hy-end '*) ;;",
      '    *) echo answer-lost=1 ;;',
      '  esac',
      '  rm -f "$hy_ps" ${hy_named:+"$hy_named"}',
      'fi',
      'fi',
    ]);
    expect(volume).not.toContain('docker info');
    // A restore makes a missing volume: it asks for no similar names.
    expect(inspectScript({ name: 'grafana', hosts: 'all', stop: [], kind: 'volume', volume: 'grafana-data' }, 'restore')).not.toContain('similar=');
    // Nothing listed: no second docker ps.
    const unlisted = inspectScript({ name: 'grafana', hosts: 'all', stop: [], kind: 'volume', volume: 'grafana-data' });
    expect(unlisted).not.toContain('hy_named=$(mktemp)');
    expect(unlisted).not.toContain('listed-json');
    // A directory's path is the file's: no volume asked for.
    expect(inspectScript({ name: 'data', hosts: 'all', stop: [], kind: 'dir', path: '/srv/data/' }).split('\n')).toContain("  p=/srv/data");
    // With a container, it is looked up first (by name, then as a Compose service): none, no database line.
    const inContainer = inspectScript({ name: 'db', hosts: 'all', stop: ['app'], kind: 'postgres', database: 'app', user: 'postgres', container: 'pg' });
    expect(inContainer.split('\n').slice(1)).toEqual([
      "if command -v docker >/dev/null 2>&1 && hy_db=$(docker ps -q --filter 'name=^/pg$'); then",
      "  [ -n \"$hy_db\" ] || hy_db=$(docker ps -q --filter 'label=com.docker.compose.service=pg')",
      '  set -- $hy_db',
      '  [ -z "${1:-}" ] || echo "database=$1"',
      "  docker ps -q --no-trunc --filter 'name=^/app$' | sed 's/^/container=/'",
      '  :',
      'fi',
    ]);
    expect(parseInspect(`compression=gzip\ndatabase=${'a'.repeat(12)}\n`).database).toBe('a'.repeat(12));
    expect(parseInspect('compression=gzip\ndatabase=$(reboot)\n').database).toBeUndefined();
    const dump = inspectScript({ name: 'db', hosts: 'all', stop: ['app'], kind: 'postgres', database: 'app', user: 'postgres' });
    expect(dump).not.toContain('label=halyard.backup.stop');
    expect(dump.split('\n').slice(1)).toEqual([
      'if command -v docker >/dev/null 2>&1 && docker ps -q >/dev/null 2>&1; then',
      "  docker ps -q --no-trunc --filter 'name=^/app$' | sed 's/^/container=/'",
      '  :',
      'fi',
    ]);
  });

  it('validates the backup file with one precise line', () => {
    const ok = parseBackupConfig('inventory: inv.yml\nbucket: my-backups\nvolumes:\n  - { name: data, kind: dir, path: /srv/data }\n', '/etc/halyard/backup.yml');
    expect(ok).toMatchObject({ inventory: '/etc/halyard/inv.yml', prefix: 'halyard-backups', compression: 'auto', retention: { last: 3, daily: 7, weekly: 4, monthly: 6 } });
    expect(ok.volumes[0]).toMatchObject({ hosts: 'all', stop: [] });
    expect(() => parseBackupConfig('inventory: i\nbucket: b-b\nvolumes:\n  - { name: d, kind: dir, path: relative }\n', 'f.yml')).toThrow(/f\.yml: volumes\.0\.path: must be an absolute path/);
    for (const root of ['/', '//', '/./', '/srv/..', '/srv/../']) {
      expect(() => parseBackupConfig(`inventory: i\nbucket: b-b\nvolumes:\n  - { name: d, kind: dir, path: ${JSON.stringify(root)} }\n`, 'f.yml')).toThrow(/f\.yml: volumes\.0\.path: must not be \/ /);
    }
    expect(parseBackupConfig('inventory: i\nbucket: b-b\nvolumes:\n  - { name: d, kind: dir, path: /srv/../data/ }\n', 'f.yml').volumes[0]).toMatchObject({ path: '/srv/../data/' });
    expect(() => parseBackupConfig('inventory: i\nbucket: bb-b\nvolumes:\n  - { name: d, kind: tape }\n', 'f.yml')).toThrow(/volumes\.0\.kind/);
    expect(() => parseBackupConfig('inventory: i\nbucket: bb-b\nretention: { last: 0 }\nvolumes:\n  - { name: d, kind: volume, volume: v }\n', 'f.yml')).toThrow(/retention\.last/);
    expect(() => parseBackupConfig('inventory: i\nbucket: bb-b\nvolumes:\n  - { name: d, kind: volume, volume: v }\n  - { name: d, kind: dir, path: /x }\n', 'f.yml')).toThrow(/used twice/);
    expect(ok.orphan_grace_hours).toBe(24);
    expect(parseBackupConfig('inventory: i\nbucket: bb-b\norphan_grace_hours: 72\nvolumes:\n  - { name: d, kind: volume, volume: v }\n', 'f.yml').orphan_grace_hours).toBe(72);
    expect(() => parseBackupConfig('inventory: i\nbucket: bb-b\norphan_grace_hours: 0.5\nvolumes:\n  - { name: d, kind: volume, volume: v }\n', 'f.yml')).toThrow(/f\.yml: orphan_grace_hours: must be at least 1/);
    expect(() => parseBackupConfig('inventory: i\nbucket: bb-b\norphan_grace_hours: soon\nvolumes:\n  - { name: d, kind: volume, volume: v }\n', 'f.yml')).toThrow(/orphan_grace_hours/);
  });
});

// The orphan sweep's decision: a pure function of the listing, the clock and the grace period.
describe('findOrphans', () => {
  const HOUR = 3_600_000;
  const now = new Date('2026-06-10T12:00:00.000Z');
  const vol = 'hb/web-1/data/';
  const id = (iso: string) => backupId(new Date(iso));
  const old = id('2026-06-08T02:00:00.000Z'); // 58 h before now
  const older = id('2026-05-01T02:00:00.000Z');
  const fresh = id('2026-06-10T02:00:00.000Z'); // 10 h before now
  const edge = id('2026-06-09T12:00:00.000Z'); // exactly 24 h before now
  const justPast = id('2026-06-09T11:59:59.999Z');
  const future = id('2026-06-11T00:00:00.000Z');
  const upload = (key: string, initiated: string, uploadId = `u-${key.length}-${initiated}`): PendingUpload => ({ key, uploadId, initiated: new Date(initiated) });

  it('names exactly the data file names halyard writes', () => {
    expect([...DATA_FILE_NAMES].sort()).toEqual(['data.pgdump', 'data.tar', 'data.tar.gz', 'data.tar.zst']);
  });

  it.each([
    { what: 'old data without a manifest', keys: [`${vol}${old}/data.tar.zst`], orphans: [`${vol}${old}/data.tar.zst`] },
    { what: 'every data name, several folders', keys: [`${vol}${older}/data.pgdump`, `${vol}${old}/data.tar`, `${vol}${old}/data.tar.gz`], orphans: [`${vol}${older}/data.pgdump`, `${vol}${old}/data.tar`, `${vol}${old}/data.tar.gz`] },
    { what: 'a backup (manifest present)', keys: [`${vol}${old}/data.tar.zst`, `${vol}${old}/manifest.json`], orphans: [] },
    { what: 'a manifest next to other data of the same id', keys: [`${vol}${old}/data.tar.gz`, `${vol}${old}/data.tar.zst`, `${vol}${old}/manifest.json`], orphans: [] },
    { what: 'inside the grace period', keys: [`${vol}${fresh}/data.tar.zst`], orphans: [] },
    { what: 'exactly the grace period old', keys: [`${vol}${edge}/data.tar.zst`], orphans: [] },
    { what: 'one millisecond past the grace period', keys: [`${vol}${justPast}/data.tar.zst`], orphans: [`${vol}${justPast}/data.tar.zst`] },
    { what: 'an id from the future', keys: [`${vol}${future}/data.tar.zst`], orphans: [] },
    { what: 'names halyard does not write', keys: [`${vol}${old}/data.tar.xz`, `${vol}${old}/notes.txt`, `${vol}${old}/Data.tar`, `${vol}${old}/data.tar.zst.tmp`], orphans: [] },
    { what: 'deeper paths and the volume folder itself', keys: [`${vol}${old}/sub/data.tar`, `${vol}data.tar`, `${vol}${old}/`], orphans: [] },
    { what: 'ids that are not backup ids', keys: [`${vol}2026-06-08/data.tar`, `${vol}20261301T000000.000Z/data.tar`, `${vol}latest/data.tar.gz`], orphans: [] },
    { what: 'other prefixes: other volume, other host, outside', keys: [`hb/web-1/data2/${old}/data.tar`, `hb/web-2/data/${old}/data.tar`, `other/web-1/data/${old}/data.tar`, `x${vol}${old}/data.tar`], orphans: [] },
  ])('objects: $what', ({ keys, orphans }) => {
    expect(findOrphans(vol, keys, [], now, 24 * HOUR)).toEqual({ objects: orphans, uploads: [] });
  });

  it.each([
    { what: 'begun before the grace period', uploads: [upload(`${vol}${old}/data.tar.zst`, '2026-06-08T02:00:01Z')], stale: [0] },
    { what: 'begun inside it (a backup still writing)', uploads: [upload(`${vol}${old}/data.tar.zst`, '2026-06-10T11:00:00Z')], stale: [] },
    { what: 'begun exactly the grace period ago', uploads: [upload(`${vol}${old}/data.tar.zst`, '2026-06-09T12:00:00Z')], stale: [] },
    { what: 'two uploads of one key: the old one only', uploads: [upload(`${vol}${old}/data.tar`, '2026-06-08T02:00:00Z', 'a'), upload(`${vol}${old}/data.tar`, '2026-06-10T11:59:00Z', 'b')], stale: [0] },
    { what: 'keys halyard does not write, other prefixes', uploads: [upload(`${vol}${old}/big.iso`, '2026-01-01T00:00:00Z'), upload(`${vol}${old}/x/data.tar`, '2026-01-01T00:00:00Z'), upload(`hb/web-1/other/${old}/data.tar`, '2026-01-01T00:00:00Z')], stale: [] },
  ])('uploads: $what', ({ uploads, stale }) => {
    expect(findOrphans(vol, [], uploads, now, 24 * HOUR)).toEqual({ objects: [], uploads: stale.map((i) => uploads[i]) });
  });

  it('an upload of a folder that has a manifest is still incomplete; the grace period is a parameter', () => {
    const key = `${vol}${old}/data.tar.zst`;
    const decision = findOrphans(vol, [key, `${vol}${old}/manifest.json`], [upload(key, '2026-06-08T02:00:00Z')], now, 24 * HOUR);
    expect(decision).toEqual({ objects: [], uploads: [upload(key, '2026-06-08T02:00:00Z')] });
    expect(findOrphans(vol, [key], [], now, 72 * HOUR).objects).toEqual([]);
    expect(findOrphans(vol, [`${vol}${fresh}/data.tar.gz`], [], now, 1 * HOUR).objects).toEqual([`${vol}${fresh}/data.tar.gz`]);
  });
});

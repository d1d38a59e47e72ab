import { formatBytes } from '../core/bytes.js';
import { HalyardError } from '../core/errors.js';
import { sh, type ShellScript } from '../core/shell.js';
import { CLEAR_UNDO, INSIDE_NAMES, INSIDE_SWAP_UNDO, recordUndo } from '../engine/guard.js';
import type { RetentionPolicy, VolumeSpec } from './config.js';

// Pure planning of backups: object keys, manifests, the remote scripts (no I/O here), retention.
// Every script is fixed text that travels in argv (`sh -c`): paths and names only, never secrets.

export type Compression = 'zstd' | 'gzip' | 'none';
export type VolumeKind = VolumeSpec['kind'];

/** Label that marks a container to be stopped while its data is copied or restored. */
export const STOP_LABEL = 'halyard.backup.stop';
/** Written into every manifest; prune deletes only what carries it. */
export const MANIFEST_TOOL = 'halyard';
export const MANIFEST_NAME = 'manifest.json';

/** The record written last: without it, a backup does not exist. */
export interface BackupManifest {
  tool: typeof MANIFEST_TOOL;
  version: string;
  host: string;
  volume: string;
  kind: VolumeKind;
  /** What was copied: the directory, the volume's mount point, or `postgres:<db>`. */
  source: string;
  /** Key of the data object. */
  dataKey: string;
  /** Bytes of the data object (compressed stream as stored). */
  size: number;
  /** sha256 (hex) of the data object. */
  sha256: string;
  compression: Compression;
  startedAt: string;
  endedAt: string;
  /** The backup's id: its timestamp segment in the keys. */
  id: string;
  /** Files tar saw change, shrink or go while it read them (the directory was being written); absent when none did. */
  changedWhileRead?: number;
}

// `backup list`'s line: tab-separated columns a script can cut, the last one only when tar saw
// files change (so a copy that may hold torn files is told apart without --json).
export function listLine(manifest: BackupManifest): string {
  const columns = [manifest.host, manifest.volume, manifest.id, manifest.kind, formatBytes(manifest.size), manifest.compression, manifest.sha256.slice(0, 12)];
  if (manifest.changedWhileRead) columns.push(`${manifest.changedWhileRead} changed while read`);
  return columns.join('\t');
}

/** `2026-11-25T12:20:00.123Z` → `20261125T122000.123Z` (sorts as time does). */
export function backupId(date: Date): string {
  return date.toISOString().replace(/[-:]/g, '');
}

/** The time of a backup id; undefined unless `backupId` of that time gives the id back (no month 13). */
export function parseBackupId(id: string): Date | undefined {
  const match = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})\.(\d{3})Z$/.exec(id);
  if (!match) return undefined;
  const [, y, mo, d, h, mi, s, ms] = match;
  const date = new Date(`${y}-${mo}-${d}T${h}:${mi}:${s}.${ms}Z`);
  return Number.isNaN(date.getTime()) || backupId(date) !== id ? undefined : date;
}

export function volumePrefix(prefix: string, host: string, volume: string): string {
  return `${prefix}/${host}/${volume}/`;
}

export function backupKeys(prefix: string, host: string, volume: string, id: string, kind: VolumeKind, compression: Compression): { dataKey: string; manifestKey: string } {
  const base = `${volumePrefix(prefix, host, volume)}${id}/`;
  return { dataKey: `${base}${dataFileName(kind, compression)}`, manifestKey: `${base}${MANIFEST_NAME}` };
}

export function dataFileName(kind: VolumeKind, compression: Compression): string {
  if (kind === 'postgres') return 'data.pgdump';
  return `data.tar${compression === 'zstd' ? '.zst' : compression === 'gzip' ? '.gz' : ''}`;
}

/** Every name `dataFileName` gives: the only data objects the orphan sweep may delete. */
export const DATA_FILE_NAMES: ReadonlySet<string> = new Set(
  (['dir', 'volume', 'postgres'] as const).flatMap((kind) => (['zstd', 'gzip', 'none'] as const).map((compression) => dataFileName(kind, compression))),
);

/** Parses and checks a manifest object's text; undefined when it is not one of halyard's. */
export function parseManifest(text: string): BackupManifest | undefined {
  try {
    const value = JSON.parse(text) as Partial<BackupManifest>;
    if (value.tool !== MANIFEST_TOOL || typeof value.dataKey !== 'string' || typeof value.sha256 !== 'string' || typeof value.id !== 'string') return undefined;
    return value as BackupManifest;
  } catch {
    return undefined;
  }
}

// --- remote scripts ------------------------------------------------------------------------------

/** The Docker volume's directory when the engine cannot be asked (default data-root). */
export function defaultVolumePath(volume: string): string {
  return `/var/lib/docker/volumes/${volume}/_data`;
}

/**
 * Inspect (changes nothing): prints `compression=...`, `path=...` (dir and volume kinds), the
 * containers listed in the config and those labelled halyard.backup.stop=true with their mounts:
 * as the engine's JSON (`labelled-json=`, `listed-json=`) where curl can ask it, else from the
 * docker CLI (`mount=ID SOURCE` per mount of a labelled container, `container=ID` per listed one).
 * parseInspect decides which labelled ones to stop (a mount whose source is inside the directory,
 * or holds it). A Postgres dump is consistent while the database runs: only listed containers are
 * stopped for it.
 */
export function inspectScript(spec: VolumeSpec, purpose: 'backup' | 'restore' = 'backup'): string {
  // A restore asks for every running container (the labelled ones among them by their label): it
  // stops also those that only use the data (parseInspect). One list either way: a second call of
  // the engine's API cost a restore about 30 ms on a lab host.
  const restore = purpose === 'restore';
  const containersQuery = restore ? sh`hy_api /containers/json` : sh`hy_api /containers/json ${`filters={"label":["${STOP_LABEL}=true"]}`}`;
  const lines: ShellScript[] = [sh`if command -v zstd >/dev/null 2>&1; then echo compression=zstd; else echo compression=gzip; fi`];
  // The listed containers, all in one `docker ps` (filters on names are alternatives): each docker
  // CLI call costs 70-90 ms on a lab host, whatever it asks.
  const listed = spec.stop.length > 0 ? sh`docker ps -q --no-trunc ${sh.join(spec.stop.map((name) => sh`--filter ${`name=^/${name}$`}`), sh` `)}` : undefined;
  if (spec.kind === 'postgres' && spec.container) {
    // A Postgres dump is consistent while the database runs: only listed containers are stopped.
    // The database's own container is looked up first (containerFilters, as the stream does), so a
    // missing one fails the backup or restore before anything is stopped.
    const [byName, byService] = containerFilters(spec.container);
    lines.push(
      sh`if command -v docker >/dev/null 2>&1 && hy_db=$(docker ps -q --filter ${byName}); then`,
      sh`  [ -n "$hy_db" ] || hy_db=$(docker ps -q --filter ${byService})`,
      sh`  set -- $hy_db`,
      sh`  [ -z "\${1:-}" ] || echo "database=$1"`,
      ...(listed ? [sh`  ${listed} | sed 's/^/container=/'`] : []),
      sh`  :`,
      sh`fi`,
    );
    return sh.lines(lines).text;
  }
  if (spec.kind === 'postgres') {
    // A Postgres dump is consistent while the database runs: only listed containers are stopped.
    lines.push(sh`if command -v docker >/dev/null 2>&1 && docker ps -q >/dev/null 2>&1; then`, ...(listed ? [sh`  ${listed} | sed 's/^/container=/'`] : []), sh`  :`, sh`fi`);
    return sh.lines(lines).text;
  }
  const defaultPath = spec.kind === 'dir' ? withoutTrailingSlashes(spec.path) : defaultVolumePath(spec.volume);
  // A volume to back up that does not exist: the volumes whose names hold its name come back as
  // `similar=` (Compose names a project's volumes PROJECT_NAME), for the error to name them.
  const missingCheck =
    spec.kind === 'volume' && !restore
      ? sh`[ -d "$p" ] || { echo missing=1; docker volume ls -q --filter ${`name=${spec.volume}`} 2>/dev/null | sed 's/^/similar=/'; }`
      : sh`[ -d "$p" ] || echo missing=1`;
  // Where the docker CLI would talk to the engine's default socket, curl asks the engine's API there
  // (a docker CLI call is 70-90 ms of the Go binary's start-up on a lab host, the two of this
  // inspect 117-126 ms side by side; curl's 52-60 ms): the labelled containers with their mounts
  // and the listed ones come back as JSON, which parseInspect reads. The volume's directory is
  // taken from its JSON only when "Mountpoint" appears once, as an absolute path without escapes.
  if (spec.kind === 'volume') lines.push(VOLUME_WHERE);
  lines.push(
    sh`hy_sock=/var/run/docker.sock`,
    sh`case \${DOCKER_HOST:-} in unix://*) hy_sock=\${DOCKER_HOST#unix://} ;; ?*) hy_sock= ;; esac`,
    sh`hy_api() { curl -sf --unix-socket "$hy_sock" -G "http://docker$1" \${2:+--data-urlencode "$2"}; }`,
    sh`if [ -n "$hy_sock" ] && [ -S "$hy_sock" ] && [ -z "\${DOCKER_CONTEXT:-}" ] && [ ! -d "\${DOCKER_CONFIG:-$HOME/.docker}/contexts" ] && command -v curl >/dev/null 2>&1 && hy_ps=$(${containersQuery}); then`,
    ...(spec.kind === 'dir'
      ? [sh`  p=${defaultPath}`]
      : [
          sh`  p= hy_vol=$(hy_api ${`/volumes/${spec.volume}`}) || hy_vol=`,
          sh`  case $hy_vol in *'"Mountpoint":'*'"Mountpoint":'*) ;; *'"Mountpoint":"/'*) p=\${hy_vol#*'"Mountpoint":"'}; p=\${p%%'"'*} ;; esac`,
          sh`  case $p in *\\\\*) p= ;; esac`,
          // Mount options, or a driver of its own: the JSON's Mountpoint may not be where the data lives.
          sh`  case $hy_vol in '') ;; *'"device"'*) p= ;; *'"Driver":"local"'*) ;; *) p= ;; esac`,
          sh`  [ -n "$p" ] || hy_where ${spec.volume} || p=${defaultPath}`,
        ]),
    sh`  printf 'path=%s\\n' "$p"`,
    sh`  ${missingCheck}`,
    MOUNT_POINT_CHECK,
    restore ? sh`  printf 'using-json=%s\\n' "$hy_ps"` : sh`  printf 'labelled-json=%s\\n' "$hy_ps"`,
    ...(spec.stop.length > 0
      ? [sh`  hy_named=$(hy_api /containers/json ${`filters={"name":[${spec.stop.map((name) => JSON.stringify(`^/${name}$`)).join(',')}]}`}) && printf 'listed-json=%s\\n' "$hy_named"`]
      : []),
    sh`else`,
  );
  // Elsewhere the docker CLI: the labelled and the listed containers are asked for while the
  // volume's directory is looked up (one after the other, three docker calls took 250 ms; side by
  // side, about one's time); the labelled ones' mounts then come from one `docker inspect` of them
  // all, however many there are. Each answer is kept in a temp file that ends with `hy-end STATUS`:
  // a file without that line lost its answer (a full /tmp), which prints `answer-lost=1` and fails
  // the inspect, where an empty list would have stopped nothing without a word.
  const kept = (file: string, then: ShellScript[], indent: string): ShellScript[] => [
    sh`${sh.trusted(indent)}case $(tail -n 1 "${sh.trusted(file)}") in`,
    ...then,
    sh`${sh.trusted(indent)}  'hy-end '*) ;;`,
    sh`${sh.trusted(indent)}  *) echo answer-lost=1 ;;`,
    sh`${sh.trusted(indent)}esac`,
  ];
  lines.push(
    sh`hy_ps= hy_named=`,
    sh`if command -v docker >/dev/null 2>&1; then`,
    sh`  hy_ps=$(mktemp) || exit 1`,
    restore ? sh`  { docker ps -q --no-trunc 2>/dev/null; echo "hy-end $?"; } >"$hy_ps" &` : sh`  { docker ps -q --no-trunc --filter label=${STOP_LABEL}=true 2>/dev/null; echo "hy-end $?"; } >"$hy_ps" &`,
    sh`  hy_ps_pid=$!`,
    ...(listed ? [sh`  hy_named=$(mktemp) || exit 1`, sh`  { ${listed} 2>/dev/null; echo "hy-end $?"; } >"$hy_named" &`, sh`  hy_named_pid=$!`] : []),
    sh`fi`,
    spec.kind === 'dir' ? sh`p=${defaultPath}` : sh`hy_where ${spec.volume} || p=${defaultPath}`,
    sh`printf 'path=%s\\n' "$p"`,
    missingCheck,
    MOUNT_POINT_CHECK,
    // `docker ps` both proves a daemon answers and lists the labelled containers (`docker info`
    // answered the first alone, in 150-220 ms of a backup's fixed cost on a lab host).
    sh`if [ -n "$hy_ps" ]; then`,
    sh`  wait "$hy_ps_pid"`,
    ...kept('$hy_ps', [
      sh`    'hy-end 0')`,
      sh`      set -- $(sed '$d' "$hy_ps")`,
      sh`      if [ "$#" -gt 0 ]; then`,
      // One `mount=ID SOURCE` line per mount of every labelled container; parseInspect picks those to stop.
      restore
        ? sh`        docker inspect -f '{{$l := index .Config.Labels "${sh.trusted(STOP_LABEL)}"}}{{range .Mounts}}{{if eq $l "true"}}mount{{else}}using{{end}}={{$.Id}} {{.Source}}{{"\\n"}}{{end}}' "$@" 2>/dev/null`
        : sh`        docker inspect -f '{{range .Mounts}}mount={{$.Id}} {{.Source}}{{"\\n"}}{{end}}' "$@" 2>/dev/null`,
      sh`      fi`,
      ...(listed ? [sh`      wait "$hy_named_pid"`, ...kept('$hy_named', [sh`        'hy-end 0') sed -e '$d' -e 's/^/container=/' "$hy_named" ;;`], '      ')] : []),
      sh`      ;;`,
    ], '  '),
    sh`  rm -f "$hy_ps" \${hy_named:+"$hy_named"}`,
    sh`fi`,
    sh`fi`,
  );
  return sh.lines(lines).text;
}

// `hy_where VOLUME` sets $p to the directory that holds a Docker volume's data, from one docker
// CLI call. A local volume with mount options is mounted on its Mountpoint only while a container
// uses it (stopping the container for the copy unmounted it, and tar read an empty directory): for
// a bind (`o: bind`) the data lives at its `device`, which is copied and restored instead, with
// `volume-dir=` naming the Mountpoint that containers mount; any other mount (nfs, tmpfs, a block
// device) or another driver prints `unreachable=` and the controller refuses it.
const VOLUME_WHERE = sh.lines([
  sh`hy_nl='`,
  sh`'`,
  sh`hy_where() {`,
  sh`  hy_w=$(docker volume inspect -f '{{.Mountpoint}}{{"\\n"}}{{if ne .Driver "local"}}driver {{.Driver}}{{else if index .Options "device"}}{{index .Options "type"}}|{{index .Options "o"}}|{{index .Options "device"}}{{end}}' "$1" 2>/dev/null) || return 1`,
  sh`  p=\${hy_w%%"$hy_nl"*} hy_how=\${hy_w#*"$hy_nl"}`,
  sh`  [ "$hy_how" != "$hy_w" ] || hy_how=`,
  sh`  case $hy_how in`,
  sh`    '') ;;`,
  sh`    'driver '*) printf 'unreachable=its driver is %s\\n' "\${hy_how#driver }" ;;`,
  sh`    *) hy_type=\${hy_how%%|*}; hy_how=\${hy_how#*|}; hy_o=\${hy_how%%|*}; hy_dev=\${hy_how#*|}`,
  sh`      case ,$hy_o, in`,
  sh`        *,bind,*|*,rbind,*) printf 'volume-dir=%s\\n' "$p"; p=$hy_dev ;;`,
  sh`        *) printf 'unreachable=Docker mounts it (type %s, options %s) from %s only while a container uses it\\n' "$hy_type" "$hy_o" "$hy_dev" ;;`,
  sh`      esac ;;`,
  sh`  esac`,
  sh`}`,
]);

// For an existing directory $p: `real=` its path with every symlink resolved (a restore swaps the
// real directory: renaming a symlink away and a directory into its place had moved the data onto
// the symlink's disk and left the real directory as it was), and `mounted=1` when that is a mount
// point (util-linux's mountpoint, which sees bind mounts too; else a device number other than its
// parent's): no rename can move it.
const MOUNT_POINT_CHECK = sh.lines([
  sh`if [ -d "$p" ] && hy_real=$(readlink -f -- "$p") && [ -n "$hy_real" ]; then`,
  sh`  printf 'real=%s\\n' "$hy_real"`,
  sh`  if { if command -v mountpoint >/dev/null 2>&1; then mountpoint -q "$hy_real"; else [ "$(stat -c %d "$hy_real")" != "$(stat -c %d "$hy_real/..")" ]; fi; }; then echo mounted=1; fi`,
  sh`fi`,
]);

/** Makes a Docker volume that does not exist (a restore onto a removed volume). */
export function createVolumeScript(volume: string): string {
  return sh`docker volume inspect ${volume} >/dev/null 2>&1 || docker volume create ${volume} >/dev/null`.text;
}

export interface InspectResult {
  zstd: boolean;
  path: string | undefined;
  missing: boolean;
  /** The directory is a mount point (its own disk, a bind-mounted volume): a restore stages inside it (restoreLayout). */
  mounted: boolean;
  /** The directory's path with its symlinks resolved (absent when it does not exist): what a restore swaps. */
  realPath?: string | undefined;
  /** A bind-mounted volume's Mountpoint, which its containers mount while `path` is where its data lives. */
  volumeDir?: string | undefined;
  /** Why the volume's data cannot be read on the host's disk (mounted by Docker only while a container uses it). */
  unreachable?: string | undefined;
  /** For a volume that does not exist: the host's volumes whose names hold its name. */
  similar?: string[] | undefined;
  /** A docker CLI answer kept in a temp file on the host came back without its end (a full /tmp): the container lists cannot be trusted. */
  answerLost?: boolean | undefined;
  containers: string[];
  /** The running container of a Postgres entry's `container` (found by name or Compose service). */
  database: string | undefined;
}

// A Docker volume's name as the engine allows it.
const VOLUME_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

// A container id as docker prints it (short or full): the only container text the inspect keeps.
const CONTAINER_ID = /^[0-9a-f]{12,64}$/;

export function parseInspect(stdout: string): InspectResult {
  const result: InspectResult = { zstd: false, path: undefined, missing: false, mounted: false, containers: [], database: undefined };
  const add = (id: string) => {
    if (CONTAINER_ID.test(id) && !result.containers.includes(id)) result.containers.push(id);
  };
  // Whichever way Docker answered (the engine's JSON, or the CLI's `mount=` and `container=` lines):
  // the labelled containers' mounts by id, and the listed containers' ids.
  const labelled = new Map<string, { Source: string }[]>();
  const addMounts = (id: string, mounts: { Source: string }[]) => labelled.set(id, [...(labelled.get(id) ?? []), ...mounts]);
  // A restore's: every running container with its mounts (the engine's JSON, or `using=ID SOURCE` lines).
  const using = new Map<string, { Source: string }[]>();
  const addUsing = (id: string, mounts: { Source: string }[]) => using.set(id, [...(using.get(id) ?? []), ...mounts]);
  const listed: string[] = [];
  for (const line of stdout.split('\n')) {
    const at = line.indexOf('=');
    if (at < 0) continue;
    const key = line.slice(0, at);
    // A path or a mount's source is the rest of its line as printed (blanks at its end are its own).
    const raw = line.slice(at + 1);
    const value = raw.trim();
    if (key === 'compression') result.zstd = value === 'zstd';
    else if (key === 'path') result.path = raw;
    else if (key === 'missing') result.missing = true;
    else if (key === 'mounted') result.mounted = true;
    else if (key === 'real' && raw.startsWith('/')) result.realPath = raw;
    else if (key === 'volume-dir' && raw.startsWith('/')) result.volumeDir = raw;
    else if (key === 'unreachable') result.unreachable = value;
    else if (key === 'similar' && VOLUME_NAME.test(value)) (result.similar ??= []).push(value);
    else if (key === 'answer-lost') result.answerLost = true;
    else if (key === 'container') listed.push(value);
    else if (key === 'mount') {
      const space = raw.indexOf(' ');
      addMounts(space < 0 ? value : raw.slice(0, space), [{ Source: space < 0 ? '' : raw.slice(space + 1) }]);
    } else if (key === 'database' && CONTAINER_ID.test(value)) result.database = value;
    else if (key === 'labelled-json') for (const container of engineContainers(value, 'labelled')) addMounts(container.Id, container.Mounts);
    else if (key === 'listed-json') listed.push(...engineContainers(value, 'listed').map((container) => container.Id));
    else if (key === 'using-json') {
      for (const container of engineContainers(value, 'running')) (container.Labels?.[STOP_LABEL] === 'true' ? addMounts : addUsing)(container.Id, container.Mounts);
    }
    else if (key === 'using') {
      const space = raw.indexOf(' ');
      addUsing(space < 0 ? value : raw.slice(0, space), [{ Source: space < 0 ? '' : raw.slice(space + 1) }]);
    }
  }
  // A labelled container is stopped when one of its mounts lies inside what is copied, or holds it
  // (a bind-mounted volume's containers mount its Mountpoint, not where its data lives).
  const dirs = [result.path, result.volumeDir].filter((dir): dir is string => dir !== undefined).map(withoutTrailingSlashes);
  for (const [id, mounts] of labelled) {
    const mounted = mounts.some(({ Source }) => {
      const source = Source.replace(/\/$/, '');
      return source !== '' && dirs.some((path) => `${source}/`.startsWith(`${path}/`) || `${path}/`.startsWith(`${source}/`));
    });
    if (mounted) add(id);
  }
  // For a restore, also every running container that mounts the data or a part of it: a directory
  // swapped from under one would leave it writing into the deleted data (a mount of a folder that
  // holds it, `/` for a node exporter, is no use of it).
  for (const [id, mounts] of using) {
    const mounted = mounts.some(({ Source }) => {
      const source = Source.replace(/\/$/, '');
      return source !== '' && dirs.some((path) => `${source}/`.startsWith(`${path}/`));
    });
    if (mounted) add(id);
  }
  for (const id of listed) add(id);
  return result;
}

// The part of a container in the Docker Engine API's list (GET /containers/json) that the inspect reads.
interface EngineContainer {
  Id: string;
  Labels?: Record<string, string> | null;
  Mounts: { Source: string }[];
}

// The engine's container list out of its JSON; anything else fails the inspect (a container to
// stop must never go unseen).
function engineContainers(text: string, which: string): EngineContainer[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    value = undefined;
  }
  const isContainer = (item: unknown): item is EngineContainer => {
    const candidate = item as Partial<EngineContainer> | null;
    return typeof candidate === 'object' && candidate !== null && typeof candidate.Id === 'string' && (candidate.Mounts === undefined || candidate.Mounts === null || (Array.isArray(candidate.Mounts) && candidate.Mounts.every((mount) => typeof mount === 'object' && mount !== null && typeof (mount as { Source?: unknown }).Source === 'string')));
  };
  if (!Array.isArray(value) || !value.every(isContainer)) {
    throw new HalyardError('E_BACKUP_INSPECT', `the Docker engine's list of the ${which} containers is not a list of containers: ${text.slice(0, 120)}`);
  }
  return value.map((item) => ({ Id: item.Id, Mounts: item.Mounts ?? [], Labels: typeof item.Labels === 'object' ? item.Labels : null }));
}

/** A new backup's compression: `auto` is zstd where the host has it, else gzip. zstd asked for on a
 * host without it fails here, after the inspect and before anything is stopped (the stream would
 * fail with "zstd: not found" once the containers were down). */
export function chooseCompression(wanted: 'auto' | Compression, kind: VolumeKind, hostHasZstd: boolean): Compression {
  if (kind === 'postgres') return 'none'; // pg_dump -Fc compresses already
  if (wanted === 'auto') return hostHasZstd ? 'zstd' : 'gzip';
  if (wanted === 'zstd' && !hostHasZstd) {
    throw new HalyardError('E_BACKUP_ZSTD', 'the file says compression: zstd, and the host has no zstd command: install zstd there, or set compression: auto (gzip where zstd is missing); nothing was stopped');
  }
  return wanted;
}

/** A restore's stream can be unpacked on the host: a zstd backup needs zstd there, which is checked
 * after the inspect and before anything is stopped or staged. */
export function checkUnpacker(where: string, manifest: Pick<BackupManifest, 'id' | 'compression'>, hostHasZstd: boolean): void {
  if (manifest.compression === 'zstd' && !hostHasZstd) {
    throw new HalyardError('E_BACKUP_ZSTD', `${where}: backup ${manifest.id} is compressed with zstd, and the host has no zstd command: install zstd there to restore it; nothing was stopped`);
  }
}

// A program of a stream's pipe: its command, and its name for messages.
interface PipeProgram {
  command: ShellScript;
  name: string;
}

function compressor(compression: Compression): PipeProgram {
  if (compression === 'zstd') return { command: sh`zstd -q -c -3 -T0`, name: 'zstd' };
  if (compression === 'gzip') return { command: sh`gzip -c -6`, name: 'gzip' };
  return { command: sh`cat`, name: 'cat' };
}

function decompressor(compression: Compression): PipeProgram {
  if (compression === 'zstd') return { command: sh`zstd -q -d -c`, name: 'zstd' };
  if (compression === 'gzip') return { command: sh`gzip -d -c`, name: 'gzip' };
  return { command: sh`cat`, name: 'cat' };
}

// `producer | consumer` with the exit status of each (dash has no pipefail) and no temp file: a
// full /tmp on the host had failed a stream that was whole ("tar exited , zstd exited 0": the
// status could not be written). Each side prints its status as a line marked \036 into a command
// substitution (fd 4), the consumer writes to the script's stdout (fd 3); with `producerSaid`, the
// producer's messages join them there (unmarked lines, read as hy_said) instead of stderr. Sets $p,
// $c and $hy_said.
function statusPipe(producer: ShellScript, consumer: ShellScript, producerSaid: boolean): ShellScript {
  return sh.lines([
    sh`hy_m=$(printf '\\036') && exec 3>&1`,
    sh`hy_out=$({ { ${producer}${producerSaid ? sh` 2>&4` : sh``}; printf '%sp %s\\n' "$hy_m" "$?" >&4; } | { ${consumer} >&3; printf '%sc %s\\n' "$hy_m" "$?" >&4; }; } 4>&1)`,
    sh`exec 3>&-`,
    sh`p=$(printf '%s\\n' "$hy_out" | sed -n "s/^\${hy_m}p //p") c=$(printf '%s\\n' "$hy_out" | sed -n "s/^\${hy_m}c //p")`,
    ...(producerSaid ? [sh`hy_said=$(printf '%s\\n' "$hy_out" | sed "/^\${hy_m}/d")`] : []),
  ]);
}

// The two statuses checked: anything but 0 fails the stream, naming both programs.
function pipeWithStatus(producer: PipeProgram, consumer: PipeProgram): ShellScript {
  // The names are this module's own program names (letters only), said inside the message's quotes.
  const said = (program: PipeProgram) => sh.trusted(program.name);
  return sh.lines([
    statusPipe(producer.command, consumer.command, false),
    sh`if [ "$p" != 0 ] || [ "$c" != 0 ]; then echo "halyard backup: ${said(producer)} exited \${p:-?}, ${said(consumer)} exited \${c:-?}" >&2; exit 1; fi`,
  ]);
}

/**
 * Records on the host what must be undone if the run dies (recordUndo: the guard, or the next
 * locked run, starts them again), then stops the given containers and service.
 */
export function stopScript(containers: string[], service?: string): string {
  return sh.lines([recordStopped(containers, service), sh`set -e`, ...stopCommands(containers, service)]).text;
}

// The commands that stop the service, then the containers (`docker stop -t 30`, one call).
function stopCommands(containers: string[], service: string | undefined): ShellScript[] {
  return [...(service ? [sh`systemctl stop ${service}`] : []), ...(containers.length > 0 ? [sh`docker stop -t 30 ${containers} >/dev/null`] : [])];
}

// Commands that start the containers, then the service, every one attempted: `$flag` becomes 1
// when one fails. One `docker start` for all the containers: it tries each and fails when any
// failed (Docker 20.10: `docker start MISSING OTHER` started OTHER and exited 1), and each docker
// CLI call is 70-90 ms of start-up while the services are down.
function startCommands(containers: string[], service: string | undefined, flag: ShellScript): ShellScript[] {
  return [...(containers.length > 0 ? [sh`docker start ${containers} >/dev/null || ${flag}=1`] : []), ...(service ? [sh`systemctl start ${service} || ${flag}=1`] : [])];
}

// The record written before containers and a service are stopped.
function recordStopped(containers: string[], service: string | undefined): ShellScript {
  return recordUndo([...containers.map((value) => ({ kind: 'container' as const, value })), ...(service ? [{ kind: 'service' as const, value: service }] : [])]);
}

/** Starts them again (every one attempted, even when another fails); the record is cleared once all run. */
export function startScript(containers: string[], service?: string): string {
  return sh.lines([sh`rc=0`, ...startCommands(containers, service, sh`rc`), sh`if [ $rc = 0 ]; then ${CLEAR_UNDO}; fi`, sh`exit $rc`]).text;
}

/** Writes the backup stream to stdout: a tar of the directory, compressed; or pg_dump -Fc. */
export function backupStreamScript(spec: VolumeSpec, path: string | undefined, compression: Compression): string {
  if (spec.kind === 'postgres') {
    const dump = sh`pg_dump -Fc -U ${spec.user} ${spec.database}`;
    return (spec.container ? sh.lines([findContainer(spec.container), sh`exec docker exec "$c" ${dump}`]) : sh`cd / && exec runuser -u postgres -- ${dump}`).text;
  }
  return archiveScript(path!, compressor(compression)).text;
}

// tar's exit 1 when it creates ("some files differ"): files changed, shrank or went away while it
// read them. The archive is whole and every other file exact, so the backup stands and its stderr
// ends with this mark and the count of tar's messages (the first few printed before it).
const CHANGED_MARK = '\u001ehalyard-changed-while-read ';
/** How many of a changed-while-read backup's messages its stream script prints before the mark. */
export const CHANGED_EXAMPLES = 5;

// A directory's stream: tar (its messages in English, to a file) piped into the compressor. A live
// directory (a service writing while it is copied) makes tar exit 1, which is a warning, not a
// failure: see CHANGED_MARK. Any other status of either program fails the stream with tar's messages.
function archiveScript(path: string, compress: PipeProgram): ShellScript {
  const said = sh.trusted(compress.name);
  return sh.lines([
    sh`trap 'exit 1' HUP INT TERM PIPE`,
    statusPipe(sh`LC_ALL=C tar --numeric-owner -C ${path} -cf - .`, compress.command, true),
    sh`if [ "$p" = 1 ] && [ "$c" = 0 ]; then printf '%s\\n' "$hy_said" | head -n ${CHANGED_EXAMPLES} >&2; printf '\\036halyard-changed-while-read %s\\n' "$(printf '%s\\n' "$hy_said" | grep -c .)" >&2; exit 0; fi`,
    sh`[ -z "$hy_said" ] || printf '%s\\n' "$hy_said" >&2`,
    sh`if [ "$p" != 0 ] || [ "$c" != 0 ]; then echo "halyard backup: tar exited \${p:-?}, ${said} exited \${c:-?}" >&2; exit 1; fi`,
  ]);
}

/** What a backup stream's stderr says of files that changed while tar read them: their count and tar's first messages; undefined when none did. */
export function parseChangedWhileRead(stderr: string): { count: number; examples: string[] } | undefined {
  const lines = stderr.split('\n');
  const at = lines.findLastIndex((line) => line.startsWith(CHANGED_MARK));
  if (at < 0) return undefined;
  const said = lines[at]!.slice(CHANGED_MARK.length).trim();
  if (!/^\d+$/.test(said)) return undefined;
  const count = Number(said);
  return { count, examples: lines.slice(Math.max(0, at - Math.min(count, CHANGED_EXAMPLES)), at) };
}

// How a Postgres entry's `container` is found among running containers (`docker ps --filter`):
// by its name, else as a Compose service. The inspect and the stream's script look it up alike.
function containerFilters(name: string): [byName: string, byService: string] {
  return [`name=^/${name}$`, `label=com.docker.compose.service=${name}`];
}

/**
 * Sets $c to the running container called `name`, else to the one of the Compose service `name`
 * (Compose v1 names it project_name_1, v2 project-name-1; the service label is the same in both).
 */
export function findContainerScript(name: string): string {
  return findContainer(name).text;
}

function findContainer(name: string): ShellScript {
  const [byName, byService] = containerFilters(name);
  return sh.lines([
    sh`c=$(docker ps -q --filter ${byName} | head -n 1)`,
    sh`[ -n "$c" ] || c=$(docker ps -q --filter ${byService} | head -n 1)`,
    sh`[ -n "$c" ] || { echo "no running container named "${name}" and none of a compose service "${name} >&2; exit 1; }`,
  ]);
}

// A directory's path as the staging, the replaced data and the swap name it: `/srv/data/` is `/srv/data`.
function withoutTrailingSlashes(path: string): string {
  return path.replace(/\/+$/, '');
}

/** Staging directory a restore extracts into before it replaces the real one. */
export function stagingPath(path: string): string {
  return `${withoutTrailingSlashes(path)}.halyard-restore`;
}

/**
 * Where a restore of a directory stages its data and keeps the data it replaces until the services
 * run again. Beside the target (`DIR.halyard-restore`, swapped in by two renames), unless the target
 * is a mount point (its own disk, a bind-mounted volume), which no rename can move: then inside it
 * (`DIR/.halyard-restore`, on the same disk), its entries moved out and in (insideSwap).
 */
export interface RestoreLayout {
  target: string;
  staging: string;
  replaced: string;
  inside: boolean;
}

export function restoreLayout(path: string, mounted: boolean): RestoreLayout {
  const target = withoutTrailingSlashes(path);
  if (!mounted) return { target, staging: stagingPath(path), replaced: replacedPath(path), inside: false };
  // (A backup's path is never the root: the config refuses one that names it.)
  return { target, staging: `${target}/${INSIDE_NAMES.staging}`, replaced: `${target}/${INSIDE_NAMES.replaced}`, inside: true };
}

// Before pg_restore drops the database (--clean --create), nobody else may use it: one open session
// (an app's connection pool) made DROP DATABASE fail, "being accessed by other users", and with it
// every restore of a database in use. New connections are refused and the others ended (they are
// about to lose their database anyway); their count goes to stderr for the log. psql's \gexec runs
// the ALTER only where the database exists (a dropped one is created again by the restore).
const CLOSE_DATABASE_SQL = [
  "SELECT format('ALTER DATABASE %I ALLOW_CONNECTIONS false', :'db') FROM pg_database WHERE datname = :'db' \\gexec",
  "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = :'db' AND pid <> pg_backend_pid();",
].join('\n');
const OPEN_DATABASE_SQL = "SELECT format('ALTER DATABASE %I ALLOW_CONNECTIONS true', :'db') FROM pg_database WHERE datname = :'db' \\gexec";
const SESSIONS_MARK = '\u001ehalyard-sessions-ended ';

/** How many other sessions of its database a Postgres restore's stream ended (its stderr says); undefined when it did not say. */
export function parseSessionsEnded(stderr: string): number | undefined {
  const line = stderr.split('\n').find((text) => text.startsWith(SESSIONS_MARK));
  const said = line?.slice(SESSIONS_MARK.length).trim();
  return said !== undefined && /^\d+$/.test(said) ? Number(said) : undefined;
}

/**
 * Reads a backup stream on stdin. Directories are extracted into a staging directory next to the
 * target (kept separate until the controller has checked the stream's sha256); Postgres is
 * restored with pg_restore --clean --create (the database is recreated, also when it was dropped).
 */
export function restoreStreamScript(spec: VolumeSpec, layout: RestoreLayout | undefined, compression: Compression): string {
  if (spec.kind === 'postgres') {
    const restore = sh`pg_restore --clean --if-exists --create --exit-on-error -U ${spec.user} -d postgres`;
    const psql = sh`psql -X -q -At -v ON_ERROR_STOP=1 -U ${spec.user} -d postgres -v db=${spec.database}`;
    return sh
      .lines([
        ...(spec.container ? [findContainer(spec.container), sh`hy_in() { docker exec -i "$c" "$@"; }`] : [sh`cd /`, sh`hy_in() { runuser -u postgres -- "$@"; }`]),
        // However the script ends (pg_restore failed, the stream cut short): a database pg_restore never dropped must not stay closed.
        sh`hy_open() { hy_in ${psql} <<'HALYARD_SQL' >/dev/null 2>&1\n${sh.trusted(OPEN_DATABASE_SQL)}\nHALYARD_SQL\n}`,
        sh`trap hy_open EXIT`,
        sh`trap 'exit 1' HUP INT TERM PIPE`,
        sh`hy_ended=$(hy_in ${psql} <<'HALYARD_SQL'\n${sh.trusted(CLOSE_DATABASE_SQL)}\nHALYARD_SQL\n) || { hy_ended=0; echo "halyard restore: could not end the other sessions of the database" >&2; }`,
        sh`printf '\\036halyard-sessions-ended %s\\n' "$hy_ended" >&2`,
        sh`hy_in ${restore}`,
      ])
      .text;
  }
  return sh.lines([
    sh`hy_staging=${layout!.staging}`,
    sh`rm -rf "$hy_staging" && mkdir -p "$hy_staging" || exit 1`,
    // A stream cut short (the controller gone) removes its own staging too: tar may still have been
    // writing when the run's guard removed it. The trap names the staging by its variable: a quoted
    // path inside the trap's own quotes came out unquoted (a blank broke the trap, a quote the
    // script, and `$(...)` in a path ran when the trap did); sh now refuses a value there.
    sh`trap 'if [ "$ok" != 1 ]; then rm -rf "$hy_staging"; fi' EXIT`,
    sh`trap 'exit 1' HUP INT TERM PIPE`,
    // GNU tar unquotes -C's argument when it extracts (a backslash and a t in a path became a tab):
    // the shell enters the staging instead.
    pipeWithStatus(decompressor(compression), { command: sh`(cd "$hy_staging" && exec tar --numeric-owner -xpf -)`, name: 'tar' }),
    sh`ok=1`,
  ]).text;
}

/** Records a restore's staging directory and swap (engine/guard.ts): were the run to die from here
 * on, the staging goes and a half-done swap is put back. Sent while the data starts streaming. */
export function recordStagingScript(layout: RestoreLayout): string {
  return recordUndo([
    { kind: 'staging', value: layout.staging },
    { kind: layout.inside ? 'swap-inside' : 'swap', value: layout.target },
  ]).text;
}

/** Drops a restore's staging directory (its stream failed) and the run's record of it. */
export function discardStagingScript(layout: RestoreLayout): string {
  return sh.lines([sh`rm -rf ${layout.staging}`, CLEAR_UNDO]).text;
}

/** The steps of a restore's commit, in order; the script prints each one's exit status. */
export type CommitStep = 'stop' | 'swap' | 'start' | 'remove';

// Printed after each step of a commit: `\x1ehalyard-step STEP STATUS`.
const STEP_MARK = '\u001ehalyard-step ';
const markStep = (step: CommitStep, status: ShellScript): ShellScript => sh`printf '\\036halyard-step %s %s\\n' ${step} ${status}`;

/**
 * Commits a restore staged beside `path` in one request, so the services are down only while it
 * runs: records the containers and the service (the guard starts them if the run dies), stops
 * them, swaps the staged directory in (the target keeps its own owner and mode), starts them again
 * and, once they run, deletes the data it replaced. A failed stop swaps nothing; a failed swap puts
 * a half-done one back; either drops the staging. Everything stopped is started whatever failed.
 * The replaced data is moved into a fresh `PATH.halyard-old.XXXXXXXX` and deleted in the background
 * (with any such folder an earlier, interrupted deletion left): `rm -rf` of a 200 MiB volume took
 * 86-89 ms of each restore on a lab host, and a volume of many files takes seconds, all of it with
 * the host locked and the command waiting. Nothing else uses those names.
 */
export function commitRestoreScript(layout: RestoreLayout, containers: string[], service?: string): string {
  const { staging } = layout;
  if (layout.inside) return commitScript(containers, service, staging, insideSwap(layout));
  const { target, replaced: old } = layout;
  return commitScript(containers, service, staging, {
    swap: [sh`if [ $hy_stop = 0 ]; then ( set -e; rm -rf ${old}; if [ -e ${target} ]; then mv ${target} ${old}; fi; mv ${staging} ${target} ); hy_swap=$?; fi`],
    putBack: [sh`  if [ ! -e ${target} ] && [ -e ${old} ]; then mv ${old} ${target}; fi`],
    remove: [
      sh`  if [ "$hy_swap" = 0 ]; then`,
      sh`    if [ -e ${old} ] && hy_trash=$(mktemp -d ${old}.XXXXXXXX 2>/dev/null) && mv ${old} "$hy_trash/"; then`,
      // Its own session (a guard stopping the run's group leaves it be), no descriptor of the channel's.
      sh`      ( if command -v setsid >/dev/null 2>&1; then exec setsid rm -rf -- ${old}.*; else exec rm -rf -- ${old}.*; fi ) </dev/null >/dev/null 2>&1 &`,
      sh`      ${markStep('remove', sh`0`)}`,
      sh`    else`,
      sh`      rm -rf ${old} \${hy_trash:+"$hy_trash"}; ${markStep('remove', sh`$?`)}`,
      sh`    fi`,
      sh`  fi`,
    ],
  });
}

// What a layout puts into a commit: its lines before the stop, the swap (setting hy_swap), what
// puts a failed swap back, and the removal of the replaced data once everything runs again.
interface CommitSwap {
  before?: ShellScript[];
  swap: ShellScript[];
  putBack: ShellScript[];
  remove: ShellScript[];
}

// The commit's frame, the same for both layouts: record and stop, swap, put a failed swap back and
// drop the staging, start everything (whatever failed), then remove and clear the record.
function commitScript(containers: string[], service: string | undefined, staging: string, layout: CommitSwap): string {
  const stops = stopCommands(containers, service);
  return sh.lines([
    ...(layout.before ?? []),
    sh`hy_stop=0`,
    sh`(\n${recordStopped(containers, service)}\n) && ${stops.length > 0 ? sh.join(stops, sh` && `) : sh`:`} || hy_stop=$?`,
    markStep('stop', sh`$hy_stop`),
    sh`hy_swap=skipped`,
    ...layout.swap,
    markStep('swap', sh`$hy_swap`),
    sh`if [ "$hy_swap" != 0 ]; then`,
    ...layout.putBack,
    sh`  rm -rf ${staging}`,
    sh`fi`,
    sh`hy_start=0`,
    ...startCommands(containers, service, sh`hy_start`),
    markStep('start', sh`$hy_start`),
    // Left recorded when something did not start: the guard tries again when the run ends.
    sh`if [ $hy_start = 0 ]; then`,
    ...layout.remove,
    sh`  ${CLEAR_UNDO}`,
    sh`fi`,
  ]).text;
}

// The swap of a restore into a mount point (restoreLayout): with the services stopped, the
// target's entries move into `.halyard-old.part` (carrying the target's owner and mode), which is
// renamed `.halyard-old.moving` once all are out; the target takes the staging's owner and mode,
// the staged entries move in, the staging goes and `.halyard-old.moving` becomes `.halyard-old`.
// Each rename stays on the target's disk. A failed swap is put back (INSIDE_SWAP_UNDO, which the
// guard also runs for a run that died here). The replaced data is deleted before the request ends,
// not in the background: it lies inside the target, where the services and the next backup see it.
function insideSwap(layout: RestoreLayout): CommitSwap {
  const within = (name: string) => sh`"$hy_t"/${name}`;
  const moving = within(INSIDE_NAMES.moving);
  const movedOut = within(INSIDE_NAMES.movedOut);
  const replaced = within(INSIDE_NAMES.replaced);
  const stagingHere = within(INSIDE_NAMES.staging);
  return {
    before: [sh`hy_t=${layout.target}`],
    swap: [
      sh`if [ $hy_stop = 0 ]; then (`,
      sh`  set -e`,
      sh`  rm -rf ${moving} ${movedOut} ${replaced}`,
      sh`  mkdir ${moving}`,
      sh`  chown --reference="$hy_t" -- ${moving}; chmod --reference="$hy_t" -- ${moving}`,
      sh`  find "$hy_t" -mindepth 1 -maxdepth 1 ! -name ${INSIDE_NAMES.moving} ! -name ${INSIDE_NAMES.staging} -exec mv -t ${moving} -- {} +`,
      sh`  mv ${moving} ${movedOut}`,
      sh`  chown --reference=${stagingHere} -- "$hy_t"; chmod --reference=${stagingHere} -- "$hy_t"`,
      sh`  find ${stagingHere} -mindepth 1 -maxdepth 1 -exec mv -t "$hy_t" -- {} +`,
      sh`  rmdir ${stagingHere}`,
      sh`  mv ${movedOut} ${replaced}`,
      sh`); hy_swap=$?; fi`,
    ],
    putBack: [sh`  { ${sh.trusted(INSIDE_SWAP_UNDO.join('\n'))}\n} >/dev/null`],
    remove: [sh`  if [ "$hy_swap" = 0 ]; then rm -rf ${replaced}; ${markStep('remove', sh`$?`)}; fi`],
  };
}

/** A commit's output read back: each step's status (absent when the script ended before it) and the rest of the output. */
export function parseCommitSteps(output: string): { steps: Partial<Record<CommitStep, string>>; rest: string } {
  const steps: Partial<Record<CommitStep, string>> = {};
  const rest: string[] = [];
  for (const line of output.split('\n')) {
    const match = line.startsWith(STEP_MARK) ? /^(stop|swap|start|remove) (\S+)$/.exec(line.slice(STEP_MARK.length)) : null;
    if (match) steps[match[1] as CommitStep] = match[2]!;
    else rest.push(line);
  }
  return { steps, rest: rest.join('\n') };
}

/** Where a restore keeps the data it replaced until it is discarded (the guard's swap undo knows it). */
export function replacedPath(path: string): string {
  return `${withoutTrailingSlashes(path)}.halyard-old`;
}

/** sha256 of every file under a directory, sorted by path, for tests and `restore --check`. */
export function treeDigestScript(path: string): string {
  return sh`cd ${path} && find . -type f -print0 | LC_ALL=C sort -z | xargs -0r sha256sum | sha256sum | cut -d' ' -f1`.text;
}

// --- retention -----------------------------------------------------------------------------------

export interface RetentionItem {
  id: string;
  time: Date;
}

export interface RetentionDecision<T extends RetentionItem> {
  keep: Array<{ item: T; reasons: string[] }>;
  prune: T[];
}

function isoWeek(date: Date): string {
  const day = new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate()));
  const weekday = day.getUTCDay() || 7;
  day.setUTCDate(day.getUTCDate() + 4 - weekday);
  const yearStart = Date.UTC(day.getUTCFullYear(), 0, 1);
  const week = Math.ceil(((day.getTime() - yearStart) / 86_400_000 + 1) / 7);
  return `${day.getUTCFullYear()}-W${String(week).padStart(2, '0')}`;
}

/**
 * Which backups a policy keeps (UTC calendar): the newest `last`; the newest of each of the latest
 * `daily` days, `weekly` ISO weeks and `monthly` months that have a backup. Everything else is pruned.
 * Backups newer than `now` (clock skew) are always kept.
 */
export function applyRetention<T extends RetentionItem>(items: T[], policy: RetentionPolicy, now: Date = new Date()): RetentionDecision<T> {
  const sorted = [...items].sort((a, b) => b.time.getTime() - a.time.getTime() || (a.id < b.id ? 1 : -1));
  const reasons = new Map<T, string[]>();
  const add = (item: T, reason: string): void => {
    const list = reasons.get(item) ?? [];
    list.push(reason);
    reasons.set(item, list);
  };
  sorted.forEach((item, index) => {
    if (index < policy.last) add(item, 'last');
    if (item.time.getTime() > now.getTime()) add(item, 'future');
  });
  const buckets: Array<[string, number, (date: Date) => string]> = [
    ['daily', policy.daily, (d) => d.toISOString().slice(0, 10)],
    ['weekly', policy.weekly, isoWeek],
    ['monthly', policy.monthly, (d) => d.toISOString().slice(0, 7)],
  ];
  for (const [reason, count, bucketOf] of buckets) {
    const seen = new Set<string>();
    for (const item of sorted) {
      if (seen.size >= count) break;
      const bucket = bucketOf(item.time);
      if (seen.has(bucket)) continue;
      seen.add(bucket);
      add(item, reason);
    }
  }
  return {
    keep: sorted.filter((item) => reasons.has(item)).map((item) => ({ item, reasons: reasons.get(item)! })),
    prune: sorted.filter((item) => !reasons.has(item)),
  };
}

// --- orphans -------------------------------------------------------------------------------------

/** A multipart upload begun and neither completed nor aborted (as ListMultipartUploads lists it). */
export interface PendingUpload {
  key: string;
  uploadId: string;
  initiated: Date;
}

/** What the orphan sweep deletes under one volume's prefix: data object keys, and uploads to abort. */
export interface OrphanDecision {
  objects: string[];
  uploads: PendingUpload[];
}

// `<volumePrefix><id>/<data file name>` as halyard writes it: the id and its time, else undefined.
function halyardDataKey(volumeKeyPrefix: string, key: string): { folder: string; time: Date } | undefined {
  if (!key.startsWith(volumeKeyPrefix)) return undefined;
  const [id, name, ...rest] = key.slice(volumeKeyPrefix.length).split('/');
  if (id === undefined || name === undefined || rest.length > 0 || !DATA_FILE_NAMES.has(name)) return undefined;
  const time = parseBackupId(id);
  return time ? { folder: `${volumeKeyPrefix}${id}/`, time } : undefined;
}

/**
 * Leftovers of killed or failed runs (stored and billed, yet never listed) under one host's volume
 * (`volumeKeyPrefix` is `volumePrefix()`): data objects named as halyard names them (`<id>/data.*`)
 * in a folder without `manifest.json`, whose id (the backup's start) is more than `graceMs` before
 * `now`; and multipart uploads of such keys initiated more than `graceMs` before `now`. Any other
 * key (other names, deeper paths, ids that are not times, other prefixes) is never chosen; nor is
 * anything from the future.
 */
export function findOrphans(volumeKeyPrefix: string, keys: string[], uploads: PendingUpload[], now: Date, graceMs: number): OrphanDecision {
  const cutoff = now.getTime() - graceMs;
  const withManifest = new Set(keys.filter((key) => key.startsWith(volumeKeyPrefix) && key.endsWith(`/${MANIFEST_NAME}`)).map((key) => key.slice(0, -MANIFEST_NAME.length)));
  const objects = keys.filter((key) => {
    const data = halyardDataKey(volumeKeyPrefix, key);
    return data !== undefined && !withManifest.has(data.folder) && data.time.getTime() < cutoff;
  });
  const stale = uploads.filter((upload) => halyardDataKey(volumeKeyPrefix, upload.key) !== undefined && upload.initiated.getTime() < cutoff);
  return { objects: [...new Set(objects)].sort(), uploads: stale };
}

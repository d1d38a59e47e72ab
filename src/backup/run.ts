import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { formatBytes } from '../core/bytes.js';
import { mapLimit } from '../core/map-limit.js';
import type { ObjectStore } from '../aws/objects.js';
import { HalyardError } from '../core/errors.js';
import { HALYARD_VERSION } from '../core/version.js';
import type { Host } from '../inventory/types.js';
import { CLEAR_UNDO } from '../engine/guard.js';
import type { LockPaths } from '../engine/lock.js';
import { withHostLock, type LockedHost } from '../engine/locked-host.js';
import type { ExecResult, ExecStream, HostSession } from '../ssh/types.js';
import type { BackupConfig, VolumeSpec } from './config.js';
import { StreamTally, TallyingRegrouper } from '../core/stream-tally.js';
import {
  MANIFEST_NAME,
  MANIFEST_TOOL,
  STOP_LABEL,
  applyRetention,
  backupId,
  backupKeys,
  backupStreamScript,
  checkUnpacker,
  chooseCompression,
  createVolumeScript,
  findOrphans,
  commitRestoreScript,
  discardStagingScript,
  inspectScript,
  parseBackupId,
  parseChangedWhileRead,
  parseInspect,
  parseSessionsEnded,
  parseCommitSteps,
  parseManifest,
  recordStagingScript,
  restoreLayout,
  restoreStreamScript,
  startScript,
  stopScript,
  volumePrefix,
  type BackupManifest,
  type InspectResult,
  type PendingUpload,
  type RestoreLayout,
} from './plan.js';

// The I/O half of backups: SSH execs on a host, streams between the host and S3. Nothing is staged:
// the remote tar (or pg_dump) writes into an SSH channel read by a multipart upload holding a few
// 8 MiB parts at most, which hashes and counts the bytes it stores (aws/multipart-upload.ts).

export interface BackupContext {
  config: BackupConfig;
  store: ObjectStore;
  /** The host's SSH session (execStream required). */
  session(host: Host): Promise<HostSession>;
  now?: () => Date;
  log?: (line: string) => void;
  /** Seconds to wait for a host's lock held by another run (apply, backup, probe); default 60. */
  lockWaitSeconds?: number;
  /** Ends the work early (Ctrl-C, SIGTERM, a daemon shutdown): uploads are aborted, what was
   * stopped is started again, staging is removed. */
  signal?: AbortSignal;
  /** Ends a wait for a host's lock, before any work (a daemon beginning to stop); default `signal`. */
  lockWaitSignal?: AbortSignal;
  /** Where host locks live (tests that run hosts locally). */
  lockPaths?: LockPaths;
  /** Warnings (a part of the orphan sweep the store cannot do); default `log`. */
  warn?: (line: string) => void;
  /** Warnings already given in this run, by kind: each is given once per run (openBackupEnv makes one per run). */
  warned?: Set<string>;
}

/** Seconds a backup waits for another run's host lock before it fails with E_HOST_LOCKED. */
export const BACKUP_LOCK_WAIT_SECONDS = 60;
/** Timeout of each small request (inspect, stop, start, swap): `docker stop -t 30` fits. */
const REQUEST_TIMEOUT_MS = 120_000;

// Runs work on a host under its lock, as root, in the guarded shell (see engine/locked-host.ts);
// `prefetch`, the work's first request (its inspect), travels with the lock request.
async function locked<T>(context: BackupContext, host: Host, label: string, work: (locked: LockedHost) => Promise<T>, prefetch?: string, stopWaiting?: AbortSignal): Promise<T> {
  context.signal?.throwIfAborted();
  const session = await context.session(host);
  const given = context.lockWaitSignal ?? context.signal;
  const lockWaitSignal = given && stopWaiting ? AbortSignal.any([given, stopWaiting]) : (given ?? stopWaiting);
  return withHostLock(
    session,
    {
      label,
      waitSeconds: context.lockWaitSeconds ?? BACKUP_LOCK_WAIT_SECONDS,
      timeoutMs: REQUEST_TIMEOUT_MS,
      become: true,
      ...(prefetch === undefined ? {} : { prefetch }),
      ...(context.lockPaths ? { lockPaths: context.lockPaths } : {}),
      ...(lockWaitSignal ? { signal: lockWaitSignal } : {}),
    },
    async (held) => {
      if (held.undone.length > 0) context.log?.(`${host.name}: undid what an earlier, killed run left: ${held.undone.join(', ')}`);
      return work(held);
    },
  );
}

export interface BackupOutcome {
  host: string;
  volume: string;
  ok: boolean;
  error?: string;
  manifest?: BackupManifest;
  manifestKey?: string;
  durationMs: number;
  /** Of durationMs, the data's own transfer: from the stream's start on the host to the store's last byte. */
  streamMs?: number;
  /** Containers stopped for the copy (all started again, or the error says which were not). */
  stopped: string[];
  pruned: string[];
  /** Keys of orphaned data objects deleted after the backup (no manifest, older than the grace period). */
  orphans: string[];
  /** Keys of incomplete multipart uploads aborted after the backup (older than the grace period). */
  abortedUploads: string[];
  /** Files tar saw change, shrink or go while it read them (a live directory): the backup stands, those may be torn. */
  changedWhileRead?: number;
}

// A backup of a directory that was written while tar read it: stored, and said as a warning with
// the way to a consistent copy.
function warnChanged(context: BackupContext, name: string, changed: { count: number; examples: string[] }): void {
  const files = changed.count === 1 ? '1 file changed as tar read it' : `${changed.count} files changed as tar read them`;
  const seen = changed.examples.length > 0 ? ` (${changed.examples.join('; ')}${changed.count > changed.examples.length ? '; ...' : ''})` : '';
  (context.warn ?? context.log)?.(
    `${name}: backed up while being written: ${files}${seen}; this copy may hold ${changed.count === 1 ? 'it' : 'them'} torn. For a consistent copy, stop what writes there: list it under the entry's stop: or label it ${STOP_LABEL}=true`,
  );
}

function exitError(label: string, result: ExecResult, stderr: string): HalyardError {
  const tail = stderr.trim().split('\n').slice(-3).join(' | ');
  return new HalyardError('E_BACKUP_REMOTE', `${label} exited ${result.exitCode ?? result.signal ?? 'without status'}${tail ? `: ${tail}` : ''}`);
}

function streamSession(session: HostSession): Required<Pick<HostSession, 'execStream'>> {
  if (!session.execStream) throw new HalyardError('E_BACKUP_STREAM', `the session to ${session.target.name} cannot stream`);
  return { execStream: session.execStream.bind(session) };
}

async function inspect(held: LockedHost, host: Host, spec: VolumeSpec, options: { missingOk?: boolean; purpose?: 'backup' | 'restore' } = {}): Promise<InspectResult> {
  const result = parseInspect(await held.run(`inspect ${host.name}/${spec.name}`, inspectScript(spec, options.purpose)));
  // Containers that must stop could be missing from a list that was cut short.
  if (result.answerLost) {
    throw new HalyardError('E_BACKUP_INSPECT', `${host.name}/${spec.name}: the docker CLI's list of containers could not be kept in a temp file on the host (is its /tmp full?); nothing was stopped`);
  }
  // Read on the host's disk, such a volume's data would be what lies under its mount point: nothing.
  if (result.unreachable !== undefined && spec.kind === 'volume') {
    throw new HalyardError('E_BACKUP_SOURCE', `${host.name}/${spec.name}: the Docker volume ${spec.volume} is not on the host's disk: ${result.unreachable}; nothing was stopped. Back up its data where it lives (a kind: dir entry on the host that holds it)`);
  }
  if (result.missing && !options.missingOk) {
    if (spec.kind === 'volume') {
      const similar = (result.similar ?? []).filter((name) => name !== spec.volume).slice(0, 5);
      const hint = similar.length > 0 ? ` (Compose names a project's volumes PROJECT_VOLUME; the host has ${similar.join(', ')})` : '';
      throw new HalyardError('E_BACKUP_SOURCE', `${host.name}/${spec.name}: the Docker volume ${spec.volume} does not exist on the host${hint}`);
    }
    throw new HalyardError('E_BACKUP_SOURCE', `${host.name}/${spec.name}: ${result.path ?? spec.name} does not exist on the host`);
  }
  // The dump and the restore run in the database's container: without it, nothing is stopped.
  if (spec.kind === 'postgres' && spec.container && result.database === undefined) {
    throw new HalyardError('E_BACKUP_SOURCE', `${host.name}/${spec.name}: no running container named "${spec.container}" and none of a Compose service "${spec.container}" on the host; nothing was stopped`);
  }
  return result;
}

// An abort (signal) as the error that ends the work: the reason names the signal.
function abortError(signal: AbortSignal): HalyardError {
  const reason: unknown = signal.reason;
  return new HalyardError('E_ABORTED', reason instanceof Error ? reason.message : typeof reason === 'string' ? reason : 'aborted');
}

/**
 * Stops what must be stopped (recorded on the host first, with any `staging` to remove), runs
 * `work`, and starts everything again whatever happened. Were this process or its connection to
 * die, the host's guard starts them and removes the staging (engine/guard.ts).
 */
async function withStopped<T>(
  held: LockedHost,
  label: string,
  stop: { containers: string[]; service?: string | undefined },
  work: () => Promise<T>,
): Promise<T> {
  if (stop.containers.length === 0 && !stop.service) return work();
  let failure: unknown;
  try {
    await held.run(`${label}: stop`, stopScript(stop.containers, stop.service));
    return await work();
  } catch (error) {
    failure = error;
    throw error;
  } finally {
    try {
      await held.run(`${label}: start again`, stop.containers.length === 0 && !stop.service ? CLEAR_UNDO.text : startScript(stop.containers, stop.service));
    } catch (startError) {
      // The original failure stays the reported one; a start failure alone is reported as such.
      if (failure === undefined) throw startError;
      if (failure instanceof Error) failure.message += ` (and starting again failed: ${(startError as Error).message})`;
    }
  }
}

/** A stream's channel opened (and its sudo done) while the host's lock and inspect still decide its
 * script: `start` sends the script; `cancel` ends a stream never started (its shell exits having
 * run nothing) and waits for its channel to close. */
interface PendingStream {
  stream: ExecStream;
  start(script: string): void;
  cancel(): Promise<void>;
}

// Opens a backup's or a restore's stream before its lock is taken: opening a channel and running
// sudo cost about 0.1 s on a lab host, which then overlaps the lock and the inspect. The shell it
// starts only waits for its script, which is sent under the lock.
async function openPendingStream(context: BackupContext, host: Host, label: string): Promise<PendingStream> {
  const session = await context.session(host);
  let send!: (script: string) => void;
  let giveUp!: (reason: Error) => void;
  const script = new Promise<string>((resolve, reject) => {
    send = resolve;
    giveUp = reject;
  });
  script.catch(() => undefined);
  const stream = streamSession(session).execStream({ label, script, become: true });
  stream.done.catch(() => undefined);
  let started = false;
  return {
    stream,
    start(text) {
      started = true;
      send(text);
    },
    async cancel() {
      if (started) return;
      // Its shell never got a script: end its stdin (it exits 70) and stop it, so that a channel
      // stuck on a dead connection cannot hold a failed backup's return until its timeout.
      giveUp(new Error(`${label}: not needed`));
      stream.stdout.resume();
      stream.abort();
      await stream.done.catch(() => undefined);
    },
  };
}

// Streams a backup script's stdout from the host into the store, which hashes and counts it; the
// upload completes only once the script has exited 0. An abort or a failed upload stops the remote
// copy at once and aborts the multipart upload.
async function streamToStore(
  context: BackupContext,
  pending: PendingStream,
  label: string,
  dataKey: string,
  script: string,
): Promise<{ bytes: number; sha256: string; streamMs: number; changed: ReturnType<typeof parseChangedWhileRead> }> {
  const started = Date.now();
  const { stream } = pending;
  pending.start(script);
  // A channel that fails (timeout, connection lost) ends the upload's read; its error is the one reported.
  let remoteFailure: unknown;
  stream.done.catch((error: unknown) => {
    remoteFailure = error;
    stream.stdout.destroy(error as Error);
  });
  const onAbort = () => stream.stdout.destroy(abortError(context.signal!));
  context.signal?.addEventListener('abort', onAbort, { once: true });
  stream.stdin.end();
  try {
    context.signal?.throwIfAborted();
    const stored = await context.store.putStream(dataKey, stream.stdout, {
      contentType: 'application/octet-stream',
      beforeComplete: async () => {
        const result = await stream.done;
        if (result.exitCode !== 0) throw exitError(label, result, stream.stderrTail());
      },
    });
    return { bytes: stored.bytes, sha256: stored.sha256, streamMs: Date.now() - started, changed: parseChangedWhileRead(stream.stderrTail()) };
  } catch (error) {
    const cause = remoteFailure ?? error;
    // Stop the remote copy now: its output has nowhere to go, and stopped containers must not wait for it.
    stream.stdout.resume();
    stream.abort();
    await stream.done.catch(() => undefined);
    throw context.signal?.aborted ? abortError(context.signal) : cause;
  } finally {
    context.signal?.removeEventListener('abort', onAbort);
  }
}

/** Backs up one volume of one host: stream, then the manifest, then retention. */
export async function backupVolume(context: BackupContext, host: Host, spec: VolumeSpec): Promise<BackupOutcome> {
  const now = context.now ?? (() => new Date());
  const started = now();
  const t0 = Date.now();
  const outcome: BackupOutcome = { host: host.name, volume: spec.name, ok: false, durationMs: 0, stopped: [], pruned: [], orphans: [], abortedUploads: [] };
  const { config, store } = context;
  const label = `backup ${host.name}/${spec.name}`;
  // The backups retention chooses among are read while the data streams (this one joins them once
  // its manifest exists): after the stream, only the manifest and retention's deletes remain. The
  // locked callback hands the read on; `listing` keeps it too, for a failure to wait for.
  let listing: Promise<unknown> | undefined;
  let pending: PendingStream | undefined;
  try {
    context.signal?.throwIfAborted();
    pending = await openPendingStream(context, host, label);
    const opened = pending;
    const finishing = await locked(context, host, label, async (held) => {
      const info = await inspect(held, host, spec);
      const compression = chooseCompression(config.compression, spec.kind, info.zstd);
      const id = backupId(started);
      const keys = backupKeys(config.prefix, host.name, spec.name, id, spec.kind, compression);
      outcome.stopped = info.containers;
      const copying = withStopped(held, label, { containers: info.containers }, () => streamToStore(context, opened, label, keys.dataKey, backupStreamScript(spec, info.path, compression)));
      // Begun after the stream's script is on its way (the store's first call may still be loading its SDK).
      const others = listVolume(store, config.prefix, host.name, spec.name);
      listing = others;
      others.catch(() => undefined);
      const { bytes, sha256, streamMs, changed } = await copying;
      const manifest: BackupManifest = {
        tool: MANIFEST_TOOL,
        version: HALYARD_VERSION,
        host: host.name,
        volume: spec.name,
        kind: spec.kind,
        source: spec.kind === 'postgres' ? `postgres:${spec.database}` : info.path!,
        dataKey: keys.dataKey,
        size: bytes,
        sha256,
        compression,
        startedAt: started.toISOString(),
        endedAt: now().toISOString(),
        id,
        ...(changed ? { changedWhileRead: changed.count } : {}),
      };
      if (changed) {
        outcome.changedWhileRead = changed.count;
        warnChanged(context, `${host.name}/${spec.name}`, changed);
      }
      // What is left needs the store alone: it runs while the host's shell ends (a round trip, and
      // the guard's exit: 37 ms traced on a lab host) instead of after it.
      // (Returned inside an object: a promise returned as is would hold the lock until it settles.)
      const rest = finishBackup(context, host, spec, outcome, { manifest, manifestKey: keys.manifestKey, streamMs, startedMs: t0, others });
      rest.catch(() => undefined);
      return { rest };
    }, inspectScript(spec));
    await finishing.rest;
    return outcome;
  } catch (error) {
    // No read or channel of this backup's outlives it.
    await Promise.all([listing?.catch(() => undefined), pending?.cancel()]);
    outcome.error = error instanceof Error ? error.message : String(error);
    outcome.durationMs = Date.now() - t0;
    context.log?.(`${host.name}/${spec.name}: FAILED: ${outcome.error}`);
    return outcome;
  }
}

// A backup's end once its data is stored: the manifest written last (until it exists, the backup
// does not), then retention among the backups listed during the stream, then the orphan sweep.
async function finishBackup(
  context: BackupContext,
  host: Host,
  spec: VolumeSpec,
  outcome: BackupOutcome,
  stored: { manifest: BackupManifest; manifestKey: string; streamMs: number; startedMs: number; others: Promise<VolumeListing> },
): Promise<void> {
  const { manifest, manifestKey, streamMs, others } = stored;
  const now = context.now ?? (() => new Date());
  await context.store.putBytes(manifestKey, `${JSON.stringify(manifest, null, 2)}\n`, { contentType: 'application/json' });
  outcome.ok = true;
  outcome.manifest = manifest;
  outcome.manifestKey = manifestKey;
  outcome.durationMs = Date.now() - stored.startedMs;
  outcome.streamMs = streamMs;
  context.log?.(`${host.name}/${spec.name}: backed up ${formatBytes(manifest.size)} (${manifest.compression}) in ${(outcome.durationMs / 1000).toFixed(1)} s (stream ${formatRate(manifest.size, streamMs)}), sha256 ${manifest.sha256.slice(0, 12)}`);
  const listed = await others;
  outcome.pruned = await pruneVolume(context, host.name, spec.name, now(), { listed: [...listed.backups.filter((backup) => backup.manifest.id !== manifest.id), { manifest, manifestKey }] });
  // Leftovers of other runs: each part of the sweep that fails is a warning and is tried again
  // after the next backup, never a failed backup (pruneOrphans does not throw). It looks among the
  // keys listed during the stream: an orphan is older than the grace period, so it was there then.
  const swept = await pruneOrphans(context, host.name, spec.name, now(), { keys: listed.keys });
  outcome.orphans = swept.orphans;
  outcome.abortedUploads = swept.abortedUploads;
}

/** A volume's keys in the store and the backups among them (listVolume). */
export interface VolumeListing {
  keys: string[];
  backups: ListedBackup[];
}

export interface ListedBackup {
  manifest: BackupManifest;
  manifestKey: string;
}

/** Manifests read at once by listBackups: every backup run lists its volume's backups for retention;
 * one GET at a time took 489-511 ms for 17 manifests behind a 20 ms round trip, eight 112-133 ms. */
export const MANIFEST_READS_AT_ONCE = 8;

/** Backups that exist (a manifest of halyard's), oldest first; optionally of one host and volume. */
export async function listBackups(store: ObjectStore, prefix: string, filter: { host?: string; volume?: string } = {}): Promise<ListedBackup[]> {
  const scope = filter.host ? (filter.volume ? volumePrefix(prefix, filter.host, filter.volume) : `${prefix}/${filter.host}/`) : `${prefix}/`;
  return readBackups(store, prefix, await listKeys(store, scope), filter);
}

/** One host's volume as listed once: every key under it, and its backups among them (a backup's
 * retention and its orphan sweep share this listing instead of each asking the store). */
export async function listVolume(store: ObjectStore, prefix: string, host: string, volume: string): Promise<VolumeListing> {
  const keys = await listKeys(store, volumePrefix(prefix, host, volume));
  return { keys, backups: await readBackups(store, prefix, keys, { volume }) };
}

async function listKeys(store: ObjectStore, scope: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const object of store.list(scope)) keys.push(object.key);
  return keys;
}

// The backups among listed keys: their manifests read (several at once), checked, oldest first.
async function readBackups(store: ObjectStore, prefix: string, keys: string[], filter: { volume?: string }): Promise<ListedBackup[]> {
  const manifestKeys = keys.filter((key) => key.endsWith(`/${MANIFEST_NAME}`));
  const read = await mapLimit(manifestKeys, MANIFEST_READS_AT_ONCE, async (manifestKey): Promise<ListedBackup | undefined> => {
    const text = await store.getBytes(manifestKey);
    const manifest = text ? parseManifest(text.toString('utf8')) : undefined;
    if (!manifest) return undefined;
    if (filter.volume && manifest.volume !== filter.volume) return undefined;
    // Only what lies under its own backup's folder counts (a manifest naming other keys is ignored).
    const folder = manifestKey.slice(0, -MANIFEST_NAME.length);
    if (!manifest.dataKey.startsWith(folder) || !folder.startsWith(volumePrefix(prefix, manifest.host, manifest.volume))) return undefined;
    return { manifest, manifestKey };
  });
  const found = read.filter((backup): backup is ListedBackup => backup !== undefined);
  return found.sort((a, b) => (a.manifest.id < b.manifest.id ? -1 : a.manifest.id > b.manifest.id ? 1 : 0));
}

/** Applies retention to one host's volume: deletes the manifest first, then its data object. `listed`:
 * the volume's backups when already read (listBackups), else they are read here. */
export async function pruneVolume(
  context: Pick<BackupContext, 'config' | 'store' | 'log'>,
  host: string,
  volume: string,
  now: Date,
  options: { listed?: ListedBackup[] } = {},
): Promise<string[]> {
  const backups = options.listed ?? (await listBackups(context.store, context.config.prefix, { host, volume }));
  const items = backups.flatMap((backup) => {
    const time = parseBackupId(backup.manifest.id);
    return time ? [{ id: backup.manifest.id, time, backup }] : [];
  });
  const decision = applyRetention(items, context.config.retention, now);
  const pruned: string[] = [];
  for (const item of decision.prune) {
    await context.store.delete(item.backup.manifestKey);
    await context.store.delete(item.backup.manifest.dataKey);
    pruned.push(item.id);
  }
  if (pruned.length > 0) context.log?.(`${host}/${volume}: pruned ${pruned.length} backup(s): ${pruned.join(', ')}`);
  return pruned;
}

/**
 * Deletes what killed or failed backups of one host's volume left behind (stored and billed, yet
 * never listed; see findOrphans in plan.ts), in two parts that stand alone: data objects without a
 * manifest, and incomplete multipart uploads, older than `orphan_grace_hours`. Each data object's
 * manifest is looked for once more right before its delete (a run that wrote it meanwhile keeps its
 * backup). A part that fails (a store without ListMultipartUploads, one that refuses aborts, a
 * bucket policy without the permission) is skipped with a warning, once per run and kind, and the
 * other part still runs and reports; the skipped part is tried again after the next backup. Never throws.
 * `keys`: the volume's keys when already listed (listVolume), else they are listed here.
 */
export async function pruneOrphans(
  context: Pick<BackupContext, 'config' | 'store' | 'log' | 'warn' | 'warned'>,
  host: string,
  volume: string,
  now: Date,
  options: { keys?: string[] } = {},
): Promise<Pick<BackupOutcome, 'orphans' | 'abortedUploads'>> {
  const { store } = context;
  const scope = volumePrefix(context.config.prefix, host, volume);
  const graceMs = context.config.orphan_grace_hours * 3_600_000;
  const where = `${host}/${volume}`;

  const orphans: string[] = [];
  try {
    const keys = options.keys ?? (await listKeys(store, scope));
    for (const key of findOrphans(scope, keys, [], now, graceMs).objects) {
      if (await store.head(`${key.slice(0, key.lastIndexOf('/') + 1)}${MANIFEST_NAME}`)) continue;
      await store.delete(key);
      orphans.push(key);
    }
  } catch (error) {
    warnOnce(context, 'orphan-objects', `${where}: orphan sweep: data objects without a manifest skipped this run (the backup is fine): ${messageOf(error)}`);
  }
  if (orphans.length > 0) context.log?.(`${where}: deleted ${orphans.length} orphaned data object(s) without a manifest: ${orphans.join(', ')}`);

  const abortedUploads: string[] = [];
  let stale: PendingUpload[] = [];
  try {
    const uploads: PendingUpload[] = [];
    for await (const upload of store.listUploads(scope)) uploads.push(upload);
    stale = findOrphans(scope, [], uploads, now, graceMs).uploads;
  } catch (error) {
    warnOnce(context, 'orphan-uploads-list', `${where}: orphan sweep: incomplete uploads skipped this run (the backup is fine): ${messageOf(error)}`);
  }
  for (const [index, upload] of stale.entries()) {
    try {
      await store.abortUpload(upload.key, upload.uploadId);
      abortedUploads.push(upload.key);
    } catch (error) {
      // A store that refuses one abort refuses the next: the rest wait for a later run.
      const left = stale.length - index;
      warnOnce(context, 'orphan-uploads-abort', `${where}: orphan sweep: ${left} incomplete upload(s) not aborted this run (the backup is fine): ${messageOf(error)}`);
      break;
    }
  }
  if (abortedUploads.length > 0) context.log?.(`${where}: aborted ${abortedUploads.length} incomplete upload(s): ${abortedUploads.join(', ')}`);
  return { orphans, abortedUploads };
}

// A warning given once per run and kind (context.warned), to `warn`, else `log`.
function warnOnce(context: Pick<BackupContext, 'log' | 'warn' | 'warned'>, kind: string, line: string): void {
  if (context.warned?.has(kind)) return;
  context.warned?.add(kind);
  (context.warn ?? context.log)?.(line);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Picks a backup: by id, or the latest. */
export async function findBackup(store: ObjectStore, prefix: string, host: string, volume: string, id?: string): Promise<ListedBackup> {
  const backups = await listBackups(store, prefix, { host, volume });
  const chosen = id && id !== 'latest' ? backups.find((backup) => backup.manifest.id === id) : backups.at(-1);
  if (!chosen) throw new HalyardError('E_BACKUP_NOT_FOUND', `no backup ${id && id !== 'latest' ? id : '(latest)'} of ${host}/${volume} under s3://${store.bucket}/${prefix}/`);
  return chosen;
}

export interface VerifyOutcome {
  ok: boolean;
  manifest: BackupManifest;
  size: number;
  sha256: string;
}

/** Re-reads the data object and checks its size and sha256 against the manifest. */
export async function verifyBackup(store: ObjectStore, backup: ListedBackup): Promise<VerifyOutcome> {
  const tally = new StreamTally();
  const body = await store.getStream(backup.manifest.dataKey);
  for await (const chunk of body as AsyncIterable<Buffer>) tally.add(chunk);
  const sha256 = tally.digest();
  const size = tally.bytes;
  return { ok: sha256 === backup.manifest.sha256 && size === backup.manifest.size, manifest: backup.manifest, size, sha256 };
}

export interface RestoreOutcome {
  host: string;
  volume: string;
  id: string;
  bytes: number;
  durationMs: number;
  /** Of durationMs, the data's own transfer: from the store's first byte to the host's unpacking done. */
  streamMs: number;
  stopped: string[];
}

// Streams a backup's data object from the store into a restore script on the host, checking its
// sha256 and size on the way; an abort stops both ends at once. Resolves with the bytes streamed.
async function streamFromStore(context: BackupContext, pending: PendingStream, label: string, manifest: BackupManifest, script: string): Promise<number> {
  pending.start(script);
  const { stream } = pending;
  stream.stdout.resume();
  const passage = new TallyingRegrouper();
  const { tally } = passage;
  let source: Readable;
  try {
    source = await context.store.getStream(manifest.dataKey);
  } catch (error) {
    // Nothing to unpack: the host's script must not wait on its stdin.
    stream.abort();
    await stream.done.catch(() => undefined);
    throw error;
  }
  const onAbort = () => {
    source.destroy(abortError(context.signal!));
    stream.abort();
  };
  context.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    context.signal?.throwIfAborted();
    const piping = pipeline(source, passage, stream.stdin);
    piping.catch(() => undefined);
    const result = await stream.done.catch((error: unknown) => {
      throw context.signal?.aborted ? abortError(context.signal) : error;
    });
    if (result.exitCode !== 0) {
      source.destroy();
      throw exitError(label, result, stream.stderrTail());
    }
    await piping;
    const sha256 = tally.digest();
    if (sha256 !== manifest.sha256 || tally.bytes !== manifest.size) {
      throw new HalyardError('E_BACKUP_CORRUPT', `${label}: the object read back has sha256 ${sha256.slice(0, 12)} (${tally.bytes} bytes), the manifest says ${manifest.sha256.slice(0, 12)} (${manifest.size} bytes)`);
    }
    return tally.bytes;
  } finally {
    context.signal?.removeEventListener('abort', onAbort);
  }
}

// Runs a restore's commit (commitRestoreScript) and reports it as separate requests would: the
// first failure of stop or swap (with a failed start added), else a failed start; the replaced
// data not deleted is only logged, the restore being done.
async function commitRestore(context: BackupContext, held: LockedHost, name: string, label: string, layout: RestoreLayout, containers: string[], service: string | undefined): Promise<void> {
  const { exitCode, output } = await held.exec(`${label}: commit`, commitRestoreScript(layout, containers, service));
  const { steps, rest } = parseCommitSteps(output);
  const tail = rest.trim().split('\n').slice(-3).join(' | ');
  const exited = (step: string, status: string | undefined) => `${label}: ${step} exited ${status ?? exitCode}${tail ? `: ${tail}` : ''}`;
  const startFailure = steps.start === '0' ? undefined : exited('start again', steps.start);
  const failure = steps.stop !== '0' ? exited('stop', steps.stop) : steps.swap !== '0' ? exited('swap in', steps.swap) : undefined;
  if (failure !== undefined) throw new HalyardError('E_REMOTE_FAILED', startFailure === undefined ? failure : `${failure} (and starting again failed: ${startFailure})`);
  if (startFailure !== undefined) throw new HalyardError('E_REMOTE_FAILED', startFailure);
  if (steps.remove !== '0') context.log?.(`${name}: restored, but ${layout.replaced} was not removed${tail ? `: ${tail}` : ''}`);
}

/**
 * Streams a backup back onto its host. A directory or volume is extracted into a staging directory
 * while its services run, the stream's sha256 checked, then the labelled/listed containers and the
 * service stop only while it is swapped in. A Postgres dump is restored with them stopped. `backup`
 * may still be being looked up: the host is locked and inspected meanwhile.
 */
export async function restoreVolume(context: BackupContext, host: Host, spec: VolumeSpec, backup: ListedBackup | Promise<ListedBackup>): Promise<RestoreOutcome> {
  const t0 = Date.now();
  const checked = Promise.resolve(backup).then((listed) => {
    const { manifest } = listed;
    if (manifest.kind !== spec.kind) throw new HalyardError('E_BACKUP_KIND', `${host.name}/${spec.name}: backup ${manifest.id} is of kind ${manifest.kind}, the config says ${spec.kind}`);
    return listed;
  });
  // A lookup that fails ends the wait for the host's lock: its error is the restore's.
  const lookupFailed = new AbortController();
  checked.catch((error: unknown) => lookupFailed.abort(error));
  // pg_restore writes as it reads, so a Postgres backup is checked in full before it is streamed in
  // (a directory is checked on the way, in its staging directory, before it replaces anything).
  if (spec.kind === 'postgres') {
    const listed = await checked;
    const check = await verifyBackup(context.store, listed);
    const { manifest } = listed;
    if (!check.ok) throw new HalyardError('E_BACKUP_CORRUPT', `${host.name}/${spec.name}: backup ${manifest.id} reads back with sha256 ${check.sha256.slice(0, 12)} (${check.size} bytes), the manifest says ${manifest.sha256.slice(0, 12)} (${manifest.size} bytes); nothing restored`);
  }
  const label = `restore ${host.name}/${spec.name}`;
  let bytes = 0;
  let streamMs = 0;
  let id = '';
  let changedWhileRead: number | undefined;
  let sessionsEnded: number | undefined;
  context.signal?.throwIfAborted();
  const pending = await openPendingStream(context, host, label);
  // A directory that is gone entirely is what restores are for.
  const info = await locked(context, host, label, async (held) => {
    const { manifest } = await checked;
    id = manifest.id;
    changedWhileRead = manifest.changedWhileRead;
    let info = await inspect(held, host, spec, { missingOk: true, purpose: 'restore' });
    checkUnpacker(`${host.name}/${spec.name}`, manifest, info.zstd);
    // A Docker volume that was removed is made again first: data put where its folder would be
    // would not make Docker know the volume (and `docker volume create` later keeps the data).
    if (spec.kind === 'volume' && info.missing) {
      await held.run(`${label}: create volume ${spec.volume}`, createVolumeScript(spec.volume));
      info = await inspect(held, host, spec, { missingOk: true, purpose: 'restore' });
    }
    const stream = async (layout: RestoreLayout | undefined) => {
      const streamStarted = Date.now();
      bytes = await streamFromStore(context, pending, label, manifest, restoreStreamScript(spec, layout, manifest.compression));
      streamMs = Date.now() - streamStarted;
    };
    // pg_restore writes into the live database: it runs with the listed containers stopped.
    if (spec.kind === 'postgres') {
      await withStopped(held, label, { containers: info.containers }, () => stream(undefined));
      sessionsEnded = parseSessionsEnded(pending.stream.stderrTail());
      return info;
    }
    // A directory streams into its staging directory while everything still runs; the services
    // stop only for the commit (stop, swap, start, remove the replaced data), one request. A mount
    // point is staged inside itself (restoreLayout).
    const layout = restoreLayout(info.realPath ?? info.path ?? manifest.source, info.mounted);
    const recorded = held.run(`${label}: record the staging`, recordStagingScript(layout));
    // Nothing may be staged that the run could not undo: a record refused stops the stream.
    recorded.catch(() => pending.stream.abort());
    try {
      await stream(layout);
      await recorded;
    } catch (error) {
      const recordError = await recorded.then(() => undefined, (failure: unknown) => failure);
      await held.run(`${label}: discard staging`, discardStagingScript(layout)).catch(() => undefined);
      throw recordError ?? error;
    }
    await commitRestore(context, held, `${host.name}/${spec.name}`, label, layout, info.containers, spec.service);
    return info;
  }, inspectScript(spec, 'restore'), lookupFailed.signal)
    .catch((error: unknown) => {
      throw lookupFailed.signal.aborted ? lookupFailed.signal.reason : error;
    })
    .finally(() => pending.cancel());
  const outcome = { host: host.name, volume: spec.name, id, bytes, durationMs: Date.now() - t0, streamMs, stopped: info.containers };
  // A copy made while the directory was written is restored as it was taken: the log says so.
  const live = changedWhileRead ? `; taken while being written, ${changedWhileRead === 1 ? '1 file' : `${changedWhileRead} files`} changed as it was read` : '';
  const ended = sessionsEnded ? `; ended ${sessionsEnded === 1 ? '1 other session' : `${sessionsEnded} other sessions`} of the database` : '';
  const restarted = info.containers.length > 0 ? `; stopped and started again: ${info.containers.map((container) => container.slice(0, 12)).join(', ')}` : '';
  context.log?.(`${host.name}/${spec.name}: restored ${id} (${formatBytes(bytes)}) in ${(outcome.durationMs / 1000).toFixed(1)} s (stream ${formatRate(bytes, streamMs)})${restarted}${ended}${live}`);
  return outcome;
}

/**
 * Restores the backup `which` names (an id, or 'latest', among `which.fromHost`'s backups of the
 * volume) onto `host`. The store is listed and the manifest read once the host's connection is up,
 * while the host is locked and inspected: the lookup's first call loads the S3 SDK (0.13-0.23 s of
 * this thread), which during the handshake held its packets back by as long. A backup that cannot
 * be found fails the restore before anything is staged (a wait for another run's lock ends with it).
 */
export async function restoreFromStore(context: BackupContext, host: Host, spec: VolumeSpec, which: { fromHost: string; id?: string }): Promise<RestoreOutcome> {
  const chosen = context.session(host).then(() => findBackup(context.store, context.config.prefix, which.fromHost, spec.name, which.id));
  chosen.catch(() => undefined);
  return restoreVolume(context, host, spec, chosen);
}

// A transfer rate for log lines: "83.2 MiB/s".
function formatRate(bytes: number, ms: number): string {
  return `${(bytes / 1048576 / Math.max(ms, 1) * 1000).toFixed(1)} MiB/s`;
}

// Kept here for the CLI's lazy import of the backup module (`backup list` prints sizes).
export { formatBytes };

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { formatBytes } from '../core/bytes.js';
import type { ObjectStore } from '../aws/objects.js';
import { HalyardError } from '../core/errors.js';
import type { Host } from '../inventory/types.js';
import type { ExecResult, HostSession } from '../ssh/types.js';
import type { BackupConfig, VolumeSpec } from './config.js';
import { scavenger } from './memory.js';
import {
  MANIFEST_NAME,
  MANIFEST_TOOL,
  applyRetention,
  backupId,
  backupKeys,
  backupStreamScript,
  chooseCompression,
  findOrphans,
  finishRestoreScript,
  inspectScript,
  parseBackupId,
  parseInspect,
  parseManifest,
  restoreStreamScript,
  startScript,
  stopScript,
  volumePrefix,
  type BackupManifest,
  type InspectResult,
  type PendingUpload,
} from './plan.js';

// The I/O half of backups: SSH execs on a host, streams between the host and S3. Nothing is staged:
// the remote tar (or pg_dump) writes into an SSH channel, the controller hashes and counts the bytes
// as they pass (a Transform) and hands them to a multipart upload holding a few 8 MiB parts at most.

export const HALYARD_VERSION: string = (() => {
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return '0.0.0';
  }
})();

export interface BackupContext {
  config: BackupConfig;
  store: ObjectStore;
  /** The host's SSH session (execStream required). */
  session(host: Host): Promise<HostSession>;
  now?: () => Date;
  log?: (line: string) => void;
}

export interface BackupOutcome {
  host: string;
  volume: string;
  ok: boolean;
  error?: string;
  manifest?: BackupManifest;
  manifestKey?: string;
  durationMs: number;
  /** Containers stopped for the copy (all started again, or the error says which were not). */
  stopped: string[];
  pruned: string[];
  /** Keys of orphaned data objects deleted after the backup (no manifest, older than the grace period). */
  orphans: string[];
  /** Keys of incomplete multipart uploads aborted after the backup (older than the grace period). */
  abortedUploads: string[];
}

/** Bytes streamed between two young-generation collections (see memory.ts). */
const SCAVENGE_EVERY_BYTES = 4 * 1024 * 1024;

/** Hashes and counts bytes passing through; its end waits for `settle` (the remote's exit). */
class DigestCounter extends Transform {
  readonly #hash = createHash('sha256');
  readonly #scavenger = scavenger(SCAVENGE_EVERY_BYTES);
  bytes = 0;
  constructor(readonly settle: () => Promise<void>) {
    super();
  }
  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#hash.update(chunk);
    this.bytes += chunk.length;
    this.#scavenger.add(chunk.length);
    callback(null, chunk);
  }
  override _flush(callback: TransformCallback): void {
    this.settle().then(() => callback(), (error: unknown) => callback(error as Error));
  }
  digest(): string {
    return this.#hash.digest('hex');
  }
}

function exitError(label: string, result: ExecResult, stderr: string): HalyardError {
  const tail = stderr.trim().split('\n').slice(-3).join(' | ');
  return new HalyardError('E_BACKUP_REMOTE', `${label} exited ${result.exitCode ?? result.signal ?? 'without status'}${tail ? `: ${tail}` : ''}`);
}

async function execChecked(session: HostSession, label: string, script: string): Promise<string> {
  const result = await session.exec({ label, script, become: true });
  if (result.exitCode !== 0) throw exitError(label, result, result.stderr);
  return result.stdout;
}

function streamSession(session: HostSession): Required<Pick<HostSession, 'execStream'>> {
  if (!session.execStream) throw new HalyardError('E_BACKUP_STREAM', `the session to ${session.target.name} cannot stream`);
  return { execStream: session.execStream.bind(session) };
}

async function inspect(session: HostSession, host: Host, spec: VolumeSpec): Promise<InspectResult> {
  const result = parseInspect(await execChecked(session, `backup inspect ${host.name}/${spec.name}`, inspectScript(spec)));
  if (result.missing) throw new HalyardError('E_BACKUP_SOURCE', `${host.name}/${spec.name}: ${result.path ?? spec.name} does not exist on the host`);
  return result;
}

/** Stops what must be stopped, runs `work`, and starts everything again whatever happened. */
async function withStopped<T>(session: HostSession, label: string, containers: string[], service: string | undefined, work: () => Promise<T>): Promise<T> {
  if (containers.length === 0 && !service) return work();
  let failure: unknown;
  try {
    await execChecked(session, `${label}: stop`, stopScript(containers, service));
    return await work();
  } catch (error) {
    failure = error;
    throw error;
  } finally {
    try {
      await execChecked(session, `${label}: start again`, startScript(containers, service));
    } catch (startError) {
      // The original failure stays the reported one; a start failure alone is reported as such.
      if (failure === undefined) throw startError;
      if (failure instanceof Error) failure.message += ` (and starting again failed: ${(startError as Error).message})`;
    }
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
  try {
    const session = await context.session(host);
    const info = await inspect(session, host, spec);
    const compression = chooseCompression(config.compression, spec.kind, info.zstd);
    const id = backupId(started);
    const { dataKey, manifestKey } = backupKeys(config.prefix, host.name, spec.name, id, spec.kind, compression);
    outcome.stopped = info.containers;
    const { bytes, sha256 } = await withStopped(session, label, info.containers, undefined, async () => {
      const stream = streamSession(session).execStream({ label, script: backupStreamScript(spec, info.path, compression), become: true });
      const counter = new DigestCounter(async () => {
        const result = await stream.done;
        if (result.exitCode !== 0) throw exitError(label, result, stream.stderrTail());
      });
      stream.done.catch((error: unknown) => counter.destroy(error as Error));
      stream.stdin.end();
      stream.stdout.pipe(counter);
      try {
        await store.putStream(dataKey, counter, { contentType: 'application/octet-stream' });
      } catch (error) {
        // Stop the remote copy now: its output has nowhere to go, and stopped containers must not wait for it.
        stream.stdout.unpipe(counter);
        stream.stdout.resume();
        stream.abort();
        await stream.done.catch(() => undefined);
        throw error;
      }
      return { bytes: counter.bytes, sha256: counter.digest() };
    });
    const manifest: BackupManifest = {
      tool: MANIFEST_TOOL,
      version: HALYARD_VERSION,
      host: host.name,
      volume: spec.name,
      kind: spec.kind,
      source: spec.kind === 'postgres' ? `postgres:${spec.database}` : info.path!,
      dataKey,
      size: bytes,
      sha256,
      compression,
      startedAt: started.toISOString(),
      endedAt: now().toISOString(),
      id,
    };
    // Written last: until this object exists, the backup does not.
    await store.putBytes(manifestKey, `${JSON.stringify(manifest, null, 2)}\n`, { contentType: 'application/json' });
    outcome.ok = true;
    outcome.manifest = manifest;
    outcome.manifestKey = manifestKey;
    outcome.durationMs = Date.now() - t0;
    context.log?.(`${host.name}/${spec.name}: backed up ${formatBytes(bytes)} (${compression}) in ${(outcome.durationMs / 1000).toFixed(1)} s, sha256 ${sha256.slice(0, 12)}`);
    outcome.pruned = await pruneVolume(context, host.name, spec.name, now());
    // Leftovers of other runs: a failed sweep is logged and tried again after the next backup, never a failed backup.
    try {
      const swept = await pruneOrphans(context, host.name, spec.name, now());
      outcome.orphans = swept.orphans;
      outcome.abortedUploads = swept.abortedUploads;
    } catch (error) {
      context.log?.(`${host.name}/${spec.name}: orphan sweep failed (the backup is fine): ${error instanceof Error ? error.message : String(error)}`);
    }
    return outcome;
  } catch (error) {
    outcome.error = error instanceof Error ? error.message : String(error);
    outcome.durationMs = Date.now() - t0;
    context.log?.(`${host.name}/${spec.name}: FAILED: ${outcome.error}`);
    return outcome;
  }
}

export interface ListedBackup {
  manifest: BackupManifest;
  manifestKey: string;
}

/** Backups that exist (a manifest of halyard's), oldest first; optionally of one host and volume. */
export async function listBackups(store: ObjectStore, prefix: string, filter: { host?: string; volume?: string } = {}): Promise<ListedBackup[]> {
  const scope = filter.host ? (filter.volume ? volumePrefix(prefix, filter.host, filter.volume) : `${prefix}/${filter.host}/`) : `${prefix}/`;
  const found: ListedBackup[] = [];
  for await (const object of store.list(scope)) {
    if (!object.key.endsWith(`/${MANIFEST_NAME}`)) continue;
    const text = await store.getBytes(object.key);
    const manifest = text ? parseManifest(text.toString('utf8')) : undefined;
    if (!manifest) continue;
    if (filter.volume && manifest.volume !== filter.volume) continue;
    // Only what lies under its own backup's folder counts (a manifest naming other keys is ignored).
    const folder = object.key.slice(0, -MANIFEST_NAME.length);
    if (!manifest.dataKey.startsWith(folder) || !folder.startsWith(volumePrefix(prefix, manifest.host, manifest.volume))) continue;
    found.push({ manifest, manifestKey: object.key });
  }
  return found.sort((a, b) => (a.manifest.id < b.manifest.id ? -1 : a.manifest.id > b.manifest.id ? 1 : 0));
}

/** Applies retention to one host's volume: deletes the manifest first, then its data object. */
export async function pruneVolume(context: Pick<BackupContext, 'config' | 'store' | 'log'>, host: string, volume: string, now: Date): Promise<string[]> {
  const backups = await listBackups(context.store, context.config.prefix, { host, volume });
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
 * never listed; see findOrphans in plan.ts): data objects without a manifest and incomplete
 * multipart uploads, older than `orphan_grace_hours`. Each data object's manifest is looked for
 * once more right before its delete (a run that wrote it meanwhile keeps its backup).
 */
export async function pruneOrphans(
  context: Pick<BackupContext, 'config' | 'store' | 'log'>,
  host: string,
  volume: string,
  now: Date,
): Promise<Pick<BackupOutcome, 'orphans' | 'abortedUploads'>> {
  const { store } = context;
  const scope = volumePrefix(context.config.prefix, host, volume);
  const keys: string[] = [];
  for await (const object of store.list(scope)) keys.push(object.key);
  const uploads: PendingUpload[] = [];
  for await (const upload of store.listUploads(scope)) uploads.push(upload);
  const decision = findOrphans(scope, keys, uploads, now, context.config.orphan_grace_hours * 3_600_000);
  const orphans: string[] = [];
  for (const key of decision.objects) {
    if (await store.head(`${key.slice(0, key.lastIndexOf('/') + 1)}${MANIFEST_NAME}`)) continue;
    await store.delete(key);
    orphans.push(key);
  }
  const abortedUploads: string[] = [];
  for (const upload of decision.uploads) {
    await store.abortUpload(upload.key, upload.uploadId);
    abortedUploads.push(upload.key);
  }
  if (orphans.length > 0) context.log?.(`${host}/${volume}: deleted ${orphans.length} orphaned data object(s) without a manifest: ${orphans.join(', ')}`);
  if (abortedUploads.length > 0) context.log?.(`${host}/${volume}: aborted ${abortedUploads.length} incomplete upload(s): ${abortedUploads.join(', ')}`);
  return { orphans, abortedUploads };
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
  const hash = createHash('sha256');
  let size = 0;
  const body = await store.getStream(backup.manifest.dataKey);
  for await (const chunk of body as AsyncIterable<Buffer>) {
    hash.update(chunk);
    size += chunk.length;
  }
  const sha256 = hash.digest('hex');
  return { ok: sha256 === backup.manifest.sha256 && size === backup.manifest.size, manifest: backup.manifest, size, sha256 };
}

export interface RestoreOutcome {
  host: string;
  volume: string;
  id: string;
  bytes: number;
  durationMs: number;
  stopped: string[];
}

/**
 * Streams a backup back onto its host: stops the labelled/listed containers and the service,
 * extracts into a staging directory, checks the stream's sha256, swaps it in, starts them again.
 */
export async function restoreVolume(context: BackupContext, host: Host, spec: VolumeSpec, backup: ListedBackup): Promise<RestoreOutcome> {
  const t0 = Date.now();
  const { manifest } = backup;
  if (manifest.kind !== spec.kind) throw new HalyardError('E_BACKUP_KIND', `${host.name}/${spec.name}: backup ${manifest.id} is of kind ${manifest.kind}, the config says ${spec.kind}`);
  // pg_restore writes as it reads, so a Postgres backup is checked in full before it is streamed in
  // (a directory is checked on the way, in its staging directory, before it replaces anything).
  if (spec.kind === 'postgres') {
    const check = await verifyBackup(context.store, backup);
    if (!check.ok) throw new HalyardError('E_BACKUP_CORRUPT', `${host.name}/${spec.name}: backup ${manifest.id} reads back with sha256 ${check.sha256.slice(0, 12)} (${check.size} bytes), the manifest says ${manifest.sha256.slice(0, 12)} (${manifest.size} bytes); nothing restored`);
  }
  const session = await context.session(host);
  const info = await inspect(session, host, spec).catch(async (error: unknown) => {
    // A directory that is gone entirely is what restores are for.
    if (error instanceof HalyardError && error.code === 'E_BACKUP_SOURCE') {
      return parseInspect(await execChecked(session, `restore inspect ${host.name}/${spec.name}`, inspectScript(spec)));
    }
    throw error;
  });
  const path = spec.kind === 'postgres' ? undefined : info.path ?? manifest.source;
  const label = `restore ${host.name}/${spec.name}`;
  const service = spec.kind === 'postgres' ? undefined : spec.service;
  let bytes = 0;
  await withStopped(session, label, info.containers, service, async () => {
    const stream = streamSession(session).execStream({ label, script: restoreStreamScript(spec, path, manifest.compression), become: true });
    stream.stdout.resume();
    const counter = new DigestCounter(async () => undefined);
    let committed = false;
    try {
      const source: Readable = await context.store.getStream(manifest.dataKey);
      const piping = pipeline(source, counter, stream.stdin);
      piping.catch(() => undefined);
      const result = await stream.done;
      if (result.exitCode !== 0) {
        source.destroy();
        throw exitError(label, result, stream.stderrTail());
      }
      await piping;
      bytes = counter.bytes;
      const sha256 = counter.digest();
      if (sha256 !== manifest.sha256 || bytes !== manifest.size) {
        throw new HalyardError('E_BACKUP_CORRUPT', `${label}: the object read back has sha256 ${sha256.slice(0, 12)} (${bytes} bytes), the manifest says ${manifest.sha256.slice(0, 12)} (${manifest.size} bytes)`);
      }
      if (path) await execChecked(session, `${label}: swap in`, finishRestoreScript(path, true));
      committed = true;
    } finally {
      if (path && !committed) await execChecked(session, `${label}: discard staging`, finishRestoreScript(path, false)).catch(() => undefined);
    }
  });
  const outcome = { host: host.name, volume: spec.name, id: manifest.id, bytes, durationMs: Date.now() - t0, stopped: info.containers };
  context.log?.(`${host.name}/${spec.name}: restored ${manifest.id} (${formatBytes(bytes)}) in ${(outcome.durationMs / 1000).toFixed(1)} s`);
  return outcome;
}

// Kept here for the CLI's lazy import of the backup module (`backup list` prints sizes).
export { formatBytes };

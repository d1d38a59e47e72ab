import { randomBytes } from 'node:crypto';
import { HalyardError } from '../core/errors.js';
import { ExitCode } from '../core/exit-codes.js';

// Two daemons, one run: before running job J for tick T, a daemon creates the object
// `leases/<J>/<T as ISO>` with a conditional put (`If-None-Match: *`). The one whose put succeeds
// runs the job; the other gets "already exists" (412) and skips that tick. The winner then sweeps
// the job's old lease objects (older than keepHours), at most once an hour per job. All of it rests
// on the store refusing the second conditional write: checkLeaseStore proves that at start.

/** The conditional write the lease needs (S3: PutObject with If-None-Match: *, false on 412), and listing and deleting for the sweep. */
export interface LeaseStore {
  /** Creates the object unless it exists; true when this call created it. */
  putIfAbsent(key: string, body: string): Promise<boolean>;
  /** Keys under a prefix, in key order. */
  list(prefix: string): AsyncIterable<string>;
  /** Deletes one object (no error when absent). */
  delete(key: string): Promise<void>;
  /** Where it is, for messages: `s3://bucket/prefix/ at ENDPOINT`. */
  readonly where?: string;
}

export interface LeaseClaim {
  /** Who won: this daemon's id when acquired, else undefined. */
  acquired: boolean;
  key: string;
}

/** Lease objects of a job are swept at most this often per daemon (the interval is kept in memory). */
export const LEASE_SWEEP_INTERVAL_MS = 3_600_000;
/** Deletes per sweep at most, so a first sweep of a long backlog stays short (the rest goes in later sweeps). */
export const LEASE_SWEEP_MAX_DELETES = 1000;

/** The key of a job's lease for one tick (the tick is the scheduled time, to the second). */
export function leaseKey(job: string, tick: Date, prefix = 'leases'): string {
  const second = new Date(Math.floor(tick.getTime() / 1000) * 1000);
  return `${prefix}/${encodeURIComponent(job)}/${second.toISOString()}`;
}

/** The tick of a key that `leaseKey` gives for this job and prefix, else undefined: the sweep deletes nothing else. */
export function parseLeaseKey(key: string, job: string, prefix = 'leases'): Date | undefined {
  const folder = `${prefix}/${encodeURIComponent(job)}/`;
  if (!key.startsWith(folder)) return undefined;
  const iso = key.slice(folder.length);
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.000Z$/.test(iso)) return undefined;
  const tick = new Date(iso);
  return Number.isNaN(tick.getTime()) || tick.toISOString() !== iso ? undefined : tick;
}

export class Lease {
  readonly #swept = new Map<string, number>();

  constructor(
    readonly store: LeaseStore,
    readonly owner: string,
    readonly prefix = 'leases',
    /** Lease objects whose tick is older than this are deleted by the sweep. */
    readonly keepHours = 24,
  ) {}

  async claim(job: string, tick: Date, now: Date = new Date()): Promise<LeaseClaim> {
    const key = leaseKey(job, tick, this.prefix);
    const body = JSON.stringify({ job, tick: tick.toISOString(), owner: this.owner, claimedAt: now.toISOString() });
    return { acquired: await this.store.putIfAbsent(key, body), key };
  }

  /**
   * Deletes the job's lease objects whose tick is more than keepHours before `now` (only keys that
   * parse as this job's lease keys; oldest first, LEASE_SWEEP_MAX_DELETES at most). Runs at most
   * once per LEASE_SWEEP_INTERVAL_MS per job, failed attempts included: undefined when skipped.
   */
  async sweep(job: string, now: Date = new Date()): Promise<string[] | undefined> {
    const last = this.#swept.get(job);
    const since = last === undefined ? Infinity : now.getTime() - last;
    // A clock set back (since < 0) does not hold sweeps off until it has caught up again.
    if (since >= 0 && since < LEASE_SWEEP_INTERVAL_MS) return undefined;
    this.#swept.set(job, now.getTime());
    const cutoff = now.getTime() - this.keepHours * 3_600_000;
    const deleted: string[] = [];
    for await (const key of this.store.list(`${this.prefix}/${encodeURIComponent(job)}/`)) {
      const tick = parseLeaseKey(key, job, this.prefix);
      if (tick === undefined) continue;
      // Keys sort as their ticks do: the first one kept ends the sweep.
      if (tick.getTime() >= cutoff || deleted.length >= LEASE_SWEEP_MAX_DELETES) break;
      await this.store.delete(key);
      deleted.push(key);
    }
    return deleted;
  }
}

/** The lease store does not honour conditional writes: two daemons could both run a tick (exit 65: the file must change). */
export class LeaseStoreError extends HalyardError {
  constructor(message: string, cause?: unknown) {
    super('E_LEASE_UNSAFE', message, { exitCode: ExitCode.InputError, cause });
  }
}

/** Where checkLeaseStore writes its probe (under the prefix, never a name `leaseKey` gives, so the sweep leaves it alone). */
export const LEASE_CHECK_FOLDER = '_conditional-write-check';

// The fix, in the messages of an unsafe store.
const LEASE_FIX = 'use a store that honours conditional writes (AWS S3 does) for lease.bucket, or remove lease: from the daemon file and run a single daemon';

/**
 * Proves that the store honours conditional writes, as the lease needs (daemon start and
 * `daemon --check`): it writes a probe key with If-None-Match: * twice; the first write must
 * succeed, the second must be refused (412 PreconditionFailed). The probe key is deleted after.
 * LeaseStoreError (E_LEASE_UNSAFE, exit 65) when the store writes twice or lacks conditional
 * writes; HalyardError E_LEASE_CHECK (exit 1) when the store could not be asked (network, permissions).
 */
export async function checkLeaseStore(store: LeaseStore, prefix = 'leases'): Promise<void> {
  const where = store.where ?? `the lease store (${prefix}/)`;
  const key = `${prefix}/${LEASE_CHECK_FOLDER}/${randomBytes(8).toString('hex')}`;
  const body = (attempt: number) => JSON.stringify({ check: 'conditional write', attempt, at: new Date().toISOString() });
  const put = async (attempt: number): Promise<boolean> => {
    try {
      return await store.putIfAbsent(key, body(attempt));
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      if (error instanceof HalyardError && error.code === 'E_S3_UNSUPPORTED') {
        throw new LeaseStoreError(`lease store ${where} does not support conditional writes (${message}): ${LEASE_FIX}`, error);
      }
      throw new HalyardError('E_LEASE_CHECK', `cannot check the lease store ${where}: ${message}`, { cause: error });
    }
  };
  try {
    if (!(await put(1))) {
      throw new LeaseStoreError(`lease store ${where} refused a conditional write (If-None-Match: *) of a new key ${key}: ${LEASE_FIX}`);
    }
    if (await put(2)) {
      throw new LeaseStoreError(
        `lease store ${where} ignores conditional writes: a second PUT of ${key} with If-None-Match: * succeeded where it must fail with 412 PreconditionFailed, so two daemons could both run a tick; ${LEASE_FIX}`,
      );
    }
  } finally {
    // The probe is two tiny writes of one key; a failed delete leaves one small object behind.
    await store.delete(key).catch(() => undefined);
  }
}

/** An in-memory store with S3's conditional-put semantics (tests, single daemon). */
export class MemoryLeaseStore implements LeaseStore {
  readonly objects = new Map<string, string>();

  async putIfAbsent(key: string, body: string): Promise<boolean> {
    if (this.objects.has(key)) return false;
    this.objects.set(key, body);
    return true;
  }

  async *list(prefix: string): AsyncIterable<string> {
    yield* [...this.objects.keys()].filter((key) => key.startsWith(prefix)).sort();
  }

  async delete(key: string): Promise<void> {
    this.objects.delete(key);
  }
}

/**
 * Adapts an object store (src/aws/objects.ts) to a LeaseStore: its conditional `putIfAbsent`
 * (S3 PutObject with `If-None-Match: *`), `list` and `delete`. The put may answer a boolean or
 * `{ ok }`; ok false (412 Precondition Failed) means another daemon holds the lease.
 */
export function objectLeaseStore(
  objects: {
    putIfAbsent(key: string, body: string): Promise<boolean | { ok: boolean }>;
    list(prefix: string): AsyncIterable<{ key: string }>;
    delete(key: string): Promise<void>;
  },
  where?: string,
): LeaseStore {
  return {
    ...(where !== undefined ? { where } : {}),
    async putIfAbsent(key, body) {
      const result = await objects.putIfAbsent(key, body);
      return typeof result === 'boolean' ? result : result.ok;
    },
    async *list(prefix) {
      for await (const object of objects.list(prefix)) yield object.key;
    },
    delete: (key) => objects.delete(key),
  };
}

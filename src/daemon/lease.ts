// Two daemons, one run: before running job J for tick T, a daemon creates the object
// `leases/<J>/<T as ISO>` with a conditional put (`If-None-Match: *`). The one whose put succeeds
// runs the job; the other gets "already exists" (412) and skips that tick.

/** The conditional write the lease needs. S3: PutObject with If-None-Match: * (false on 412). */
export interface LeaseStore {
  /** Creates the object unless it exists; true when this call created it. */
  putIfAbsent(key: string, body: string): Promise<boolean>;
}

export interface LeaseClaim {
  /** Who won: this daemon's id when acquired, else undefined. */
  acquired: boolean;
  key: string;
}

/** The key of a job's lease for one tick (the tick is the scheduled time, to the second). */
export function leaseKey(job: string, tick: Date, prefix = 'leases'): string {
  const second = new Date(Math.floor(tick.getTime() / 1000) * 1000);
  return `${prefix}/${encodeURIComponent(job)}/${second.toISOString()}`;
}

export class Lease {
  constructor(
    readonly store: LeaseStore,
    readonly owner: string,
    readonly prefix = 'leases',
  ) {}

  async claim(job: string, tick: Date, now: Date = new Date()): Promise<LeaseClaim> {
    const key = leaseKey(job, tick, this.prefix);
    const body = JSON.stringify({ job, tick: tick.toISOString(), owner: this.owner, claimedAt: now.toISOString() });
    return { acquired: await this.store.putIfAbsent(key, body), key };
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
}

/**
 * Adapts an object store with a conditional `putIfAbsent(key, body)` (src/aws/objects.ts: S3
 * PutObject with `If-None-Match: *`) to a LeaseStore. The store may answer a boolean or
 * `{ ok }`; ok false (412 Precondition Failed) means another daemon holds the lease.
 */
export function objectLeaseStore(objects: { putIfAbsent(key: string, body: string): Promise<boolean | { ok: boolean }> }): LeaseStore {
  return {
    async putIfAbsent(key, body) {
      const result = await objects.putIfAbsent(key, body);
      return typeof result === 'boolean' ? result : result.ok;
    },
  };
}

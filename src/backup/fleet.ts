import { deferredObjectStore } from '../aws/deferred-store.js';
import type { ObjectStore } from '../aws/objects.js';
import { connectTargetOf } from '../engine/ssh-link.js';
import { fetchHostSecrets } from '../engine/resolve-secrets.js';
import { HalyardError } from '../core/errors.js';
import { ExitCode } from '../core/exit-codes.js';
import { loadInventory, type InventoryReading } from '../inventory/index.js';
import { selectHosts } from '../inventory/limit.js';
import type { Host, Inventory } from '../inventory/types.js';
import { SshPool } from '../ssh/pool.js';
import type { SshOptions } from '../ssh/types.js';
import type { BackupConfig, VolumeSpec } from './config.js';
import { backupVolume, type BackupContext, type BackupOutcome } from './run.js';

// A backup file brought to life: its inventory, an SSH pool, the bucket.

export interface BackupEnvOptions {
  ssh?: Partial<SshOptions>;
  /** Host pattern (as --limit) narrowing every volume's hosts. */
  limit?: string;
  log?: (line: string) => void;
  /** Warnings (a part of the orphan sweep the store cannot do), once per run each; default `log`. */
  warn?: (line: string) => void;
  now?: () => Date;
  /** Object store to use instead of S3 from the file (tests). */
  store?: ObjectStore;
  /** Ends every backup or restore early (signals, daemon shutdown); see BackupContext.signal. */
  signal?: AbortSignal;
  /** Ends waits for host locks before any work (a daemon beginning to stop); default `signal`. */
  lockWaitSignal?: AbortSignal;
  /** Vault passwords and connection defaults for the file's inventory (none: vaulted values fail). */
  inventory?: InventoryReading;
}

export interface BackupEnv {
  config: BackupConfig;
  inventory: Inventory;
  context: BackupContext;
  close(): Promise<void>;
}

export async function openBackupEnv(config: BackupConfig, options: BackupEnvOptions = {}): Promise<BackupEnv> {
  const inventory = await loadInventory(config.inventory, options.inventory ?? {});
  const pool = new SshPool(options.ssh ?? {});
  // The S3 SDK loads once the first host's connection is up, while its lock and inspect run on the
  // host (a backup uses the store only after them), or at the store's first call (a restore's
  // lookup): compiled during the handshake, it slowed the handshake down by about as much.
  let connected!: () => void;
  const startWhen = new Promise<void>((resolve) => (connected = resolve));
  const store =
    options.store ??
    deferredObjectStore(
      config.bucket,
      async () => {
        const { sdkObjectStore } = await import('../aws/objects.js');
        return sdkObjectStore({ bucket: config.bucket, ...(config.region ? { region: config.region } : {}), ...(config.endpoint ? { endpoint: config.endpoint } : {}) });
      },
      { startWhen },
    );
  const limited = options.limit ? new Set(selectHosts(inventory, options.limit).map((host) => host.name)) : undefined;
  const context: BackupContext = {
    config,
    store,
    session: (host) => {
      const opening = pool.session(connectTargetOf(host));
      // The first session to settle starts the load; later ones resolve a settled promise again.
      opening.then(connected, connected);
      return opening;
    },
    ...(options.log ? { log: options.log } : {}),
    ...(options.warn ? { warn: options.warn } : {}),
    warned: new Set<string>(),
    ...(options.now ? { now: options.now } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.lockWaitSignal ? { lockWaitSignal: options.lockWaitSignal } : {}),
  };
  const hosts = limited ? inventory.hosts.filter((host) => limited.has(host.name)) : inventory.hosts;
  // A sudo password given as `!aws_secret`: fetched once, before anything connects.
  await fetchHostSecrets(hosts, 'connection');
  return {
    config,
    inventory: limited ? { ...inventory, hosts } : inventory,
    context,
    close: () => pool.closeAll(),
  };
}

/** The hosts a volume entry applies to. */
export function volumeHosts(env: BackupEnv, spec: VolumeSpec): Host[] {
  const names = new Set(env.inventory.hosts.map((host) => host.name));
  return selectHosts(env.inventory, spec.hosts).filter((host) => names.has(host.name));
}

export function volumeSpec(config: BackupConfig, name: string): VolumeSpec {
  const spec = config.volumes.find((volume) => volume.name === name);
  if (!spec) throw new HalyardError('E_BACKUP_VOLUME', `no volume "${name}" in ${config.file} (has: ${config.volumes.map((v) => v.name).join(', ')})`, { exitCode: ExitCode.Usage });
  return spec;
}

/** Every (host, volume) of the file: hosts in parallel, one volume at a time per host. */
export async function runBackups(env: BackupEnv, options: { volume?: string } = {}): Promise<BackupOutcome[]> {
  const specs = options.volume ? [volumeSpec(env.config, options.volume)] : env.config.volumes;
  const perHost = new Map<string, { host: Host; specs: VolumeSpec[] }>();
  for (const spec of specs) {
    for (const host of volumeHosts(env, spec)) {
      const entry = perHost.get(host.name) ?? { host, specs: [] };
      entry.specs.push(spec);
      perHost.set(host.name, entry);
    }
  }
  const results = await Promise.all(
    [...perHost.values()].map(async ({ host, specs: hostSpecs }) => {
      const outcomes: BackupOutcome[] = [];
      for (const spec of hostSpecs) outcomes.push(await backupVolume(env.context, host, spec));
      return outcomes;
    }),
  );
  return results.flat();
}

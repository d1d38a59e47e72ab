import { readFile } from 'node:fs/promises';
import { dirname, posix, resolve } from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';
import { HalyardError } from '../core/errors.js';
import { ExitCode } from '../core/exit-codes.js';
import { decodeUtf8, describeInvalidUtf8 } from '../core/utf8.js';

// The backup file (YAML): where backups go, what to back up on which hosts, how long to keep them.
//
//   inventory: inventory.yml          # relative to this file
//   bucket: my-backups
//   prefix: halyard                    # keys: <prefix>/<host>/<volume>/<timestamp>/...
//   region: eu-west-1                  # optional (SDK resolution otherwise)
//   endpoint: http://127.0.0.1:9000    # optional, S3-compatible servers (path-style)
//   compression: auto                  # auto (zstd when the host has it, else gzip) | zstd | gzip | none
//   retention: { last: 3, daily: 7, weekly: 4, monthly: 6 }
//   orphan_grace_hours: 24             # data without a manifest, and open uploads, older than this are deleted
//   volumes:
//     - { name: grafana, hosts: monitoring, kind: volume, volume: grafana-data }
//     - { name: data, kind: dir, path: /srv/app/data, stop: [app], service: app.service }
//     - { name: appdb, hosts: db, kind: postgres, database: app, container: postgres }

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
// The root, however written (`//`, `/srv/..`), is refused too: its staging would land beside nothing.
const absolutePath = z
  .string()
  .regex(/^\/[^\0\n]*$/, 'must be an absolute path')
  .refine((p) => posix.normalize(p) !== '/', 'must not be / (nor name it another way, as // or /srv/.. do)');
const safeName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'letters, digits, _ . - only');

const common = {
  /** Name in object keys and on the command line. */
  name: z.string().regex(NAME, 'letters, digits, _ . - (up to 63)'),
  /** Host pattern (as --limit): names, groups, globs; default all. */
  hosts: z.string().default('all'),
  /** Containers stopped for the copy (and the restore), started again after, besides those labelled halyard.backup.stop=true. */
  stop: z.array(safeName).default([]),
  /** systemd unit stopped during a restore and started again after (dir and volume kinds). */
  service: safeName.optional(),
};

export const volumeSchema = z.discriminatedUnion('kind', [
  z.object({ ...common, kind: z.literal('dir'), path: absolutePath }).strict(),
  z.object({ ...common, kind: z.literal('volume'), volume: safeName }).strict(),
  z
    .object({
      ...common,
      kind: z.literal('postgres'),
      database: safeName,
      /** Docker container running Postgres (`docker exec`): a container name, or a Compose service name; default: the host's own Postgres, as the postgres user. */
      container: safeName.optional(),
      /** Database user for pg_dump/pg_restore. */
      user: safeName.default('postgres'),
    })
    .strict(),
]);

export const retentionSchema = z
  .object({
    last: z.number().int().min(1).default(3),
    daily: z.number().int().min(0).default(7),
    weekly: z.number().int().min(0).default(4),
    monthly: z.number().int().min(0).default(6),
  })
  .strict();

export const backupConfigSchema = z
  .object({
    inventory: z.string().min(1),
    bucket: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'an S3 bucket name'),
    prefix: z
      .string()
      .regex(/^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*$/, 'path segments of letters, digits, _ . - (no leading or trailing /)')
      .default('halyard-backups'),
    region: z.string().optional(),
    endpoint: z.string().url().optional(),
    compression: z.enum(['auto', 'zstd', 'gzip', 'none']).default('auto'),
    retention: retentionSchema.default({ last: 3, daily: 7, weekly: 4, monthly: 6 }),
    /** Age after which a data object without its manifest, or an incomplete upload, is an orphan (must exceed the longest backup). */
    orphan_grace_hours: z.number().min(1, 'must be at least 1 (hours; longer than any backup takes)').default(24),
    volumes: z.array(volumeSchema).min(1),
  })
  .strict();

export type VolumeSpec = z.infer<typeof volumeSchema>;
export type RetentionPolicy = z.infer<typeof retentionSchema>;
export type BackupConfig = z.infer<typeof backupConfigSchema> & { /** The file it was read from. */ file: string };

export class BackupConfigError extends HalyardError {
  constructor(message: string, cause?: unknown) {
    super('E_BACKUP_CONFIG', message, { cause, exitCode: ExitCode.InputError });
  }
}

/** Reads and validates a backup file; the inventory path is resolved against the file's folder. */
export async function loadBackupConfig(path: string): Promise<BackupConfig> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    throw new BackupConfigError(`cannot read backup file ${path} (${(error as NodeJS.ErrnoException).code ?? String(error)})`, error);
  }
  const decoded = decodeUtf8(bytes);
  if (!decoded.ok) throw new BackupConfigError(`${path}:${decoded.line}: ${describeInvalidUtf8(decoded)}`);
  return parseBackupConfig(decoded.text, path);
}

export function parseBackupConfig(text: string, path: string): BackupConfig {
  let raw: unknown;
  try {
    raw = parse(text);
  } catch (error) {
    throw new BackupConfigError(`${path}: not valid YAML: ${(error as Error).message.split('\n')[0]}`, error);
  }
  const parsed = backupConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new BackupConfigError(`${path}: ${issue.path.join('.') || '(top)'}: ${issue.message}`);
  }
  const names = new Set<string>();
  for (const volume of parsed.data.volumes) {
    if (names.has(volume.name)) throw new BackupConfigError(`${path}: volumes: the name "${volume.name}" is used twice`);
    names.add(volume.name);
  }
  return { ...parsed.data, inventory: resolve(dirname(path), parsed.data.inventory), file: path };
}

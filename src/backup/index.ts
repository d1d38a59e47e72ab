// Streamed backups of volumes, data directories and Postgres databases to S3, and restores.
// plan.ts is pure (keys, manifests, remote scripts, retention); run.ts does the I/O.
export { BackupConfigError, backupConfigSchema, loadBackupConfig, parseBackupConfig, type BackupConfig, type RetentionPolicy, type VolumeSpec } from './config.js';
export {
  MANIFEST_NAME,
  MANIFEST_TOOL,
  STOP_LABEL,
  applyRetention,
  backupId,
  backupKeys,
  findOrphans,
  listLine,
  parseBackupId,
  parseManifest,
  treeDigestScript,
  type BackupManifest,
  type Compression,
  type OrphanDecision,
  type PendingUpload,
  type RetentionDecision,
  type RetentionItem,
} from './plan.js';
export { HALYARD_VERSION } from '../core/version.js';
export {
  backupVolume,
  findBackup,
  formatBytes,
  listBackups,
  pruneOrphans,
  pruneVolume,
  restoreFromStore,
  restoreVolume,
  verifyBackup,
  type BackupContext,
  type BackupOutcome,
  type ListedBackup,
  type RestoreOutcome,
  type VerifyOutcome,
} from './run.js';
export { openBackupEnv, runBackups, volumeHosts, volumeSpec, type BackupEnv, type BackupEnvOptions } from './fleet.js';

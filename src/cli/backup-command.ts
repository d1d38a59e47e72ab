import type { Command } from 'commander';
import type { InventoryReading } from '../inventory/index.js';
import { HalyardError } from '../core/errors.js';
import { ExitCode, type ExitCodeValue } from '../core/exit-codes.js';
import { abortOnSignals } from './interrupt.js';
import { addSshFlags, addVaultFlags, type SshFlags, type VaultFlags } from './common-flags.js';
import { stdoutText } from './output/terminal.js';

// `halyard backup run|list|restore|verify -c FILE`: streamed backups of volumes, data directories
// and Postgres databases to S3 (see src/backup/README.md).
export function registerBackupCommands(
  program: Command,
  setExitCode: (code: ExitCodeValue) => void = (code) => {
    process.exitCode = code;
  },
): void {
  const backup = program.command('backup').description('streamed backups of volumes and data directories to S3, and restores');
  const json = (value: unknown): void => {
    process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  };
  // Loaded only when a backup command runs (keeps the S3 SDK out of other commands).
  const load = () => import('../backup/index.js');

  addVaultFlags(
    addSshFlags(
      backup
        .command('run')
        .description('back up every volume of the file on its hosts (manifest last), then apply retention')
        .requiredOption('-c, --config <file>', 'backup file (YAML)')
        .option('-l, --limit <pattern>', 'only these hosts (names, groups, globs)')
        .option('--volume <name>', 'only this volume entry')
        .option('--json', 'print exactly one JSON document on stdout', false),
    ),
  ).action(async (flags: SshFlags & VaultFlags & { config: string; limit?: string; volume?: string; json: boolean }) => {
    const { loadBackupConfig, openBackupEnv, runBackups } = await load();
    const { sshOptionsFrom } = await import('./ssh-flags.js');
    const config = await loadBackupConfig(flags.config);
    const inventory = await readingFor(flags);
    const interrupt = abortOnSignals();
    const env = await openBackupEnv(config, {
      ssh: sshOptionsFrom(flags),
      inventory,
      ...(flags.limit ? { limit: flags.limit } : {}),
      log: (line) => {
        if (!flags.json) stdoutText.write(`${line}\n`);
      },
      // A part of the orphan sweep this store cannot do: on stderr, with --json too.
      warn: (line) => process.stderr.write(`halyard: warning: ${line}\n`),
      signal: interrupt.signal,
    });
    try {
      const outcomes = await runBackups(env, flags.volume ? { volume: flags.volume } : {});
      if (flags.json) json({ ok: outcomes.every((o) => o.ok), backups: outcomes });
      if (outcomes.length === 0 && !flags.json) stdoutText.write('no host matches any volume of the file\n');
      setExitCode(interrupt.exitCode() ?? (outcomes.every((o) => o.ok) ? ExitCode.Ok : ExitCode.HostFailed));
    } finally {
      await env.close();
      interrupt.dispose();
    }
  });

  backup
    .command('list')
    .description('backups that exist (those with a manifest), oldest first')
    .requiredOption('-c, --config <file>', 'backup file (YAML)')
    .option('--host <name>', 'only this host')
    .option('--volume <name>', 'only this volume')
    .option('--json', 'print exactly one JSON document on stdout', false)
    .action(async (flags: { config: string; host?: string; volume?: string; json: boolean }) => {
      const { listBackups, listLine, loadBackupConfig } = await load();
      const { sdkObjectStore } = await import('../aws/objects.js');
      const config = await loadBackupConfig(flags.config);
      const store = sdkObjectStore(storeOptions(config));
      const backups = await listBackups(store, config.prefix, { ...(flags.host ? { host: flags.host } : {}), ...(flags.volume ? { volume: flags.volume } : {}) });
      if (flags.json) {
        json(backups.map((b) => ({ ...b.manifest, manifestKey: b.manifestKey })));
        return;
      }
      for (const { manifest } of backups) stdoutText.write(`${listLine(manifest)}\n`);
    });

  addVaultFlags(
    addSshFlags(
      backup
        .command('restore')
        .description('stream a backup back onto its host (services stopped, started again after)')
        .requiredOption('-c, --config <file>', 'backup file (YAML)')
        .requiredOption('--host <name>', 'host to restore onto (its own backups)')
        .requiredOption('--volume <name>', 'volume entry of the file')
        .option('--id <id>', 'backup id (see list); default the latest', 'latest')
        .option('--from-host <name>', 'restore a backup made on another host'),
    ),
  ).action(async (flags: SshFlags & VaultFlags & { config: string; host: string; volume: string; id: string; fromHost?: string }) => {
    const { loadBackupConfig, openBackupEnv, restoreFromStore, volumeSpec } = await load();
    const { sshOptionsFrom } = await import('./ssh-flags.js');
    const config = await loadBackupConfig(flags.config);
    const spec = volumeSpec(config, flags.volume);
    const inventory = await readingFor(flags);
    const interrupt = abortOnSignals();
    const env = await openBackupEnv(config, { ssh: sshOptionsFrom(flags), inventory, log: (line) => stdoutText.write(`${line}\n`), signal: interrupt.signal });
    try {
      const host = env.inventory.hosts.find((h) => h.name === flags.host);
      if (!host) throw new HalyardError('E_BACKUP_HOST', `no host "${flags.host}" in ${config.inventory}`, { exitCode: ExitCode.Usage });
      await restoreFromStore(env.context, host, spec, { fromHost: flags.fromHost ?? host.name, id: flags.id });
    } catch (error) {
      const code = interrupt.exitCode();
      if (code === undefined) throw error;
      process.stderr.write(`halyard: ${error instanceof Error ? error.message : String(error)}\n`);
      setExitCode(code);
    } finally {
      await env.close();
      interrupt.dispose();
    }
  });

  backup
    .command('verify')
    .description("re-read backups and check each one's sha256 and size against its manifest")
    .requiredOption('-c, --config <file>', 'backup file (YAML)')
    .option('--host <name>', 'only this host')
    .option('--volume <name>', 'only this volume')
    .option('--id <id>', 'only this backup id')
    .option('--all', 'every backup (default: the latest of each host and volume)', false)
    .option('--json', 'print exactly one JSON document on stdout', false)
    .action(async (flags: { config: string; host?: string; volume?: string; id?: string; all: boolean; json: boolean }) => {
      const { listBackups, loadBackupConfig, verifyBackup } = await load();
      const { sdkObjectStore } = await import('../aws/objects.js');
      const config = await loadBackupConfig(flags.config);
      const store = sdkObjectStore(storeOptions(config));
      let backups = await listBackups(store, config.prefix, { ...(flags.host ? { host: flags.host } : {}), ...(flags.volume ? { volume: flags.volume } : {}) });
      if (flags.id) backups = backups.filter((b) => b.manifest.id === flags.id);
      else if (!flags.all) {
        const latest = new Map<string, (typeof backups)[number]>();
        for (const b of backups) latest.set(`${b.manifest.host}/${b.manifest.volume}`, b);
        backups = [...latest.values()];
      }
      if (backups.length === 0) throw new HalyardError('E_BACKUP_NOT_FOUND', `no backup to verify under s3://${config.bucket}/${config.prefix}/`);
      const results = [];
      for (const b of backups) {
        const result = await verifyBackup(store, b);
        results.push({ host: b.manifest.host, volume: b.manifest.volume, id: b.manifest.id, ok: result.ok, sha256: result.sha256, size: result.size });
        if (!flags.json) stdoutText.write(`${b.manifest.host}/${b.manifest.volume} ${b.manifest.id}: ${result.ok ? 'ok' : `MISMATCH (read sha256 ${result.sha256.slice(0, 12)}, ${result.size} bytes; manifest ${b.manifest.sha256.slice(0, 12)}, ${b.manifest.size} bytes)`}\n`);
      }
      if (flags.json) json({ ok: results.every((r) => r.ok), results });
      setExitCode(results.every((r) => r.ok) ? ExitCode.Ok : ExitCode.HostFailed);
    });
}

function storeOptions(config: { bucket: string; region?: string | undefined; endpoint?: string | undefined }): { bucket: string; region?: string; endpoint?: string } {
  return { bucket: config.bucket, ...(config.region ? { region: config.region } : {}), ...(config.endpoint ? { endpoint: config.endpoint } : {}) };
}

// The backup file's inventory is read as `halyard apply -i` reads it from here: ansible.cfg's and
// halyard.yml's connection defaults and vault passwords, and the vault flags; their warnings on stderr.
async function readingFor(flags: VaultFlags): Promise<InventoryReading> {
  const { inventoryReading } = await import('./inventory-reading.js');
  return inventoryReading(flags, (warning) => process.stderr.write(`halyard: warning: ${warning}\n`));
}

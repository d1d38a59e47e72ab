import type { Command } from 'commander';
import { HalyardError, UsageError } from '../core/errors.js';
import { ExitCode, type ExitCodeValue } from '../core/exit-codes.js';
import { stdoutText } from './output/terminal.js';

// `halyard daemon -c FILE`: scheduled probes, drift checks, backups and commands; /healthz and
// /metrics on 127.0.0.1; SIGTERM/SIGINT stop scheduling, let the running job finish (or abort it),
// exit 0. `--check` validates the file (and, with a lease, that its bucket honours conditional
// writes); `--run JOB` runs one job now and exits with its result.
export function registerDaemonCommands(program: Command, setExitCode: (code: ExitCodeValue) => void): void {
  program
    .command('daemon')
    .description('run scheduled jobs (probes, drift checks, backups, commands) with /healthz and /metrics on 127.0.0.1')
    .requiredOption('-c, --config <file>', 'daemon file (YAML)')
    .option('--port <port>', 'HTTP port on 127.0.0.1 (overrides http.port; 0 picks a free one)')
    .option('--check', 'validate the file and the files its jobs read (inventories, backup files, playbooks) and, with a lease, that its bucket honours conditional writes; print each job and its next run, and exit (65 when invalid)')
    .option('--run <job>', 'run one job now, once, and exit 0 when it succeeded, 1 when it failed (no port, no lease)')
    .action(async (flags: { config: string; port?: string; check?: boolean; run?: string }) => {
      if (flags.check && flags.run !== undefined) throw new UsageError('--check and --run do not go together');
      // Loaded on use: the daemon pulls in the AWS SDK, which every other command must not pay for.
      const { describeDaemonConfig, loadDaemonConfig } = await import('../daemon/config.js');
      const config = await loadDaemonConfig(flags.config);
      if (flags.check) {
        const { checkReferencedFiles } = await import('../daemon/check.js');
        // Inventories as the jobs will read them: with this directory's vault passwords and connection defaults.
        const { inventoryReading } = await import('./inventory-reading.js');
        const files = checkReferencedFiles(config, undefined, await inventoryReading());
        const bad = files.filter((file) => file.problem !== undefined);
        // With a lease, the same check as at start: the bucket must refuse a second conditional write.
        let lease: { line: string; failed?: HalyardError } | undefined;
        if (config.lease) {
          const { leaseStoreOf } = await import('../daemon/daemon.js');
          const { checkLeaseStore } = await import('../daemon/lease.js');
          const store = (await leaseStoreOf(config))!;
          try {
            await checkLeaseStore(store, config.lease.prefix);
            lease = { line: `lease ${store.where}: ok, conditional writes are honoured` };
          } catch (error) {
            if (!(error instanceof HalyardError)) throw error;
            lease = { line: error.message, failed: error };
          }
        }
        const problems = [...(bad.length > 0 ? [`${bad.length} bad file${bad.length === 1 ? '' : 's'}`] : []), ...(lease?.failed ? [lease.failed.code === 'E_LEASE_UNSAFE' ? 'unsafe lease store' : 'lease store not checked'] : [])];
        stdoutText.write(`${flags.config}: ${problems.length === 0 ? 'ok' : problems.join(', ')}, ${config.jobs.length} job${config.jobs.length === 1 ? '' : 's'}\n`);
        for (const line of describeDaemonConfig(config, new Date())) stdoutText.write(`  ${line}\n`);
        for (const file of files) stdoutText.write(`  ${file.file} (job ${file.job}): ${file.problem ?? 'ok'}\n`);
        if (lease) stdoutText.write(`  ${lease.line}\n`);
        if (bad.length > 0) setExitCode(ExitCode.InputError);
        else if (lease?.failed) setExitCode(lease.failed.exitCode);
        return;
      }
      const { awsServices, runJobOnce, startDaemon } = await import('../daemon/daemon.js');
      // Jobs read their inventories as `halyard apply` does from this directory (vault passwords,
      // connection defaults); each distinct settings warning is logged once.
      const { inventoryReading } = await import('./inventory-reading.js');
      const warned = new Set<string>();
      const services = {
        ...(await awsServices(config)),
        inventoryReading: () =>
          inventoryReading({}, (warning) => {
            if (warned.has(warning)) return;
            warned.add(warning);
            process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), level: 'warn', event: 'settings-warning', warning })}\n`);
          }),
      };
      if (flags.run !== undefined) {
        const aborter = new AbortController();
        process.once('SIGTERM', () => aborter.abort());
        process.once('SIGINT', () => aborter.abort());
        const result = await runJobOnce(config, flags.run, { services, signal: aborter.signal });
        setExitCode(result === 'success' ? ExitCode.Ok : ExitCode.HostFailed);
        return;
      }
      if (flags.port !== undefined) {
        const port = Number(flags.port);
        if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port must be a port number (0-65535), got "${flags.port}"`);
        config.http.port = port;
      }
      // Handlers first: a SIGTERM while the daemon starts or tells systemd it is ready (a stop right
      // after a start) must still stop it gracefully, not kill it mid-job by the default action.
      const signalled = new Promise<string>((resolve) => {
        process.once('SIGTERM', () => resolve('SIGTERM'));
        process.once('SIGINT', () => resolve('SIGINT'));
      });
      const daemon = await startDaemon(config, { services });
      // Under systemd (Type=notify) the start counts only from here: config, lease store and port are good.
      const { tellServiceManagerReady } = await import('../daemon/service-manager.js');
      await tellServiceManagerReady().catch((error: unknown) => {
        const reason = error instanceof Error ? error.message : String(error);
        process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), level: 'error', event: 'notify-failed', error: `systemd-notify --ready failed: ${reason}` })}\n`);
      });
      const signal = await signalled;
      process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), level: 'info', event: 'signal', signal })}\n`);
      await daemon.stop();
    });
}

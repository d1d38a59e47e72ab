import type { Command } from 'commander';
import { UsageError } from '../core/errors.js';

// `halyard daemon -c FILE`: scheduled probes, drift checks and commands; /healthz and /metrics on
// 127.0.0.1; SIGTERM/SIGINT stop scheduling, let the running job finish (or abort it), exit 0.
export function registerDaemonCommands(program: Command): void {
  program
    .command('daemon')
    .description('run scheduled jobs (probes, drift checks, commands) with /healthz and /metrics on 127.0.0.1')
    .requiredOption('-c, --config <file>', 'daemon file (YAML)')
    .option('--port <port>', 'HTTP port on 127.0.0.1 (overrides http.port; 0 picks a free one)')
    .action(async (flags: { config: string; port?: string }) => {
      // Loaded on use: the daemon pulls in the AWS SDK, which every other command must not pay for.
      const { loadDaemonConfig } = await import('../daemon/config.js');
      const { startDaemon } = await import('../daemon/daemon.js');
      const config = await loadDaemonConfig(flags.config);
      if (flags.port !== undefined) {
        const port = Number(flags.port);
        if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port must be a port number (0-65535), got "${flags.port}"`);
        config.http.port = port;
      }
      const daemon = await startDaemon(config);
      await new Promise<void>((resolve) => {
        const stop = (signal: string) => {
          process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), level: 'info', event: 'signal', signal })}\n`);
          void daemon.stop().then(resolve);
        };
        process.once('SIGTERM', () => stop('SIGTERM'));
        process.once('SIGINT', () => stop('SIGINT'));
      });
    });
}

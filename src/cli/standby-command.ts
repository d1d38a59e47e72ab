import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { UsageError } from '../core/errors.js';
import { stdoutText } from './output/terminal.js';

// This build's dist/ folder: the CLI runs from dist/cli/, bundled or not.
const DIST_ROOT = fileURLToPath(new URL('..', import.meta.url));

// `halyard standby start|stop|status`: a warm process kept ready for the next command, so a command
// skips Node's start-up, module loading and compilation (src/standby/).
export function registerStandbyCommands(program: Command): void {
  const standby = program
    .command('standby')
    .description('keep a warm halyard process ready for your next command (each command still gets a process of its own)');

  standby
    .command('start')
    .description('turn standby on for your user and wait until a standby is ready')
    .option('--idle-minutes <n>', 'a standby waiting this long for a command exits (default 30)', '30')
    .action(async (flags: { idleMinutes: string }) => {
      const idleMinutes = Number(flags.idleMinutes);
      if (!(idleMinutes > 0)) throw new UsageError(`--idle-minutes must be a positive number, got "${flags.idleMinutes}"`);
      const { startStandbys } = await import('../standby/control.js');
      const started = await startStandbys(DIST_ROOT, idleMinutes);
      stdoutText.write(`standby on: process ${started.pid} ready in ${started.seconds.toFixed(1)} s; each command takes one and leaves the next (idle ${idleMinutes} min; \`halyard standby stop\` turns it off)\n`);
    });

  standby
    .command('stop')
    .description('turn standby off and end every standby process of your user')
    .action(async () => {
      const { stopStandbys } = await import('../standby/control.js');
      const ended = await stopStandbys(DIST_ROOT);
      stdoutText.write(`standby off: ${ended} standby process(es) ended\n`);
    });

  standby
    .command('status')
    .description('say whether standby is on and which standby processes are ready')
    .option('--json', 'print one JSON document', false)
    .action(async (flags: { json: boolean }) => {
      const { standbyStatus } = await import('../standby/control.js');
      const status = standbyStatus(DIST_ROOT);
      if (flags.json) {
        process.stdout.write(`${JSON.stringify(status, null, 2)}\n`);
        return;
      }
      const lines = [
        status.on ? `standby on (idle ${status.idleMinutes} min)` : 'standby off',
        ...status.standbys.map((entry) => `${entry.state}\tpid ${entry.pid}\t${entry.path}`),
        ...(status.otherBuilds > 0 ? [`${status.otherBuilds} standby process(es) of other halyard builds (they end when idle, or with \`halyard standby stop\`)`] : []),
      ];
      stdoutText.write(`${lines.join('\n')}\n`);
    });
}

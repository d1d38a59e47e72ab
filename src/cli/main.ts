import { writeFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { HalyardError } from '../core/errors.js';
import { ExitCode, type ExitCodeValue } from '../core/exit-codes.js';
import { peakRssKb } from '../core/peak-rss.js';
import { HALYARD_VERSION } from '../core/version.js';
import { registerApplyCommand } from './apply-command.js';
import { registerBackupCommands } from './backup-command.js';
import { registerCompletionCommand } from './completion-command.js';
import { registerDaemonCommands } from './daemon-command.js';
import { registerFleetCommands } from './fleet-commands.js';
import { registerCheckCommand } from './check-command.js';
import { registerInitCommand } from './init-command.js';
import { registerInventoryCommands } from './inventory-command.js';
import { registerLabCommands } from './lab-command.js';
import { registerMonitorCommands } from './monitor-command.js';
import { registerReportCommands } from './report-command.js';
import { registerStandbyCommands } from './standby-command.js';
import { registerVaultCommands } from './vault-command.js';
import { stderrText } from './output/terminal.js';

// Start-up: every command is registered here (names, options, help text: what --help and the
// completion scripts read), and the register modules import only commander and small modules
// (common-flags.ts, core/errors.ts, output/terminal.ts); each action imports what it runs when it
// runs. So `halyard --version` and `--help` load no SSH, AWS SDK, YAML, zod or playbook loader
// (test/cli/startup-modules.test.ts keeps it so; src/bench/startup-bench.ts measures it).

// What the process running the CLI knows that argv does not say.
export interface MainOptions {
  // Resource use before the command began: a standby process (src/standby/) loaded and warmed up
  // before its command came, and HALYARD_STATS_FILE counts the command's share alone.
  usageBefore?: NodeJS.ResourceUsage;
}

// The halyard CLI: parses argv, runs one command, maps every error to one line and an exit code.
export async function main(argv: string[], options: MainOptions = {}): Promise<void> {
  let exitCode: ExitCodeValue = ExitCode.Ok;
  const program = new Command()
    .name('halyard')
    .description('Typed, idempotent provisioning over SSH')
    .version(HALYARD_VERSION)
    .exitOverride()
    .showHelpAfterError(false)
    .configureOutput({
      writeErr: (text) => stderrText.write(text),
      // One line per error: commander puts "(Did you mean --forks?)" on a second line.
      outputError: (text, write) => write(`${text.trimEnd().replace(/\s*\n\s*/g, ' ')}\n`),
    });
  registerApplyCommand(program, (code) => {
    exitCode = code;
  });
  registerInventoryCommands(program);
  registerInitCommand(program);
  registerCheckCommand(program);
  registerVaultCommands(program);
  registerDaemonCommands(program, (code) => {
    exitCode = code;
  });
  registerLabCommands(program);
  registerFleetCommands(program, (code) => {
    exitCode = code;
  });
  registerMonitorCommands(program, (code) => {
    exitCode = code;
  });
  registerBackupCommands(program, (code) => {
    exitCode = code;
  });
  registerReportCommands(program, (code) => {
    exitCode = code;
  });
  registerStandbyCommands(program);
  // Last: its scripts are written from the commands registered above.
  registerCompletionCommand(program);
  for (const command of program.commands) command.exitOverride();

  try {
    await program.parseAsync(argv);
  } catch (error) {
    exitCode = reportError(error);
  }
  process.exitCode = exitCode;
  writeStatsFile(options.usageBefore);
}

// For benchmarks: HALYARD_STATS_FILE receives the controller's peak RSS and CPU seconds (user,
// system) when the command ends; in a standby, the CPU its command used and, apart, its warm-up's.
function writeStatsFile(before: NodeJS.ResourceUsage | undefined): void {
  const path = process.env.HALYARD_STATS_FILE;
  if (!path) return;
  const usage = process.resourceUsage();
  const stats = {
    maxRssKb: peakRssKb(),
    userCpuSeconds: (usage.userCPUTime - (before?.userCPUTime ?? 0)) / 1e6,
    systemCpuSeconds: (usage.systemCPUTime - (before?.systemCPUTime ?? 0)) / 1e6,
    ...(before ? { standbyWarmUpCpuSeconds: (before.userCPUTime + before.systemCPUTime) / 1e6 } : {}),
  };
  writeFileSync(path, `${JSON.stringify(stats)}\n`);
}

// Prints one line for a known error (no stack trace) and picks the exit code.
function reportError(error: unknown): ExitCodeValue {
  if (error instanceof CommanderError) {
    // Commander already printed its message; help and version are not errors.
    if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help') return ExitCode.Ok;
    return ExitCode.Usage;
  }
  if (error instanceof HalyardError) {
    stderrText.write(`halyard: ${error.message}\n`);
    return error.exitCode;
  }
  const message = error instanceof Error ? error.message : String(error);
  stderrText.write(`halyard: internal error: ${message}\n`);
  if (process.env.HALYARD_DEBUG && error instanceof Error) stderrText.write(`${error.stack}\n`);
  return ExitCode.Internal;
}

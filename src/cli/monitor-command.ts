import type { Command } from 'commander';
import type { ExitCodeValue } from '../core/exit-codes.js';
import { stdoutText, stderrText } from './output/terminal.js';

// `halyard monitor apply -c FILE [--check] [--json]`: reconcile the SNS topic, its subscriptions
// and the CloudWatch alarms a monitor file describes. Prints the plan first, then applies it.
export function registerMonitorCommands(
  program: Command,
  setExitCode: (code: ExitCodeValue) => void = (code) => {
    process.exitCode = code;
  },
): void {
  const monitor = program.command('monitor').description('CloudWatch alarms and SNS alerts for the fleet, as code');
  monitor
    .command('apply')
    .description('reconcile the topic, subscriptions and alarms of a monitor file (plan first, then apply)')
    .requiredOption('-c, --config <file>', 'monitor file (YAML)')
    .option('-C, --check', 'only print the plan (exit 2 when changes are pending)', false)
    .option('--json', 'print exactly one JSON document on stdout', false)
    .action(async (flags: { config: string; check: boolean; json: boolean }) => {
      // Loaded here so other commands never load the AWS SDK.
      const { applyMonitorFile, formatPlan, formatResult, monitorExitCode, resultJson } = await import('../monitor/index.js');
      const write = (text: string) => {
        if (!flags.json) stdoutText.write(text);
      };
      const result = await applyMonitorFile(flags.config, {
        check: flags.check,
        onPlan: (report) => write(formatPlan(report)),
        onApplied: (line) => write(`  ${line}\n`),
      });
      if (flags.json) process.stdout.write(resultJson(result));
      else write(formatResult(result));
      const conflicts = result.summary.alarms.conflict;
      if (conflicts > 0 && !flags.json) {
        stderrText.write(`halyard: ${conflicts} alarm name(s) are held by alarms this monitor does not own; they were left alone (see the conflict lines)\n`);
      }
      setExitCode(monitorExitCode(result));
    });
}

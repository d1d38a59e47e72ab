import type { Command } from 'commander';
import type { ExitCodeValue } from '../core/exit-codes.js';

// `halyard report merge FILES...`: the results of a run's slices (`apply --slice INDEX/COUNT
// --json-file FILE`) as one recap (or one JSON document) and the exit code apply would have given
// the whole fleet. The checks and the merge are src/report/merge.ts.
export function registerReportCommands(program: Command, setExitCode: (code: ExitCodeValue) => void): void {
  const report = program.command('report').description('read the --json results of runs');
  report
    .command('merge')
    .description("merge the results of a run's slices (apply --slice INDEX/COUNT --json-file FILE) into one recap and one exit code")
    .argument('<files...>', 'result files (apply --json-file, or apply --json saved), one per slice')
    .option('--json', 'print exactly one JSON document on stdout (the merged result)', false)
    .action(async (paths: string[], flags: { json: boolean }) => {
      const { describeMerge, mergeResults, readResultFiles } = await import('../report/merge.js');
      const { formatRecap } = await import('./output/recap.js');
      const { stderrText, stdoutText } = await import('./output/terminal.js');
      const merged = mergeResults(await readResultFiles(paths));
      const { summary, missing } = describeMerge(merged);
      if (flags.json) {
        const { files, slices } = merged;
        process.stdout.write(`${JSON.stringify({ ...merged.result, merged: { files, ...(slices ? { slices } : {}) } }, null, 2)}\n`);
      } else {
        stdoutText.write(`${summary}\n\n${formatRecap(merged.result)}\n`);
      }
      if (missing !== undefined) stderrText.write(`halyard: ${missing}\n`);
      setExitCode(merged.exitCode);
    });
}

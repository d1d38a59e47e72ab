import { readdirSync, readFileSync } from 'node:fs';

// What the benches share: their flags and the stats a halyard run leaves in HALYARD_STATS_FILE.

// The value after `flag` on the command line (`--sizes 1,10`), or undefined.
export function argValue(flag: string): string | undefined {
  const index = process.argv.indexOf(flag);
  return index >= 0 ? process.argv[index + 1] : undefined;
}

// What src/cli/main.ts writes to HALYARD_STATS_FILE when a command ends.
export interface RunStats {
  maxRssKb: number;
  userCpuSeconds: number;
  systemCpuSeconds: number;
  /** In a standby (src/standby/): the CPU its loading and warm-up took before the command came. */
  standbyWarmUpCpuSeconds?: number;
}

// The stats file of a finished run; undefined when the run left none (it was killed).
export function readRunStats(path: string): RunStats | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as RunStats;
  } catch {
    return undefined;
  }
}

// Waits until a standby is ready under a runtime directory (XDG_RUNTIME_DIR of `halyard standby
// start`), so a timed run on standby never overlaps the warm-up of the one before it.
export async function waitForReadyStandby(runtime: string, timeoutMs = 30_000): Promise<void> {
  const started = Date.now();
  while (!readdirSync(runtime, { recursive: true, encoding: 'utf8' }).some((path) => /(^|\/)ready-\d+\.sock$/.test(path))) {
    if (Date.now() - started > timeoutMs) throw new Error(`no standby became ready under ${runtime} in ${timeoutMs / 1000} s`);
    await new Promise((done) => setTimeout(done, 20));
  }
}

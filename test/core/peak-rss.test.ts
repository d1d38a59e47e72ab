// HALYARD_STATS_FILE's peak RSS is the CLI's own, not its parent's: the backup e2e checks the
// 150 MiB budget with it, and getrusage's maxRSS of a spawned child includes the memory of the
// process that spawned it (vitest's, 170-180 MiB in a busy suite, which failed that check).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { peakRssKb } from '../../src/core/peak-rss.js';
import { CLI } from '../support/cli.js';

describe('peakRssKb', () => {
  it("is this process's own peak: at least its RSS now", () => {
    expect(peakRssKb() * 1024).toBeGreaterThanOrEqual(process.memoryUsage.rss() * 0.9);
  });

  it("a CLI spawned by a process holding 256 MiB reports its own peak, where getrusage's maxRSS reports the parent's", () => {
    const ballast = Buffer.alloc(256 * 1024 * 1024, 1);
    const stats = join(mkdtempSync(join(tmpdir(), 'hy-rss-')), 'stats.json');
    const run = spawnSync(process.execPath, [CLI, '--version'], { env: { ...process.env, HALYARD_STATS_FILE: stats }, encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
    const { maxRssKb } = JSON.parse(readFileSync(stats, 'utf8')) as { maxRssKb: number };
    expect(maxRssKb).toBeGreaterThan(10 * 1024);
    expect(maxRssKb).toBeLessThan(120 * 1024);
    // The same child's getrusage figure, to show what the check used to see.
    const inherited = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.resourceUsage().maxRSS))'], { encoding: 'utf8' });
    expect(Number(inherited.stdout)).toBeGreaterThan(256 * 1024);
    expect(ballast[ballast.length - 1]).toBe(1);
  });
});

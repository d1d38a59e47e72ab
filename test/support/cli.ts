import { spawn, type ChildProcessByStdio, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { parse, stringify, type ScalarTag } from 'yaml';
import { isSecret, type Secret } from '../../src/core/secret.js';
import type { RunResult } from '../../src/engine/results.js';
import type { LabFleet } from '../../src/lab/index.js';

/** The compiled CLI, exactly as users run it (`npm test` builds it first). */
export const CLI = resolve(import.meta.dirname, '../../bin/halyard.js');

// What one CLI run printed and returned.
export interface CliRun {
  exitCode: number | null;
  stdout: string;
  stderr: string;
  /** Parsed stdout when --json was passed. */
  json?: RunResult;
}

// A child's output, collected as text, and its exit code, when it closes.
export function collectOutput(child: ChildProcessWithoutNullStreams | ChildProcessByStdio<null, Readable, Readable>): Promise<Omit<CliRun, 'json'>> {
  return new Promise((done, fail) => {
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', fail);
    child.on('close', (exitCode) => done({ exitCode, stdout, stderr }));
  });
}

// Runs `halyard ARGS` as a child process (no TTY), collecting output. Standby (src/standby/) is off
// unless the env given turns it on, whatever the machine running the tests has.
export async function runCli(args: string[], options: { env?: Record<string, string>; cwd?: string; onStart?: (pid: number) => void } = {}): Promise<CliRun> {
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: options.cwd ?? resolve(import.meta.dirname, '../..'),
    env: { ...process.env, CI: '1', HALYARD_STANDBY: 'off', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (child.pid !== undefined) options.onStart?.(child.pid);
  const run: CliRun = await collectOutput(child);
  if (args.includes('--json')) {
    try {
      run.json = JSON.parse(run.stdout) as RunResult;
    } catch {
      // Left undefined: the test's assertion on json reports it.
    }
  }
  return run;
}

// Runs several `halyard ARGS` through the CLI's main() in one child process (test/support/cli-batch.mjs):
// for tables of error messages, where a Node start-up per case was most of the cost.
export async function runCliBatch(runs: string[][], options: { cwd?: string } = {}): Promise<CliRun[]> {
  const child = spawn(process.execPath, [resolve(import.meta.dirname, 'cli-batch.mjs')], {
    cwd: options.cwd ?? resolve(import.meta.dirname, '../..'),
    env: { ...process.env, CI: '1', HALYARD_STANDBY: 'off' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  child.stdin.end(JSON.stringify(runs));
  const { exitCode, stdout, stderr } = await collectOutput(child);
  if (exitCode !== 0) throw new Error(`cli batch exited ${exitCode}: ${stderr}`);
  return JSON.parse(stdout) as CliRun[];
}

// Writes an inventory for a lab fleet with extra vars for all hosts; returns its path.
export function fleetInventory(fleet: LabFleet, vars: Record<string, unknown>, options: { dir?: string; hostVars?: Record<string, Record<string, unknown>> } = {}): string {
  const base = parse(readFileSync(fleet.inventoryPath, 'utf8')) as { all: { hosts: Record<string, Record<string, unknown>>; vars?: Record<string, unknown> } };
  base.all.vars = { ...(base.all.vars ?? {}), ...vars };
  for (const [host, extra] of Object.entries(options.hostVars ?? {})) base.all.hosts[host] = { ...base.all.hosts[host], ...extra };
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'hy-inv-'));
  const path = join(dir, 'inventory.yml');
  writeFileSync(path, stringify(base));
  return path;
}

// A fresh, empty known_hosts path for one test.
export function freshKnownHosts(): string {
  return join(mkdtempSync(join(tmpdir(), 'hy-kh-')), 'known_hosts');
}

// Secrets written as `!secret "value"` (test input files only: halyard's own tag prints the mask).
const revealingSecretTag: ScalarTag = {
  tag: '!secret',
  identify: (value) => isSecret(value),
  resolve: (text) => text,
  stringify: (item) => JSON.stringify((item.value as Secret).reveal()),
};

// The text of a `-e @FILE` vars file; Secret values anywhere in it come out tagged `!secret`.
export function varsFileText(vars: Record<string, unknown>): string {
  return stringify(vars, { customTags: [revealingSecretTag] });
}

// Runs the CLI under util-linux `script`, which gives it a pseudo-terminal, with CI unset. The pty
// gets a size first (halyard draws plain lines on a size-less one); killed after 30 s so a hang fails.
export function runOnTty(args: string[]): Promise<{ exitCode: number | null; output: string }> {
  const quoted = [process.execPath, CLI, ...args].map((word) => `'${word.replace(/'/g, `'\\''`)}'`).join(' ');
  const env: NodeJS.ProcessEnv = { ...process.env, TERM: 'xterm-256color' };
  delete env.CI;
  return new Promise((done, fail) => {
    const child = spawn('script', ['-qec', `stty cols 160 rows 50; exec ${quoted}`, '/dev/null'], { cwd: resolve(import.meta.dirname, '../..'), env, stdio: ['ignore', 'pipe', 'pipe'] });
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.on('error', fail);
    child.on('close', (exitCode) => {
      clearTimeout(timer);
      done({ exitCode, output });
    });
  });
}

import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CLI, collectOutput } from './cli.js';

const PRELOAD = resolve(import.meta.dirname, 'module-log.mjs');

// What one logged run printed, returned and loaded.
export interface LoggedRun {
  exitCode: number | null;
  stdout: string;
  stderr: string;
  /** Every module the process loaded: file: URLs, paths and node: builtins, each once. */
  modules: string[];
}

// Runs `node --import module-log.mjs SCRIPT ARGS` (SCRIPT: the built CLI unless given) and
// returns the modules it loaded with its output.
export async function runLoggingModules(args: string[], options: { script?: string; env?: Record<string, string>; cwd?: string; input?: string } = {}): Promise<LoggedRun> {
  const log = join(mkdtempSync(join(tmpdir(), 'hy-modlog-')), 'modules.txt');
  const child = spawn(process.execPath, ['--import', PRELOAD, options.script ?? CLI, ...args], {
    cwd: options.cwd ?? resolve(import.meta.dirname, '../..'),
    env: { ...process.env, CI: '1', ...options.env, HALYARD_TEST_MODULE_LOG: log },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  child.stdin.end(options.input ?? '');
  const run = await collectOutput(child);
  let text: string;
  try {
    text = readFileSync(log, 'utf8');
  } catch (error) {
    throw new Error(`no module log from ${args.join(' ')} (exit ${run.exitCode}): ${(error as Error).message}; stderr: ${run.stderr}`);
  }
  return { ...run, modules: withBundledInputs([...new Set(text.split('\n').filter((line) => line !== ''))]) };
}

const ROOT = resolve(import.meta.dirname, '../..');

// The built CLI is bundled (scripts/bundle.mjs): a loaded file of dist/ stands for the modules
// bundled into it, which dist/b/meta.json lists (dist/... and node_modules/... paths). Each is
// added as the path it had before bundling, so the checks read the same either way.
function withBundledInputs(modules: string[]): string[] {
  let inputs: Record<string, string[]>;
  try {
    inputs = JSON.parse(readFileSync(join(ROOT, 'dist/b/meta.json'), 'utf8')) as Record<string, string[]>;
  } catch {
    return modules;
  }
  const all = new Set(modules);
  for (const module of modules) {
    const path = module.startsWith('file://') ? fileURLToPath(module) : module;
    if (!path.startsWith(`${ROOT}/dist/`)) continue;
    for (const input of inputs[path.slice(`${ROOT}/dist/`.length)] ?? []) all.add(join(ROOT, input));
  }
  return [...all];
}

// The npm packages among modules (by their last node_modules/ folder: "commander", "@aws-sdk/client-s3"), sorted.
export function packagesOf(modules: string[]): string[] {
  const names = new Set<string>();
  for (const module of modules) {
    const at = module.lastIndexOf('/node_modules/');
    if (at < 0) continue;
    const parts = module.slice(at + '/node_modules/'.length).split('/');
    names.add(parts[0]!.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!);
  }
  return [...names].sort();
}

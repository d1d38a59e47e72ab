import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { CLI } from './cli.js';

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
export function runLoggingModules(args: string[], options: { script?: string; env?: Record<string, string>; cwd?: string; input?: string } = {}): Promise<LoggedRun> {
  const log = join(mkdtempSync(join(tmpdir(), 'hy-modlog-')), 'modules.txt');
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ['--import', PRELOAD, options.script ?? CLI, ...args], {
      cwd: options.cwd ?? resolve(import.meta.dirname, '../..'),
      env: { ...process.env, CI: '1', ...options.env, HALYARD_TEST_MODULE_LOG: log },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', fail);
    child.on('close', (exitCode) => {
      let text = '';
      try {
        text = readFileSync(log, 'utf8');
      } catch (error) {
        return fail(new Error(`no module log from ${args.join(' ')} (exit ${exitCode}): ${(error as Error).message}; stderr: ${stderr}`));
      }
      done({ exitCode, stdout, stderr, modules: [...new Set(text.split('\n').filter((line) => line !== ''))] });
    });
    child.stdin.end(options.input ?? '');
  });
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

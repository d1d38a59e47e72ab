import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { Fact } from '../../src/facts/fact.js';
import { buildProbeScript, parseProbeOutput, uniqueFacts, type FactValues } from '../../src/facts/probe-script.js';

// The result of running a script with a local `sh -s`.
export interface LocalShResult {
  exitCode: number | null;
  stdout: string;
  stderr: string;
}

// Runs a POSIX sh script the way a host does (script on stdin), locally; dash is /bin/sh on Debian.
// `user` runs it as another uid and gid (this process must be root), as a run without become would.
export function runSh(script: string, options: { cwd?: string; env?: NodeJS.ProcessEnv; user?: { uid: number; gid: number } } = {}): Promise<LocalShResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-s'], { cwd: options.cwd, env: options.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'], ...(options.user ?? {}) });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (exitCode) => resolve({ exitCode, stdout, stderr }));
    child.stdin.end(script);
  });
}

// Probes facts in one batch with a local shell and parses them back, as the engine does over SSH.
export async function probeLocally(facts: readonly Fact<unknown>[], cwd?: string, options: Parameters<typeof runSh>[1] = {}): Promise<FactValues> {
  const unique = uniqueFacts(facts);
  const nonce = randomBytes(8).toString('hex');
  const result = await runSh(buildProbeScript(unique, nonce), { ...options, ...(cwd === undefined ? {} : { cwd }) });
  if (result.exitCode !== 0) throw new Error(`probe script failed (${result.exitCode}): ${result.stderr}`);
  return parseProbeOutput(result.stdout, unique, nonce);
}

// Probes one fact locally and returns its value.
export async function probeOne<T>(fact: Fact<T>, cwd?: string): Promise<T> {
  return (await probeLocally([fact as Fact<unknown>], cwd)).get(fact.key) as T;
}

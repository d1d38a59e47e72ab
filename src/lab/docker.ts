import { LabError, DOCKER_UNREACHABLE_MESSAGE } from './errors.js';
import { run, runChecked, type RunOptions, type RunResult } from './process.js';

// The label every lab container and volume carries; its value is the fleet name.
export const LAB_LABEL = 'halyard.lab';

// `docker build` flags for a build that should take only the CPU nothing else wants (a background build).
export const LOW_PRIORITY_BUILD = ['--cpu-shares', '128'];

// Runs the docker CLI with an argv array; returns the result whatever the exit status.
export async function docker(args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  try {
    return await run('docker', args, options);
  } catch (error) {
    throw asUnreachable(error);
  }
}

// Runs the docker CLI and throws a LabError (command, status, stderr tail) when it fails.
export async function dockerChecked(args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  try {
    return await runChecked('docker', args, options);
  } catch (error) {
    throw asUnreachable(error);
  }
}

let engineCheck: Promise<string> | undefined;

// Fails loudly (never skips) when the docker CLI is missing or dockerd is not answering; returns
// the server version. Checked once per process.
export function ensureDockerEngine(): Promise<string> {
  engineCheck ??= checkDockerEngine().catch((error: unknown) => {
    engineCheck = undefined;
    throw error;
  });
  return engineCheck;
}

// One uncached engine check with a given environment (DOCKER_HOST, PATH); throws E_LAB_DOCKER_UNREACHABLE.
export async function checkDockerEngine(env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const result = await docker(['info', '--format', '{{.ServerVersion}}'], { timeoutMs: 30_000, env });
  const version = result.stdout.trim();
  if (result.exitCode !== 0 || version === '' || version.includes('<no value>')) {
    const detail = (result.stderr || result.stdout).trim().split('\n').slice(-3).join('\n');
    throw new LabError('E_LAB_DOCKER_UNREACHABLE', `${DOCKER_UNREACHABLE_MESSAGE}\n${detail}`);
  }
  return version;
}

// True when a local image with this reference exists.
export async function imageExists(ref: string): Promise<boolean> {
  const result = await docker(['image', 'inspect', '--format', '{{.Id}}', ref], { timeoutMs: 30_000 });
  return result.exitCode === 0;
}

// Reads one label of a local image, or undefined when the image or label is missing.
export async function imageLabel(ref: string, label: string): Promise<string | undefined> {
  const result = await docker(['image', 'inspect', '--format', `{{ index .Config.Labels ${JSON.stringify(label)} }}`, ref], {
    timeoutMs: 30_000,
  });
  const value = result.stdout.trim();
  if (result.exitCode !== 0 || value === '' || value === '<no value>') return undefined;
  return value;
}

// The image ID (sha256:...) of a local image; throws when it is missing.
export async function imageId(ref: string): Promise<string> {
  const result = await dockerChecked(['image', 'inspect', '--format', '{{.Id}}', ref], { timeoutMs: 30_000 });
  return result.stdout.trim();
}

// The host port Docker published for a container's port 22 on 127.0.0.1.
export async function publishedSshPort(container: string): Promise<number> {
  const result = await dockerChecked(['port', container, '22/tcp'], { timeoutMs: 30_000 });
  for (const line of result.stdout.split('\n')) {
    const match = /^127\.0\.0\.1:(\d+)\s*$/.exec(line.trim());
    if (match?.[1]) return Number(match[1]);
  }
  throw new LabError('E_LAB_COMMAND_FAILED', `docker port ${container} 22/tcp gave no 127.0.0.1 port: ${result.stdout.trim()}`);
}

// Names of containers (running or not) that match every label filter given.
export async function containersWithLabel(filter: string): Promise<string[]> {
  const result = await dockerChecked(['ps', '-a', '--filter', `label=${filter}`, '--format', '{{.Names}}'], {
    timeoutMs: 60_000,
  });
  return result.stdout.split('\n').map((s) => s.trim()).filter(Boolean);
}

// Names of volumes that carry a label filter.
export async function volumesWithLabel(filter: string): Promise<string[]> {
  const result = await dockerChecked(['volume', 'ls', '-q', '--filter', `label=${filter}`], { timeoutMs: 60_000 });
  return result.stdout.split('\n').map((s) => s.trim()).filter(Boolean);
}

// Reads a label from a container, or undefined.
export async function containerLabel(container: string, label: string): Promise<string | undefined> {
  const result = await docker(['inspect', '--format', `{{ index .Config.Labels ${JSON.stringify(label)} }}`, container], {
    timeoutMs: 30_000,
  });
  const value = result.stdout.trim();
  if (result.exitCode !== 0 || value === '' || value === '<no value>') return undefined;
  return value;
}

function asUnreachable(error: unknown): unknown {
  if ((error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') {
    return new LabError('E_LAB_DOCKER_UNREACHABLE', `${DOCKER_UNREACHABLE_MESSAGE} (the docker CLI is not installed)`, {
      cause: error,
    });
  }
  return error;
}

// True when the container exists and is running (docker inspect .State.Running).
export async function containerRunning(container: string): Promise<boolean> {
  const result = await docker(['inspect', '--format', '{{.State.Running}}', container], { timeoutMs: 30_000 });
  return result.exitCode === 0 && result.stdout.trim() === 'true';
}

// The last lines of a container's own output, for error messages about hosts that would not start.
export async function containerLogsTail(container: string, lines = 20): Promise<string> {
  const result = await docker(['logs', '--tail', String(lines), container], { timeoutMs: 30_000 });
  return `${result.stdout}${result.stderr}`.trim();
}

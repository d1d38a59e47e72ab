import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { LabError } from './errors.js';

// Serialises image builds across processes (parallel vitest runs, a CLI beside tests):
// an atomic mkdir holding the owner's pid; a lock whose owner died is taken over.
export async function withDirLock<T>(
  lockDir: string,
  fn: () => Promise<T>,
  options: { timeoutMs?: number; onWait?: (owner: string) => void } = {},
): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 30 * 60_000);
  let told = false;
  for (;;) {
    try {
      await mkdir(lockDir);
      await writeFile(join(lockDir, 'owner'), `${process.pid} ${hostname()} ${new Date().toISOString()}\n`);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = (await readFile(join(lockDir, 'owner'), 'utf8').catch(() => '')).trim();
      const pid = Number(owner.split(' ')[0]);
      if (owner !== '' && Number.isInteger(pid) && pid > 0 && !processAlive(pid)) {
        await rm(lockDir, { recursive: true, force: true });
        continue;
      }
      if (!told) {
        options.onWait?.(owner || 'unknown owner');
        told = true;
      }
      if (Date.now() > deadline) throw new LabError('E_LAB_TIMEOUT', `lock ${lockDir} still held by ${owner || 'unknown owner'}`);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
  try {
    return await fn();
  } finally {
    await rm(lockDir, { recursive: true, force: true });
  }
}

// True when a local process with this pid exists (EPERM still means it exists).
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

import { homedir } from 'node:os';
import { join } from 'node:path';

// Where lab keys and fleet inventories live: $HALYARD_LAB_DIR, else ~/.cache/halyard/lab.
export function labStateDir(env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env['HALYARD_LAB_DIR'];
  if (fromEnv && fromEnv.trim() !== '') return fromEnv;
  return join(homedir(), '.cache', 'halyard', 'lab');
}

// Where the base root-file-system tarball is kept so a rebuild after `docker system prune` is fast.
export function labCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env['HALYARD_LAB_CACHE_DIR'];
  if (fromEnv && fromEnv.trim() !== '') return fromEnv;
  return '/var/cache/halyard';
}

// The directory holding one fleet's inventory and known_hosts.
export function fleetDir(name: string, env: NodeJS.ProcessEnv = process.env): string {
  return join(labStateDir(env), name);
}

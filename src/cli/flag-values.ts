import { UsageError } from '../core/errors.js';

// Numbers from flags, read one way by every command: a usage error naming the flag and the text.

/** Hosts at once when neither -f, halyard.yml nor ansible.cfg says. */
export const DEFAULT_FORKS = 20;

// A positive whole number (--forks).
export function positiveInt(text: string, flag: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new UsageError(`${flag} must be a positive whole number, got "${text}"`);
  return value;
}

// A whole number of seconds, 0 included (--lock-timeout).
export function wholeSeconds(text: string, flag: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0) throw new UsageError(`${flag} must be a whole number of seconds, got "${text}"`);
  return value;
}

// Forks from the flag, else the settings files, else the default.
export function forksFrom(flag: string | undefined, fromSettings: number | undefined): number {
  return flag !== undefined ? positiveInt(flag, '--forks') : (fromSettings ?? DEFAULT_FORKS);
}

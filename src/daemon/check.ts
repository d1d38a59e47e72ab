import { readFileSync } from 'node:fs';
import { parseBackupConfig } from '../backup/config.js';
import { inventoryFromText, type InventoryReading } from '../inventory/index.js';
import { detectInventoryKind } from '../inventory/kind.js';
import type { DaemonConfig } from './config.js';

// The files a daemon file points at (inventories, backup files, playbooks), read and parsed the way
// the jobs will read them, so a typo fails `daemon --check` or the role's run, not a 2 a.m. backup.

/** One referenced file: fine, or the one-line problem a job would hit. */
export interface ReferencedFile {
  job: string;
  file: string;
  problem?: string;
}

/** Reads a file's text; undefined when the file is not known to the caller (the role: not one it ships). */
export type FileReader = (path: string) => string | undefined;

// Reads from disk; a missing or unreadable file is a problem, not an unknown.
export const diskReader: FileReader = (path) => readFileSync(path, 'utf8');

// Every file the jobs reference, checked; files the reader does not know are left out. Inventories
// are read with `reading` (vault passwords, connection defaults), as the jobs read them.
export function checkReferencedFiles(config: DaemonConfig, read: FileReader = diskReader, reading: InventoryReading = {}): ReferencedFile[] {
  const checks: ReferencedFile[] = [];
  const check = (job: string, file: string, parse: (text: string) => void): void => {
    let text: string | undefined;
    try {
      text = read(file);
    } catch (error) {
      checks.push({ job, file, problem: `cannot read it (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})` });
      return;
    }
    if (text === undefined) return;
    try {
      parse(text);
      checks.push({ job, file });
    } catch (error) {
      checks.push({ job, file, problem: (error as Error).message.split('\n')[0] ?? String(error) });
    }
  };
  for (const job of config.jobs) {
    if (job.kind === 'probe') check(job.name, job.inventory, (text) => parseInventory(job.inventory, text, reading));
    if (job.kind === 'drift') {
      check(job.name, job.inventory, (text) => parseInventory(job.inventory, text, reading));
      check(job.name, job.playbook, () => undefined);
    }
    if (job.kind === 'backup') {
      let inventory: string | undefined;
      check(job.name, job.backup_file, (text) => {
        inventory = parseBackupConfig(text, job.backup_file).inventory;
      });
      if (inventory !== undefined) {
        const path = inventory;
        check(job.name, path, (text) => parseInventory(path, text, reading));
      }
    }
  }
  return checks;
}

// An inventory as the jobs read it; an EC2 inventory's hosts come from AWS at run time, so only its file is checked here.
function parseInventory(path: string, text: string, reading: InventoryReading): void {
  if (detectInventoryKind(path, text).kind === 'ec2') return;
  inventoryFromText(path, text, reading);
}

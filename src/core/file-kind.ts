import { accessSync, constants, statSync } from 'node:fs';

// What a path is, following symlinks: shared by the readers that look before they read
// (inventory sources, ansible.cfg, vault password files).
export function fileKind(path: string): 'dir' | 'file' | 'missing' {
  try {
    return statSync(path).isDirectory() ? 'dir' : 'file';
  } catch {
    return 'missing';
  }
}

// A regular file this process may read (R_OK) or run (X_OK).
export function isAccessibleFile(path: string, mode: 'read' | 'execute'): boolean {
  try {
    accessSync(path, mode === 'read' ? constants.R_OK : constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';

// Writes inventory files into one temp directory per test file, removed when the file's tests end.
export function tempFiles(): { write(name: string, content: string): string; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'halyard-inventory-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  let count = 0;
  return {
    dir,
    write(name, content) {
      // A counter keeps names unique; odd characters (from test tables) become "_".
      count++;
      const path = join(dir, `${count}-${name.replace(/[^\w.-]/g, '_')}`);
      writeFileSync(path, content);
      return path;
    },
  };
}

// Every e2e test states the busy-machine time its timeout comes from (test/support/budget.ts), so
// no e2e timeout is a guess and a new test cannot quietly fall back to a project default.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, test } from 'vitest';

const ROOT = join(import.meta.dirname, '..');

function e2eFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return e2eFiles(path);
    return entry.name.endsWith('.e2e.test.ts') ? [path] : [];
  });
}

describe('e2e budgets', () => {
  const files = e2eFiles(ROOT);

  test('there are e2e files to check', () => {
    expect(files.length).toBeGreaterThan(15);
  });

  test.each(files.map((file) => [relative(ROOT, file), file]))('%s: each test ends with busyBudget(measured seconds)', (_name, file) => {
    const text = readFileSync(file, 'utf8');
    const declared = text.match(/^\s*(?:it|test|steps\.step)(?:\.each\([^\n]*\))?\(/gm) ?? [];
    const budgets = text.match(/busyBudget\(\d+(?:\.\d+)?\)/g) ?? [];
    expect(declared.length).toBeGreaterThan(0);
    expect(budgets.length).toBe(declared.length);
  });
});

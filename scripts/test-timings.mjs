#!/usr/bin/env node
// Prints the slowest test files and tests of a vitest JSON report (`--reporter=json
// --outputFile.json=FILE`), so budgets can be compared with what a run measured.
// Usage: node scripts/test-timings.mjs REPORT.json [COUNT]
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';

const [file, countText = '25'] = process.argv.slice(2);
if (!file) {
  process.stderr.write('usage: node scripts/test-timings.mjs REPORT.json [COUNT]\n');
  process.exit(64);
}
const count = Number(countText);
const report = JSON.parse(readFileSync(file, 'utf8'));
const seconds = (ms) => (ms / 1000).toFixed(1).padStart(7);
const files = [];
const tests = [];
for (const result of report.testResults) {
  const name = relative(process.cwd(), result.name);
  files.push({ name, ms: result.endTime - result.startTime, status: result.status });
  for (const test of result.assertionResults) {
    tests.push({ name: `${name} > ${test.title}`, ms: test.duration ?? 0, status: test.status });
  }
}
const print = (title, rows) => {
  process.stdout.write(`\n${title}\n`);
  for (const row of rows.sort((a, b) => b.ms - a.ms).slice(0, count)) {
    process.stdout.write(`${seconds(row.ms)} s  ${row.status.padEnd(7)} ${row.name.slice(0, 150)}\n`);
  }
};
print(`slowest ${count} files (wall time, hooks included)`, files);
print(`slowest ${count} tests`, tests);
const failed = tests.filter((test) => test.status === 'failed').length;
const skipped = tests.filter((test) => test.status === 'skipped' || test.status === 'pending').length;
process.stdout.write(`\n${report.numTotalTests} tests: ${report.numPassedTests} passed, ${failed} failed, ${skipped} skipped\n`);

// Runs several halyard command lines in ONE node process, through the CLI's own main() (what
// bin/halyard.js calls), each with its stdout, stderr and exit code captured: error-message tables
// of dozens of cases cost one Node start-up, not dozens. Input (stdin): a JSON list of argument
// lists; output (stdout): a JSON list of { exitCode, stdout, stderr }.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

const { main } = await import(resolve(import.meta.dirname, '../../dist/cli/main.js'));
const runs = JSON.parse(readFileSync(0, 'utf8'));
const realStdout = process.stdout.write.bind(process.stdout);
const results = [];
for (const args of runs) {
  let stdout = '';
  let stderr = '';
  process.stdout.write = (chunk) => ((stdout += String(chunk)), true);
  process.stderr.write = (chunk) => ((stderr += String(chunk)), true);
  process.exitCode = 0;
  try {
    await main([process.execPath, 'halyard', ...args]);
  } catch (error) {
    stderr += `halyard: ${error?.message ?? error}\n`;
    process.exitCode = 70;
  }
  results.push({ exitCode: process.exitCode ?? 0, stdout, stderr });
}
process.stdout.write = realStdout;
process.exitCode = 0;
process.stdout.write(`${JSON.stringify(results)}\n`);

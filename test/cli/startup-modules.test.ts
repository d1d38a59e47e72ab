// Start-up: `halyard --version`, `--help` and every command's help load commander and the CLI's
// register modules, nothing else; each command imports what it runs (SSH, the AWS SDK, YAML, zod,
// the playbook loader, listr2) when it runs. The built CLI (dist/, as users run it; `npm test`
// builds it) runs under a preload that logs every module the process loads. Times are the start-up
// bench's business (src/bench/startup-bench.ts), not this test's.
import { cpSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { CliRun } from '../support/cli.js';
import { packagesOf, runLoggingModules } from '../support/module-log.js';

const BATCH = resolve(import.meta.dirname, '../support/cli-batch.mjs');

// Every command and subcommand's help, the top-level help and version, and the completion scripts
// (written from every command's options).
const HELP_RUNS = [
  ['--version'],
  ['--help'],
  ['help', 'apply'],
  ['apply', '--help'],
  ['check', '--help'],
  ['inventory', '--help'],
  ['inventory', 'list', '--help'],
  ['inventory', 'vars', '--help'],
  ['init', '--help'],
  ['vault', 'encrypt', '--help'],
  ['vault', 'decrypt', '--help'],
  ['vault', 'view', '--help'],
  ['vault', 'encrypt-string', '--help'],
  ['daemon', '--help'],
  ['lab', 'up', '--help'],
  ['lab', 'down', '--help'],
  ['lab', 'stack-images', '--help'],
  ['facts', '--help'],
  ['exec', '--help'],
  ['monitor', 'apply', '--help'],
  ['backup', 'run', '--help'],
  ['backup', 'list', '--help'],
  ['backup', 'restore', '--help'],
  ['backup', 'verify', '--help'],
  ['report', 'merge', '--help'],
  ['standby', 'start', '--help'],
  ['standby', 'stop', '--help'],
  ['standby', 'status', '--help'],
  ['completion', 'bash'],
  ['completion', 'zsh'],
];

describe('CLI start-up', () => {
  it.each([['--version'], ['--help']])('halyard %s loads no package but commander', async (flag) => {
    const run = await runLoggingModules([flag]);
    expect(run.exitCode, run.stderr).toBe(0);
    expect(packagesOf(run.modules)).toEqual(['commander']);
    // The CLI's own modules: main and the register modules; no run module, engine, SSH, inventory or config.
    // (dist/b/ holds the bundle's shared chunks: they count as the modules in them, which the log adds.)
    const own = run.modules.filter((module) => module.includes('/dist/') && !module.includes('/dist/b/')).map((module) => module.replace(/^.*\/dist\//, ''));
    expect(own).toContain('cli/main.js');
    expect(own).toContain('cli/apply-command.js');
    // Before them, the standby client (it asks whether a warm process is ready; Node's modules only).
    expect(own.filter((file) => file.endsWith('-run.js') || !/^(cli|core)\/|^standby\/(client|place|protocol)\.js$/.test(file))).toEqual([]);
  });

  it("halyard --version prints its package.json's version, the one backups record", async () => {
    // A copy of the built CLI whose package.json says another version: the printed one must follow.
    const root = mkdtempSync(join(tmpdir(), 'hy-version-'));
    const checkout = resolve(import.meta.dirname, '../..');
    cpSync(join(checkout, 'bin'), join(root, 'bin'), { recursive: true });
    cpSync(join(checkout, 'dist'), join(root, 'dist'), { recursive: true });
    symlinkSync(join(checkout, 'node_modules'), join(root, 'node_modules'));
    const manifest = JSON.parse(readFileSync(join(checkout, 'package.json'), 'utf8')) as Record<string, unknown>;
    writeFileSync(join(root, 'package.json'), JSON.stringify({ ...manifest, version: '7.8.9-test' }));
    const run = await runLoggingModules(['--version'], { script: join(root, 'bin', 'halyard.js') });
    expect(run.stdout).toBe('7.8.9-test\n');
    const { HALYARD_VERSION } = await import('../../src/backup/index.js');
    expect(HALYARD_VERSION).toBe(manifest['version']);
  });

  it('the help of every command and the completion scripts, all in one process, load no package but commander', async () => {
    const run = await runLoggingModules([], { script: BATCH, input: JSON.stringify(HELP_RUNS) });
    expect(run.exitCode, run.stderr).toBe(0);
    const results = JSON.parse(run.stdout) as CliRun[];
    HELP_RUNS.forEach((args, index) => expect(results[index], args.join(' ')).toMatchObject({ exitCode: 0, stderr: '' }));
    // The list above names every command `halyard --help` lists, so a new one is covered too.
    const listed = [...results[1]!.stdout.split('Commands:')[1]!.matchAll(/^ {2}(\S+)/gm)].map((match) => match[1]!).filter((name) => name !== 'help');
    expect(listed.length).toBeGreaterThan(10);
    for (const name of listed) expect(HELP_RUNS.some((args) => args[0] === name), `${name} is not in HELP_RUNS`).toBe(true);
    expect(packagesOf(run.modules)).toEqual(['commander']);
  });

  it('a command loads what it runs and not what others run: inventory list reads YAML, connects to nothing, loads no AWS SDK', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hy-startup-'));
    writeFileSync(join(dir, 'hosts.yml'), 'all:\n  hosts:\n    web-1: { ansible_host: 192.0.2.10 }\n');
    const run = await runLoggingModules(['inventory', 'list', '-i', join(dir, 'hosts.yml')], { cwd: dir });
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stdout).toContain('web-1');
    const packages = packagesOf(run.modules);
    // The log sees what a command loads (else the tests above would prove nothing).
    expect(packages).toContain('yaml');
    expect(packages.filter((name) => /^(@aws-sdk|@smithy|ssh2|node-ssh|listr2|esbuild)\b/.test(name))).toEqual([]);
  });
});

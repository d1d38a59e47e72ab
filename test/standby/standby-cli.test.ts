// Standby as users run it (the built CLI, a runtime directory of the test's own): after `halyard
// standby start`, a command runs in the ready standby and a new one takes its place; the command
// sees the client's directory, environment, umask, standard input, terminal and signals, and
// prints and exits exactly as the same command in a process of its own.
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encryptVault, decryptVault, parseVaultText } from '../../src/vault/vault.js';
import { CLI, collectOutput, runCli, type CliRun } from '../support/cli.js';
import { runCliOnTerminal } from '../support/pty.js';

const dir = mkdtempSync(join(tmpdir(), 'hy-standby-'));
const runtime = join(dir, 'runtime');
mkdirSync(runtime, { mode: 0o700 });
const project = join(dir, 'project');
mkdirSync(project);
// A remote_user that only the standby's own environment names: a command that saw it would list it.
const standbyOnlyConfig = join(dir, 'standby-only.cfg');
writeFileSync(standbyOnlyConfig, '[defaults]\nremote_user = from-the-standby-environment\n');
writeFileSync(join(project, 'inventory.yml'), 'all:\n  hosts:\n    web1:\n      ansible_host: 192.0.2.10\n  vars:\n    site: demo\n');
const PASSWORD = 'standby-Vault-Pa55';
writeFileSync(join(project, 'vault-password'), `${PASSWORD}\n`);
writeFileSync(join(project, 'secrets.yml'), encryptVault(Buffer.from('db_password: from-the-vault\n'), Buffer.from(PASSWORD)));

const on = { XDG_RUNTIME_DIR: runtime, HALYARD_STANDBY: 'on' };
const off = { XDG_RUNTIME_DIR: runtime, HALYARD_STANDBY: 'off' };

// The pids of the ready standbys under a runtime directory.
function readyPids(root = runtime): number[] {
  return readdirSync(root, { recursive: true, encoding: 'utf8' }).flatMap((path) => {
    const match = /(?:^|\/)ready-(\d+)\.sock$/.exec(path);
    return match ? [Number(match[1])] : [];
  });
}

async function waitFor(check: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

// Whether a process runs (a zombie, ended but not yet reaped by its new parent, does not).
function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

// Whether the run that wrote these stats (HALYARD_STATS_FILE) ran in a standby: only a standby
// counts a warm-up.
function ranInStandby(statsFile: string): boolean {
  return 'standbyWarmUpCpuSeconds' in (JSON.parse(readFileSync(statsFile, 'utf8')) as object);
}

let statsFiles = 0;
function statsFile(): string {
  statsFiles += 1;
  return join(dir, `stats-${statsFiles}.json`);
}

// A run on standby, once one is ready, and the same run in a process of its own.
async function bothWays(args: string[], env: Record<string, string> = {}): Promise<{ standby: CliRun; own: CliRun }> {
  await waitFor(() => readyPids().length > 0, 'a ready standby');
  const stats = statsFile();
  const standby = await runCli(args, { cwd: project, env: { ...on, ...env, HALYARD_STATS_FILE: stats } });
  expect(ranInStandby(stats), args.join(' ')).toBe(true);
  const own = await runCli(args, { cwd: project, env: { ...off, ...env } });
  return { standby, own };
}

beforeAll(async () => {
  const started = await runCli(['standby', 'start'], { env: { ...on, ANSIBLE_CONFIG: standbyOnlyConfig } });
  expect(started.exitCode, started.stderr).toBe(0);
  expect(started.stdout).toMatch(/^standby on: process \d+ ready in [\d.]+ s/);
}, 60_000);

afterAll(async () => {
  await runCli(['standby', 'stop'], { env: on });
});

describe('halyard standby', () => {
  it('a command runs in the ready standby, which ends with it, and a new standby takes its place', async () => {
    await waitFor(() => readyPids().length > 0, 'a ready standby');
    const [first] = readyPids();
    const stats = statsFile();
    const run = await runCli(['inventory', 'list', '-i', 'inventory.yml'], { cwd: project, env: { ...on, HALYARD_STATS_FILE: stats } });
    expect(run.exitCode, run.stderr).toBe(0);
    // The stats come from the standby: its warm-up is counted apart from the command.
    const written = JSON.parse(readFileSync(stats, 'utf8')) as { standbyWarmUpCpuSeconds?: number };
    expect(written.standbyWarmUpCpuSeconds).toBeGreaterThan(0);
    await waitFor(() => !alive(first!), 'the used standby to end');
    await waitFor(() => readyPids().length === 1 && readyPids()[0] !== first, 'its successor');
    const status = await runCli(['standby', 'status', '--json'], { env: on });
    expect(JSON.parse(status.stdout)).toMatchObject({ on: true, idleMinutes: 30, standbys: [{ state: 'ready', pid: readyPids()[0] }] });
    // Started with the heap floor that keeps an idle standby's GC from churning (standbyNodeArgs).
    expect(readFileSync(`/proc/${readyPids()[0]}/cmdline`, 'utf8').split('\0').slice(1, 2)).toEqual(['--initial-old-space-size=64']);
  });

  it('a standby keeps no variable of the command that started it but what locates files and what Node reads at start-up', async () => {
    await waitFor(() => readyPids().length > 0, 'a ready standby');
    const [used] = readyPids();
    const stats = statsFile();
    const run = await runCli(['inventory', 'list', '-i', join(project, 'inventory.yml')], { env: { ...on, HALYARD_STATS_FILE: stats, AWS_SECRET_ACCESS_KEY: 'leak-me-not' } });
    expect(run.exitCode, run.stderr).toBe(0);
    expect(ranInStandby(stats)).toBe(true);
    await waitFor(() => readyPids().some((pid) => pid !== used), 'the standby this client started');
    const next = readyPids().find((pid) => pid !== used)!;
    const environ = readFileSync(`/proc/${next}/environ`, 'utf8').split('\0');
    expect(environ).toContain(`XDG_RUNTIME_DIR=${runtime}`);
    expect(environ.filter((entry) => /^(AWS_|HALYARD_|CI=)/.test(entry))).toEqual([]);

    // NODE_NO_WARNINGS is read when Node starts: a command with it is not handed to a standby
    // started without it; it runs in its own process and starts a standby of its kind, which
    // the next such command uses.
    const withFlag = { ...on, NODE_NO_WARNINGS: '1' };
    const first = statsFile();
    expect((await runCli(['inventory', 'list', '-i', join(project, 'inventory.yml')], { env: { ...withFlag, HALYARD_STATS_FILE: first } })).exitCode).toBe(0);
    expect(ranInStandby(first)).toBe(false);
    expect(readyPids()).toEqual([next]);
    await waitFor(() => readyPids().length === 2, 'a standby started with NODE_NO_WARNINGS');
    const flagged = readyPids().find((pid) => pid !== next)!;
    expect(readFileSync(`/proc/${flagged}/environ`, 'utf8').split('\0')).toContain('NODE_NO_WARNINGS=1');
    const second = statsFile();
    expect((await runCli(['inventory', 'list', '-i', join(project, 'inventory.yml')], { env: { ...withFlag, HALYARD_STATS_FILE: second } })).exitCode).toBe(0);
    expect(ranInStandby(second)).toBe(true);
    // Its successor is ended here, so the tests below see one ready standby.
    await waitFor(() => readyPids().length === 2, "the flagged standby's successor");
    const successor = readyPids().find((pid) => pid !== next)!;
    process.kill(successor, 'SIGTERM');
    await waitFor(() => readyPids().length === 1 && !alive(successor), 'the flagged standby to end');
  });

  it('help and the version print from the client itself (faster than a hand-over); the standby stays ready', async () => {
    await waitFor(() => readyPids().length > 0, 'a ready standby');
    const before = readyPids();
    for (const args of [['--version'], ['--help'], ['apply', '--help'], ['help', 'apply'], []]) {
      const stats = statsFile();
      const run = await runCli(args, { env: { ...on, HALYARD_STATS_FILE: stats } });
      expect(ranInStandby(stats), args.join(' ')).toBe(false);
      expect((run.stdout + run.stderr).length, args.join(' ')).toBeGreaterThan(0);
    }
    expect(readyPids()).toEqual(before);
  });

  it("the command has the client's directory and environment, not the standby's", async () => {
    const { standby, own } = await bothWays(['inventory', 'list', '-i', 'inventory.yml']);
    expect(standby).toEqual(own);
    expect(standby.stdout).toContain('address: 192.0.2.10:22');
    expect(standby.stdout).not.toContain('from-the-standby-environment');
    // And a variable only the client has reaches it.
    const told = await bothWays(['inventory', 'list', '-i', 'inventory.yml'], { ANSIBLE_CONFIG: standbyOnlyConfig });
    expect(told.standby).toEqual(told.own);
    expect(told.standby.stdout).toContain('from-the-standby-environment');
  });

  it('errors print and exit as in a process of their own', async () => {
    for (const args of [['inventory', 'list', '-i', 'missing.yml'], ['apply'], ['vault', 'view', 'secrets.yml', '--vault-password-file', 'missing']]) {
      const { standby, own } = await bothWays(args);
      expect(standby, args.join(' ')).toEqual(own);
      expect(standby.exitCode, args.join(' ')).not.toBe(0);
    }
  });

  it("what a vault password script writes to stderr reaches the client's", async () => {
    writeFileSync(join(project, 'pass.sh'), `#!/bin/sh\necho 'pass.sh: asking the keyring' >&2\ncat vault-password\n`, { mode: 0o755 });
    writeFileSync(join(project, 'fail.sh'), `#!/bin/sh\necho 'fail.sh: no keyring here' >&2\nexit 3\n`, { mode: 0o755 });
    const opened = await bothWays(['vault', 'view', 'secrets.yml', '--vault-password-file', 'pass.sh']);
    expect(opened.standby).toEqual(opened.own);
    expect(opened.standby).toMatchObject({ exitCode: 0, stdout: 'db_password: from-the-vault\n', stderr: 'pass.sh: asking the keyring\n' });
    const failed = await bothWays(['vault', 'view', 'secrets.yml', '--vault-password-file', 'fail.sh']);
    expect(failed.standby).toEqual(failed.own);
    expect(failed.standby.exitCode).toBe(65);
    expect(failed.standby.stderr).toMatch(/^fail\.sh: no keyring here\nhalyard: cannot read the vault password from fail\.sh \(Command failed: fail\.sh\)\n$/);
  });

  it('a megabyte of output arrives whole and in order, also to a slow reader', async () => {
    const hosts = Array.from({ length: 5000 }, (_, index) => `    web-${index}:\n      ansible_host: 10.${Math.floor(index / 62500)}.${Math.floor(index / 250) % 250}.${index % 250}\n      role_label: "${'x'.repeat(200)}"\n`).join('');
    writeFileSync(join(project, 'big.yml'), `all:\n  hosts:\n${hosts}`);
    const { standby, own } = await bothWays(['inventory', 'list', '-i', 'big.yml']);
    expect(standby.exitCode, standby.stderr).toBe(0);
    expect(standby.stdout.length, standby.stdout.slice(-300)).toBeGreaterThan(1_000_000);
    expect(standby.stdout === own.stdout).toBe(true);
    // Read through a pipe that a slow reader drains (head -c after a pause): still whole.
    await waitFor(() => readyPids().length > 0, 'a ready standby');
    const slow = spawn('sh', ['-c', `"${process.execPath}" "${CLI}" inventory list -i big.yml | (sleep 1; cat) | sha256sum`], { cwd: project, env: { ...process.env, CI: '1', ...on }, stdio: ['ignore', 'pipe', 'pipe'] });
    const digest = await collectOutput(slow);
    expect(digest.stdout.split(' ')[0]).toBe(createHash('sha256').update(own.stdout).digest('hex'));
  });

  it('commands started together each run once: one in the standby, the others in their own process', async () => {
    await waitFor(() => readyPids().length > 0, 'a ready standby');
    const files = [statsFile(), statsFile(), statsFile()];
    const runs = await Promise.all(files.map((stats) => runCli(['inventory', 'list', '-i', 'inventory.yml'], { cwd: project, env: { ...on, HALYARD_STATS_FILE: stats } })));
    for (const run of runs) expect(run).toEqual(runs[0]);
    expect(runs[0]!.exitCode).toBe(0);
    expect(files.filter(ranInStandby)).toHaveLength(1);
    await waitFor(() => readyPids().length > 0, 'a standby for the next command');
  });

  it("files are written with the client's umask", async () => {
    await waitFor(() => readyPids().length > 0, 'a ready standby');
    const modes: Record<string, string> = {};
    for (const [name, env] of [['standby', on], ['own', off]] as const) {
      const target = join(dir, `init-${name}`);
      const stats = statsFile();
      const child = spawn('sh', ['-c', `umask 077 && exec "${process.execPath}" "${CLI}" init "${target}"`], { cwd: project, env: { ...process.env, CI: '1', ...env, HALYARD_STATS_FILE: stats }, stdio: ['ignore', 'pipe', 'pipe'] });
      const run = await collectOutput(child);
      expect(run.exitCode, run.stderr).toBe(0);
      expect(ranInStandby(stats)).toBe(name === 'standby');
      modes[name] = (statSync(join(target, 'package.json')).mode & 0o777).toString(8);
    }
    expect(modes).toEqual({ standby: '600', own: '600' });
  });

  it('standard input reaches the command', async () => {
    await waitFor(() => readyPids().length > 0, 'a ready standby');
    const stats = statsFile();
    const child = spawn(process.execPath, [CLI, 'vault', 'encrypt-string', '--vault-password-file', 'vault-password'], { cwd: project, env: { ...process.env, CI: '1', ...on, HALYARD_STATS_FILE: stats }, stdio: ['pipe', 'pipe', 'pipe'] });
    child.stdin.end('typed on stdin');
    const run = await collectOutput(child);
    expect(run.exitCode, run.stderr).toBe(0);
    expect(ranInStandby(stats)).toBe(true);
    const vaulted = run.stdout.replace(/^!vault \|\n/, '').replace(/^ +/gm, '');
    expect(decryptVault(parseVaultText(vaulted), Buffer.from(PASSWORD))?.toString()).toBe('typed on stdin');
  });

  it('on a terminal: the prompt shows, the password is not echoed, the file opens', async () => {
    await waitFor(() => readyPids().length > 0, 'a ready standby');
    const before = readyPids();
    const run = await runCliOnTerminal(['vault', 'view', 'secrets.yml', '--ask-vault-pass'], [['Vault password: ', PASSWORD]], { cwd: project, env: on });
    expect(run.unanswered).toEqual([]);
    expect(run.exitCode, run.output).toBe(0);
    expect(run.output).toContain('db_password: from-the-vault');
    expect(run.output).not.toContain(PASSWORD);
    // It ran in the standby that was ready.
    await waitFor(() => !alive(before[0]!), 'the standby that ran it to end', 2_000);
  });

  it('Ctrl-C ends the command and the client by SIGINT, as without standby', async () => {
    // A host that accepts the connection and never speaks: the command waits in the handshake.
    const silent: Server = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as { port: number }).port;
    const key = join(dir, 'id_ed25519');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
    writeFileSync(join(project, 'silent.yml'), `all:\n  hosts:\n    quiet:\n      ansible_host: 127.0.0.1\n      ansible_port: ${port}\n      ansible_user: nobody\n      ansible_ssh_private_key_file: ${key}\n`);
    try {
      const ends: Record<string, { code: number | null; signal: NodeJS.Signals | null }> = {};
      for (const [name, env] of [['standby', on], ['own', off]] as const) {
        await waitFor(() => readyPids().length > 0, 'a ready standby');
        const used = readyPids()[0]!;
        const child = spawn(process.execPath, [CLI, 'exec', 'all', '-i', 'silent.yml', '--', 'true'], { cwd: project, env: { ...process.env, CI: '1', ...env }, stdio: 'ignore' });
        await waitFor(() => (name === 'standby' ? !readyPids().includes(used) : true), 'the command to reach the standby');
        await new Promise((resolve) => setTimeout(resolve, 700));
        child.kill('SIGINT');
        ends[name] = await new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
        if (name === 'standby') await waitFor(() => !alive(used), 'the standby running the command to end');
      }
      expect(ends.standby).toEqual(ends.own);
      expect(ends.standby).toEqual({ code: null, signal: 'SIGINT' });
    } finally {
      silent.close();
    }
  });

  it('a standby that died (its socket left behind) is passed over: the command runs in its own process', async () => {
    await waitFor(() => readyPids().length > 0, 'a ready standby');
    const [dead] = readyPids();
    process.kill(dead!, 'SIGKILL');
    await waitFor(() => !alive(dead!), 'the killed standby to end');
    const stats = statsFile();
    const run = await runCli(['inventory', 'list', '-i', join(project, 'inventory.yml')], { env: { ...on, HALYARD_STATS_FILE: stats } });
    expect(run.exitCode, run.stderr).toBe(0);
    expect(ranInStandby(stats)).toBe(false);
    // And that run started a standby for the next command.
    await waitFor(() => readyPids().length === 1 && readyPids()[0] !== dead, 'a new standby');
  });
});

describe('halyard standby, edges', () => {
  it('an idle standby exits and takes its socket with it', async () => {
    const idleRuntime = mkdtempSync(join(tmpdir(), 'hy-standby-idle-'));
    const started = await runCli(['standby', 'start', '--idle-minutes', '0.02'], { env: { XDG_RUNTIME_DIR: idleRuntime, HALYARD_STANDBY: 'on' } });
    expect(started.exitCode, started.stderr).toBe(0);
    const [pid] = readyPids(idleRuntime);
    expect(pid).toBeDefined();
    await waitFor(() => !alive(pid!) && readyPids(idleRuntime).length === 0, 'the idle standby to exit', 10_000);
    expect(readdirSync(idleRuntime, { recursive: true, encoding: 'utf8' }).filter((path) => path.endsWith('.sock'))).toEqual([]);
    const stopped = await runCli(['standby', 'stop'], { env: { XDG_RUNTIME_DIR: idleRuntime } });
    expect(stopped.stdout).toBe('standby off: 0 standby process(es) ended\n');
  });

  it('a standby folder other users could enter is not used, with a warning', async () => {
    const openRuntime = mkdtempSync(join(tmpdir(), 'hy-standby-open-'));
    const base = join(openRuntime, `halyard-standby-${process.getuid!()}`);
    mkdirSync(base);
    chmodSync(base, 0o755);
    writeFileSync(join(base, 'switch.json'), '{"idleMinutes":30}\n');
    const run = await runCli(['inventory', 'list', '-i', join(project, 'inventory.yml')], { env: { XDG_RUNTIME_DIR: openRuntime, HALYARD_STANDBY: 'on' } });
    expect(run.exitCode).toBe(0);
    expect(run.stderr).toBe(`halyard: warning: standby not used: ${base} is open to other users (mode 755); it must be 0700\n`);
    const start = await runCli(['standby', 'start'], { env: { XDG_RUNTIME_DIR: openRuntime } });
    expect(start).toMatchObject({ exitCode: 70, stderr: `halyard: standby not turned on: ${base} is open to other users (mode 755); it must be 0700\n` });
  });

  it('a damaged switch file is a warning: the command runs in its own process, status says what to do', async () => {
    const damagedRuntime = mkdtempSync(join(tmpdir(), 'hy-standby-damaged-'));
    const base = join(damagedRuntime, `halyard-standby-${process.getuid!()}`);
    mkdirSync(base, { mode: 0o700 });
    writeFileSync(join(base, 'switch.json'), '{"idleMin');
    const env = { XDG_RUNTIME_DIR: damagedRuntime, HALYARD_STANDBY: 'on' };
    const run = await runCli(['inventory', 'list', '-i', join(project, 'inventory.yml')], { env });
    expect(run.exitCode).toBe(0);
    const warning = `halyard: warning: standby not used: ${base}/switch.json is not the JSON \`halyard standby start\` writes; run it again, or \`halyard standby stop\`\n`;
    expect(run.stderr).toBe(warning);
    const status = await runCli(['standby', 'status'], { env });
    expect(status).toMatchObject({ exitCode: 70, stderr: `halyard: ${warning.replace('halyard: warning: standby not used: ', '')}` });
  });

  it('a standby that cannot warm up makes standby start fail with the reason, not wait', async () => {
    const brokenRuntime = mkdtempSync(join(tmpdir(), 'hy-standby-broken-'));
    const base = join(brokenRuntime, `halyard-standby-${process.getuid!()}`);
    mkdirSync(base, { mode: 0o700 });
    // Where the warm-up writes its playbook, a file.
    writeFileSync(join(base, 'warm-up'), '');
    const started = Date.now();
    const start = await runCli(['standby', 'start'], { env: { XDG_RUNTIME_DIR: brokenRuntime } });
    expect(start.exitCode).toBe(70);
    expect(start.stderr).toMatch(/^halyard: the standby process ended before it was ready: EEXIST: file already exists, mkdir '.*\/warm-up'\n$/);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('standby stop ends every standby and turns standby off', async () => {
    const stopRuntime = mkdtempSync(join(tmpdir(), 'hy-standby-stop-'));
    const env = { XDG_RUNTIME_DIR: stopRuntime, HALYARD_STANDBY: 'on' };
    expect((await runCli(['standby', 'start'], { env })).exitCode).toBe(0);
    const [pid] = readyPids(stopRuntime);
    const stopped = await runCli(['standby', 'stop'], { env });
    expect(stopped.stdout).toBe('standby off: 1 standby process(es) ended\n');
    await waitFor(() => !alive(pid!), 'the stopped standby to end');
    expect((await runCli(['standby', 'status'], { env })).stdout).toBe('standby off\n');
    // Off: a command runs in its own process and leaves no standby behind.
    const stats = join(stopRuntime, 'stats.json');
    expect((await runCli(['inventory', 'list', '-i', join(project, 'inventory.yml')], { env: { ...env, HALYARD_STATS_FILE: stats } })).exitCode).toBe(0);
    expect(JSON.parse(readFileSync(stats, 'utf8'))).not.toHaveProperty('standbyWarmUpCpuSeconds');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(readyPids(stopRuntime)).toEqual([]);
  });
});

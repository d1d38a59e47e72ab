import { accessSync, constants, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { UsageError } from '../core/errors.js';
import type { Redactor } from '../core/secret.js';
import { FactsCache } from '../engine/facts-cache.js';
import { preparePlaybookRun, type PrepareOptions } from '../engine/prepare-run.js';
import { runPlaybook, type PlaybookRun } from '../engine/run-playbook.js';
import { probeTimeoutMs } from '../engine/run.js';
import { connectTargetOf, hostLink } from '../engine/ssh-link.js';
import { parseExtraVars } from '../inventory/index.js';
import { parseSlice, sliceLabel, type HostSlice } from '../inventory/slice.js';
import type { RunResult } from '../engine/results.js';
import { SshPool } from '../ssh/index.js';
import type { ApplyFlags } from './apply-command.js';
import { plainLine, type ProgressEvent } from './output/plain.js';
import { formatRecap } from './output/recap.js';
import { stderrText, stdoutText, terminalText } from './output/terminal.js';
import { runSettings } from './ansible-settings.js';
import { tagSelection } from '../playbook/tags.js';
import { askBecomePassword, vaultKeyring } from './vault-flags.js';
import { sshOptionsFrom } from './ssh-flags.js';
import { forksFrom, wholeSeconds } from './flag-values.js';
import { configFilesLine, RunTrace, sshDebugLine, VERBOSE_REQUESTS, VERBOSE_SSH } from './verbosity.js';

// `halyard apply --list-hosts / --list-tasks` (ansible-playbook's): what a run would touch and
// do, from the same preparation as a run (inventory, vars, tasks built and checked), connecting to
// no host. Text, or one JSON document with --json.
export async function listPlaybook(playbookPath: string, flags: ApplyFlags): Promise<void> {
  if (flags.jsonFile !== undefined) throw new UsageError("--json-file records a run's result, and --list-hosts/--list-tasks run nothing; use --json for the list");
  const slice = flags.slice === undefined ? undefined : parseSlice(flags.slice);
  const settings = runSettings(flags.inventory, undefined, flags);
  for (const warning of settings.warnings) process.stderr.write(`halyard: warning: ${warning}\n`);
  const { hosts, playHosts, playbook, redactor, workFor } = await preparePlaybookRun(playbookPath, settings.inventory, await prepareOptions(flags, settings, slice));
  const plays = playbook.plays.map((play, index) => ({ name: play.name, pattern: play.hosts ?? 'all', roles: (play.roles ?? []).map((role) => role.name), hosts: playHosts[index] ?? [] }));
  const work = flags.listTasks
    ? hosts.map((host) => {
        const work = workFor(host).initial;
        // Tasks that read facts this controller has not gathered from the host yet are built at run time.
        if (work === undefined) return { host: host.name, tasks: [], handlers: [], factsNeeded: true as const };
        return { host: host.name, tasks: work.tasks.map((task) => redactor.redact(task.name)), handlers: [...work.handlers.keys()].map((name) => redactor.redact(name)) };
      })
    : [];
  if (flags.json) {
    process.stdout.write(`${JSON.stringify({ playbook: playbookPath, plays, ...(flags.listTasks ? { hosts: Object.fromEntries(work.map(({ host, ...rest }) => [host, rest])) } : {}) }, null, 2)}\n`);
    return;
  }
  const lines = [`playbook: ${playbookPath}`];
  if (flags.listHosts) {
    for (const [index, play] of plays.entries()) {
      lines.push('', `  play #${index + 1} (${play.pattern}): ${play.name}${play.roles.length > 0 ? `  roles: ${play.roles.join(', ')}` : ''}`, `    hosts (${play.hosts.length}):`, ...play.hosts.map((name) => `      ${name}`));
    }
  }
  for (const { host, tasks, handlers, ...rest } of work) {
    if ('factsNeeded' in rest) {
      lines.push('', `  ${host}: its tasks read host facts not gathered yet (\`halyard facts\` or a run gathers them)`);
      continue;
    }
    lines.push('', `  ${host} (${tasks.length} task${tasks.length === 1 ? '' : 's'}):`, ...tasks.map((name) => `      ${name}`));
    if (handlers.length > 0) lines.push(`    handlers: ${handlers.join(', ')}`);
  }
  stdoutText.write(`${lines.join('\n')}\n`);
}

// The run's preparation from apply's flags (vault passwords, -e, --limit, --tags, the facts
// cache), shared by a run and by --list-hosts/--list-tasks so both see the same hosts and tasks.
async function prepareOptions(flags: ApplyFlags, settings: ReturnType<typeof runSettings>, slice: HostSlice | undefined): Promise<PrepareOptions> {
  const vault = await vaultKeyring(flags, settings.ansible, settings.project);
  return {
    extraVars: parseExtraVars(flags.extraVars, { vault }),
    vault,
    connectionDefaults: settings.connectionDefaults,
    tags: tagSelection(flags.tags, flags.skipTags),
    factsCache: new FactsCache(),
    ...(flags.limit ? { limit: flags.limit } : {}),
    ...(slice ? { slice } : {}),
  };
}

// `halyard apply` once its flags are parsed: the engine's runPlaybook, with progress and output.
export async function applyPlaybook(playbookPath: string, flags: ApplyFlags): Promise<PlaybookRun> {
  // Flags that need no file read first: a typo is one line before any prompt or host.
  const slice = flags.slice === undefined ? undefined : parseSlice(flags.slice);
  if (flags.jsonFile !== undefined) clearJsonFile(flags.jsonFile);
  const settings = runSettings(flags.inventory, undefined, flags);
  if (flags.askBecomePass) settings.connectionDefaults.becomePassword = await askBecomePassword();
  for (const warning of settings.warnings) process.stderr.write(`halyard: warning: ${warning}\n`);
  if (flags.verbose >= 1) stderrText.write(`${configFilesLine(settings)}\n`);
  const forks = forksFrom(flags.forks, settings.forks);
  const lockWaitSeconds = wholeSeconds(flags.lockTimeout, '--lock-timeout');
  const maxFailPercent = flags.maxFailPercent === undefined ? undefined : percent(flags.maxFailPercent);
  if (flags.serial !== undefined && !/^\d+%?$/.test(flags.serial.trim())) {
    throw new UsageError(`--serial must be a number or a percentage like 30%, got "${flags.serial}"`);
  }
  const prepare = await prepareOptions(flags, settings, slice);

  // A pseudo-terminal without a size (columns 0) would wrap every character: plain lines there.
  // -vv and -vvv write lines on stderr, which a live view would draw over: plain lines then too.
  const live = !flags.json && process.stdout.isTTY && (process.stdout.columns ?? 0) > 20 && !process.env.CI && flags.verbose < VERBOSE_REQUESTS;
  const Progress = live ? (await import('./output/listr-progress.js')).ListrProgress : undefined;
  let progress: InstanceType<NonNullable<typeof Progress>> | undefined;
  let trace: RunTrace | undefined;
  // The run's redactor exists once the inventories are read; SSH debug lines before that mask nothing secret yet.
  let redactor: Redactor | undefined;
  const out = terminalText(flags.json ? process.stderr : process.stdout);
  const onEvent = (event: ProgressEvent) => {
    trace?.onEvent(event);
    if (progress) return progress.onEvent(event);
    const line = plainLine(event, { check: flags.check, verbose: flags.verbose >= 1 });
    if (line !== undefined && !flags.json) out.write(`${line}\n`);
    if (!flags.json && flags.diff && event.type === 'task' && event.result.diff) out.write(event.result.diff.text);
  };

  const pool = new SshPool({
    ...sshOptionsFrom(flags, settings.project),
    ...(flags.verbose >= VERBOSE_SSH ? { sshDebug: (host: string, message: string) => redactor && stderrText.write(`${sshDebugLine(host, message, redactor)}\n`) } : {}),
  });
  let run: PlaybookRun;
  try {
    run = await runPlaybook({
      playbook: playbookPath,
      inventory: settings.inventory,
      prepare,
      check: flags.check,
      diff: flags.diff,
      forks,
      ...(flags.serial !== undefined ? { serial: flags.serial } : {}),
      ...(maxFailPercent !== undefined ? { maxFailPercent } : {}),
      lockWaitSeconds,
      ...(flags.forceHandlers ? { forceHandlers: true } : {}),
      probeTimeoutMs: probeTimeoutMs(pool.options.commandTimeoutMs),
      stepTimeoutMs: pool.options.commandTimeoutMs,
      connect: (host) => hostLink(pool, host),
      warm: (host, targeted) => pool.warm(connectTargetOf(host), targeted),
      onPrepared: (prepared) => {
        redactor = prepared.redactor;
        if (flags.verbose >= VERBOSE_REQUESTS) trace = new RunTrace({ redactor: prepared.redactor, write: (line) => stderrText.write(`${line}\n`) });
        if (Progress && liveViewFits(prepared.hosts.length)) {
          progress = new Progress(prepared.hosts.map((host) => host.name), { check: flags.check });
          progress.start();
        }
      },
      onEvent,
      log: (line) => {
        if (!progress) out.write(`${line}\n`);
      },
    });
  } finally {
    await progress?.stop();
    await pool.closeAll();
  }

  const { result } = run;
  // Said plainly, on the terminal (stderr beside --json): an empty slice is a success, not a mistake.
  if (slice && Object.keys(result.hosts).length === 0) out.write(`${sliceLabel(slice)}: none of the selected hosts falls in this slice; nothing to do\n`);
  if (flags.json) {
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } else {
    if (progress) {
      // The live view collapses per-task detail; list what changed or failed once it is done.
      for (const [name, host] of Object.entries(result.hosts)) {
        for (const [index, task] of host.tasks.entries()) {
          const line = plainLine({ type: 'task', host: name, index, total: host.tasks.length, result: task }, { check: flags.check, verbose: false });
          if (line !== undefined) stdoutText.write(`${line}\n`);
          if (flags.diff && task.diff) stdoutText.write(task.diff.text);
        }
      }
    }
    stdoutText.write(`\n${formatRecap(result)}\n`);
  }
  if (flags.jsonFile !== undefined) writeJsonFile(flags.jsonFile, result);
  return run;
}

// The live view draws one line per host and redraws them all each frame: only for runs whose lines
// fit on the screen; larger runs print plain lines (measured: a 1000-host no-op on a 50-row terminal
// held the controller at 93% CPU and 1.4 GB, unfinished after 848 s; in plain lines: 220 s, 160 MB).
export function liveViewFits(hosts: number, rows: number | undefined = process.stdout.rows): boolean {
  return hosts <= Math.max(1, (rows ?? 0) - 2);
}

// --json-file's folder exists and is writable, checked before the run rather than after it; an
// earlier run's file there is removed, so a run that ends before its result leaves no file (the
// merge then says its slice is missing) rather than an older run's result.
function clearJsonFile(path: string): void {
  const folder = dirname(path);
  try {
    if (!statSync(folder).isDirectory()) throw new Error('not a folder');
    accessSync(folder, constants.W_OK);
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : (error as NodeJS.ErrnoException).code === 'EACCES' ? 'is not writable' : (error as Error).message;
    throw new UsageError(`--json-file ${path}: the folder ${folder} ${reason}; create it or pick another path`);
  }
  if (statSync(path, { throwIfNoEntry: false })?.isDirectory()) throw new UsageError(`--json-file ${path} is a folder; name a file in it`);
  rmSync(path, { force: true });
}

// The --json document, written whole or not at all (a temporary file renamed over it), so a
// merge never reads half a result.
function writeJsonFile(path: string, result: RunResult): void {
  const temporary = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  try {
    writeFileSync(temporary, `${JSON.stringify(result, null, 2)}\n`);
    renameSync(temporary, path);
  } catch (error) {
    throw new UsageError(`--json-file ${path}: cannot write it (${(error as Error).message})`);
  }
}

function percent(text: string): number {
  const value = Number(text.replace(/%$/, ''));
  if (!Number.isFinite(value) || value < 0 || value > 100) throw new UsageError(`--max-fail-percent must be between 0 and 100, got "${text}"`);
  return value;
}

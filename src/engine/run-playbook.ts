import type { ExitCodeValue } from '../core/exit-codes.js';
import type { Redactor } from '../core/secret.js';
import type { Host } from '../inventory/types.js';
import { inSlice, type HostSlice } from '../inventory/slice.js';
import type { ControllerContext, Playbook } from '../playbook/types.js';
import { preparePlaybookRun, type PreparedRun, type PrepareOptions } from './prepare-run.js';
import { errorFields, exitCodeFor, type ControllerStepResult, type RunResult } from './results.js';
import { runFleet, type RunOptions } from './run.js';

// Everything `halyard apply`, `halyard check`, `--list-*` and the daemon's drift job share: one
// orchestrator that prepares a playbook against inventories, runs its hosts (forks, batches, the
// lock), then its controller steps, and says how the run ended. Front ends only parse flags and print.

// How a playbook runs: a fleet run's options (the redactor comes from the preparation), plus
// what to prepare; `prepare` is the inventory side (vars, --limit, tags, vault, facts cache).
export interface RunPlaybookOptions extends Omit<RunOptions, 'redactor'> {
  playbook: string;
  inventory: string | readonly string[];
  prepare?: PrepareOptions;
  /** Called once the playbook and inventories are read, before any host is contacted (progress views). */
  onPrepared?(prepared: PreparedRun): void;
  /** Lines controller steps print (already masked). */
  log?(line: string): void;
  /**
   * Starts connecting to a host the run may target while the playbook still loads (SshPool.warm);
   * `targeted` settles once the run knows. Only for small runs (WARM_HOSTS_MAX), where start-up is
   * what a run waits for.
   */
  warm?(host: Host, targeted: Promise<boolean>): void;
}

/** Runs of at most this many hosts (and forks) connect while the playbook loads. */
export const WARM_HOSTS_MAX = 10;

// A finished run: the --json document, the exit code it means, and what was prepared (the redactor
// for anything printed afterwards).
export interface PlaybookRun {
  result: RunResult;
  exitCode: ExitCodeValue;
  prepared: PreparedRun;
}

// Prepares and runs a playbook: hosts in batches with at most `forks` at once, each under its lock;
// then, once every host is done, the playbook's controller steps (in check mode they only report).
export async function runPlaybook(options: RunPlaybookOptions): Promise<PlaybookRun> {
  const warmer = options.warm ? hostWarmer(options.warm, options.forks, options.prepare?.slice) : undefined;
  let prepared: PreparedRun | undefined;
  try {
    prepared = await preparePlaybookRun(options.playbook, options.inventory, { ...options.prepare, ...(warmer ? { afterInventory: warmer.start } : {}) });
  } finally {
    // A playbook that fails to load or build targets nothing: its early connections close unverified.
    warmer?.decide(prepared?.hosts ?? []);
  }
  options.onPrepared?.(prepared);
  const { playbook: _playbook, inventory: _inventory, prepare: _prepare, onPrepared: _onPrepared, log: _log, warm: _warm, ...fleet } = options;
  const slice = options.prepare?.slice;
  const { hosts, ...fleetResult } = await runFleet(prepared.hosts, prepared.workFor, { ...fleet, redactor: prepared.redactor });
  const result: RunResult = { ...fleetResult, playbook: prepared.redactor.redact(prepared.playbook.name), ...(slice ? { slice } : {}), hosts };
  // Controller steps run once per fleet: in slice 0 when the fleet runs as slices.
  if (prepared.playbook.afterHosts.length > 0 && (slice === undefined || slice.index === 0)) {
    const vars = { ...(prepared.inventory.groups.get('all')?.vars ?? {}), ...(options.prepare?.extraVars ?? {}) };
    const log = options.log ?? (() => {});
    result.controller = await runControllerSteps(prepared.playbook, { check: options.check, vars, log: (line) => log(prepared.redactor.redact(line)) }, prepared.redactor);
    result.ok = result.ok && result.controller.every((step) => step.status !== 'failed');
  }
  return { result, exitCode: exitCodeFor(result), prepared };
}

// Early connections for the inventory's hosts (in the slice, not local, sudo password known) when there are few enough,
// each told once the playbook is prepared whether a play targets it.
export function hostWarmer(warm: NonNullable<RunPlaybookOptions['warm']>, forks: number, slice: HostSlice | undefined): { start(hosts: readonly Host[]): void; decide(hosts: readonly Host[]): void } {
  let decide: (names: Set<string>) => void = () => {};
  const targets = new Promise<Set<string>>((resolve) => {
    decide = resolve;
  });
  return {
    start(hosts) {
      // Not a host whose sudo password is still a reference: its session needs the fetched value.
      const candidates = hosts.filter((host) => !host.local && !host.becomePasswordRef && (slice === undefined || inSlice(host.name, slice)));
      if (candidates.length === 0 || candidates.length > Math.min(forks, WARM_HOSTS_MAX)) return;
      for (const host of candidates) warm(host, targets.then((names) => names.has(host.name)));
    },
    decide: (hosts) => decide(new Set(hosts.map((host) => host.name))),
  };
}

// The exit code of a run's result lives beside the result (`report merge` uses it too).
export { exitCodeFor } from './results.js';

// Runs the playbook's controller steps in order; a failing step stops the ones after it.
async function runControllerSteps(playbook: Playbook, context: ControllerContext, redactor: Redactor): Promise<ControllerStepResult[]> {
  const results: ControllerStepResult[] = [];
  let failed = false;
  for (const step of playbook.afterHosts) {
    const started = Date.now();
    if (failed) {
      results.push({ name: step.name, status: 'skipped', durationMs: 0, reason: 'an earlier controller step failed' });
      continue;
    }
    try {
      const outcome = await step.run(context);
      results.push({
        name: step.name,
        status: outcome.skipped ? 'skipped' : outcome.changed ? 'changed' : 'ok',
        durationMs: Date.now() - started,
        ...(outcome.skipped ? { reason: outcome.skipped } : {}),
      });
    } catch (error) {
      failed = true;
      results.push({ name: step.name, status: 'failed', durationMs: Date.now() - started, ...errorFields(error, (text) => redactor.redact(text)) });
    }
  }
  return results;
}

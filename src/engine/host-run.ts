import { HalyardError } from '../core/errors.js';
import type { Redactor } from '../core/secret.js';
import type { Fact } from '../facts/fact.js';
import { hostFactsFact, type HostFacts } from '../facts/host-facts.js';
import { buildProbeScript, parseProbeOutput, uniqueFacts, type FactValues } from '../facts/probe-script.js';
import { FLUSH_HANDLERS_KIND, keyMatches, type Plan, type PlanContext, type ResourceInstance } from '../resources/types.js';
import { CLOSE_LOCK_FDS } from '../core/lock-fds.js';
import { journalScript, pendingHandlersFact } from './handler-journal.js';
import { HOST_LOCK_PATHS, askPastDaemonJobs, heldByDaemonJob, lockError, lockScript, parseLockOutcome, type LockOwner, type LockPaths } from './lock.js';
import { RemoteShell, type RequestNotice, type ShellTransport } from './remote-shell.js';
import { errorFields, summarize, type HostResult, type TaskResult } from './results.js';
import { workSource, type HostWork, type HostWorkSource } from './work.js';

// A live connection to one host as the engine needs it; the SSH layer and tests provide it.
export interface HostLink {
  /** Starts the run's single long-lived `sh -s` (through sudo when the host says become). */
  openShell(): Promise<ShellTransport>;
  /** Remote executions made through this link so far. */
  execCount(): number;
  /** Runs a script as its own exec with local data piped into its stdin (image shipping, big files). */
  runStream?(label: string, script: string, source: NodeJS.ReadableStream, timeoutMs: number): Promise<{ exitCode: number | null; output: string }>;
}

// Progress notifications for live output; never carry secret values.
export type HostEvent =
  | { type: 'phase'; host: string; phase: 'connecting' | 'probing' | 'applying' | 'handlers' }
  /** A task begins its work on the host (live progress shows what runs now, not what finished). */
  | { type: 'task-start'; host: string; index: number; total: number; name: string }
  /** A remote request or exec (for -vv): its label, the step's script when sent, its outcome when done. */
  | ({ type: 'request'; host: string } & RequestNotice)
  | { type: 'task'; host: string; index: number; total: number; result: TaskResult };

// How one host run behaves.
export interface HostRunOptions {
  check: boolean;
  diff: boolean;
  lockOwner: LockOwner;
  lockWaitSeconds: number;
  /** Run notified handlers even when a task failed (Ansible's --force-handlers). */
  forceHandlers?: boolean;
  /** Where the host locks live; tests that run a local shell point them at a temp dir. */
  lockPaths?: LockPaths;
  probeTimeoutMs: number;
  stepTimeoutMs: number;
  redactor: Redactor;
  onEvent?: (event: HostEvent) => void;
}

interface TaskState {
  task: ResourceInstance;
  facts: Record<string, Fact<unknown>>;
  plan?: Plan;
  planError?: string;
}

// Runs one host's tasks: one probe (with the lock and the host's facts), pure plans, then only the
// steps that converge it. Work that read facts is built again (one more request, same exec) only
// when the facts it read differ from those it was built with.
export async function runHost(hostName: string, link: HostLink, work: HostWork | HostWorkSource, options: HostRunOptions): Promise<HostResult> {
  const source = workSource(work);
  let tasks: ResourceInstance[] = source.initial?.tasks ?? [];
  let handlers: Map<string, ResourceInstance[]> = source.initial?.handlers ?? new Map();
  const emit = options.onEvent ?? (() => {});
  const context: PlanContext = { diff: options.diff, mask: (text) => options.redactor.redact(text) };
  const results: TaskResult[] = [];
  const redact = (text: string) => options.redactor.redact(text);

  let shell: RemoteShell;
  try {
    emit({ type: 'phase', host: hostName, phase: 'connecting' });
    const opened = Date.now();
    const transport = await link.openShell();
    emit({ type: 'request', host: hostName, phase: 'done', id: 0, label: 'open the run shell', exitCode: 0, durationMs: Date.now() - opened });
    shell = new RemoteShell(transport, (notice) => emit({ type: 'request', host: hostName, ...maskedNotice(notice, redact) }));
  } catch (error) {
    return summarize([], { unreachable: true, execs: link.execCount(), ...errorFields(error, redact) });
  }

  // Notified handlers left unrun at the end (a task failed): the recap names them.
  let pending: string[] = [];
  try {
    emit({ type: 'phase', host: hostName, phase: 'probing' });
    let states: TaskState[] = tasks.map((task) => ({ task, facts: safeFacts(task, context) }));
    const first = firstRequest(source.customFacts, states.flatMap((state) => Object.values(state.facts)), shell.nonce, options);
    const firstFacts = first.facts;
    const lockTimeoutMs = options.probeTimeoutMs + options.lockWaitSeconds * 1000;
    let { outcome, rest } = parseLockOutcome((await shell.request(first.script, { label: 'probe facts', timeoutMs: lockTimeoutMs, keepAll: true })).output, shell.nonce);
    if (heldByDaemonJob(outcome)) {
      // A daemon's probe or drift check holds the host for a moment: ask for the lock alone until it is free,
      // then probe the facts under it.
      ({ outcome } = await askPastDaemonJobs({ outcome, rest }, async () => parseLockOutcome((await shell.request(first.lock, { label: 'lock', timeoutMs: lockTimeoutMs })).output, shell.nonce)));
      if (outcome.locked) rest = (await shell.request(first.probe, { label: 'probe facts', timeoutMs: options.probeTimeoutMs, keepAll: true })).output;
    }
    if (!outcome.locked) throw lockError(outcome);
    if (outcome.hostClock !== undefined) context.runStartedOnHost = outcome.hostClock;
    let factValues: FactValues = parseProbeOutput(rest, firstFacts, shell.nonce);
    const hostFacts = factValues.get(hostFactsFact.key) as HostFacts;
    const custom = Object.fromEntries(source.customFacts.map((fact) => [fact.name, factValues.get(fact.key)]));
    const built = source.withFacts({ host: hostFacts, custom });
    if (built !== source.initial) {
      // Tasks that read facts not known before (a new host) or changed since: their facts now.
      tasks = built.tasks;
      handlers = built.handlers;
      states = tasks.map((task) => ({ task, facts: safeFacts(task, context) }));
      const missing = uniqueFacts(states.flatMap((state) => Object.values(state.facts))).filter((fact) => !factValues.has(fact.key));
      if (missing.length > 0) {
        const again = await shell.request(buildProbeScript(missing, shell.nonce), { label: 'probe facts for tasks built from host facts', timeoutMs: options.probeTimeoutMs, keepAll: true });
        factValues = new Map([...factValues, ...parseProbeOutput(again.output, missing, shell.nonce)]);
      }
    }
    for (const state of states) planTask(state, factValues, context);

    // Handlers an earlier run notified and never ran (it failed, or was killed) run in this one's
    // handler phase; names this playbook has no handler for stay written down for the next.
    const journal = new HandlerJournal(factValues.get(pendingHandlersFact.key) as string[], handlers, shell, options);
    const notified = new Set<string>(journal.carriedOver);
    // Facts a change may have altered are probed again just before a task that reads them runs:
    // only that task's stale facts (a probe of everything left would repeat costly facts, such
    // as `docker-compose config`, after every change).
    const staleness = new Staleness();
    let stopped = false;
    if (!options.check) emit({ type: 'phase', host: hostName, phase: 'applying' });

    for (const [index, state] of states.entries()) {
      const started = Date.now();
      const name = state.task.name;
      if (stopped) {
        record({ name, status: 'skipped', durationMs: 0, reason: 'an earlier task failed' }, index);
        continue;
      }
      // flushHandlers(): run what was notified so far, here (a daemon restarted before what runs on it starts).
      if (state.task.type.kind === FLUSH_HANDLERS_KIND) {
        const pending = notified.size;
        record({ name, status: 'ok', durationMs: 0, reason: pending === 0 ? 'no handler notified' : `running ${pending} notified handler(s) now` }, index);
        if (pending > 0) {
          const handlerResults: TaskResult[] = [];
          const ran = await runHandlers(hostName, handlers, new Set(notified), shell, link, options, context, redact, (result) => {
            handlerResults.push(result);
            record(result, results.length);
          });
          for (const handlerName of ran) notified.delete(handlerName);
          await journal.write(notified);
          if (handlerResults.some((result) => result.status === 'failed')) stopped = true;
          // Handlers change the host too: later facts are probed again.
          if (handlerResults.some((result) => result.status === 'changed')) staleness.invalidate(['*']);
        }
        continue;
      }
      const staleFacts = staleness.staleFacts(state.facts);
      if (!options.check && staleFacts.length > 0) {
        const again = await shell.request(buildProbeScript(staleFacts, shell.nonce), {
          label: 'probe facts again',
          timeoutMs: options.probeTimeoutMs,
          keepAll: true,
        });
        factValues = new Map([...factValues, ...parseProbeOutput(again.output, staleFacts, shell.nonce)]);
        staleness.probed(staleFacts);
        planTask(state, factValues, context);
      }
      if (!options.check && state.plan?.action === 'change') emit({ type: 'task-start', host: hostName, index, total: tasks.length, name: redact(name) });
      let outcome = await settleTask(hostName, state, shell, link, options, redact);
      // Check mode applies nothing, so a task whose facts an earlier pending change would alter
      // (a unit file not written yet) cannot be planned: it is pending too, not failed.
      if (options.check && outcome.status === 'failed' && state.planError !== undefined && staleFacts.length > 0) {
        outcome = { status: 'changed', changes: [redact(`depends on earlier pending changes; planned after they apply (now: ${state.planError})`)] };
      }
      const result: TaskResult = { name, durationMs: Date.now() - started, ...outcome };
      record(result, index);
      if (result.status === 'failed') stopped = true;
      if (result.status === 'changed') {
        // Notifications made so far that this change fulfils are dropped; later tasks may notify again.
        if (state.plan?.action === 'change') for (const handler of state.plan.satisfies ?? []) notified.delete(handler);
        for (const handler of state.task.notify) notified.add(handler);
        // Written down on the host before the next task, so a failure from here on loses nothing.
        await journal.write(notified);
        staleness.invalidate(state.task.type.invalidates(state.task.desired));
      }
    }

    if ((!stopped || options.forceHandlers) && notified.size > 0) {
      emit({ type: 'phase', host: hostName, phase: 'handlers' });
      const ran = await runHandlers(hostName, handlers, notified, shell, link, options, context, redact, (result) => record(result, results.length));
      for (const handlerName of ran) notified.delete(handlerName);
      await journal.write(notified);
    }
    if (!options.check) pending = [...notified];

  } catch (error) {
    const total = tasks.length;
    // Tasks not reached are reported as skipped so the recap accounts for every task.
    for (let index = results.filter((result) => !result.handler).length; index < total; index += 1) {
      const task = tasks[index];
      if (task) results.push({ name: redact(task.name), status: 'skipped', durationMs: 0, reason: 'host failed' });
    }
    await shell.close(2_000);
    return summarize(results, { unreachable: false, execs: link.execCount(), requests: shell.requests, ...errorFields(error, redact) });
  }
  await shell.close();
  return summarize(results, { unreachable: false, execs: link.execCount(), requests: shell.requests, ...(pending.length > 0 ? { pendingHandlers: pending } : {}) });

  // Names and reasons come from the playbook (a command's text names its task): secret values are masked too.
  function record(result: TaskResult, index: number): void {
    const shown: TaskResult = { ...result, name: redact(result.name), ...(result.reason !== undefined ? { reason: redact(result.reason) } : {}) };
    results.push(shown);
    emit({ type: 'task', host: hostName, index, total: tasks.length, result: shown });
  }
}

// The run's first request: the host locks, then one probe of the host facts, the plays' custom
// facts, the pending handlers and every task's facts (the bench sends this text over OpenSSH too).
export function firstRequest(
  customFacts: readonly Fact<unknown>[],
  taskFacts: readonly Fact<unknown>[],
  nonce: string,
  options: Pick<HostRunOptions, 'lockOwner' | 'lockWaitSeconds' | 'lockPaths'>,
): { facts: Fact<unknown>[]; script: string; lock: string; probe: string } {
  const facts = uniqueFacts([hostFactsFact, ...customFacts, pendingHandlersFact, ...taskFacts]);
  const lock = lockScript(nonce, options.lockOwner, options.lockWaitSeconds, options.lockPaths ?? HOST_LOCK_PATHS);
  const probe = buildProbeScript(facts, nonce);
  return { facts, script: `${lock}\n${probe}`, lock, probe };
}

// Plans or applies one task from its current plan.
async function settleTask(
  hostName: string,
  state: TaskState,
  shell: RemoteShell,
  link: HostLink,
  options: HostRunOptions,
  redact: (text: string) => string,
): Promise<Omit<TaskResult, 'name' | 'durationMs'>> {
  const emit = options.onEvent ?? (() => {});
  if (state.planError !== undefined) return { status: 'failed', error: redact(state.planError) };
  const plan = state.plan;
  if (!plan || plan.action === 'noop') return { status: 'ok', reason: plan?.reason ?? 'nothing to do' };
  const shown = {
    changes: plan.changes.map(redact),
    ...(plan.diff ? { diff: { path: plan.diff.path, text: redact(plan.diff.text) } } : {}),
  };
  if (options.check) return { status: 'changed', ...shown };
  for (const step of plan.steps) {
    if (step.stream) {
      if (!link.runStream) return { status: 'failed', ...shown, error: `${step.label}: this connection cannot stream data` };
      const started = Date.now();
      emit({ type: 'request', host: hostName, phase: 'sent', id: 0, label: redact(`${step.label} (its own exec, data streamed)`), script: redact(step.script) });
      const streamed = await link.runStream(step.label, step.script, step.stream.open(), options.stepTimeoutMs);
      emit({ type: 'request', host: hostName, phase: 'done', id: 0, label: redact(step.label), exitCode: streamed.exitCode ?? -1, durationMs: Date.now() - started });
      if (streamed.exitCode !== 0) {
        return { status: 'failed', ...shown, error: redact(`${step.label}: exit code ${streamed.exitCode ?? 'none'}\n${streamed.output.trimEnd().split('\n').slice(-(step.failureOutputLines ?? 8)).join('\n')}`) };
      }
      continue;
    }
    const reply = await shell.request(`(\n${step.script}\n) </dev/null ${CLOSE_LOCK_FDS} 2>&1`, {
      label: step.label,
      timeoutMs: options.stepTimeoutMs,
      shown: step.script,
    });
    if (reply.exitCode !== 0) {
      const tail = reply.output.trimEnd().split('\n').slice(-(step.failureOutputLines ?? 8)).join('\n');
      return { status: 'failed', ...shown, error: redact(`${step.label}: exit code ${reply.exitCode}${tail ? `\n${tail}` : ''}`) };
    }
  }
  return { status: 'changed', ...shown };
}

// Runs notified handlers once each, in the order they were declared; each probes its own facts.
// Notified handlers next to each other whose steps combine (ResourceType.combine, step by step)
// run as one, named after all of them: services restarted together wait once for their health.
async function runHandlers(
  hostName: string,
  handlers: Map<string, ResourceInstance[]>,
  notified: Set<string>,
  shell: RemoteShell,
  link: HostLink,
  options: HostRunOptions,
  context: PlanContext,
  redact: (text: string) => string,
  record: (result: TaskResult) => void,
): Promise<string[]> {
  const ran: string[] = [];
  const due = [...handlers].filter(([handlerName]) => notified.has(handlerName));
  for (const group of combinedHandlers(due)) {
    const label = group.names.join(', ');
    for (const task of group.steps) {
      const started = Date.now();
      const state: TaskState = { task, facts: safeFacts(task, context) };
      const facts = uniqueFacts(Object.values(state.facts));
      const reply = await shell.request(buildProbeScript(facts, shell.nonce), {
        label: `probe facts for handler ${label}`,
        timeoutMs: options.probeTimeoutMs,
        keepAll: true,
      });
      planTask(state, parseProbeOutput(reply.output, facts, shell.nonce), context);
      const outcome = await settleTask(hostName, state, shell, link, options, redact);
      record({ name: `handler: ${label}`, durationMs: Date.now() - started, handler: true, ...outcome });
      if (outcome.status === 'failed') return ran;
    }
    ran.push(...group.names);
  }
  return ran;
}

/** Handlers run as one: their names, and their steps combined step by step. */
interface HandlerGroup {
  names: string[];
  steps: ResourceInstance[];
}

// Groups due handlers (in order) where each step of the next combines with the group's step at the
// same place: same number of steps, same kinds, and every kind's combine() agreeing.
function combinedHandlers(due: Array<[string, ResourceInstance[]]>): HandlerGroup[] {
  const groups: HandlerGroup[] = [];
  for (const [name, steps] of due) {
    const last = groups.at(-1);
    const joined = last ? combineSteps(last.steps, steps) : undefined;
    if (last && joined) {
      last.names.push(name);
      last.steps = joined;
    } else groups.push({ names: [name], steps });
  }
  return groups;
}

function combineSteps(group: ResourceInstance[], next: ResourceInstance[]): ResourceInstance[] | undefined {
  if (group.length !== next.length || group.length === 0) return undefined;
  const joined: ResourceInstance[] = [];
  for (const [index, step] of group.entries()) {
    const other = next[index]!;
    if (step.type !== other.type || !step.type.combine) return undefined;
    const desired = step.type.combine(step.desired, other.desired);
    if (desired === undefined) return undefined;
    joined.push({ ...step, desired, name: step.type.describe(desired) });
  }
  return joined;
}

// The host's list of handlers notified and not yet run (handler-journal.ts), kept in step with
// this run: rewritten (one request) only when what is pending changed, never in check mode.
class HandlerJournal {
  /** Pending from earlier runs, with a handler in this run: they run in this run's handler phase. */
  readonly carriedOver: string[];
  /** Pending from earlier runs for handlers this run does not have: kept for a later run. */
  readonly #foreign: string[];
  #written: string;

  constructor(
    journaled: readonly string[],
    handlers: ReadonlyMap<string, unknown>,
    readonly shell: RemoteShell,
    readonly options: HostRunOptions,
  ) {
    this.carriedOver = journaled.filter((name) => handlers.has(name));
    this.#foreign = journaled.filter((name) => !handlers.has(name));
    this.#written = JSON.stringify(journaled);
  }

  async write(notified: ReadonlySet<string>): Promise<void> {
    if (this.options.check) return;
    const pending = [...this.#foreign, ...[...notified].filter((name) => !this.#foreign.includes(name))];
    const text = JSON.stringify(pending);
    if (text === this.#written) return;
    const reply = await this.shell.request(journalScript(pending), { label: 'record pending handlers', timeoutMs: this.options.stepTimeoutMs });
    if (reply.exitCode !== 0) throw new HalyardError('E_HANDLER_JOURNAL', `cannot record pending handlers on the host: exit code ${reply.exitCode}\n${reply.output.trimEnd().split('\n').slice(-4).join('\n')}`);
    this.#written = text;
  }
}

function safeFacts(task: ResourceInstance, context: PlanContext): Record<string, Fact<unknown>> {
  try {
    return task.type.facts(task.desired, context);
  } catch {
    // The planner reports the same problem with a better message.
    return {};
  }
}

function planTask(state: TaskState, values: FactValues, context: PlanContext): void {
  const facts: Record<string, unknown> = {};
  for (const [name, fact] of Object.entries(state.facts)) facts[name] = values.get(fact.key);
  try {
    state.plan = state.task.type.plan(state.task.desired, facts, context);
    state.planError = undefined;
  } catch (error) {
    state.plan = undefined;
    state.planError = errorText(error);
  }
}

// Which probed facts later changes may have altered: every invalidation pattern is numbered, and a
// fact is stale when a pattern numbered after its last probe matches its key.
class Staleness {
  readonly #patterns: string[] = [];
  readonly #probedAt = new Map<string, number>();

  invalidate(patterns: readonly string[]): void {
    this.#patterns.push(...patterns);
  }

  staleFacts(facts: Record<string, Fact<unknown>>): Fact<unknown>[] {
    return uniqueFacts(
      Object.values(facts).filter((fact) => this.#patterns.slice(this.#probedAt.get(fact.key) ?? 0).some((pattern) => keyMatches(pattern, fact.key))),
    );
  }

  probed(facts: readonly Fact<unknown>[]): void {
    for (const fact of facts) this.#probedAt.set(fact.key, this.#patterns.length);
  }
}

// A request notice as events carry it: label, script and error masked (a step's label may quote a command).
function maskedNotice(notice: RequestNotice, redact: (text: string) => string): RequestNotice {
  return {
    ...notice,
    label: redact(notice.label),
    ...('script' in notice && notice.script !== undefined ? { script: redact(notice.script) } : {}),
    ...('error' in notice ? { error: redact(notice.error) } : {}),
  } as RequestNotice;
}

// An error's message without a stack, for recaps.
export function errorText(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

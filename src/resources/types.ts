import type { Fact } from '../facts/fact.js';

// Local bytes streamed into a step's stdin (an image from `docker save`, a large file), never held whole.
export interface StreamSource {
  /** Opens the data; called once, when the step runs. */
  open(): NodeJS.ReadableStream;
}

// One thing a resource will do to the host, rendered as shell by a pure builder.
export interface Step {
  /** What the step does, safe to print (never holds secret values). */
  label: string;
  /**
   * POSIX sh. Without `stream` it runs inside the run's shell and may hold secret values (it travels
   * on stdin). With `stream` it runs as its own exec, in argv, so it must hold no secret.
   */
  script: string;
  /** Data piped into the script's stdin with backpressure (one extra exec for this step). */
  stream?: StreamSource;
  /** Lines of the step's output kept in the error when it fails (default 8), for steps that print a report. */
  failureOutputLines?: number;
}

// A unified diff of a file, already masked where secrets are involved.
export interface FileDiff {
  path: string;
  /** Unified diff text, or a one-line note when content cannot be shown (secret, binary). */
  text: string;
}

// A planner's verdict: nothing to do and why, or the steps that converge the host.
export type Plan =
  | { action: 'noop'; reason: string }
  | {
      action: 'change';
      changes: string[];
      steps: Step[];
      diff?: FileDiff;
      /** Handlers this change makes moot once it succeeds (a container created with the new files needs no restart). */
      satisfies?: string[];
    };

// What planners may know about the run, beyond facts.
export interface PlanContext {
  /** --diff: fact probes read old file content so a diff can be shown. */
  diff: boolean;
  /** Hides the run's secret values; a planner that shortens text for display masks it first. */
  mask?: (text: string) => string;
  /** The host's clock (epoch seconds) when this run took its lock: temp files halyard left
   * before it are stale (a killed run's), and a write into their directory removes them. */
  runStartedOnHost?: number;
}

// A resource kind: which facts it reads, a pure planner, and which facts its changes make stale.
export interface ResourceType<D> {
  readonly kind: string;
  /** Short human name, e.g. "file /etc/motd". */
  describe(desired: D): string;
  /** Facts the planner reads, by the planner's own names. */
  facts(desired: D, context: PlanContext): Record<string, Fact<unknown>>;
  /** Pure: same desired state and facts, same plan. Throws PlanError for impossible requests. */
  plan(desired: D, facts: Record<string, unknown>, context: PlanContext): Plan;
  /** Fact keys (exact, or a prefix ending in '*') a change of this resource can make stale. */
  invalidates(desired: D): string[];
  /**
   * Handlers only: `first` and `next` (the same step of the next notified handler) done as one,
   * say two services of one compose project restarted in one call; undefined keeps them apart.
   */
  combine?(first: D, next: D): D | undefined;
}

// A desired resource in a task list: its kind's data plus task options.
export interface ResourceInstance<D = unknown> {
  type: ResourceType<D>;
  desired: D;
  /** Task name shown in progress and recap. */
  name: string;
  /** Handlers to run (once, after the host's tasks) when this resource changed. */
  notify: string[];
  /** Tags for --tags/--skip-tags (its role's and play's are added when the play is built). */
  tags?: string[];
}

/** Kind of the flushHandlers() marker task, which the engine handles itself. */
export const FLUSH_HANDLERS_KIND = 'flush-handlers';

// The request cannot be planned (e.g. a file where a directory should be).
export class PlanError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PlanError';
  }
}

// Whether a fact key is covered by an invalidation pattern ('*' suffix is a prefix match).
export function keyMatches(pattern: string, key: string): boolean {
  if (pattern === '*') return true;
  if (pattern.endsWith('*')) return key.startsWith(pattern.slice(0, -1));
  return pattern === key || key.startsWith(`${pattern}:`);
}

import type { Plan, PlanContext, ResourceType } from '../../src/resources/types.js';
import { PlanError } from '../../src/resources/types.js';

// What a table row expects: the exact step scripts, a noop reason, or a PlanError message.
export type Outcome = { scripts: string[] } | { noop: string } | { error: string };

// A pyinfra-style row: desired state and facts in, outcome out.
export interface PlanRow<D> {
  name: string;
  desired: D;
  facts: Record<string, unknown>;
  expected: Outcome;
  context?: PlanContext;
}

const DEFAULT_CONTEXT: PlanContext = { diff: false };

// Plans a row and reduces the plan to the comparable outcome; a non-PlanError throw fails the test.
export function outcomeOf<D>(type: ResourceType<D>, desired: D, facts: Record<string, unknown>, context = DEFAULT_CONTEXT): Outcome {
  let plan: Plan;
  try {
    plan = type.plan(desired, facts, context);
  } catch (error) {
    if (error instanceof PlanError) return { error: error.message };
    throw error;
  }
  if (plan.action === 'noop') return { noop: plan.reason };
  return { scripts: plan.steps.map((step) => step.script) };
}

// Plans and returns the whole plan (for tests that look at changes, labels or diffs).
export function planOf<D>(type: ResourceType<D>, desired: D, facts: Record<string, unknown>, context = DEFAULT_CONTEXT): Plan {
  return type.plan(desired, facts, context);
}

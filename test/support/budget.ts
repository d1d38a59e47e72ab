// Budgets from measurements: an e2e test's timeout is its time measured on a busy 2-core machine
// (scripts/ci-under-load.sh: the whole suite with stress-ng holding one core) times BUDGET_MARGIN.
// A test states what it measured, `busyBudget(57)`, so a budget is never a guess.
export const BUDGET_MARGIN = 2.5;

// Milliseconds for a test measured at `measuredSeconds` under load (at least 20 s: a CLI run
// alone can take 2-3 s on a busy machine).
export function busyBudget(measuredSeconds: number): number {
  return Math.max(20, Math.ceil(measuredSeconds * BUDGET_MARGIN)) * 1000;
}

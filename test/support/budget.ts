// Budgets from measurements: an e2e test's timeout is its slowest time measured on a busy 2-core
// machine (scripts/ci-under-load.sh: the whole suite with stress-ng holding one core, images built
// beside it; the slowest of three runs) times BUDGET_MARGIN.
// A test states what it measured, `busyBudget(57)`, so a budget is never a guess.
export const BUDGET_MARGIN = 2.5;

// Milliseconds for a test measured at `measuredSeconds` under load (at least 30 s: a CLI run
// alone can take 3-5 s on an overloaded machine).
export function busyBudget(measuredSeconds: number): number {
  return Math.max(30, Math.ceil(measuredSeconds * BUDGET_MARGIN)) * 1000;
}

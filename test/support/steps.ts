// Tests of one file that build on the host state the previous ones left (Docker installed, a
// daemon running): after a step fails or times out, the later steps are skipped with a note naming
// it, instead of failing with a confusing assertion on leftover state. The file still fails.
import { it, type TestContext } from 'vitest';

// A chain of dependent tests; `step` declares the next one, with its budget in milliseconds.
export interface StepChain {
  step(name: string, fn: (context: TestContext) => Promise<void>, timeoutMs: number): void;
}

// Starts a chain; call once per describe block whose tests depend on each other in order.
export function stepChain(): StepChain {
  let failed: string | undefined;
  return {
    step(name, fn, timeoutMs) {
      it(
        name,
        async (context) => {
          if (failed !== undefined) context.skip(`needs the state left by the failed step "${failed}"`);
          // onTestFailed also fires on a timeout, when the body is still running.
          context.onTestFailed(() => {
            failed ??= name;
          });
          await fn(context);
        },
        timeoutMs,
      );
    },
  };
}

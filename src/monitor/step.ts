import type { ControllerStep } from '../playbook/types.js';

// The `monitor apply` reconciliation as a playbook step: runs when the var names a monitor file.
export function monitorStep(options: { configVar?: string } = {}): ControllerStep {
  const configVar = options.configVar ?? 'monitor_config';
  return {
    name: 'monitor apply (SNS topic, CloudWatch alarms)',
    async run({ check, vars, log }) {
      const path = vars[configVar];
      if (typeof path !== 'string' || path === '') return { changed: false, skipped: `no ${configVar} var` };
      // Loaded only when used: the AWS SDK stays out of every other run's start-up.
      const { applyMonitorFile } = await import('./index.js');
      const { formatPlan } = await import('./format.js');
      const result = await applyMonitorFile(path, { check, onPlan: (plan) => log(formatPlan(plan)), onApplied: log });
      if (result.summary.alarms.conflict > 0) throw new Error(`${result.summary.alarms.conflict} alarm name(s) are held by alarms halyard does not own`);
      return { changed: result.summary.changes > 0 };
    },
  };
}

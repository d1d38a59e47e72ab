import { sdkAlertsService } from '../aws/alerts.js';
import { sdkMetricsService } from '../aws/metrics.js';
import { ExitCode, type ExitCodeValue } from '../core/exit-codes.js';
import { runMonitor, type MonitorResult, type MonitorRunOptions, type MonitorServices } from './apply.js';
import { loadMonitorConfig, type MonitorConfig } from './config.js';

// Self-monitoring as code: an SNS topic with its subscriptions and CloudWatch alarms per instance,
// reconciled from a YAML file (`halyard monitor apply -c FILE`, or a step of a playbook run).

export { ALARM_PREFIX, MANAGED_BY_TAG, MONITOR_TAG, desiredAlarms, ownershipTags, recoverActionArn } from './alarms.js';
export { runMonitor, monitoredInstances, type MonitorReport, type MonitorResult, type MonitorRunOptions, type MonitorServices } from './apply.js';
export { DEFAULT_ALARMS, MonitorConfigError, loadMonitorConfig, parseMonitorConfig, type AlarmSettings, type MonitorConfig, type Subscription } from './config.js';
export { formatPlan, formatResult, resultJson } from './format.js';
export { alarmChanges, ownedBy, planMonitor, summarize, type AlarmPlan, type FieldChange, type MonitorPlan, type PlanSummary } from './plan.js';

/** SDK-backed services for a monitor file: its region, else the SDK's region resolution. */
export function sdkMonitorServices(config: Pick<MonitorConfig, 'region'>): MonitorServices {
  const options = config.region ? { region: config.region } : {};
  return { alerts: sdkAlertsService(options), metrics: sdkMetricsService(options) };
}

/** Loads a monitor file and reconciles it against AWS (or only plans, with check). */
export async function applyMonitorFile(
  path: string,
  options: MonitorRunOptions & { services?: MonitorServices },
): Promise<MonitorResult> {
  const config = await loadMonitorConfig(path);
  return runMonitor(config, options.services ?? sdkMonitorServices(config), options);
}

/** 1 when alarms are in conflict (not ours, same name), 2 in check mode with changes pending, else 0. */
export function monitorExitCode(result: MonitorResult): ExitCodeValue {
  if (result.summary.alarms.conflict > 0) return ExitCode.HostFailed;
  if (result.check && result.summary.changes > 0) return ExitCode.ChangesPending;
  return ExitCode.Ok;
}

import { HALYARD_METRICS, HALYARD_NAMESPACE, type AlarmDefinition } from '../aws/metrics.js';
import type { AlarmSettings } from './config.js';

// The alarms a monitor file asks for, per instance, as plain data (no AWS calls).

/** Every alarm halyard owns starts with this; DescribeAlarms is asked for this prefix only. */
export const ALARM_PREFIX = 'halyard-';
/** Tags on every alarm and topic halyard owns. */
export const MANAGED_BY_TAG = { key: 'managed-by', value: 'halyard' } as const;
/** Names the monitor file (its `name:`), so two files never delete each other's alarms. */
export const MONITOR_TAG = 'halyard-monitor';

export function ownershipTags(monitorName: string): Record<string, string> {
  return { [MANAGED_BY_TAG.key]: MANAGED_BY_TAG.value, [MONITOR_TAG]: monitorName };
}

/** The EC2 recover action (moves an impaired instance to healthy hardware, same id and IPs). */
export function recoverActionArn(region: string): string {
  return `arn:aws:automate:${region}:ec2:recover`;
}

export interface DesiredAlarmsInput {
  monitorName: string;
  region: string;
  instanceIds: string[];
  topicArn: string;
  settings: AlarmSettings;
}

// Alarm names: halyard-<instance-id>-<check>; checks: cpu, status, system-recover, disk, docker, backup.
export function desiredAlarms({ monitorName, region, instanceIds, topicArn, settings }: DesiredAlarmsInput): AlarmDefinition[] {
  const alarms: AlarmDefinition[] = [];
  for (const id of instanceIds) {
    const base = {
      dimensions: [{ name: 'InstanceId', value: id }],
      datapointsToAlarm: undefined,
      unit: undefined,
      actionsEnabled: true,
      alarmActions: [topicArn],
      okActions: [topicArn],
      insufficientDataActions: [],
    };
    const about = (what: string) => `halyard monitor ${monitorName}: ${what} on ${id}`;
    if (settings.cpuPercent !== undefined) {
      alarms.push({
        ...base,
        name: `${ALARM_PREFIX}${id}-cpu`,
        description: about(`CPU above ${settings.cpuPercent}% (average over ${settings.cpuMinutes} min)`),
        namespace: 'AWS/EC2',
        metricName: 'CPUUtilization',
        statistic: 'Average',
        period: settings.cpuMinutes * 60,
        evaluationPeriods: 1,
        threshold: settings.cpuPercent,
        comparison: 'GreaterThanThreshold',
        treatMissingData: 'missing',
      });
    }
    if (settings.statusCheck) {
      alarms.push({
        ...base,
        name: `${ALARM_PREFIX}${id}-status`,
        description: about('EC2 status check failed (instance or system) for 2 minutes'),
        namespace: 'AWS/EC2',
        metricName: 'StatusCheckFailed',
        statistic: 'Maximum',
        period: 60,
        evaluationPeriods: 2,
        threshold: 0,
        comparison: 'GreaterThanThreshold',
        treatMissingData: 'missing',
      });
    }
    if (settings.recover) {
      // Recovery only helps with the system check (the host hardware), so it has its own alarm.
      alarms.push({
        ...base,
        name: `${ALARM_PREFIX}${id}-system-recover`,
        description: about('EC2 system status check failed for 2 minutes: recover the instance'),
        namespace: 'AWS/EC2',
        metricName: 'StatusCheckFailed_System',
        statistic: 'Maximum',
        period: 60,
        evaluationPeriods: 2,
        threshold: 0,
        comparison: 'GreaterThanThreshold',
        treatMissingData: 'missing',
        alarmActions: [recoverActionArn(region), topicArn],
      });
    }
    if (settings.diskPercent !== undefined) {
      alarms.push({
        ...base,
        name: `${ALARM_PREFIX}${id}-disk`,
        description: about(`disk used above ${settings.diskPercent}% (${HALYARD_NAMESPACE}/${HALYARD_METRICS.DiskUsedPercent})`),
        namespace: HALYARD_NAMESPACE,
        metricName: HALYARD_METRICS.DiskUsedPercent,
        statistic: 'Maximum',
        period: 300,
        evaluationPeriods: 1,
        threshold: settings.diskPercent,
        comparison: 'GreaterThanThreshold',
        treatMissingData: 'missing',
      });
    }
    if (settings.docker) {
      alarms.push({
        ...base,
        name: `${ALARM_PREFIX}${id}-docker`,
        description: about(`Docker daemon down for 3 minutes (${HALYARD_NAMESPACE}/${HALYARD_METRICS.DockerDaemonUp} < 1)`),
        namespace: HALYARD_NAMESPACE,
        metricName: HALYARD_METRICS.DockerDaemonUp,
        statistic: 'Minimum',
        period: 60,
        evaluationPeriods: 3,
        threshold: 1,
        comparison: 'LessThanThreshold',
        treatMissingData: 'missing',
      });
    }
    if (settings.backupScheduleHours !== undefined) {
      // Hourly periods, all of the last (schedule + grace) hours breaching: no heartbeat in that
      // window. Hours without a heartbeat have no data, and missing data counts as breaching.
      const hours = settings.backupScheduleHours + settings.backupGraceHours;
      alarms.push({
        ...base,
        name: `${ALARM_PREFIX}${id}-backup`,
        description: about(`no backup heartbeat for ${hours} h (schedule ${settings.backupScheduleHours} h + ${settings.backupGraceHours} h grace)`),
        namespace: HALYARD_NAMESPACE,
        metricName: HALYARD_METRICS.BackupHeartbeat,
        statistic: 'Sum',
        period: 3600,
        evaluationPeriods: hours,
        datapointsToAlarm: hours,
        threshold: 1,
        comparison: 'LessThanThreshold',
        treatMissingData: 'breaching',
      });
    }
  }
  return alarms;
}

import {
  DeleteAlarmsCommand,
  ListTagsForResourceCommand,
  PutMetricAlarmCommand,
  PutMetricDataCommand,
  TagResourceCommand,
  paginateDescribeAlarms,
  type CloudWatchClient,
  type ComparisonOperator,
  type MetricAlarm,
  type MetricDatum,
  type StandardUnit,
  type Statistic,
} from '@aws-sdk/client-cloudwatch';
import { awsFailure, createCloudWatchClient, resolvedRegion, type AwsClientOptions } from './clients.js';

// CloudWatch behind a small interface: metric alarms (list, put, tag, delete) and PutMetricData.

/** Namespace of the metrics halyard's daemon publishes (and monitor alarms watch). */
export const HALYARD_NAMESPACE = 'halyard';

/** Metric names of the halyard namespace; each has the dimension InstanceId. */
export const HALYARD_METRICS = {
  /** 1 while the Docker daemon answers, 0 when it does not; published every minute. */
  DockerDaemonUp: 'DockerDaemonUp',
  /** 1 after each successful backup; its absence for longer than the schedule allows is an alarm. */
  BackupHeartbeat: 'BackupHeartbeat',
  /** Highest used percentage among the host's mounted file systems. */
  DiskUsedPercent: 'DiskUsedPercent',
} as const;

export type AlarmStatistic = 'Average' | 'Sum' | 'Minimum' | 'Maximum' | 'SampleCount';
export type TreatMissingData = 'breaching' | 'notBreaching' | 'ignore' | 'missing';

/** A metric alarm as halyard describes it (the fields PutMetricAlarm takes that halyard uses). */
export interface AlarmDefinition {
  name: string;
  description: string | undefined;
  namespace: string;
  metricName: string;
  dimensions: Array<{ name: string; value: string }>;
  statistic: AlarmStatistic;
  period: number;
  evaluationPeriods: number;
  /** Undefined means "all evaluation periods" (CloudWatch's default). */
  datapointsToAlarm: number | undefined;
  threshold: number;
  comparison: ComparisonOperator;
  treatMissingData: TreatMissingData;
  unit: string | undefined;
  actionsEnabled: boolean;
  alarmActions: string[];
  okActions: string[];
  insufficientDataActions: string[];
}

/** An alarm as DescribeAlarms returned it. */
export interface ExistingAlarm extends AlarmDefinition {
  arn: string;
}

/** One value to publish. */
export interface MetricPoint {
  name: string;
  value: number;
  unit?: StandardUnit;
  dimensions?: Record<string, string>;
  timestamp?: Date;
}

export interface MetricsService {
  region(): Promise<string>;
  /** Every metric alarm whose name starts with the prefix (all pages). */
  listAlarms(prefix: string): Promise<ExistingAlarm[]>;
  alarmTags(arn: string): Promise<Record<string, string>>;
  /** Creates or replaces an alarm; tags apply on creation (CloudWatch ignores them on update). */
  putAlarm(alarm: AlarmDefinition, tags: Record<string, string>): Promise<void>;
  tagAlarm(arn: string, tags: Record<string, string>): Promise<void>;
  deleteAlarms(names: string[]): Promise<void>;
  putMetricData(namespace: string, points: MetricPoint[]): Promise<void>;
}

/** DeleteAlarms takes at most 100 names; PutMetricData at most 1000 values. */
const DELETE_BATCH = 100;
const METRIC_BATCH = 1000;

export function sdkMetricsService(options: AwsClientOptions = {}, client: CloudWatchClient = createCloudWatchClient(options)): MetricsService {
  const call = async <T>(what: string, run: () => Promise<T>): Promise<T> => {
    await resolvedRegion(client);
    try {
      return await run();
    } catch (error) {
      throw awsFailure(`CloudWatch ${what}`, error, 'E_AWS_CLOUDWATCH');
    }
  };
  return {
    region: () => resolvedRegion(client),
    listAlarms: (prefix) =>
      call(`DescribeAlarms ${prefix}*`, async () => {
        const alarms: ExistingAlarm[] = [];
        for await (const page of paginateDescribeAlarms({ client, pageSize: 100 }, { AlarmNamePrefix: prefix, AlarmTypes: ['MetricAlarm'] })) {
          for (const alarm of page.MetricAlarms ?? []) alarms.push(fromMetricAlarm(alarm));
        }
        return alarms;
      }),
    alarmTags: (arn) =>
      call(`ListTagsForResource ${arn}`, async () => {
        const out = await client.send(new ListTagsForResourceCommand({ ResourceARN: arn }));
        return Object.fromEntries((out.Tags ?? []).map((tag) => [tag.Key ?? '', tag.Value ?? '']));
      }),
    putAlarm: (alarm, tags) =>
      call(`PutMetricAlarm ${alarm.name}`, async () => {
        await client.send(
          new PutMetricAlarmCommand({
            AlarmName: alarm.name,
            AlarmDescription: alarm.description,
            ActionsEnabled: alarm.actionsEnabled,
            AlarmActions: alarm.alarmActions,
            OKActions: alarm.okActions,
            InsufficientDataActions: alarm.insufficientDataActions,
            Namespace: alarm.namespace,
            MetricName: alarm.metricName,
            Dimensions: alarm.dimensions.map((d) => ({ Name: d.name, Value: d.value })),
            Statistic: alarm.statistic as Statistic,
            Period: alarm.period,
            EvaluationPeriods: alarm.evaluationPeriods,
            DatapointsToAlarm: alarm.datapointsToAlarm,
            Threshold: alarm.threshold,
            ComparisonOperator: alarm.comparison,
            TreatMissingData: alarm.treatMissingData,
            Unit: alarm.unit as StandardUnit | undefined,
            Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })),
          }),
        );
      }),
    tagAlarm: (arn, tags) =>
      call(`TagResource ${arn}`, async () => {
        await client.send(new TagResourceCommand({ ResourceARN: arn, Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) }));
      }),
    deleteAlarms: (names) =>
      call(`DeleteAlarms ${names.join(', ')}`, async () => {
        for (let start = 0; start < names.length; start += DELETE_BATCH) {
          await client.send(new DeleteAlarmsCommand({ AlarmNames: names.slice(start, start + DELETE_BATCH) }));
        }
      }),
    putMetricData: (namespace, points) =>
      call(`PutMetricData ${namespace}`, async () => {
        for (let start = 0; start < points.length; start += METRIC_BATCH) {
          const batch = points.slice(start, start + METRIC_BATCH).map(toDatum);
          // Large bodies go out gzip-encoded (the client's request compression).
          await client.send(new PutMetricDataCommand({ Namespace: namespace, MetricData: batch }));
        }
      }),
  };
}

function toDatum(point: MetricPoint): MetricDatum {
  return {
    MetricName: point.name,
    Value: point.value,
    ...(point.unit ? { Unit: point.unit } : {}),
    ...(point.timestamp ? { Timestamp: point.timestamp } : {}),
    ...(point.dimensions ? { Dimensions: Object.entries(point.dimensions).map(([Name, Value]) => ({ Name, Value })) } : {}),
  };
}

function fromMetricAlarm(alarm: MetricAlarm): ExistingAlarm {
  return {
    name: alarm.AlarmName ?? '',
    arn: alarm.AlarmArn ?? '',
    description: alarm.AlarmDescription,
    namespace: alarm.Namespace ?? '',
    metricName: alarm.MetricName ?? '',
    dimensions: (alarm.Dimensions ?? []).map((d) => ({ name: d.Name ?? '', value: d.Value ?? '' })),
    statistic: (alarm.Statistic ?? alarm.ExtendedStatistic ?? '') as AlarmStatistic,
    period: alarm.Period ?? 0,
    evaluationPeriods: alarm.EvaluationPeriods ?? 0,
    datapointsToAlarm: alarm.DatapointsToAlarm,
    threshold: alarm.Threshold ?? 0,
    comparison: (alarm.ComparisonOperator ?? '') as ComparisonOperator,
    treatMissingData: (alarm.TreatMissingData ?? 'missing') as TreatMissingData,
    unit: alarm.Unit,
    actionsEnabled: alarm.ActionsEnabled ?? true,
    alarmActions: alarm.AlarmActions ?? [],
    okActions: alarm.OKActions ?? [],
    insufficientDataActions: alarm.InsufficientDataActions ?? [],
  };
}

import { ACCOUNT_ID, type AlarmState, type Dimension, type EmulatorState, type MetricDatumState } from './state.js';
import { ServiceError, decodeToken, encodeToken, epochSeconds, jsonError, jsonResponse, type WireResponse } from './wire.js';

// CloudWatch as client-cloudwatch >= 3.949 speaks it: awsJson1_0 in query-compatible mode.
// Requests: POST /, `X-Amz-Target: GraniteServiceVersion20100801.<Operation>`, `x-amzn-query-mode: true`,
// JSON bodies (large PutMetricData bodies gzip-encoded). Errors: JSON `__type` plus the header
// `x-amzn-query-error: <awsQuery code>;Sender` from which the SDK takes the error code.

export const CLOUDWATCH_TARGET_PREFIX = 'GraniteServiceVersion20100801.';
const NS = 'com.amazonaws.cloudwatch#';

type Input = Record<string, unknown>;

export function cloudWatchError(error: ServiceError): WireResponse {
  return jsonError('1.0', error, { queryCompatible: true });
}

// Errors with their awsQuery code (header) and their JSON shape name (body), as the service maps them.
const invalidValue = (message: string) => new ServiceError('InvalidParameterValue', message, 400, 'Sender', `${NS}InvalidParameterValueException`);
const missing = (name: string) =>
  new ServiceError('MissingParameter', `The parameter ${name} is required.`, 400, 'Sender', `${NS}MissingRequiredParameterException`);
const combination = (message: string) =>
  new ServiceError('InvalidParameterCombination', message, 400, 'Sender', `${NS}InvalidParameterCombinationException`);
const notFound = (message: string) => new ServiceError('ResourceNotFound', message, 404, 'Sender', `${NS}ResourceNotFound`);

export function handleCloudWatch(state: EmulatorState, operation: string, input: Input, region: string): WireResponse {
  switch (operation) {
    case 'PutMetricAlarm':
      putMetricAlarm(state, input, region);
      return jsonResponse('1.0', {});
    case 'DescribeAlarms':
      return jsonResponse('1.0', describeAlarms(state, input));
    case 'DeleteAlarms':
      deleteAlarms(state, input);
      return jsonResponse('1.0', {});
    case 'ListTagsForResource':
      return jsonResponse('1.0', { Tags: alarmByArn(state, input.ResourceARN).Tags });
    case 'TagResource':
      tagResource(state, input);
      return jsonResponse('1.0', {});
    case 'UntagResource': {
      const alarm = alarmByArn(state, input.ResourceARN);
      const keys = Array.isArray(input.TagKeys) ? (input.TagKeys as string[]) : [];
      alarm.Tags = alarm.Tags.filter((tag) => !keys.includes(tag.Key));
      return jsonResponse('1.0', {});
    }
    case 'PutMetricData':
      putMetricData(state, input);
      return jsonResponse('1.0', {});
    default:
      throw new ServiceError('InvalidAction', `Could not find operation ${operation} for version 2010-08-01`, 400, 'Sender', 'UnknownOperationException');
  }
}

export function alarmArn(region: string, name: string): string {
  return `arn:aws:cloudwatch:${region}:${ACCOUNT_ID}:alarm:${name}`;
}

const COMPARISONS = new Set([
  'GreaterThanOrEqualToThreshold',
  'GreaterThanThreshold',
  'LessThanThreshold',
  'LessThanOrEqualToThreshold',
  'LessThanLowerOrGreaterThanUpperThreshold',
  'LessThanLowerThreshold',
  'GreaterThanUpperThreshold',
]);
const STATISTICS = new Set(['SampleCount', 'Average', 'Sum', 'Minimum', 'Maximum']);
const MISSING_DATA = new Set(['breaching', 'notBreaching', 'ignore', 'missing']);

function stringList(input: Input, key: string): string[] {
  const value = input[key];
  return Array.isArray(value) ? value.map(String) : [];
}

function dimensions(value: unknown): Dimension[] {
  if (!Array.isArray(value)) return [];
  return value.map((item) => {
    const d = item as { Name?: unknown; Value?: unknown };
    if (typeof d.Name !== 'string' || typeof d.Value !== 'string') throw invalidValue('Each dimension needs a Name and a Value.');
    return { Name: d.Name, Value: d.Value };
  });
}

function putMetricAlarm(state: EmulatorState, input: Input, region: string): void {
  const name = input.AlarmName;
  if (typeof name !== 'string' || name === '') throw missing('AlarmName');
  if (name.length > 255) throw invalidValue('The value for parameter AlarmName must be at most 255 characters.');
  if (typeof input.EvaluationPeriods !== 'number') throw missing('EvaluationPeriods');
  if (typeof input.ComparisonOperator !== 'string') throw missing('ComparisonOperator');
  if (!COMPARISONS.has(input.ComparisonOperator)) throw invalidValue(`Invalid value ${input.ComparisonOperator} for ComparisonOperator.`);
  if (typeof input.MetricName !== 'string' || typeof input.Namespace !== 'string') throw missing('MetricName');
  if (typeof input.Period !== 'number') throw missing('Period');
  const period = input.Period;
  if (!(period === 10 || period === 20 || period === 30 || (period >= 60 && period % 60 === 0))) {
    throw invalidValue('The parameter Period must be 10, 20, 30, or a multiple of 60.');
  }
  if (input.EvaluationPeriods < 1) throw invalidValue('The parameter EvaluationPeriods must be at least 1.');
  if (period * input.EvaluationPeriods > 7 * 86400) {
    throw invalidValue('The evaluation period of an alarm (Period * EvaluationPeriods) cannot exceed 7 days.');
  }
  if (typeof input.Statistic === 'string' && !STATISTICS.has(input.Statistic)) throw invalidValue(`Invalid value ${input.Statistic} for Statistic.`);
  if (input.Statistic === undefined && input.ExtendedStatistic === undefined) {
    throw combination('Exactly one of Statistic or ExtendedStatistic must be specified.');
  }
  if (typeof input.Threshold !== 'number') throw missing('Threshold');
  if (input.DatapointsToAlarm !== undefined && (typeof input.DatapointsToAlarm !== 'number' || input.DatapointsToAlarm > input.EvaluationPeriods)) {
    throw invalidValue('DatapointsToAlarm must be less than or equal to EvaluationPeriods.');
  }
  if (input.TreatMissingData !== undefined && !MISSING_DATA.has(String(input.TreatMissingData))) {
    throw invalidValue(`Invalid value ${String(input.TreatMissingData)} for TreatMissingData.`);
  }
  const dims = dimensions(input.Dimensions);
  const actions = [...stringList(input, 'AlarmActions'), ...stringList(input, 'OKActions'), ...stringList(input, 'InsufficientDataActions')];
  for (const action of actions) {
    if (!/^arn:aws[a-z-]*:(sns|automate|ssm|lambda|autoscaling|swf|ssm-incidents):/.test(action)) {
      throw invalidValue(`Invalid arn syntax: ${action}`);
    }
    if (/^arn:aws[a-z-]*:automate:[^:]+:ec2:(recover|stop|terminate|reboot)$/.test(action)) {
      if (input.Namespace !== 'AWS/EC2' || !dims.some((d) => d.Name === 'InstanceId')) {
        throw invalidValue(`The EC2 action ${action} is only valid on alarms for a metric of one EC2 instance (AWS/EC2 with an InstanceId dimension).`);
      }
    } else if (action.includes(':automate:')) {
      throw invalidValue(`Invalid arn syntax: ${action}`);
    }
  }

  const now = new Date();
  const existing = state.alarms.get(name);
  const alarm: AlarmState = {
    AlarmName: name,
    AlarmArn: existing?.AlarmArn ?? alarmArn(region, name),
    ...(typeof input.AlarmDescription === 'string' ? { AlarmDescription: input.AlarmDescription } : {}),
    ActionsEnabled: input.ActionsEnabled === undefined ? true : Boolean(input.ActionsEnabled),
    OKActions: stringList(input, 'OKActions'),
    AlarmActions: stringList(input, 'AlarmActions'),
    InsufficientDataActions: stringList(input, 'InsufficientDataActions'),
    StateValue: existing?.StateValue ?? 'INSUFFICIENT_DATA',
    StateReason: existing?.StateReason ?? 'Unchecked: Initial alarm creation',
    StateUpdatedTimestamp: existing?.StateUpdatedTimestamp ?? now,
    AlarmConfigurationUpdatedTimestamp: now,
    MetricName: input.MetricName,
    Namespace: input.Namespace,
    ...(typeof input.Statistic === 'string' ? { Statistic: input.Statistic } : {}),
    ...(typeof input.ExtendedStatistic === 'string' ? { ExtendedStatistic: input.ExtendedStatistic } : {}),
    Dimensions: dims,
    Period: period,
    ...(typeof input.Unit === 'string' ? { Unit: input.Unit } : {}),
    EvaluationPeriods: input.EvaluationPeriods,
    ...(typeof input.DatapointsToAlarm === 'number' ? { DatapointsToAlarm: input.DatapointsToAlarm } : {}),
    Threshold: input.Threshold,
    ComparisonOperator: input.ComparisonOperator,
    ...(typeof input.TreatMissingData === 'string' ? { TreatMissingData: input.TreatMissingData } : {}),
    // As the API documents: Tags apply when an alarm is created; on update they are ignored.
    Tags: existing ? existing.Tags : Array.isArray(input.Tags) ? (input.Tags as AlarmState['Tags']).map((t) => ({ Key: t.Key, Value: t.Value })) : [],
  };
  state.alarms.set(name, alarm);
}

function alarmOutput(alarm: AlarmState): Record<string, unknown> {
  const { Tags: _tags, StateUpdatedTimestamp, AlarmConfigurationUpdatedTimestamp, ...rest } = alarm;
  return {
    ...rest,
    StateUpdatedTimestamp: epochSeconds(StateUpdatedTimestamp),
    AlarmConfigurationUpdatedTimestamp: epochSeconds(AlarmConfigurationUpdatedTimestamp),
  };
}

function describeAlarms(state: EmulatorState, input: Input) {
  const names = stringList(input, 'AlarmNames');
  const prefix = typeof input.AlarmNamePrefix === 'string' ? input.AlarmNamePrefix : undefined;
  if (names.length > 0 && prefix !== undefined) {
    throw combination('AlarmNamePrefix and AlarmNames cannot be specified together.');
  }
  const max = input.MaxRecords === undefined ? 50 : Number(input.MaxRecords);
  if (!Number.isInteger(max) || max < 1 || max > 100) throw invalidValue('The value for parameter MaxRecords must be between 1 and 100.');
  const types = stringList(input, 'AlarmTypes');
  if (types.length > 0 && !types.includes('MetricAlarm')) return { MetricAlarms: [], CompositeAlarms: [] };

  let alarms = [...state.alarms.values()].sort((a, b) => (a.AlarmName < b.AlarmName ? -1 : a.AlarmName > b.AlarmName ? 1 : 0));
  if (names.length > 0) alarms = alarms.filter((alarm) => names.includes(alarm.AlarmName));
  if (prefix !== undefined) alarms = alarms.filter((alarm) => alarm.AlarmName.startsWith(prefix));
  if (typeof input.StateValue === 'string') alarms = alarms.filter((alarm) => alarm.StateValue === input.StateValue);

  const scope = `alarms|${prefix ?? ''}|${names.join(',')}|${String(input.StateValue ?? '')}`;
  let offset = 0;
  if (typeof input.NextToken === 'string') {
    const decoded = decodeToken(input.NextToken, scope);
    if (decoded === undefined) throw new ServiceError('InvalidNextToken', 'The service returned an invalid next token.', 400, 'Sender', `${NS}InvalidNextToken`);
    offset = decoded;
  }
  const page = alarms.slice(offset, offset + max);
  const next = offset + max < alarms.length ? encodeToken(offset + max, scope) : undefined;
  return { MetricAlarms: page.map(alarmOutput), CompositeAlarms: [], ...(next ? { NextToken: next } : {}) };
}

function deleteAlarms(state: EmulatorState, input: Input): void {
  const names = stringList(input, 'AlarmNames');
  if (names.length > 100) throw invalidValue('The collection AlarmNames must not have more than 100 items.');
  // "If you specify an incorrect alarm name ... no alarms are deleted."
  const missingName = names.find((name) => !state.alarms.has(name));
  if (missingName !== undefined) throw notFound(`${missingName} does not exist`);
  for (const name of names) state.alarms.delete(name);
}

function alarmByArn(state: EmulatorState, arn: unknown): AlarmState {
  if (typeof arn !== 'string') throw missing('ResourceARN');
  for (const alarm of state.alarms.values()) if (alarm.AlarmArn === arn) return alarm;
  throw new ServiceError('ResourceNotFoundException', `${arn} was not found`, 404, 'Sender', `${NS}ResourceNotFoundException`);
}

function tagResource(state: EmulatorState, input: Input): void {
  const alarm = alarmByArn(state, input.ResourceARN);
  const tags = Array.isArray(input.Tags) ? (input.Tags as AlarmState['Tags']) : [];
  for (const tag of tags) {
    const existing = alarm.Tags.find((t) => t.Key === tag.Key);
    if (existing) existing.Value = tag.Value;
    else alarm.Tags.push({ Key: tag.Key, Value: tag.Value });
  }
}

function putMetricData(state: EmulatorState, input: Input): void {
  const namespace = input.Namespace;
  if (typeof namespace !== 'string' || namespace === '') throw missing('Namespace');
  if (namespace.startsWith('AWS/')) throw invalidValue(`The value ${namespace} for parameter Namespace is invalid.`);
  const data = Array.isArray(input.MetricData) ? (input.MetricData as Array<Record<string, unknown>>) : [];
  if (data.length === 0) throw missing('MetricData');
  if (data.length > 1000) throw invalidValue('The collection MetricData must not have a size greater than 1000.');
  for (const datum of data) {
    if (typeof datum.MetricName !== 'string') throw missing('MetricData.member.N.MetricName');
    const stored: MetricDatumState = {
      Namespace: namespace,
      MetricName: datum.MetricName,
      Dimensions: dimensions(datum.Dimensions),
      ...(typeof datum.Value === 'number' ? { Value: datum.Value } : {}),
      ...(Array.isArray(datum.Values) ? { Values: datum.Values as number[] } : {}),
      ...(Array.isArray(datum.Counts) ? { Counts: datum.Counts as number[] } : {}),
      ...(typeof datum.Unit === 'string' ? { Unit: datum.Unit } : {}),
      ...(typeof datum.Timestamp === 'number' ? { Timestamp: datum.Timestamp } : {}),
      ...(datum.StatisticValues ? { StatisticValues: datum.StatisticValues as MetricDatumState['StatisticValues'] } : {}),
    };
    state.metricData.push(stored);
  }
}

// The emulator's in-memory AWS account. Tests read and edit it directly (e.g. change an alarm's
// Threshold "by hand", deny a secret, add instances) between runs of the code under test.

export const ACCOUNT_ID = '123456789012';
export const DEFAULT_REGION = 'us-east-1';

/** The services the emulator speaks, by the names tests use in failNext and request counts. */
export type ServiceName = 'secretsmanager' | 'ec2' | 'cloudwatch' | 'sns' | 's3';

export interface SecretVersion {
  versionId: string;
  value: string;
  stages: string[];
  created: Date;
}

export interface SecretState {
  name: string;
  arn: string;
  description: string | undefined;
  versions: SecretVersion[];
  tags: Array<{ Key: string; Value: string }>;
  created: Date;
  lastChanged: Date;
}

export type InstanceStateName = 'pending' | 'running' | 'shutting-down' | 'terminated' | 'stopping' | 'stopped';

export interface InstanceState {
  instanceId: string;
  reservationId: string;
  region: string;
  state: InstanceStateName;
  instanceType: string;
  imageId: string;
  availabilityZone: string;
  privateIp: string | undefined;
  publicIp: string | undefined;
  privateDns: string | undefined;
  publicDns: string | undefined;
  vpcId: string | undefined;
  subnetId: string | undefined;
  launchTime: Date;
  tags: Record<string, string>;
}

/** What a test gives addInstances; everything but tags has a default. */
export interface InstanceInput {
  id?: string;
  reservationId?: string;
  region?: string;
  state?: InstanceStateName;
  type?: string;
  privateIp?: string | null;
  publicIp?: string | null;
  privateDns?: string | null;
  publicDns?: string | null;
  tags?: Record<string, string>;
}

export interface Dimension {
  Name: string;
  Value: string;
}

/** A metric alarm as CloudWatch stores it (field names as the API writes them). */
export interface AlarmState {
  AlarmName: string;
  AlarmArn: string;
  AlarmDescription?: string;
  ActionsEnabled: boolean;
  OKActions: string[];
  AlarmActions: string[];
  InsufficientDataActions: string[];
  StateValue: 'OK' | 'ALARM' | 'INSUFFICIENT_DATA';
  StateReason: string;
  StateUpdatedTimestamp: Date;
  AlarmConfigurationUpdatedTimestamp: Date;
  MetricName?: string;
  Namespace?: string;
  Statistic?: string;
  ExtendedStatistic?: string;
  Dimensions: Dimension[];
  Period?: number;
  Unit?: string;
  EvaluationPeriods: number;
  DatapointsToAlarm?: number;
  Threshold?: number;
  ComparisonOperator: string;
  TreatMissingData?: string;
  Tags: Array<{ Key: string; Value: string }>;
}

export interface MetricDatumState {
  Namespace: string;
  MetricName: string;
  Dimensions: Dimension[];
  Value?: number;
  Values?: number[];
  Counts?: number[];
  Unit?: string;
  Timestamp?: number;
  StatisticValues?: { SampleCount: number; Sum: number; Minimum: number; Maximum: number };
}

export interface TopicState {
  arn: string;
  name: string;
  attributes: Record<string, string>;
  tags: Array<{ Key: string; Value: string }>;
}

export interface SubscriptionState {
  arn: string;
  topicArn: string;
  protocol: string;
  endpoint: string;
  /** Email and http(s) subscriptions wait for the owner to confirm; SNS lists them as "PendingConfirmation". */
  pending: boolean;
}

export interface PublishedMessage {
  topicArn: string;
  messageId: string;
  subject: string | undefined;
  message: string;
}

export interface EmulatorState {
  /** Secrets Manager secrets by name. */
  secrets: Map<string, SecretState>;
  /** Secret names (or ARNs) the test identity may not read: AccessDeniedException, existing or not. */
  deniedSecrets: Set<string>;
  instances: InstanceState[];
  /** CloudWatch metric alarms by name. */
  alarms: Map<string, AlarmState>;
  metricData: MetricDatumState[];
  /** SNS topics by ARN. */
  topics: Map<string, TopicState>;
  subscriptions: SubscriptionState[];
  published: PublishedMessage[];
}

export function emptyState(): EmulatorState {
  return {
    secrets: new Map(),
    deniedSecrets: new Set(),
    instances: [],
    alarms: new Map(),
    metricData: [],
    topics: new Map(),
    subscriptions: [],
    published: [],
  };
}

/** Random lowercase hex of a given length, for ids. */
export function hexId(length: number): string {
  let out = '';
  while (out.length < length) out += Math.floor(Math.random() * 16).toString(16);
  return out;
}

/** Random alphanumerics, as in the 6-character suffix of a secret ARN. */
export function alnumId(length: number): string {
  const chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  let out = '';
  for (let i = 0; i < length; i++) out += chars[Math.floor(Math.random() * chars.length)];
  return out;
}

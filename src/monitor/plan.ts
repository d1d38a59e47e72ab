import type { TopicSubscription } from '../aws/alerts.js';
import type { AlarmDefinition, ExistingAlarm } from '../aws/metrics.js';
import { ALARM_PREFIX, MANAGED_BY_TAG, MONITOR_TAG } from './alarms.js';
import type { Subscription } from './config.js';

// The reconcile planner: desired topic, subscriptions and alarms against what AWS has, as a plan
// of plain lines. Pure: no AWS calls, so every case is a table test.

export interface FieldChange {
  /** The CloudWatch API name of the field (Threshold, AlarmActions, ...). */
  field: string;
  from: string;
  to: string;
}

export type TopicAction = 'create' | 'tag' | 'unchanged';
export type SubscriptionAction = 'create' | 'unchanged' | 'pending' | 'delete';
export type AlarmAction = 'create' | 'update' | 'unchanged' | 'delete' | 'conflict';

export interface TopicPlan {
  name: string;
  arn: string | undefined;
  action: TopicAction;
  /** Tags to add (action 'tag'). */
  missingTags: Record<string, string>;
}

export interface SubscriptionPlan {
  protocol: string;
  endpoint: string;
  action: SubscriptionAction;
  /** For delete: the subscription to remove. */
  arn?: string;
  note?: string;
}

export interface AlarmPlan {
  name: string;
  action: AlarmAction;
  changes: FieldChange[];
  /** For create/update: what to put. */
  desired?: AlarmDefinition;
  note?: string;
}

export interface MonitorPlan {
  topic: TopicPlan;
  subscriptions: SubscriptionPlan[];
  alarms: AlarmPlan[];
}

/** An alarm DescribeAlarms returned, with its tags. */
export interface ObservedAlarm extends ExistingAlarm {
  tags: Record<string, string>;
}

export interface PlanInput {
  monitorName: string;
  topicName: string;
  /** The topic ARN when it exists. */
  topicArn: string | undefined;
  topicTags: Record<string, string>;
  wantedTopicTags: Record<string, string>;
  subscriptions: Subscription[];
  existingSubscriptions: TopicSubscription[];
  desiredAlarms: AlarmDefinition[];
  /** Alarms whose names start with ALARM_PREFIX, with tags. */
  existingAlarms: ObservedAlarm[];
}

/** Whether this monitor file owns an alarm: halyard's prefix, managed-by=halyard and its own name. */
export function ownedBy(alarm: ObservedAlarm, monitorName: string): boolean {
  return alarm.name.startsWith(ALARM_PREFIX) && alarm.tags[MANAGED_BY_TAG.key] === MANAGED_BY_TAG.value && alarm.tags[MONITOR_TAG] === monitorName;
}

export function planMonitor(input: PlanInput): MonitorPlan {
  return {
    topic: planTopic(input),
    subscriptions: planSubscriptions(input),
    alarms: planAlarms(input),
  };
}

function planTopic(input: PlanInput): TopicPlan {
  if (input.topicArn === undefined) {
    return { name: input.topicName, arn: undefined, action: 'create', missingTags: { ...input.wantedTopicTags } };
  }
  const missingTags: Record<string, string> = {};
  for (const [key, value] of Object.entries(input.wantedTopicTags)) {
    if (input.topicTags[key] !== value) missingTags[key] = value;
  }
  return { name: input.topicName, arn: input.topicArn, action: Object.keys(missingTags).length > 0 ? 'tag' : 'unchanged', missingTags };
}

// Subscriptions match on protocol and endpoint. Pending ones are reported, never subscribed again
// (that would only send another confirmation email); confirmed ones not in the file are removed.
function planSubscriptions(input: PlanInput): SubscriptionPlan[] {
  const plans: SubscriptionPlan[] = [];
  const same = (a: { protocol: string; endpoint: string }, b: { protocol: string; endpoint: string }) =>
    a.protocol === b.protocol && (a.protocol.startsWith('email') ? a.endpoint.toLowerCase() === b.endpoint.toLowerCase() : a.endpoint === b.endpoint);
  for (const wanted of input.subscriptions) {
    const found = input.existingSubscriptions.filter((existing) => same(existing, wanted));
    if (found.length === 0) plans.push({ ...wanted, action: 'create' });
    else if (found.some((existing) => !existing.pending)) plans.push({ ...wanted, action: 'unchanged' });
    else plans.push({ ...wanted, action: 'pending', note: 'pending confirmation; not subscribed again' });
  }
  for (const existing of input.existingSubscriptions) {
    if (input.subscriptions.some((wanted) => same(existing, wanted))) continue;
    if (existing.pending || existing.arn === undefined) {
      plans.push({ protocol: existing.protocol, endpoint: existing.endpoint, action: 'pending', note: 'pending confirmation and not in the file; SNS drops it unless confirmed' });
    } else {
      plans.push({ protocol: existing.protocol, endpoint: existing.endpoint, action: 'delete', arn: existing.arn, note: 'not in the file' });
    }
  }
  return plans;
}

function planAlarms(input: PlanInput): AlarmPlan[] {
  const plans: AlarmPlan[] = [];
  const existingByName = new Map(input.existingAlarms.map((alarm) => [alarm.name, alarm]));
  const desiredNames = new Set(input.desiredAlarms.map((alarm) => alarm.name));
  for (const desired of input.desiredAlarms) {
    const existing = existingByName.get(desired.name);
    if (!existing) {
      plans.push({ name: desired.name, action: 'create', changes: [], desired });
    } else if (!ownedBy(existing, input.monitorName)) {
      const owner = existing.tags[MONITOR_TAG];
      plans.push({
        name: desired.name,
        action: 'conflict',
        changes: [],
        note:
          existing.tags[MANAGED_BY_TAG.key] === MANAGED_BY_TAG.value && owner
            ? `exists and belongs to monitor "${owner}"; left alone`
            : `exists without the tag ${MANAGED_BY_TAG.key}=${MANAGED_BY_TAG.value}; left alone (tag it ${MANAGED_BY_TAG.key}=${MANAGED_BY_TAG.value}, ${MONITOR_TAG}=${input.monitorName} to adopt it, or delete it)`,
      });
    } else {
      const changes = alarmChanges(existing, desired);
      plans.push(changes.length > 0 ? { name: desired.name, action: 'update', changes, desired } : { name: desired.name, action: 'unchanged', changes: [] });
    }
  }
  for (const existing of input.existingAlarms) {
    if (desiredNames.has(existing.name) || !ownedBy(existing, input.monitorName)) continue;
    plans.push({ name: existing.name, action: 'delete', changes: [], note: 'no longer in the file' });
  }
  return plans;
}

// The fields halyard sets, compared the way CloudWatch stores them (defaults filled in, lists as sets).
export function alarmChanges(existing: AlarmDefinition, desired: AlarmDefinition): FieldChange[] {
  const fields: Array<[string, (alarm: AlarmDefinition) => string]> = [
    ['AlarmDescription', (a) => a.description ?? ''],
    ['Namespace', (a) => a.namespace],
    ['MetricName', (a) => a.metricName],
    ['Dimensions', (a) => list(a.dimensions.map((d) => `${d.name}=${d.value}`))],
    ['Statistic', (a) => a.statistic],
    ['Period', (a) => String(a.period)],
    ['EvaluationPeriods', (a) => String(a.evaluationPeriods)],
    ['DatapointsToAlarm', (a) => String(a.datapointsToAlarm ?? a.evaluationPeriods)],
    ['Threshold', (a) => String(a.threshold)],
    ['ComparisonOperator', (a) => a.comparison],
    ['TreatMissingData', (a) => a.treatMissingData],
    ['Unit', (a) => a.unit ?? '(none)'],
    ['ActionsEnabled', (a) => String(a.actionsEnabled)],
    ['AlarmActions', (a) => list(a.alarmActions)],
    ['OKActions', (a) => list(a.okActions)],
    ['InsufficientDataActions', (a) => list(a.insufficientDataActions)],
  ];
  const changes: FieldChange[] = [];
  for (const [field, read] of fields) {
    const from = read(existing);
    const to = read(desired);
    if (from !== to) changes.push({ field, from, to });
  }
  return changes;
}

function list(items: string[]): string {
  return `[${[...items].sort().join(', ')}]`;
}

/** Counts of each action, and whether anything would change. */
export function summarize(plan: MonitorPlan) {
  const count = <T extends { action: string }>(items: T[], action: string) => items.filter((item) => item.action === action).length;
  const summary = {
    topic: plan.topic.action,
    subscriptions: {
      create: count(plan.subscriptions, 'create'),
      delete: count(plan.subscriptions, 'delete'),
      unchanged: count(plan.subscriptions, 'unchanged'),
      pending: count(plan.subscriptions, 'pending'),
    },
    alarms: {
      create: count(plan.alarms, 'create'),
      update: count(plan.alarms, 'update'),
      delete: count(plan.alarms, 'delete'),
      unchanged: count(plan.alarms, 'unchanged'),
      conflict: count(plan.alarms, 'conflict'),
    },
  };
  const changes =
    (summary.topic === 'unchanged' ? 0 : 1) +
    summary.subscriptions.create +
    summary.subscriptions.delete +
    summary.alarms.create +
    summary.alarms.update +
    summary.alarms.delete;
  return { ...summary, changes };
}

export type PlanSummary = ReturnType<typeof summarize>;

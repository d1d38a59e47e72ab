import type { AlertsService } from '../aws/alerts.js';
import type { MetricsService } from '../aws/metrics.js';
import { mapLimit } from '../core/map-limit.js';
import { loadInventory } from '../inventory/index.js';
import { ALARM_PREFIX, desiredAlarms, ownershipTags } from './alarms.js';
import { MonitorConfigError, type MonitorConfig } from './config.js';
import { planMonitor, summarize, type MonitorPlan, type ObservedAlarm, type PlanSummary } from './plan.js';

// Reads what AWS has (read-only calls), plans, reports the plan, then applies it unless checking.

/** ListTagsForResource calls in flight at once (one per existing halyard- alarm). */
const TAG_READS_AT_ONCE = 8;

export interface MonitorServices {
  alerts: AlertsService;
  metrics: MetricsService;
}

export interface MonitorRunOptions {
  check: boolean;
  /** Called with the plan before anything changes (the CLI prints it here). */
  onPlan?: (plan: MonitorReport) => void;
  /** Called after each applied change. */
  onApplied?: (line: string) => void;
}

export interface MonitorReport {
  monitor: string;
  region: string;
  topic: string;
  instanceIds: string[];
  plan: MonitorPlan;
  summary: PlanSummary;
}

export interface MonitorResult extends MonitorReport {
  check: boolean;
  /** Changes made (0 in check mode). */
  applied: number;
  /** The topic ARN after the run (undefined in check mode when it does not exist yet). */
  topicArn: string | undefined;
}

/** Instance ids of the file: `ids` plus the `ec2_instance_id` of every host of `inventory`. */
export async function monitoredInstances(config: MonitorConfig, region: string): Promise<string[]> {
  const ids = [...config.instanceIds];
  if (config.inventory !== undefined) {
    const inventory = await loadInventory(config.inventory);
    for (const host of inventory.hosts) {
      const id = host.vars['ec2_instance_id'];
      if (typeof id !== 'string') {
        throw new MonitorConfigError(`inventory ${config.inventory}: host ${host.name} has no ec2_instance_id (use an ec2 inventory, or list ids)`, { file: config.file });
      }
      const hostRegion = host.vars['ec2_region'];
      if (typeof hostRegion === 'string' && hostRegion !== region) {
        throw new MonitorConfigError(
          `inventory ${config.inventory}: host ${host.name} is in ${hostRegion}, but this monitor is for ${region} (alarms live in the instance's region; use one monitor file per region)`,
          { file: config.file },
        );
      }
      if (!ids.includes(id)) ids.push(id);
    }
  }
  return ids;
}

export async function runMonitor(config: MonitorConfig, services: MonitorServices, options: MonitorRunOptions): Promise<MonitorResult> {
  const region = await services.metrics.region();
  const instanceIds = await monitoredInstances(config, region);
  const wantedTags = ownershipTags(config.name);

  // Read-only look at what exists.
  const topicArn = await services.alerts.findTopic(config.topic);
  const topicTags = topicArn ? await services.alerts.topicTags(topicArn) : {};
  const existingSubscriptions = topicArn ? await services.alerts.listSubscriptions(topicArn) : [];
  const listed = await services.metrics.listAlarms(ALARM_PREFIX);
  const existingAlarms: ObservedAlarm[] = await mapLimit(listed, TAG_READS_AT_ONCE, async (alarm) => ({
    ...alarm,
    tags: await services.metrics.alarmTags(alarm.arn),
  }));

  const desiredFor = (arn: string) => desiredAlarms({ monitorName: config.name, region, instanceIds, topicArn: arn, settings: config.alarms });
  // Until the topic exists its ARN is unknown; the plan shows where it will be.
  const plannedTopicArn = topicArn ?? `arn:aws:sns:${region}:(new):${config.topic}`;
  const plan = planMonitor({
    monitorName: config.name,
    topicName: config.topic,
    topicArn,
    topicTags,
    wantedTopicTags: wantedTags,
    subscriptions: config.subscriptions,
    existingSubscriptions,
    desiredAlarms: desiredFor(plannedTopicArn),
    existingAlarms,
  });
  const report: MonitorReport = { monitor: config.name, region, topic: config.topic, instanceIds, plan, summary: summarize(plan) };
  options.onPlan?.(report);
  if (options.check) return { ...report, check: true, applied: 0, topicArn };

  let applied = 0;
  const done = (line: string) => {
    applied++;
    options.onApplied?.(line);
  };

  let arn = topicArn;
  if (plan.topic.action === 'create') {
    arn = await services.alerts.ensureTopic(config.topic, wantedTags);
    done(`created topic ${config.topic} (${arn})`);
  } else if (plan.topic.action === 'tag' && arn) {
    await services.alerts.tagTopic(arn, plan.topic.missingTags);
    done(`tagged topic ${config.topic}`);
  }
  if (arn === undefined) throw new Error('the topic has no ARN after it was ensured');

  for (const subscription of plan.subscriptions) {
    if (subscription.action === 'create') {
      const made = await services.alerts.subscribe(arn, subscription.protocol, subscription.endpoint);
      done(`subscribed ${subscription.protocol} ${subscription.endpoint}${made.pending ? ' (pending confirmation)' : ''}`);
    } else if (subscription.action === 'delete' && subscription.arn) {
      await services.alerts.unsubscribe(subscription.arn);
      done(`unsubscribed ${subscription.protocol} ${subscription.endpoint}`);
    }
  }

  // With the real topic ARN (it may have just been created).
  const desired = new Map(desiredFor(arn).map((alarm) => [alarm.name, alarm]));
  for (const alarm of plan.alarms) {
    if (alarm.action !== 'create' && alarm.action !== 'update') continue;
    const definition = desired.get(alarm.name);
    if (!definition) continue;
    await services.metrics.putAlarm(definition, wantedTags);
    done(`${alarm.action === 'create' ? 'created' : 'updated'} alarm ${alarm.name}`);
  }
  const deletions = plan.alarms.filter((alarm) => alarm.action === 'delete').map((alarm) => alarm.name);
  if (deletions.length > 0) {
    await services.metrics.deleteAlarms(deletions);
    for (const name of deletions) done(`deleted alarm ${name}`);
  }
  return { ...report, check: false, applied, topicArn: arn };
}

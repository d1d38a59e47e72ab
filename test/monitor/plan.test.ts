import { describe, expect, it } from 'vitest';
import type { TopicSubscription } from '../../src/aws/alerts.js';
import type { AlarmDefinition } from '../../src/aws/metrics.js';
import { desiredAlarms, ownershipTags, recoverActionArn } from '../../src/monitor/alarms.js';
import { DEFAULT_ALARMS, parseMonitorConfig } from '../../src/monitor/config.js';
import { alarmChanges, planMonitor, summarize, type ObservedAlarm, type PlanInput } from '../../src/monitor/plan.js';

// The pure parts of `monitor apply`: the config reader, the desired alarms, the planner.

const TOPIC = 'arn:aws:sns:eu-west-1:123456789012:alerts';

function desired(settings = DEFAULT_ALARMS, ids = ['i-1']): AlarmDefinition[] {
  return desiredAlarms({ monitorName: 'prod', region: 'eu-west-1', instanceIds: ids, topicArn: TOPIC, settings });
}

function observed(alarm: AlarmDefinition, tags: Record<string, string> = ownershipTags('prod')): ObservedAlarm {
  return { ...alarm, arn: `arn:aws:cloudwatch:eu-west-1:123456789012:alarm:${alarm.name}`, tags };
}

function input(overrides: Partial<PlanInput> = {}): PlanInput {
  return {
    monitorName: 'prod',
    topicName: 'alerts',
    topicArn: TOPIC,
    topicTags: ownershipTags('prod'),
    wantedTopicTags: ownershipTags('prod'),
    subscriptions: [],
    existingSubscriptions: [],
    desiredAlarms: desired(),
    existingAlarms: desired().map((alarm) => observed(alarm)),
    ...overrides,
  };
}

describe('desired alarms', () => {
  it('defaults: cpu (80% over 5 min), status check, disk 85%, docker; every alarm notifies the topic on ALARM and OK', () => {
    const alarms = desired();
    expect(alarms.map((a) => a.name)).toEqual(['halyard-i-1-cpu', 'halyard-i-1-status', 'halyard-i-1-disk', 'halyard-i-1-docker']);
    for (const alarm of alarms) {
      expect(alarm.alarmActions).toEqual([TOPIC]);
      expect(alarm.okActions).toEqual([TOPIC]);
      expect(alarm.dimensions).toEqual([{ name: 'InstanceId', value: 'i-1' }]);
    }
    expect(alarms[0]).toMatchObject({ metricName: 'CPUUtilization', statistic: 'Average', period: 300, evaluationPeriods: 1, threshold: 80, comparison: 'GreaterThanThreshold' });
    expect(alarms[3]).toMatchObject({ namespace: 'halyard', metricName: 'DockerDaemonUp', threshold: 1, comparison: 'LessThanThreshold' });
  });

  it.each([
    { schedule: 24, grace: 1, periods: 25 },
    { schedule: 6, grace: 0, periods: 6 },
    { schedule: 12, grace: 3, periods: 15 },
  ])('backup heartbeat: schedule $schedule h + grace $grace h -> $periods hourly periods, missing data breaching', ({ schedule, grace, periods }) => {
    const backup = desired({ ...DEFAULT_ALARMS, backupScheduleHours: schedule, backupGraceHours: grace }).find((a) => a.name.endsWith('-backup'));
    expect(backup).toMatchObject({
      namespace: 'halyard',
      metricName: 'BackupHeartbeat',
      statistic: 'Sum',
      period: 3600,
      evaluationPeriods: periods,
      datapointsToAlarm: periods,
      threshold: 1,
      comparison: 'LessThanThreshold',
      treatMissingData: 'breaching',
    });
  });

  it('recover adds a StatusCheckFailed_System alarm whose actions recover the instance and notify', () => {
    const recover = desired({ ...DEFAULT_ALARMS, recover: true }).find((a) => a.name === 'halyard-i-1-system-recover');
    expect(recover).toMatchObject({ namespace: 'AWS/EC2', metricName: 'StatusCheckFailed_System', alarmActions: ['arn:aws:automate:eu-west-1:ec2:recover', TOPIC], okActions: [TOPIC] });
    expect(recoverActionArn('us-east-2')).toBe('arn:aws:automate:us-east-2:ec2:recover');
  });

  it('turned-off alarms are not desired; cpu minutes set the period', () => {
    const alarms = desired({ ...DEFAULT_ALARMS, cpuMinutes: 10, diskPercent: undefined, docker: false, statusCheck: false });
    expect(alarms.map((a) => [a.name, a.period])).toEqual([['halyard-i-1-cpu', 600]]);
  });
});

describe('planner', () => {
  it('nothing to do when AWS matches', () => {
    const plan = planMonitor(input());
    expect(plan.topic.action).toBe('unchanged');
    expect(plan.alarms.map((a) => a.action)).toEqual(['unchanged', 'unchanged', 'unchanged', 'unchanged']);
    expect(summarize(plan).changes).toBe(0);
  });

  it('a missing topic is created; missing alarms are created', () => {
    const plan = planMonitor(input({ topicArn: undefined, topicTags: {}, existingAlarms: [] }));
    expect(plan.topic).toMatchObject({ action: 'create', missingTags: ownershipTags('prod') });
    expect(plan.alarms.every((a) => a.action === 'create' && a.desired !== undefined)).toBe(true);
    expect(summarize(plan).changes).toBe(5);
  });

  it('a topic without halyard tags is tagged', () => {
    const plan = planMonitor(input({ topicTags: { team: 'ops' } }));
    expect(plan.topic).toMatchObject({ action: 'tag', missingTags: ownershipTags('prod') });
  });

  it('an edited alarm is an update listing exactly the fields that differ', () => {
    const edited = desired().map((alarm) => observed(alarm.name.endsWith('-cpu') ? { ...alarm, threshold: 50, alarmActions: [], evaluationPeriods: 2 } : alarm));
    const plan = planMonitor(input({ existingAlarms: edited }));
    const cpu = plan.alarms.find((a) => a.name === 'halyard-i-1-cpu');
    expect(cpu?.action).toBe('update');
    expect(cpu?.changes).toEqual([
      { field: 'EvaluationPeriods', from: '2', to: '1' },
      { field: 'DatapointsToAlarm', from: '2', to: '1' },
      { field: 'Threshold', from: '50', to: '80' },
      { field: 'AlarmActions', from: '[]', to: `[${TOPIC}]` },
    ]);
  });

  it('compares the way CloudWatch stores alarms (defaults filled, lists as sets)', () => {
    const [cpu] = desired();
    expect(alarmChanges({ ...cpu!, datapointsToAlarm: 1 }, cpu!)).toEqual([]);
    const two = { ...cpu!, alarmActions: ['b', 'a'] };
    expect(alarmChanges(two, { ...cpu!, alarmActions: ['a', 'b'] })).toEqual([]);
    expect(alarmChanges({ ...cpu!, unit: 'Percent' }, cpu!)).toEqual([{ field: 'Unit', from: 'Percent', to: '(none)' }]);
  });

  it('owned alarms no longer desired are deleted; others (no tag, other monitor, other prefix) are never touched', () => {
    const [cpu] = desired();
    const gone = observed({ ...cpu!, name: 'halyard-i-old-cpu' });
    const untagged = observed({ ...cpu!, name: 'halyard-legacy' }, {});
    const otherMonitor = observed({ ...cpu!, name: 'halyard-i-9-cpu' }, ownershipTags('staging'));
    const plan = planMonitor(input({ existingAlarms: [...desired().map((a) => observed(a)), gone, untagged, otherMonitor] }));
    expect(plan.alarms.filter((a) => a.action === 'delete').map((a) => a.name)).toEqual(['halyard-i-old-cpu']);
    expect(plan.alarms.map((a) => a.name)).not.toContain('halyard-legacy');
    expect(plan.alarms.map((a) => a.name)).not.toContain('halyard-i-9-cpu');
  });

  it('a wanted name held by an alarm this monitor does not own is a conflict, never an update', () => {
    const [cpu] = desired();
    const plan = planMonitor(input({ existingAlarms: [observed({ ...cpu!, threshold: 10 }, {}), ...desired().slice(1).map((a) => observed(a))] }));
    expect(plan.alarms[0]).toMatchObject({ name: 'halyard-i-1-cpu', action: 'conflict' });
    const staging = planMonitor(input({ existingAlarms: [observed(cpu!, ownershipTags('staging'))] }));
    expect(staging.alarms[0]?.note).toBe('exists and belongs to monitor "staging"; left alone');
    expect(summarize(staging).alarms.conflict).toBe(1);
  });

  it.each<{ label: string; wanted: Array<{ protocol: 'email' | 'https'; endpoint: string }>; existing: TopicSubscription[]; actions: string[] }>([
    { label: 'new', wanted: [{ protocol: 'email', endpoint: 'a@x.io' }], existing: [], actions: ['create'] },
    { label: 'confirmed', wanted: [{ protocol: 'email', endpoint: 'a@x.io' }], existing: [{ protocol: 'email', endpoint: 'a@x.io', arn: 'arn:aws:sns:x:1:t:s', pending: false }], actions: ['unchanged'] },
    { label: 'pending (not re-subscribed)', wanted: [{ protocol: 'email', endpoint: 'a@x.io' }], existing: [{ protocol: 'email', endpoint: 'a@x.io', arn: undefined, pending: true }], actions: ['pending'] },
    { label: 'email case-insensitive', wanted: [{ protocol: 'email', endpoint: 'Ops@X.io' }], existing: [{ protocol: 'email', endpoint: 'ops@x.io', arn: 'arn:aws:sns:x:1:t:s', pending: false }], actions: ['unchanged'] },
    { label: 'same endpoint other protocol', wanted: [{ protocol: 'https', endpoint: 'https://h' }], existing: [{ protocol: 'email', endpoint: 'https://h', arn: 'arn:aws:sns:x:1:t:s', pending: false }], actions: ['create', 'delete'] },
    { label: 'extra pending one stays (cannot be removed)', wanted: [], existing: [{ protocol: 'email', endpoint: 'b@x.io', arn: undefined, pending: true }], actions: ['pending'] },
  ])('subscriptions: $label', ({ wanted, existing, actions }) => {
    const plan = planMonitor(input({ subscriptions: wanted, existingSubscriptions: existing }));
    expect(plan.subscriptions.map((s) => s.action)).toEqual(actions);
  });
});

describe('monitor file', () => {
  it('reads every setting with defaults', () => {
    const config = parseMonitorConfig(
      'region: eu-west-1\ntopic: alerts\nsubscriptions:\n  - email: ops@example.com\ninstances: [i-1, i-2, i-1]\nalarms:\n  cpu_percent: 90\n  disk_percent: false\n  backup_schedule_hours: 12\n',
      '/etc/halyard/monitor.yml',
    );
    expect(config).toEqual({
      file: '/etc/halyard/monitor.yml',
      region: 'eu-west-1',
      name: 'alerts',
      topic: 'alerts',
      subscriptions: [{ protocol: 'email', endpoint: 'ops@example.com' }],
      instanceIds: ['i-1', 'i-2'],
      inventory: undefined,
      alarms: { ...DEFAULT_ALARMS, cpuPercent: 90, diskPercent: undefined, backupScheduleHours: 12 },
    });
  });

  it('resolves the inventory path against the file', () => {
    expect(parseMonitorConfig('topic: t\ninstances: {inventory: ../inventory/ec2.yml}\n', '/srv/fleet/monitor/m.yml').inventory).toBe('/srv/fleet/inventory/ec2.yml');
  });

  it.each([
    ['duplicate subscription', 'topic: t\ninstances: [i-1]\nsubscriptions:\n  - email: a@b.co\n  - email: a@b.co\n', 5, 'listed twice'],
    ['bad topic', 'topic: "a b"\ninstances: [i-1]\n', 1, 'letters, digits'],
    ['bad region', 'region: Ireland\ntopic: t\ninstances: [i-1]\n', 1, 'not an AWS region'],
    ['window too long', 'topic: t\ninstances: [i-1]\nalarms:\n  backup_schedule_hours: 160\n  backup_grace_hours: 10\n', 5, 'at most 168'],
    ['cpu over 100', 'topic: t\ninstances: [i-1]\nalarms: {cpu_percent: 120}\n', 3, 'cpu_percent must be a number from 1 to 100'],
    ['unknown instances key', 'topic: t\ninstances: {id: [i-1]}\n', 2, 'did you mean "ids"?'],
    ['recover not boolean', 'topic: t\ninstances: [i-1]\nalarms: {recover: yes please}\n', 3, 'recover must be true or false'],
    ['duplicate key', 'topic: t\ntopic: u\ninstances: [i-1]\n', 2, 'YAML'],
  ])('%s', (_label, text, line, mentions) => {
    let error: Error | undefined;
    try {
      parseMonitorConfig(text, 'm.yml');
    } catch (caught) {
      error = caught as Error;
    }
    expect(error).toMatchObject({ code: 'E_MONITOR_CONFIG', exitCode: 65 });
    expect(error?.message.startsWith(`m.yml:${line}: `)).toBe(true);
    expect(error?.message).toContain(mentions);
    expect(error?.message).not.toContain('\n');
  });
});

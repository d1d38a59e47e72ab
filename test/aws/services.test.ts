import { describe, expect, it } from 'vitest';
import { sdkAlertsService } from '../../src/aws/alerts.js';
import { AWS_MAX_ATTEMPTS, awsFailure, clientConfig, createSecretsManagerClient } from '../../src/aws/clients.js';
import { sdkInstanceSource } from '../../src/aws/instances.js';
import { HALYARD_METRICS, HALYARD_NAMESPACE, sdkMetricsService, type AlarmDefinition } from '../../src/aws/metrics.js';
import { HalyardError } from '../../src/core/errors.js';
import { useEmulatorEnv } from '../support/aws-emulator/index.js';
import { useAwsEmulator } from '../support/aws-emulator/per-file.js';

// The small AWS interfaces (src/aws) against the emulator.

const aws = useAwsEmulator();

describe('clients', () => {
  it('use standard retries with 5 attempts, an explicit endpoint winning over AWS_ENDPOINT_URL', async () => {
    expect(AWS_MAX_ATTEMPTS).toBe(5);
    expect(clientConfig({ region: 'eu-west-1', endpoint: 'http://127.0.0.1:1' })).toEqual({
      region: 'eu-west-1',
      endpoint: 'http://127.0.0.1:1',
      maxAttempts: 5,
      retryMode: 'standard',
    });
    const client = createSecretsManagerClient({});
    expect(await client.config.maxAttempts()).toBe(5);
    expect(await client.config.region()).toBe('us-east-1');
    // An explicit endpoint wins: this one points at a closed port, so the call fails to connect.
    const restore = useEmulatorEnv(aws, { AWS_ENDPOINT_URL: 'http://127.0.0.1:9' });
    try {
      aws.putSecret('explicit', 'v');
      const explicit = (await import('../../src/aws/secrets.js')).sdkSecretStore({ endpoint: aws.url });
      expect((await explicit.getSecretValue('explicit')).text).toBe('v');
    } finally {
      restore();
    }
  });

  it('awsFailure names what was attempted and classifies missing credentials', () => {
    const throttled = Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
    expect(awsFailure('reading x', throttled).message).toBe('reading x: ThrottlingException: Rate exceeded');
    const noCredentials = Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' });
    const wrapped = awsFailure('listing', noCredentials);
    expect(wrapped).toBeInstanceOf(HalyardError);
    expect(wrapped.code).toBe('E_AWS_CREDENTIALS');
  });
});

describe('instances', () => {
  it('lists every page with filters and maps the fields', async () => {
    aws.addInstances(Array.from({ length: 11 }, (_, n) => ({ id: `i-${n}`, tags: { Role: n < 8 ? 'web' : 'db' } })));
    const found = await sdkInstanceSource().listInstances({ region: 'us-east-1', filters: [{ name: 'tag:Role', values: ['web'] }], pageSize: 5 });
    expect(found).toHaveLength(8);
    expect(aws.countRequests({ operation: 'DescribeInstances' })).toBe(2);
    expect(found[0]).toMatchObject({ id: 'i-0', region: 'us-east-1', state: 'running', type: 't3.micro', tags: { Role: 'web' } });
    expect(found[0]?.privateIp).toMatch(/^10\./);
  });
});

describe('alerts (SNS)', () => {
  it('finds a topic across ListTopics pages, creates idempotently, subscribes and publishes', async () => {
    const alerts = sdkAlertsService();
    for (let n = 0; n < 120; n++) await alerts.ensureTopic(`topic-${String(n).padStart(3, '0')}`, {});
    expect(await alerts.findTopic('topic-119')).toBe('arn:aws:sns:us-east-1:123456789012:topic-119');
    expect(await alerts.findTopic('absent')).toBeUndefined();
    expect(aws.countRequests({ operation: 'ListTopics' })).toBe(4);

    const arn = await alerts.ensureTopic('alerts', { 'managed-by': 'halyard' });
    expect(await alerts.ensureTopic('alerts', { 'managed-by': 'halyard' })).toBe(arn);
    expect(await alerts.topicTags(arn)).toEqual({ 'managed-by': 'halyard' });
    const email = await alerts.subscribe(arn, 'email', 'ops@example.com');
    expect(email).toEqual({ protocol: 'email', endpoint: 'ops@example.com', arn: undefined, pending: true });
    aws.confirmSubscription('ops@example.com');
    const [listed] = await alerts.listSubscriptions(arn);
    expect(listed?.pending).toBe(false);
    await alerts.unsubscribe(listed!.arn!);
    expect(await alerts.listSubscriptions(arn)).toEqual([]);
    expect(await alerts.publish(arn, 'subject', 'body')).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('metrics (CloudWatch)', () => {
  const definition = (name: string): AlarmDefinition => ({
    name,
    description: 'test',
    namespace: HALYARD_NAMESPACE,
    metricName: HALYARD_METRICS.DockerDaemonUp,
    dimensions: [{ name: 'InstanceId', value: 'i-1' }],
    statistic: 'Minimum',
    period: 60,
    evaluationPeriods: 3,
    datapointsToAlarm: undefined,
    threshold: 1,
    comparison: 'LessThanThreshold',
    treatMissingData: 'missing',
    unit: undefined,
    actionsEnabled: true,
    alarmActions: ['arn:aws:sns:us-east-1:123456789012:t'],
    okActions: ['arn:aws:sns:us-east-1:123456789012:t'],
    insufficientDataActions: [],
  });

  it('puts, lists (all pages), tags and deletes (in batches of 100) alarms', async () => {
    const metrics = sdkMetricsService();
    for (let n = 0; n < 130; n++) await metrics.putAlarm(definition(`halyard-${String(n).padStart(3, '0')}`), { 'managed-by': 'halyard' });
    await metrics.putAlarm(definition('other'), {});
    const listed = await metrics.listAlarms('halyard-');
    expect(listed).toHaveLength(130);
    expect(aws.countRequests({ operation: 'DescribeAlarms' })).toBe(2);
    const { arn: _arn, ...first } = listed[0]!;
    expect(first).toEqual(definition('halyard-000'));
    expect(await metrics.alarmTags(listed[0]!.arn)).toEqual({ 'managed-by': 'halyard' });
    await metrics.tagAlarm(listed[0]!.arn, { team: 'ops' });
    expect(await metrics.alarmTags(listed[0]!.arn)).toEqual({ 'managed-by': 'halyard', team: 'ops' });
    await metrics.deleteAlarms(listed.map((alarm) => alarm.name));
    expect(aws.countRequests({ operation: 'DeleteAlarms' })).toBe(2);
    expect([...aws.state.alarms.keys()]).toEqual(['other']);
  });

  it('publishes metric data in batches of 1000, gzip-encoded when large', async () => {
    const metrics = sdkMetricsService();
    const points = Array.from({ length: 1500 }, (_, n) => ({ name: HALYARD_METRICS.DiskUsedPercent, value: n % 100, unit: 'Percent' as const, dimensions: { InstanceId: `i-${n}` } }));
    await metrics.putMetricData(HALYARD_NAMESPACE, points);
    await metrics.putMetricData(HALYARD_NAMESPACE, [{ name: HALYARD_METRICS.BackupHeartbeat, value: 1, dimensions: { InstanceId: 'i-1' }, timestamp: new Date(0) }]);
    expect(aws.requests.filter((r) => r.operation === 'PutMetricData').map((r) => r.gzip)).toEqual([true, true, false]);
    expect(aws.state.metricData).toHaveLength(1501);
    expect(aws.state.metricData.at(-1)).toMatchObject({ MetricName: 'BackupHeartbeat', Value: 1, Timestamp: 0, Dimensions: [{ Name: 'InstanceId', Value: 'i-1' }] });
  });

  it('an error names the call in one line', async () => {
    const error = await sdkMetricsService()
      .deleteAlarms(['does-not-exist'])
      .catch((caught: unknown) => caught as HalyardError);
    expect(error).toBeInstanceOf(HalyardError);
    expect((error as HalyardError).code).toBe('E_AWS_CLOUDWATCH');
    expect((error as HalyardError).message).toBe('CloudWatch DeleteAlarms does-not-exist: ResourceNotFound: does-not-exist does not exist');
  });
});

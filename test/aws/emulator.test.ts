import {
  CloudWatchClient,
  DeleteAlarmsCommand,
  DescribeAlarmsCommand,
  ListTagsForResourceCommand as CwListTags,
  PutMetricAlarmCommand,
  PutMetricDataCommand,
  TagResourceCommand as CwTagResource,
  paginateDescribeAlarms,
} from '@aws-sdk/client-cloudwatch';
import { DescribeInstancesCommand, EC2Client, paginateDescribeInstances } from '@aws-sdk/client-ec2';
import {
  CreateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import {
  CreateTopicCommand,
  ListSubscriptionsByTopicCommand,
  ListTagsForResourceCommand,
  ListTopicsCommand,
  PublishCommand,
  SNSClient,
  SubscribeCommand,
  TagResourceCommand,
  UnsubscribeCommand,
} from '@aws-sdk/client-sns';
import { describe, expect, it } from 'vitest';
import { useEmulatorEnv } from '../support/aws-emulator/index.js';
import { useAwsEmulator } from '../support/aws-emulator/per-file.js';

// The emulator, exercised only through real SDK v3 clients configured from the environment
// (AWS_ENDPOINT_URL, env credentials, AWS_REGION), as halyard's own code is.

const aws = useAwsEmulator();

const retrying = { maxAttempts: 5, retryMode: 'standard' } as const;

async function failure(promise: Promise<unknown>): Promise<Error & { name: string; Code?: string; $metadata?: { httpStatusCode?: number; attempts?: number } }> {
  try {
    await promise;
  } catch (error) {
    return error as Error & { name: string };
  }
  throw new Error('expected the call to fail');
}

describe('SigV4', () => {
  it('rejects a wrong secret key with each service’s own signature error', async () => {
    const credentials = { accessKeyId: aws.credentials.accessKeyId, secretAccessKey: 'not-the-right-secret' };
    const sm = await failure(new SecretsManagerClient({ credentials }).send(new GetSecretValueCommand({ SecretId: 'x' })));
    expect(sm.name).toBe('InvalidSignatureException');
    const ec2 = await failure(new EC2Client({ credentials }).send(new DescribeInstancesCommand({})));
    expect(ec2.name).toBe('SignatureDoesNotMatch');
    expect(ec2.$metadata?.httpStatusCode).toBe(403);
    const cw = await failure(new CloudWatchClient({ credentials }).send(new DescribeAlarmsCommand({})));
    expect(cw.name).toBe('SignatureDoesNotMatch');
    const sns = await failure(new SNSClient({ credentials }).send(new ListTopicsCommand({})));
    expect(sns.name).toBe('SignatureDoesNotMatch');
    expect(aws.requests.every((request) => request.status >= 400)).toBe(true);
  });

  it('rejects an unknown access key', async () => {
    const credentials = { accessKeyId: 'AKIAUNKNOWNKEY000000', secretAccessKey: aws.credentials.secretAccessKey };
    const sm = await failure(new SecretsManagerClient({ credentials }).send(new GetSecretValueCommand({ SecretId: 'x' })));
    expect(sm.name).toBe('UnrecognizedClientException');
    const ec2 = await failure(new EC2Client({ credentials }).send(new DescribeInstancesCommand({})));
    expect(ec2.name).toBe('AuthFailure');
    const sns = await failure(new SNSClient({ credentials }).send(new ListTopicsCommand({})));
    expect(sns.name).toBe('InvalidClientTokenId');
  });

  it('accepts the right key through AWS_ENDPOINT_URL and records the signing region', async () => {
    aws.putSecret('app/db', 'pw-1');
    const out = await new SecretsManagerClient({}).send(new GetSecretValueCommand({ SecretId: 'app/db' }));
    expect(out.SecretString).toBe('pw-1');
    expect(aws.requests[0]).toMatchObject({ service: 'secretsmanager', operation: 'GetSecretValue', status: 200, region: 'us-east-1' });
  });

  it('is reached through a per-service AWS_ENDPOINT_URL_* that wins over AWS_ENDPOINT_URL', async () => {
    const restore = useEmulatorEnv(aws, { AWS_ENDPOINT_URL: 'http://127.0.0.1:9', ...aws.serviceEnv(['secretsmanager']) });
    try {
      aws.putSecret('only-sm', 'v');
      const out = await new SecretsManagerClient({}).send(new GetSecretValueCommand({ SecretId: 'only-sm' }));
      expect(out.SecretString).toBe('v');
    } finally {
      restore();
    }
  });
});

describe('Secrets Manager (awsJson1_1)', () => {
  it('creates, reads, describes and rotates a secret', async () => {
    const client = new SecretsManagerClient({});
    const created = await client.send(new CreateSecretCommand({ Name: 'prod/grafana', SecretString: '{"admin_password":"a1"}' }));
    expect(created.ARN).toMatch(/^arn:aws:secretsmanager:us-east-1:123456789012:secret:prod\/grafana-[A-Za-z0-9]{6}$/);
    const first = await client.send(new GetSecretValueCommand({ SecretId: 'prod/grafana' }));
    expect(JSON.parse(first.SecretString ?? '')).toEqual({ admin_password: 'a1' });
    expect(first.VersionStages).toEqual(['AWSCURRENT']);
    expect(first.CreatedDate).toBeInstanceOf(Date);

    const put = await client.send(new PutSecretValueCommand({ SecretId: created.ARN, SecretString: '{"admin_password":"a2"}' }));
    expect(put.VersionId).not.toBe(first.VersionId);
    const second = await client.send(new GetSecretValueCommand({ SecretId: 'prod/grafana' }));
    expect(second.SecretString).toBe('{"admin_password":"a2"}');
    const previous = await client.send(new GetSecretValueCommand({ SecretId: 'prod/grafana', VersionStage: 'AWSPREVIOUS' }));
    expect(previous.SecretString).toBe('{"admin_password":"a1"}');

    const described = await client.send(new DescribeSecretCommand({ SecretId: created.ARN!.slice(0, -7) }));
    expect(described.Name).toBe('prod/grafana');
    expect(described.VersionIdsToStages?.[put.VersionId!]).toEqual(['AWSCURRENT']);
    expect(described.LastChangedDate).toBeInstanceOf(Date);
  });

  it('answers ResourceNotFoundException and AccessDeniedException', async () => {
    const client = new SecretsManagerClient({});
    const missing = await failure(client.send(new GetSecretValueCommand({ SecretId: 'nope' })));
    expect(missing.name).toBe('ResourceNotFoundException');
    expect(missing.message).toBe("Secrets Manager can't find the specified secret.");
    aws.putSecret('locked', 'v');
    aws.denySecret('locked');
    const denied = await failure(client.send(new GetSecretValueCommand({ SecretId: 'locked' })));
    expect(denied.name).toBe('AccessDeniedException');
    expect(denied.message).toContain('secretsmanager:GetSecretValue');
  });

  it('refuses to create a secret twice', async () => {
    const client = new SecretsManagerClient({});
    await client.send(new CreateSecretCommand({ Name: 'dup', SecretString: 'a' }));
    expect((await failure(client.send(new CreateSecretCommand({ Name: 'dup', SecretString: 'b' })))).name).toBe('ResourceExistsException');
  });

  it('throttling is retried by the SDK (standard mode)', async () => {
    aws.putSecret('busy', 'v');
    aws.failNext({ service: 'secretsmanager', operation: 'GetSecretValue', kind: 'throttle', count: 2 });
    const out = await new SecretsManagerClient(retrying).send(new GetSecretValueCommand({ SecretId: 'busy' }));
    expect(out.SecretString).toBe('v');
    expect(out.$metadata.attempts).toBe(3);
    expect(aws.requests.map((r) => r.errorCode ?? r.status)).toEqual(['ThrottlingException', 'ThrottlingException', 200]);
  });

  it('a 500 is retried, and gives up after maxAttempts', async () => {
    aws.putSecret('flaky', 'v');
    aws.failNext({ service: 'secretsmanager', kind: '500', count: 1 });
    expect((await new SecretsManagerClient(retrying).send(new GetSecretValueCommand({ SecretId: 'flaky' }))).SecretString).toBe('v');
    aws.failNext({ service: 'secretsmanager', kind: '500', count: 10 });
    const error = await failure(new SecretsManagerClient({ maxAttempts: 2, retryMode: 'standard' }).send(new GetSecretValueCommand({ SecretId: 'flaky' })));
    expect(error.name).toBe('InternalServiceError');
    expect(error.$metadata?.attempts).toBe(2);
  });
});

describe('EC2 (ec2Query)', () => {
  it('filters by tag, tag-key and instance-state-name and returns the instance fields', async () => {
    aws.addInstances([
      { id: 'i-web1', tags: { Role: 'web', Name: 'web-1' }, privateIp: '10.0.0.11', publicIp: '198.51.100.11' },
      { id: 'i-web2', tags: { Role: 'web', Name: 'web-2' }, state: 'stopped' },
      { id: 'i-db1', tags: { Role: 'db' } },
      { id: 'i-bare' },
    ]);
    const client = new EC2Client({});
    const ids = async (filters: Array<{ Name: string; Values: string[] }>) => {
      const out = await client.send(new DescribeInstancesCommand({ Filters: filters }));
      return (out.Reservations ?? []).flatMap((r) => (r.Instances ?? []).map((i) => i.InstanceId)).sort();
    };
    expect(await ids([{ Name: 'tag:Role', Values: ['web'] }])).toEqual(['i-web1', 'i-web2']);
    expect(await ids([{ Name: 'tag:Role', Values: ['web', 'db'] }, { Name: 'instance-state-name', Values: ['running'] }])).toEqual(['i-db1', 'i-web1']);
    expect(await ids([{ Name: 'tag-key', Values: ['Name'] }])).toEqual(['i-web1', 'i-web2']);
    expect(await ids([{ Name: 'tag:Name', Values: ['web-*'] }])).toEqual(['i-web1', 'i-web2']);

    const out = await client.send(new DescribeInstancesCommand({ Filters: [{ Name: 'instance-id', Values: ['i-web1'] }] }));
    const instance = out.Reservations?.[0]?.Instances?.[0];
    expect(instance).toMatchObject({
      InstanceId: 'i-web1',
      State: { Code: 16, Name: 'running' },
      PrivateIpAddress: '10.0.0.11',
      PublicIpAddress: '198.51.100.11',
      PrivateDnsName: 'ip-10-0-0-11.ec2.internal',
      PublicDnsName: 'ec2-198-51-100-11.compute-1.amazonaws.com',
      InstanceType: 't3.micro',
      Placement: { AvailabilityZone: 'us-east-1a' },
    });
    expect(instance?.Tags).toEqual([{ Key: 'Role', Value: 'web' }, { Key: 'Name', Value: 'web-1' }]);
    expect(instance?.LaunchTime).toBeInstanceOf(Date);
  });

  it('paginates with MaxResults and NextToken', async () => {
    aws.addInstances(Array.from({ length: 12 }, (_, n) => ({ id: `i-${String(n).padStart(3, '0')}` })));
    const client = new EC2Client({});
    const pages: string[][] = [];
    for await (const page of paginateDescribeInstances({ client, pageSize: 5 }, {})) {
      pages.push((page.Reservations ?? []).flatMap((r) => (r.Instances ?? []).map((i) => i.InstanceId ?? '')));
    }
    expect(pages.map((p) => p.length)).toEqual([5, 5, 2]);
    expect(pages.flat()).toHaveLength(12);
    expect(aws.countRequests({ service: 'ec2', operation: 'DescribeInstances' })).toBe(3);
  });

  it('rejects unknown filters, MaxResults below 5 and bad tokens like EC2', async () => {
    const client = new EC2Client({});
    const filter = await failure(client.send(new DescribeInstancesCommand({ Filters: [{ Name: 'colour', Values: ['red'] }] })));
    expect(filter.name).toBe('InvalidParameterValue');
    expect(filter.message).toBe("The filter 'colour' is invalid");
    expect((await failure(client.send(new DescribeInstancesCommand({ MaxResults: 2 })))).name).toBe('InvalidParameterValue');
    expect((await failure(client.send(new DescribeInstancesCommand({ MaxResults: 5, NextToken: 'garbage' })))).name).toBe('InvalidPaginationToken');
    expect((await failure(client.send(new DescribeInstancesCommand({ InstanceIds: ['i-missing'] })))).name).toBe('InvalidInstanceID.NotFound');
  });

  it('keeps regions apart (the signing region selects the instances)', async () => {
    aws.addInstances([{ id: 'i-east' }, { id: 'i-west', region: 'eu-west-1' }]);
    const west = await new EC2Client({ region: 'eu-west-1' }).send(new DescribeInstancesCommand({}));
    expect(west.Reservations?.flatMap((r) => r.Instances ?? []).map((i) => i.InstanceId)).toEqual(['i-west']);
  });

  it('RequestLimitExceeded (503) is retried', async () => {
    aws.addInstances([{ id: 'i-1' }]);
    aws.failNext({ service: 'ec2', kind: 'throttle', count: 2 });
    const out = await new EC2Client(retrying).send(new DescribeInstancesCommand({}));
    expect(out.$metadata.attempts).toBe(3);
    expect(aws.requests.filter((r) => r.injected).map((r) => [r.status, r.errorCode])).toEqual([
      [503, 'RequestLimitExceeded'],
      [503, 'RequestLimitExceeded'],
    ]);
  });
});

describe('CloudWatch (awsJson1_0, query-compatible)', () => {
  const alarm = (name: string, threshold = 80) =>
    new PutMetricAlarmCommand({
      AlarmName: name,
      Namespace: 'AWS/EC2',
      MetricName: 'CPUUtilization',
      Dimensions: [{ Name: 'InstanceId', Value: 'i-1' }],
      Statistic: 'Average',
      Period: 300,
      EvaluationPeriods: 1,
      Threshold: threshold,
      ComparisonOperator: 'GreaterThanThreshold',
      AlarmActions: ['arn:aws:sns:us-east-1:123456789012:t'],
      Tags: [{ Key: 'managed-by', Value: 'halyard' }],
    });

  it('puts, describes (prefix, pages), tags and deletes alarms', async () => {
    const client = new CloudWatchClient({});
    for (let n = 0; n < 7; n++) await client.send(alarm(`halyard-${n}`));
    await client.send(alarm('other-team'));
    const names: string[] = [];
    let pages = 0;
    for await (const page of paginateDescribeAlarms({ client, pageSize: 3 }, { AlarmNamePrefix: 'halyard-' })) {
      pages++;
      names.push(...(page.MetricAlarms ?? []).map((a) => a.AlarmName ?? ''));
    }
    expect(pages).toBe(3);
    expect(names).toEqual(['halyard-0', 'halyard-1', 'halyard-2', 'halyard-3', 'halyard-4', 'halyard-5', 'halyard-6']);

    const described = await client.send(new DescribeAlarmsCommand({ AlarmNames: ['halyard-0'] }));
    const first = described.MetricAlarms?.[0];
    expect(first).toMatchObject({ AlarmArn: 'arn:aws:cloudwatch:us-east-1:123456789012:alarm:halyard-0', Threshold: 80, StateValue: 'INSUFFICIENT_DATA' });
    expect(first?.AlarmConfigurationUpdatedTimestamp).toBeInstanceOf(Date);

    const tags = await client.send(new CwListTags({ ResourceARN: first?.AlarmArn }));
    expect(tags.Tags).toEqual([{ Key: 'managed-by', Value: 'halyard' }]);
    await client.send(new CwTagResource({ ResourceARN: first?.AlarmArn, Tags: [{ Key: 'team', Value: 'ops' }] }));
    expect(aws.state.alarms.get('halyard-0')?.Tags).toHaveLength(2);

    // Tags given on update are ignored, as CloudWatch documents.
    await client.send(new PutMetricAlarmCommand({ ...alarm('halyard-0', 90).input, Tags: [{ Key: 'x', Value: 'y' }] }));
    expect(aws.state.alarms.get('halyard-0')?.Threshold).toBe(90);
    expect(aws.state.alarms.get('halyard-0')?.Tags.map((t) => t.Key)).toEqual(['managed-by', 'team']);

    await client.send(new DeleteAlarmsCommand({ AlarmNames: ['halyard-0', 'halyard-1'] }));
    expect([...aws.state.alarms.keys()]).not.toContain('halyard-0');
    expect(aws.requests.filter((r) => r.service === 'cloudwatch').every((r) => r.queryMode)).toBe(true);
  });

  it('reports errors with their awsQuery codes (x-amzn-query-error)', async () => {
    const client = new CloudWatchClient({});
    const missing = await failure(client.send(new DeleteAlarmsCommand({ AlarmNames: ['nope'] })));
    expect(missing.name).toBe('ResourceNotFound');
    expect(missing.$metadata?.httpStatusCode).toBe(404);
    const badPeriod = await failure(client.send(new PutMetricAlarmCommand({ ...alarm('bad').input, Period: 45 })));
    expect(badPeriod.name).toBe('InvalidParameterValueException');
    expect((badPeriod as { Code?: string }).Code).toBe('InvalidParameterValue');
    const recover = await failure(
      client.send(new PutMetricAlarmCommand({ ...alarm('bad').input, Namespace: 'halyard', AlarmActions: ['arn:aws:automate:us-east-1:ec2:recover'] })),
    );
    expect(recover.name).toBe('InvalidParameterValueException');
  });

  it('receives large PutMetricData bodies gzip-encoded and stores every value', async () => {
    const client = new CloudWatchClient({});
    const data = Array.from({ length: 400 }, (_, n) => ({
      MetricName: 'DiskUsedPercent',
      Dimensions: [{ Name: 'InstanceId', Value: `i-${n}` }],
      Value: n % 100,
      Unit: 'Percent' as const,
      Timestamp: new Date(),
    }));
    await client.send(new PutMetricDataCommand({ Namespace: 'halyard', MetricData: data }));
    await client.send(new PutMetricDataCommand({ Namespace: 'halyard', MetricData: [{ MetricName: 'DockerDaemonUp', Value: 1 }] }));
    const puts = aws.requests.filter((r) => r.operation === 'PutMetricData');
    expect(puts.map((r) => [r.gzip, r.status])).toEqual([
      [true, 200],
      [false, 200],
    ]);
    expect(aws.state.metricData).toHaveLength(401);
    expect(aws.state.metricData[399]).toMatchObject({ Namespace: 'halyard', MetricName: 'DiskUsedPercent', Value: 99, Unit: 'Percent' });
    const reserved = await failure(client.send(new PutMetricDataCommand({ Namespace: 'AWS/EC2', MetricData: [{ MetricName: 'x', Value: 1 }] })));
    expect(reserved.name).toBe('InvalidParameterValueException');
  });

  it('Throttling (query code in x-amzn-query-error) is retried', async () => {
    aws.failNext({ service: 'cloudwatch', operation: 'PutMetricAlarm', kind: 'throttle', count: 2 });
    const out = await new CloudWatchClient(retrying).send(alarm('halyard-retry'));
    expect(out.$metadata.attempts).toBe(3);
    expect(aws.state.alarms.has('halyard-retry')).toBe(true);
  });
});

describe('SNS (awsQuery)', () => {
  it('creates topics idempotently, lists, tags, subscribes (pending), unsubscribes and publishes', async () => {
    const client = new SNSClient({});
    const tags = [{ Key: 'managed-by', Value: 'halyard' }];
    const { TopicArn } = await client.send(new CreateTopicCommand({ Name: 'alerts', Tags: tags }));
    expect(TopicArn).toBe('arn:aws:sns:us-east-1:123456789012:alerts');
    expect((await client.send(new CreateTopicCommand({ Name: 'alerts', Tags: tags }))).TopicArn).toBe(TopicArn);
    expect((await failure(client.send(new CreateTopicCommand({ Name: 'alerts', Tags: [{ Key: 'managed-by', Value: 'x' }] })))).name).toBe(
      'InvalidParameterException',
    );
    expect((await client.send(new ListTopicsCommand({}))).Topics).toEqual([{ TopicArn }]);

    await client.send(new TagResourceCommand({ ResourceArn: TopicArn, Tags: [{ Key: 'env', Value: 'prod' }] }));
    expect((await client.send(new ListTagsForResourceCommand({ ResourceArn: TopicArn }))).Tags).toEqual([...tags, { Key: 'env', Value: 'prod' }]);

    const email = await client.send(new SubscribeCommand({ TopicArn, Protocol: 'email', Endpoint: 'ops@example.com' }));
    expect(email.SubscriptionArn).toBe('pending confirmation');
    const again = await client.send(new SubscribeCommand({ TopicArn, Protocol: 'email', Endpoint: 'ops@example.com' }));
    expect(again.SubscriptionArn).toBe('pending confirmation');
    await client.send(new SubscribeCommand({ TopicArn, Protocol: 'https', Endpoint: 'https://hooks.example.com/sns' }));
    let listed = await client.send(new ListSubscriptionsByTopicCommand({ TopicArn }));
    expect(listed.Subscriptions?.map((s) => [s.Protocol, s.Endpoint, s.SubscriptionArn])).toEqual([
      ['email', 'ops@example.com', 'PendingConfirmation'],
      ['https', 'https://hooks.example.com/sns', 'PendingConfirmation'],
    ]);

    aws.confirmSubscription('https://hooks.example.com/sns');
    listed = await client.send(new ListSubscriptionsByTopicCommand({ TopicArn }));
    const confirmed = listed.Subscriptions?.find((s) => s.Protocol === 'https')?.SubscriptionArn ?? '';
    expect(confirmed).toMatch(/^arn:aws:sns:us-east-1:123456789012:alerts:/);
    await client.send(new UnsubscribeCommand({ SubscriptionArn: confirmed }));
    expect(aws.state.subscriptions.map((s) => s.protocol)).toEqual(['email']);

    const published = await client.send(new PublishCommand({ TopicArn, Subject: 'test', Message: 'hello' }));
    expect(aws.state.published).toEqual([{ topicArn: TopicArn, messageId: published.MessageId, subject: 'test', message: 'hello' }]);
  });

  it('answers NotFound for a missing topic and retries Throttling', async () => {
    const client = new SNSClient(retrying);
    const missing = await failure(client.send(new SubscribeCommand({ TopicArn: 'arn:aws:sns:us-east-1:123456789012:none', Protocol: 'email', Endpoint: 'a@b.c' })));
    expect(missing.name).toBe('NotFoundException');
    expect(missing.$metadata?.httpStatusCode).toBe(404);
    aws.failNext({ service: 'sns', operation: 'CreateTopic', kind: 'throttle', count: 1 });
    aws.failNext({ service: 'sns', operation: 'CreateTopic', kind: '500', count: 1 });
    const out = await client.send(new CreateTopicCommand({ Name: 'retry' }));
    expect(out.$metadata.attempts).toBe(3);
  });
});

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.js';
import { startAwsEmulator, useEmulatorEnv, type AlarmState, type AwsEmulator } from '../support/aws-emulator/index.js';

// `halyard monitor apply` end to end against the AWS emulator: the real CLI entry (main), real
// SNS and CloudWatch clients, SigV4, retries.

let aws: AwsEmulator;
let restoreEnv: () => void;
let dir: string;

beforeAll(async () => {
  aws = await startAwsEmulator();
  dir = mkdtempSync(join(tmpdir(), 'halyard-monitor-'));
  restoreEnv = useEmulatorEnv(aws, { HALYARD_EC2_CACHE_DIR: join(dir, 'cache') });
});

afterAll(async () => {
  restoreEnv();
  await aws.stop();
  rmSync(dir, { recursive: true, force: true });
});

beforeEach(() => aws.reset());

interface Run {
  exitCode: number;
  stdout: string;
  stderr: string;
}

async function cli(...args: string[]): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout += String(chunk);
    return true;
  });
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stderr += String(chunk);
    return true;
  });
  try {
    await main(['node', 'halyard', ...args]);
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
  const exitCode = Number(process.exitCode ?? 0);
  process.exitCode = undefined;
  return { exitCode, stdout, stderr };
}

let fileCount = 0;
function monitorFile(content: string): string {
  const path = join(dir, `monitor-${++fileCount}.yml`);
  writeFileSync(path, content);
  return path;
}

const CONFIG = `
topic: halyard-alerts
name: prod
subscriptions:
  - email: ops@example.com
  - https: https://hooks.example.com/sns
instances:
  ids: [i-0aaa, i-0bbb]
alarms:
  recover: true
  backup_schedule_hours: 24
  backup_grace_hours: 1
`;

interface JsonResult {
  ok: boolean;
  check: boolean;
  topic: { name: string; arn: string | null; action: string };
  subscriptions: Array<{ protocol: string; endpoint: string; action: string; note?: string }>;
  alarms: Array<{ name: string; action: string; changes?: Array<{ field: string; from: string; to: string }>; note?: string }>;
  summary: { changes: number; alarms: Record<string, number> };
  applied: number;
}

async function applyJson(path: string, ...flags: string[]): Promise<{ run: Run; json: JsonResult }> {
  const run = await cli('monitor', 'apply', '-c', path, '--json', ...flags);
  return { run, json: JSON.parse(run.stdout) as JsonResult };
}

const alarm = (name: string): AlarmState => {
  const found = aws.state.alarms.get(name);
  if (!found) throw new Error(`no alarm ${name}`);
  return found;
};

describe('halyard monitor apply', () => {
  it('first apply creates the topic, subscriptions and alarms; the second is all unchanged', async () => {
    const path = monitorFile(CONFIG);
    const first = await cli('monitor', 'apply', '-c', path);
    expect(first.stderr).toBe('');
    expect(first.exitCode).toBe(0);
    // The plan comes first, then what was applied.
    expect(first.stdout.indexOf('plan:')).toBeLessThan(first.stdout.indexOf('created topic'));
    expect(first.stdout).toContain('  topic        create    halyard-alerts');
    expect(first.stdout).toContain('  alarm        create    halyard-i-0aaa-cpu');

    const topicArn = 'arn:aws:sns:us-east-1:123456789012:halyard-alerts';
    expect([...aws.state.topics.keys()]).toEqual([topicArn]);
    expect(aws.state.topics.get(topicArn)?.tags).toEqual([
      { Key: 'managed-by', Value: 'halyard' },
      { Key: 'halyard-monitor', Value: 'prod' },
    ]);
    expect(aws.state.subscriptions.map((s) => [s.protocol, s.endpoint, s.pending])).toEqual([
      ['email', 'ops@example.com', true],
      ['https', 'https://hooks.example.com/sns', true],
    ]);
    expect([...aws.state.alarms.keys()].sort()).toEqual(
      ['i-0aaa', 'i-0bbb'].flatMap((id) => ['backup', 'cpu', 'disk', 'docker', 'status', 'system-recover'].map((check) => `halyard-${id}-${check}`)).sort(),
    );
    for (const created of aws.state.alarms.values()) {
      expect(created.OKActions).toEqual([topicArn]);
      expect(created.AlarmActions).toContain(topicArn);
      expect(created.Tags).toEqual([
        { Key: 'managed-by', Value: 'halyard' },
        { Key: 'halyard-monitor', Value: 'prod' },
      ]);
      expect(created.Dimensions).toEqual([{ Name: 'InstanceId', Value: created.AlarmName.split('-').slice(1, 3).join('-') }]);
    }
    expect(alarm('halyard-i-0aaa-cpu')).toMatchObject({ Namespace: 'AWS/EC2', MetricName: 'CPUUtilization', Statistic: 'Average', Period: 300, EvaluationPeriods: 1, Threshold: 80, ComparisonOperator: 'GreaterThanThreshold' });
    expect(alarm('halyard-i-0aaa-system-recover').AlarmActions).toEqual(['arn:aws:automate:us-east-1:ec2:recover', topicArn]);
    expect(alarm('halyard-i-0aaa-disk')).toMatchObject({ Namespace: 'halyard', MetricName: 'DiskUsedPercent', Threshold: 85 });
    expect(alarm('halyard-i-0aaa-docker')).toMatchObject({ Namespace: 'halyard', MetricName: 'DockerDaemonUp', Threshold: 1, ComparisonOperator: 'LessThanThreshold' });
    expect(alarm('halyard-i-0aaa-backup')).toMatchObject({
      Namespace: 'halyard',
      MetricName: 'BackupHeartbeat',
      Statistic: 'Sum',
      Period: 3600,
      EvaluationPeriods: 25,
      DatapointsToAlarm: 25,
      Threshold: 1,
      ComparisonOperator: 'LessThanThreshold',
      TreatMissingData: 'breaching',
    });

    const requestsBefore = aws.requests.length;
    const second = await applyJson(path);
    expect(second.run.exitCode).toBe(0);
    expect(second.json.topic).toEqual({ name: 'halyard-alerts', arn: topicArn, action: 'unchanged' });
    expect(second.json.alarms.every((a) => a.action === 'unchanged')).toBe(true);
    expect(second.json.alarms).toHaveLength(12);
    // Pending confirmations are reported, not subscribed again.
    expect(second.json.subscriptions.map((s) => s.action)).toEqual(['pending', 'pending']);
    expect(second.json.summary.changes).toBe(0);
    expect(second.json.applied).toBe(0);
    const writes = aws.requests.slice(requestsBefore).filter((r) => !/^(List|Describe|Get)/.test(r.operation));
    expect(writes).toEqual([]);
    expect(aws.countRequests({ operation: 'Subscribe' })).toBe(2);

    const check = await cli('monitor', 'apply', '-c', path, '--check');
    expect(check.exitCode).toBe(0);
    expect(check.stdout).toContain('check: no changes');
  });

  it('an alarm edited by hand shows as update in --check (exit 2) and is restored by apply', async () => {
    const path = monitorFile(CONFIG);
    await cli('monitor', 'apply', '-c', path);
    alarm('halyard-i-0bbb-cpu').Threshold = 50;
    alarm('halyard-i-0bbb-cpu').OKActions = [];

    const check = await cli('monitor', 'apply', '-c', path, '--check');
    expect(check.exitCode).toBe(2);
    expect(check.stdout).toMatch(/alarm +update +halyard-i-0bbb-cpu +\(Threshold: 50 -> 80; OKActions: \[\] -> \[arn:aws:sns:us-east-1:123456789012:halyard-alerts\]\)/);
    expect(check.stdout).toContain('check: 1 change(s) pending');
    expect(alarm('halyard-i-0bbb-cpu').Threshold).toBe(50);

    const { run, json } = await applyJson(path);
    expect(run.exitCode).toBe(0);
    expect(json.alarms.find((a) => a.name === 'halyard-i-0bbb-cpu')).toEqual({
      name: 'halyard-i-0bbb-cpu',
      action: 'update',
      changes: [
        { field: 'Threshold', from: '50', to: '80' },
        { field: 'OKActions', from: '[]', to: '[arn:aws:sns:us-east-1:123456789012:halyard-alerts]' },
      ],
    });
    expect(json.applied).toBe(1);
    expect(alarm('halyard-i-0bbb-cpu').Threshold).toBe(80);
    expect((await applyJson(path)).json.summary.changes).toBe(0);
  });

  it('leaves alarms it does not own alone, deletes its own that are no longer wanted, reports name conflicts', async () => {
    const put = (name: string, tags: Array<{ Key: string; Value: string }>) =>
      aws.state.alarms.set(name, {
        ...structuredClone(alarm('halyard-i-0aaa-cpu')),
        AlarmName: name,
        AlarmArn: `arn:aws:cloudwatch:us-east-1:123456789012:alarm:${name}`,
        Threshold: 99,
        Tags: tags,
      });
    await cli('monitor', 'apply', '-c', monitorFile(CONFIG));
    put('team-x-cpu', []);
    put('halyard-legacy', []);
    put('halyard-staging-thing', [
      { Key: 'managed-by', Value: 'halyard' },
      { Key: 'halyard-monitor', Value: 'staging' },
    ]);
    const before = structuredClone([...aws.state.alarms.entries()].filter(([name]) => !name.startsWith('halyard-i-')));

    // i-0bbb leaves the file: its alarms go; the foreign ones stay exactly as they were.
    const { run, json } = await applyJson(monitorFile(CONFIG.replace('[i-0aaa, i-0bbb]', '[i-0aaa]')));
    expect(run.exitCode).toBe(0);
    expect(json.alarms.filter((a) => a.action === 'delete').map((a) => a.name).sort()).toEqual(
      ['backup', 'cpu', 'disk', 'docker', 'status', 'system-recover'].map((check) => `halyard-i-0bbb-${check}`),
    );
    expect(json.alarms.map((a) => a.name)).not.toContain('halyard-legacy');
    expect([...aws.state.alarms.keys()].filter((name) => name.startsWith('halyard-i-0bbb'))).toEqual([]);
    expect(structuredClone([...aws.state.alarms.entries()].filter(([name]) => !name.startsWith('halyard-i-')))).toEqual(before);

    // A wanted name held by an alarm halyard does not own: reported, left alone, exit 1.
    put('halyard-i-0ccc-cpu', []);
    const conflictFile = monitorFile(CONFIG.replace('[i-0aaa, i-0bbb]', '[i-0aaa, i-0ccc]'));
    const conflict = await applyJson(conflictFile);
    expect(conflict.run.exitCode).toBe(1);
    expect(conflict.json.ok).toBe(false);
    expect(conflict.json.alarms.find((a) => a.name === 'halyard-i-0ccc-cpu')).toMatchObject({ action: 'conflict', note: expect.stringContaining('without the tag managed-by=halyard') });
    expect(alarm('halyard-i-0ccc-cpu').Threshold).toBe(99);
    expect(alarm('halyard-i-0ccc-disk').Tags).toHaveLength(2);
    const text = await cli('monitor', 'apply', '-c', conflictFile);
    expect(text.exitCode).toBe(1);
    expect(text.stdout).toMatch(/alarm +conflict +halyard-i-0ccc-cpu/);
    expect(text.stderr).toBe('halyard: 1 alarm name(s) are held by alarms this monitor does not own; they were left alone (see the conflict lines)\n');
  });

  it('throttled PutMetricAlarm calls are retried and the apply still succeeds', async () => {
    aws.failNext({ service: 'cloudwatch', operation: 'PutMetricAlarm', kind: 'throttle', count: 3 });
    aws.failNext({ service: 'sns', operation: 'CreateTopic', kind: '500', count: 1 });
    const { run, json } = await applyJson(monitorFile(CONFIG));
    expect(run.exitCode).toBe(0);
    expect(json.applied).toBe(1 + 2 + 12);
    expect(aws.state.alarms.size).toBe(12);
    expect(aws.requests.filter((r) => r.injected).map((r) => [r.operation, r.errorCode])).toEqual([
      ['CreateTopic', 'InternalError'],
      ['PutMetricAlarm', 'Throttling'],
      ['PutMetricAlarm', 'Throttling'],
      ['PutMetricAlarm', 'Throttling'],
    ]);
  });

  it('subscriptions: a confirmed one removed from the file is unsubscribed; a new one is added', async () => {
    await cli('monitor', 'apply', '-c', monitorFile(CONFIG));
    aws.confirmSubscription('https://hooks.example.com/sns');
    const changed = CONFIG.replace('  - https: https://hooks.example.com/sns\n', '  - email: oncall@example.com\n');
    const { json } = await applyJson(monitorFile(changed));
    expect(json.subscriptions).toEqual([
      { protocol: 'email', endpoint: 'ops@example.com', action: 'pending', note: 'pending confirmation; not subscribed again' },
      { protocol: 'email', endpoint: 'oncall@example.com', action: 'create' },
      { protocol: 'https', endpoint: 'https://hooks.example.com/sns', action: 'delete', note: 'not in the file' },
    ]);
    expect(aws.state.subscriptions.map((s) => s.endpoint)).toEqual(['ops@example.com', 'oncall@example.com']);
  });

  it('reads instance ids from an ec2 inventory; a missing topic in --check plans everything and changes nothing', async () => {
    aws.addInstances([{ id: 'i-0web1', tags: { Role: 'web' } }, { id: 'i-0web2', tags: { Role: 'web' } }, { id: 'i-0db1', tags: { Role: 'db' } }]);
    const inventory = join(dir, 'ec2.yml');
    writeFileSync(inventory, 'plugin: ec2\nregions: [us-east-1]\nfilters: {tag:Role: web}\ncache_seconds: 0\n');
    const path = monitorFile('topic: web-alerts\ninstances:\n  inventory: ec2.yml\nalarms: {docker: false, disk_percent: false, status_check: false}\n');
    const { run, json } = await applyJson(path, '--check');
    expect(run.exitCode).toBe(2);
    expect(json.topic).toEqual({ name: 'web-alerts', arn: null, action: 'create' });
    expect(json.alarms.map((a) => [a.name, a.action])).toEqual([
      ['halyard-i-0web1-cpu', 'create'],
      ['halyard-i-0web2-cpu', 'create'],
    ]);
    expect(aws.state.topics.size).toBe(0);
    expect(aws.state.alarms.size).toBe(0);
  });

  it('bad monitor files are one line with file:line and exit 65', async () => {
    const cases: Array<[string, RegExp]> = [
      ['instances: {ids: [i-1]}\n', /:1: topic: the SNS topic name is required/],
      ['topic: t\ninstances: {ids: [i-1]}\nalarms:\n  cpu_percnt: 70\n', /:4: unknown key "cpu_percnt" in alarms .*did you mean "cpu_percent"\?/],
      ['topic: t\ninstances: {ids: [web1]}\n', /:2: "web1" is not an EC2 instance id/],
      ['topic: t\ninstances: {ids: [i-1]}\nsubscriptions:\n  - sms: "+15550100"\n', /:4: subscription protocol "sms" is not supported/],
      ['topic: t\ninstances: {ids: [i-1]}\nsubscriptions:\n  - https: http://insecure.example.com\n', /:4: "http:\/\/insecure.example.com" is not an https:\/\/ URL/],
      ['topic: t\ninstances: {ids: [i-1]}\nalarms: {backup_schedule_hours: 200}\n', /:3: backup_schedule_hours must be a whole number from 1 to 167/],
      ['topic: t\n', /:1: instances: give ids/],
      ['topic: [a\n', /:2: YAML: Flow sequence/],
    ];
    for (const [content, message] of cases) {
      const path = monitorFile(content);
      const run = await cli('monitor', 'apply', '-c', path);
      expect(run.exitCode, content).toBe(65);
      expect(run.stderr, content).toMatch(new RegExp(`^halyard: ${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}${message.source}`));
      expect(run.stderr.trimEnd().split('\n'), content).toHaveLength(1);
    }
    expect(aws.requests).toEqual([]);
  });

  it('AWS failures are one line naming the call', async () => {
    const restore = useEmulatorEnv(aws, { AWS_SECRET_ACCESS_KEY: 'wrong' });
    try {
      const run = await cli('monitor', 'apply', '-c', monitorFile(CONFIG));
      expect(run.exitCode).toBe(1);
      expect(run.stderr).toMatch(/^halyard: SNS ListTopics \(looking for halyard-alerts\): SignatureDoesNotMatch: The request signature/);
      expect(run.stderr.trimEnd().split('\n')).toHaveLength(1);
    } finally {
      restore();
    }
  });
});

import { makeInstance } from './ec2.js';
import { putSecretDirect } from './secrets-manager.js';
import type { S3State } from './s3.js';
import { EmulatorServer, type FaultSpec, type RecordedRequest } from './server.js';
import { confirmSubscription } from './sns.js';
import { ACCOUNT_ID, DEFAULT_REGION, emptyState, type EmulatorState, type InstanceInput, type InstanceState, type ServiceName, type SubscriptionState } from './state.js';

// A local AWS for tests: Secrets Manager, EC2, CloudWatch and SNS over their real wire protocols,
// SigV4-checked, with in-memory state tests can read and edit, and fault injection to prove that
// the SDK's retries work. Real SDK clients reach it through AWS_ENDPOINT_URL (see `env`).
//
//   const aws = await startAwsEmulator();
//   Object.assign(process.env, aws.env);      // or pass aws.env to a child process
//   aws.putSecret('prod/db', { password: 's3cret' });
//   aws.failNext({ service: 'cloudwatch', operation: 'PutMetricAlarm', kind: 'throttle', count: 2 });
//   ...
//   await aws.stop();

export type { AlarmState, EmulatorState, InstanceInput, InstanceState, ServiceName, SubscriptionState } from './state.js';
export type { FaultKind, FaultSpec, RecordedRequest } from './server.js';
export type { S3Bucket, S3Object, S3State, S3Upload } from './s3.js';
export { ACCOUNT_ID, DEFAULT_REGION } from './state.js';
export { PENDING_LIST, PENDING_SUBSCRIBE } from './sns.js';

/** The access key the emulator accepts by default (any other key is rejected as unknown). */
export const TEST_ACCESS_KEY_ID = 'AKIAHALYARDTEST00001';
export const TEST_SECRET_ACCESS_KEY = 'halyard/test/secret/key/do-not-use-elsewhere';

/** Per-service endpoint variables the SDK reads (service id upper-cased, spaces as underscores). */
export const SERVICE_ENDPOINT_VARS: Record<ServiceName, string> = {
  secretsmanager: 'AWS_ENDPOINT_URL_SECRETS_MANAGER',
  ec2: 'AWS_ENDPOINT_URL_EC2',
  cloudwatch: 'AWS_ENDPOINT_URL_CLOUDWATCH',
  sns: 'AWS_ENDPOINT_URL_SNS',
  s3: 'AWS_ENDPOINT_URL_S3',
};

export interface AwsEmulator {
  /** `http://127.0.0.1:PORT` */
  url: string;
  region: string;
  accountId: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  /**
   * Environment for SDK clients: AWS_ENDPOINT_URL, test credentials, AWS_REGION, and IMDS off
   * (so a misconfigured client fails fast instead of probing 169.254.169.254).
   */
  env: Record<string, string>;
  /** Per-service AWS_ENDPOINT_URL_* variables pointing at this emulator. */
  serviceEnv(services?: ServiceName[]): Record<string, string>;
  state: EmulatorState;
  /** S3 buckets, objects (bodies in temp files) and open multipart uploads. */
  s3: S3State;
  /** Creates a bucket (no-op when it exists). */
  createBucket(name: string): void;
  /** Every request answered, in order. */
  requests: RecordedRequest[];
  /** Requests answered so far, optionally of one service/operation. */
  countRequests(filter?: { service?: ServiceName; operation?: string }): number;
  /** Creates a secret, or stores a new AWSCURRENT version (a rotation). Objects are stored as JSON. */
  putSecret(name: string, value: string | Record<string, unknown>): { arn: string; versionId: string };
  /** Makes reads of this secret (existing or not) fail with AccessDeniedException. */
  denySecret(name: string): void;
  addInstances(instances: InstanceInput[]): InstanceState[];
  /** Confirms a pending SNS subscription (as its owner clicking the link). */
  confirmSubscription(endpoint: string, topicArn?: string): SubscriptionState;
  /** The next `count` (default 1) matching requests fail: throttling, an internal error, a denied permission, an unimplemented operation. */
  failNext(fault: FaultSpec): void;
  /** Drops faults not used up yet. */
  clearFaults(): void;
  /** Accepts another access key (e.g. a second identity). */
  addAccessKey(accessKeyId: string, secretAccessKey: string): void;
  /** Empties state, request log and pending faults. */
  reset(): void;
  stop(): Promise<void>;
}

export async function startAwsEmulator(options: { region?: string } = {}): Promise<AwsEmulator> {
  const region = options.region ?? DEFAULT_REGION;
  const keys = new Map([[TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY]]);
  const state = emptyState();
  const server = new EmulatorServer(state, keys);
  const url = await server.listen();
  const emulator: AwsEmulator = {
    url,
    region,
    accountId: ACCOUNT_ID,
    credentials: { accessKeyId: TEST_ACCESS_KEY_ID, secretAccessKey: TEST_SECRET_ACCESS_KEY },
    env: {
      AWS_ENDPOINT_URL: url,
      AWS_ACCESS_KEY_ID: TEST_ACCESS_KEY_ID,
      AWS_SECRET_ACCESS_KEY: TEST_SECRET_ACCESS_KEY,
      AWS_REGION: region,
      AWS_EC2_METADATA_DISABLED: 'true',
      // The SDK's notice that future releases need Node 22 (this project runs on Node 20).
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    },
    serviceEnv(services = ['secretsmanager', 'ec2', 'cloudwatch', 'sns']) {
      return Object.fromEntries(services.map((service) => [SERVICE_ENDPOINT_VARS[service], url]));
    },
    state,
    s3: server.s3,
    createBucket(name) {
      server.s3.createBucket(name);
    },
    requests: server.requests,
    countRequests(filter = {}) {
      return server.requests.filter(
        (request) => (filter.service === undefined || request.service === filter.service) && (filter.operation === undefined || request.operation === filter.operation),
      ).length;
    },
    putSecret(name, value) {
      return putSecretDirect(state, name, typeof value === 'string' ? value : JSON.stringify(value), region);
    },
    denySecret(name) {
      state.deniedSecrets.add(name);
    },
    addInstances(inputs) {
      const added = inputs.map((input) => makeInstance({ region, ...input }));
      state.instances.push(...added);
      return added;
    },
    confirmSubscription(endpoint, topicArn) {
      return confirmSubscription(state, endpoint, topicArn);
    },
    failNext(fault) {
      server.failNext(fault);
    },
    clearFaults() {
      server.clearFaults();
    },
    addAccessKey(accessKeyId, secretAccessKey) {
      keys.set(accessKeyId, secretAccessKey);
    },
    reset() {
      Object.assign(state, emptyState());
      server.s3.clear();
      server.requests.length = 0;
      server.clearFaults();
    },
    stop() {
      return server.close();
    },
  };
  return emulator;
}

/**
 * Points this process's SDK clients at the emulator (sets its env, removing AWS_PROFILE and any
 * per-service endpoint that would win); returns a function that restores the previous values.
 */
export function useEmulatorEnv(emulator: AwsEmulator, extra: Record<string, string> = {}): () => void {
  const names = ['AWS_PROFILE', ...Object.values(SERVICE_ENDPOINT_VARS), ...Object.keys(emulator.env), ...Object.keys(extra)];
  const saved = new Map(names.map((name) => [name, process.env[name]]));
  for (const name of ['AWS_PROFILE', ...Object.values(SERVICE_ENDPOINT_VARS)]) delete process.env[name];
  Object.assign(process.env, emulator.env, extra);
  return () => {
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  };
}

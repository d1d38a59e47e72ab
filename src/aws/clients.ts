import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SNSClient } from '@aws-sdk/client-sns';
import { clientConfig, type AwsClientOptions } from './client-config.js';

// SDK client construction in one place. Credentials come from the SDK's default chain (env,
// shared config/credentials files and profiles, SSO, web identity, container and instance roles)
// and the region from the usual resolution (AWS_REGION, profile) unless given. Settings and error
// helpers live in client-config.ts (no SDK imports) and are re-exported here. The EC2 client is
// made in instances.ts, its only user: its SDK package alone costs about 75 MiB of RSS to load,
// which every importer of this module (the daemon, for CloudWatch and SNS) would pay.
export {
  AWS_MAX_ATTEMPTS,
  awsErrorCode,
  awsFailure,
  clientConfig,
  describeAwsError,
  isAwsError,
  resolvedRegion,
  type AwsClientOptions,
} from './client-config.js';

export function createSecretsManagerClient(options: AwsClientOptions = {}): SecretsManagerClient {
  return new SecretsManagerClient(clientConfig(options));
}

export function createCloudWatchClient(options: AwsClientOptions = {}): CloudWatchClient {
  return new CloudWatchClient(clientConfig(options));
}

export function createSnsClient(options: AwsClientOptions = {}): SNSClient {
  return new SNSClient(clientConfig(options));
}


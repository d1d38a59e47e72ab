import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { EC2Client } from '@aws-sdk/client-ec2';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SNSClient } from '@aws-sdk/client-sns';
import { clientConfig, type AwsClientOptions } from './client-config.js';

// SDK client construction in one place. Credentials come from the SDK's default chain (env,
// shared config/credentials files and profiles, SSO, web identity, container and instance roles)
// and the region from the usual resolution (AWS_REGION, profile) unless given. Settings and error
// helpers live in client-config.ts (no SDK imports) and are re-exported here.
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

export function createEc2Client(options: AwsClientOptions = {}): EC2Client {
  return new EC2Client(clientConfig(options));
}

export function createSecretsManagerClient(options: AwsClientOptions = {}): SecretsManagerClient {
  return new SecretsManagerClient(clientConfig(options));
}

export function createCloudWatchClient(options: AwsClientOptions = {}): CloudWatchClient {
  return new CloudWatchClient(clientConfig(options));
}

export function createSnsClient(options: AwsClientOptions = {}): SNSClient {
  return new SNSClient(clientConfig(options));
}


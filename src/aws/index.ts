// The AWS layer: the only code that imports @aws-sdk/*. Small interfaces, SDK implementations.
export { AWS_MAX_ATTEMPTS, awsErrorCode, awsFailure, describeAwsError, isAwsError, type AwsClientOptions } from './clients.js';
export { sdkInstanceSource, DEFAULT_PAGE_SIZE, type Ec2Instance, type InstanceFilter, type InstanceSource, type ListInstancesRequest } from './instances.js';
export {
  SecretCache,
  createSecretFetcher,
  fetchSecret,
  sdkSecretStore,
  secretFromValue,
  type SecretDescription,
  type SecretStore,
  type SecretValue,
} from './secrets.js';
export { PENDING_CONFIRMATION, sdkAlertsService, type AlertsService, type TopicSubscription } from './alerts.js';
export {
  HALYARD_METRICS,
  HALYARD_NAMESPACE,
  sdkMetricsService,
  type AlarmDefinition,
  type AlarmStatistic,
  type ExistingAlarm,
  type MetricPoint,
  type MetricsService,
  type TreatMissingData,
} from './metrics.js';

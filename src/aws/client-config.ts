import { HalyardError } from '../core/errors.js';

// Client settings and error helpers shared by every AWS client, without importing any SDK client
// (so a command that needs only S3 does not load EC2, CloudWatch, SNS and Secrets Manager too).
// The SDK honours AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_<SERVICE>; an explicit `endpoint` wins over both.

/** Attempts per call, first try included (SDK "standard" retry mode: throttling and 5xx are retried). */
export const AWS_MAX_ATTEMPTS = 5;

export interface AwsClientOptions {
  /** Region; default: the SDK's resolution (AWS_REGION, then the profile's region). */
  region?: string;
  /** Endpoint URL that wins over AWS_ENDPOINT_URL*; for tests and private endpoints. */
  endpoint?: string;
  /** Named profile of ~/.aws/config; default AWS_PROFILE or "default". */
  profile?: string;
  /** Default AWS_MAX_ATTEMPTS. */
  maxAttempts?: number;
}

interface CommonConfig {
  region?: string;
  endpoint?: string;
  profile?: string;
  maxAttempts: number;
  retryMode: 'standard';
}

export function clientConfig(options: AwsClientOptions = {}): CommonConfig {
  quietNodeVersionNotice();
  return {
    ...(options.region ? { region: options.region } : {}),
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    ...(options.profile ? { profile: options.profile } : {}),
    maxAttempts: options.maxAttempts ?? AWS_MAX_ATTEMPTS,
    retryMode: 'standard',
  };
}

// halyard supports Node 20: the SDK's multi-line notice about future SDK releases needing Node 22
// would otherwise land in every command's output. Setting the variable yourself keeps your choice.
function quietNodeVersionNotice(): void {
  process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';
}

/** The region a client will use; a HalyardError E_AWS_REGION when none is configured anywhere. */
export async function resolvedRegion(client: { config: { region: () => Promise<string> } }): Promise<string> {
  try {
    return await client.config.region();
  } catch (error) {
    throw new HalyardError('E_AWS_REGION', 'no AWS region configured (set a region in the file, AWS_REGION, or a profile region)', { cause: error });
  }
}

/** The service's error code of an SDK error ("ThrottlingException", "ResourceNotFound", ...). */
export function awsErrorCode(error: unknown): string {
  if (error === null || typeof error !== 'object') return 'Unknown';
  const record = error as { name?: unknown; Code?: unknown };
  if (typeof record.Code === 'string' && record.Code !== '') return record.Code;
  return typeof record.name === 'string' ? record.name : 'Unknown';
}

/** True when the error is one of these service codes (matching the SDK name or the query Code). */
export function isAwsError(error: unknown, ...codes: string[]): boolean {
  if (error === null || typeof error !== 'object') return false;
  const record = error as { name?: unknown; Code?: unknown };
  return codes.some((code) => record.name === code || record.Code === code);
}

/** One line for an AWS failure: "code: message" (messages of AWS errors never hold secret values). */
export function describeAwsError(error: unknown): string {
  const code = awsErrorCode(error);
  const message = error instanceof Error ? error.message.split('\n')[0]?.trim() : String(error);
  return message && message !== code && message !== 'UnknownError' ? `${code}: ${message}` : code;
}

/**
 * Wraps an SDK failure in a HalyardError with a stable code: E_AWS_CREDENTIALS when no
 * credentials could be found, otherwise `code` ("E_AWS" by default), naming what was attempted.
 */
export function awsFailure(what: string, error: unknown, code = 'E_AWS'): HalyardError {
  if (error instanceof HalyardError) return error;
  if (isAwsError(error, 'CredentialsProviderError')) {
    return new HalyardError('E_AWS_CREDENTIALS', `${what}: no AWS credentials found (env, profile, SSO or instance role)`, { cause: error });
  }
  return new HalyardError(code, `${what}: ${describeAwsError(error)}`, { cause: error });
}

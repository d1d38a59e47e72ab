import { randomUUID } from 'node:crypto';
import { ACCOUNT_ID, alnumId, type EmulatorState, type SecretState } from './state.js';
import { ServiceError, epochSeconds, jsonError, jsonResponse, type WireResponse } from './wire.js';

// Secrets Manager over awsJson1_1: POST /, `X-Amz-Target: secretsmanager.<Operation>`, JSON body.
// Errors are `{"__type": "ResourceNotFoundException", "Message": "..."}` with HTTP 400.

export const SECRETS_TARGET_PREFIX = 'secretsmanager.';

type Input = Record<string, unknown>;

export function secretsManagerError(error: ServiceError): WireResponse {
  return jsonError('1.1', error, { messageKey: 'Message' });
}

export function handleSecretsManager(state: EmulatorState, operation: string, input: Input, region: string): WireResponse {
  switch (operation) {
    case 'GetSecretValue':
      return jsonResponse('1.1', getSecretValue(state, input));
    case 'DescribeSecret':
      return jsonResponse('1.1', describeSecret(state, input));
    case 'CreateSecret':
      return jsonResponse('1.1', createSecret(state, input, region));
    case 'PutSecretValue':
      return jsonResponse('1.1', putSecretValue(state, input));
    default:
      throw new ServiceError('UnknownOperationException', `Unknown operation ${operation}`);
  }
}

/** Stores a value under a name: a new secret, or a new AWSCURRENT version of an existing one. */
export function putSecretDirect(state: EmulatorState, name: string, value: string, region: string): { arn: string; versionId: string } {
  const existing = state.secrets.get(name);
  if (existing) {
    const versionId = addVersion(existing, value, randomUUID());
    return { arn: existing.arn, versionId };
  }
  const secret = newSecret(name, region, undefined, []);
  state.secrets.set(name, secret);
  const versionId = addVersion(secret, value, randomUUID());
  return { arn: secret.arn, versionId };
}

function requiredString(input: Input, key: string): string {
  const value = input[key];
  if (typeof value !== 'string' || value === '') {
    throw new ServiceError('ValidationException', `1 validation error detected: Value at '${lowerFirst(key)}' failed to satisfy constraint: Member must not be null`);
  }
  return value;
}

function lowerFirst(text: string): string {
  return text.charAt(0).toLowerCase() + text.slice(1);
}

// A SecretId is a name, a full ARN, or a partial ARN (without the 6-character random suffix).
function findSecret(state: EmulatorState, secretId: string, action: string): SecretState {
  const denied = state.deniedSecrets.has(secretId) || [...state.secrets.values()].some((s) => matches(s, secretId) && state.deniedSecrets.has(s.name));
  if (denied) {
    throw new ServiceError(
      'AccessDeniedException',
      `User: arn:aws:iam::${ACCOUNT_ID}:user/halyard-test is not authorized to perform: secretsmanager:${action} on resource: ${secretId} because no identity-based policy allows the secretsmanager:${action} action`,
    );
  }
  for (const secret of state.secrets.values()) if (matches(secret, secretId)) return secret;
  throw new ServiceError('ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
}

function matches(secret: SecretState, secretId: string): boolean {
  return secret.name === secretId || secret.arn === secretId || secret.arn.slice(0, -7) === secretId;
}

function currentVersion(secret: SecretState, versionId?: unknown, stage?: unknown) {
  if (typeof versionId === 'string') {
    const version = secret.versions.find((v) => v.versionId === versionId);
    if (!version) throw new ServiceError('ResourceNotFoundException', "Secrets Manager can't find the specified secret value for VersionId: " + versionId);
    return version;
  }
  const wanted = typeof stage === 'string' ? stage : 'AWSCURRENT';
  const version = secret.versions.find((v) => v.stages.includes(wanted));
  if (!version) throw new ServiceError('ResourceNotFoundException', `Secrets Manager can't find the specified secret value for staging label: ${wanted}`);
  return version;
}

function getSecretValue(state: EmulatorState, input: Input) {
  const secret = findSecret(state, requiredString(input, 'SecretId'), 'GetSecretValue');
  const version = currentVersion(secret, input.VersionId, input.VersionStage);
  return {
    ARN: secret.arn,
    Name: secret.name,
    VersionId: version.versionId,
    SecretString: version.value,
    VersionStages: [...version.stages],
    CreatedDate: epochSeconds(version.created),
  };
}

function describeSecret(state: EmulatorState, input: Input) {
  const secret = findSecret(state, requiredString(input, 'SecretId'), 'DescribeSecret');
  const stages: Record<string, string[]> = {};
  for (const version of secret.versions) if (version.stages.length > 0) stages[version.versionId] = [...version.stages];
  return {
    ARN: secret.arn,
    Name: secret.name,
    ...(secret.description === undefined ? {} : { Description: secret.description }),
    CreatedDate: epochSeconds(secret.created),
    LastChangedDate: epochSeconds(secret.lastChanged),
    Tags: secret.tags,
    VersionIdsToStages: stages,
  };
}

function createSecret(state: EmulatorState, input: Input, region: string) {
  const name = requiredString(input, 'Name');
  if (!/^[A-Za-z0-9/_+=.@-]{1,512}$/.test(name)) {
    throw new ServiceError('ValidationException', 'Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: -/_+=.@!');
  }
  if (state.secrets.has(name)) {
    throw new ServiceError('ResourceExistsException', `The operation failed because the secret ${name} already exists.`);
  }
  const tags = Array.isArray(input.Tags) ? (input.Tags as Array<{ Key: string; Value: string }>) : [];
  const secret = newSecret(name, region, typeof input.Description === 'string' ? input.Description : undefined, tags);
  state.secrets.set(name, secret);
  let versionId: string | undefined;
  if (typeof input.SecretString === 'string') {
    versionId = addVersion(secret, input.SecretString, tokenOf(input));
  }
  return { ARN: secret.arn, Name: secret.name, ...(versionId ? { VersionId: versionId } : {}) };
}

function putSecretValue(state: EmulatorState, input: Input) {
  const secret = findSecret(state, requiredString(input, 'SecretId'), 'PutSecretValue');
  if (typeof input.SecretString !== 'string') {
    throw new ServiceError('InvalidParameterException', 'You must provide either SecretString or SecretBinary.');
  }
  const token = tokenOf(input);
  const same = secret.versions.find((v) => v.versionId === token);
  if (same) {
    if (same.value !== input.SecretString) {
      throw new ServiceError('ResourceExistsException', `You can't modify an existing version, you can only create a new version.`);
    }
    return { ARN: secret.arn, Name: secret.name, VersionId: same.versionId, VersionStages: [...same.stages] };
  }
  const versionId = addVersion(secret, input.SecretString, token);
  return { ARN: secret.arn, Name: secret.name, VersionId: versionId, VersionStages: ['AWSCURRENT'] };
}

function tokenOf(input: Input): string {
  return typeof input.ClientRequestToken === 'string' && input.ClientRequestToken !== '' ? input.ClientRequestToken : randomUUID();
}

function newSecret(name: string, region: string, description: string | undefined, tags: Array<{ Key: string; Value: string }>): SecretState {
  const now = new Date();
  return {
    name,
    arn: `arn:aws:secretsmanager:${region}:${ACCOUNT_ID}:secret:${name}-${alnumId(6)}`,
    description,
    versions: [],
    tags,
    created: now,
    lastChanged: now,
  };
}

// A new version takes AWSCURRENT; the old current becomes AWSPREVIOUS (as rotation does).
function addVersion(secret: SecretState, value: string, versionId: string): string {
  for (const version of secret.versions) {
    version.stages = version.stages.filter((stage) => stage !== 'AWSPREVIOUS');
    if (version.stages.includes('AWSCURRENT')) version.stages = [...version.stages.filter((s) => s !== 'AWSCURRENT'), 'AWSPREVIOUS'];
  }
  secret.versions.push({ versionId, value, stages: ['AWSCURRENT'], created: new Date() });
  secret.lastChanged = new Date();
  return versionId;
}

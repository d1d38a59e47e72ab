import { DescribeSecretCommand, GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { HalyardError } from '../core/errors.js';
import { Secret } from '../core/secret.js';
import type { SecretRef } from '../core/secret-ref.js';
import { awsFailure, createSecretsManagerClient, isAwsError, resolvedRegion, type AwsClientOptions } from './clients.js';

// Secrets Manager behind a small interface. Values become `Secret`s at once; errors name the
// secret (never its value). A fetcher caches per secret so each is read once per run.

/** One secret version as read from the store. */
export interface SecretValue {
  name: string;
  arn: string;
  versionId: string;
  /** The SecretString; undefined for a binary secret. */
  text: string | undefined;
}

export interface SecretDescription {
  name: string;
  arn: string;
  /** The version holding AWSCURRENT. */
  currentVersionId: string | undefined;
  lastChanged: Date | undefined;
}

export interface SecretStore {
  /** By name or ARN; HalyardError E_SECRET_NOT_FOUND / E_SECRET_DENIED naming the secret. */
  getSecretValue(secretId: string): Promise<SecretValue>;
  describeSecret(secretId: string): Promise<SecretDescription>;
}

export function sdkSecretStore(options: AwsClientOptions = {}, client: SecretsManagerClient = createSecretsManagerClient(options)): SecretStore {
  return {
    async getSecretValue(secretId) {
      await resolvedRegion(client);
      try {
        const out = await client.send(new GetSecretValueCommand({ SecretId: secretId }));
        return { name: out.Name ?? secretId, arn: out.ARN ?? '', versionId: out.VersionId ?? '', text: out.SecretString };
      } catch (error) {
        throw await secretError(client, secretId, error);
      }
    },
    async describeSecret(secretId) {
      await resolvedRegion(client);
      try {
        const out = await client.send(new DescribeSecretCommand({ SecretId: secretId }));
        const current = Object.entries(out.VersionIdsToStages ?? {}).find(([, stages]) => stages.includes('AWSCURRENT'))?.[0];
        return { name: out.Name ?? secretId, arn: out.ARN ?? '', currentVersionId: current, lastChanged: out.LastChangedDate };
      } catch (error) {
        throw await secretError(client, secretId, error);
      }
    },
  };
}

async function secretError(client: SecretsManagerClient, secretId: string, error: unknown): Promise<HalyardError> {
  const region = await client.config.region().catch(() => 'unknown region');
  if (isAwsError(error, 'ResourceNotFoundException')) {
    return new HalyardError('E_SECRET_NOT_FOUND', `AWS secret "${secretId}" not found in Secrets Manager (${region})`, { cause: error });
  }
  if (isAwsError(error, 'AccessDeniedException')) {
    return new HalyardError('E_SECRET_DENIED', `access denied to AWS secret "${secretId}" in Secrets Manager (${region}); the identity needs secretsmanager:GetSecretValue on it`, {
      cause: error,
    });
  }
  return awsFailure(`reading AWS secret "${secretId}"`, error, 'E_SECRET_FETCH');
}

/** "name" or "name#key", as written in inventories. */
function refText(name: string, jsonKey: string | undefined): string {
  return jsonKey === undefined ? name : `${name}#${jsonKey}`;
}

/**
 * Turns a stored value into a Secret: the whole SecretString, or one key of its JSON object
 * (strings as they are, numbers and booleans as text, objects and arrays as JSON).
 */
export function secretFromValue(value: SecretValue, secretId: string, jsonKey: string | undefined): Secret {
  const label = `aws_secret ${refText(secretId, jsonKey)}`;
  if (value.text === undefined) {
    throw new HalyardError('E_SECRET_BINARY', `AWS secret "${secretId}" holds binary data; halyard reads text (SecretString) secrets`);
  }
  if (jsonKey === undefined) return new Secret(value.text, label);
  let parsed: unknown;
  try {
    parsed = JSON.parse(value.text);
  } catch {
    parsed = undefined;
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new HalyardError('E_SECRET_KEY', `AWS secret "${secretId}" is not a JSON object, so its key "${jsonKey}" cannot be read`);
  }
  const record = parsed as Record<string, unknown>;
  if (!Object.prototype.hasOwnProperty.call(record, jsonKey)) {
    const keys = Object.keys(record).sort();
    throw new HalyardError(
      'E_SECRET_KEY',
      `AWS secret "${secretId}" has no JSON key "${jsonKey}" (its keys: ${keys.length > 0 ? keys.join(', ') : 'none'})`,
    );
  }
  const field = record[jsonKey];
  const text = typeof field === 'string' ? field : JSON.stringify(field);
  return new Secret(text, label);
}

/** Reads one secret (optionally one JSON key of it) as a Secret, without caching. */
export async function fetchSecret(store: SecretStore, secretId: string, jsonKey?: string): Promise<Secret> {
  return secretFromValue(await store.getSecretValue(secretId), secretId, jsonKey);
}

/**
 * A per-run fetcher for `SecretRef`s (the engine's SecretFetcher): each secret is read from the
 * store once, however many refs and keys use it; concurrent requests share the one call.
 */
export class SecretCache {
  readonly #store: SecretStore;
  readonly #values = new Map<string, Promise<SecretValue>>();

  constructor(store: SecretStore) {
    this.#store = store;
  }

  /** How many distinct secrets were requested from the store. */
  get fetchCount(): number {
    return this.#values.size;
  }

  async get(secretId: string, jsonKey?: string): Promise<Secret> {
    let pending = this.#values.get(secretId);
    if (!pending) {
      pending = this.#store.getSecretValue(secretId);
      this.#values.set(secretId, pending);
    }
    return secretFromValue(await pending, secretId, jsonKey);
  }

  /** Bound form for `resolveSecretRefs(hosts, cache.fetcher)`. */
  readonly fetcher = (ref: SecretRef): Promise<Secret> => this.get(ref.name, ref.jsonKey);
}

/** A fetcher over Secrets Manager with the default credential chain, cached for one run. */
export function createSecretFetcher(options: AwsClientOptions = {}): SecretCache {
  return new SecretCache(sdkSecretStore(options));
}

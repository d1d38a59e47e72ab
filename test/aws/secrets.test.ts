import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { SecretCache, createSecretFetcher, fetchSecret, sdkSecretStore } from '../../src/aws/secrets.js';
import { HalyardError } from '../../src/core/errors.js';
import { SecretRef, awsSecret, isSecretRef } from '../../src/core/secret-ref.js';
import { SECRET_MASK, isSecret } from '../../src/core/secret.js';
import { resolveSecretRefs } from '../../src/engine/resolve-secrets.js';
import { redactorForHosts } from '../../src/engine/prepare-run.js';
import { connectTargetOf } from '../../src/engine/ssh-link.js';
import { loadInventory } from '../../src/inventory/index.js';
import { formatInventory } from '../../src/inventory/list.js';
import type { Host } from '../../src/inventory/types.js';
import { useEmulatorEnv } from '../support/aws-emulator/index.js';
import { useAwsEmulator } from '../support/aws-emulator/per-file.js';

// src/aws/secrets.ts against the emulator's Secrets Manager, through the SDK's default chain.

const aws = useAwsEmulator();

async function rejection(promise: Promise<unknown>): Promise<HalyardError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(HalyardError);
  return error as HalyardError;
}

describe('secret store', () => {
  it('reads a whole secret or one JSON key as a Secret that never prints its value', async () => {
    aws.putSecret('prod/grafana', { admin_password: 'gr@fana-pw', port: 3000, nested: { a: 1 } });
    aws.putSecret('prod/plain', 'plain-value-123');
    const store = sdkSecretStore();
    const password = await fetchSecret(store, 'prod/grafana', 'admin_password');
    expect(isSecret(password)).toBe(true);
    expect(password.reveal()).toBe('gr@fana-pw');
    expect(String(password)).toBe(SECRET_MASK);
    expect(JSON.stringify({ password })).toBe(`{"password":"${SECRET_MASK}"}`);
    expect(inspect(password)).toBe('Secret(aws_secret prod/grafana#admin_password)');
    expect((await fetchSecret(store, 'prod/grafana', 'port')).reveal()).toBe('3000');
    expect((await fetchSecret(store, 'prod/grafana', 'nested')).reveal()).toBe('{"a":1}');
    expect((await fetchSecret(store, 'prod/plain')).reveal()).toBe('plain-value-123');
  });

  it('finds a secret by ARN and describes its current version', async () => {
    const { arn, versionId } = aws.putSecret('prod/db', 'v1');
    const store = sdkSecretStore();
    expect((await store.getSecretValue(arn)).text).toBe('v1');
    const rotated = aws.putSecret('prod/db', 'v2');
    const described = await store.describeSecret('prod/db');
    expect(described).toMatchObject({ name: 'prod/db', arn, currentVersionId: rotated.versionId });
    expect(described.currentVersionId).not.toBe(versionId);
    expect((await store.getSecretValue('prod/db')).text).toBe('v2');
  });

  it('a missing secret is E_SECRET_NOT_FOUND naming it', async () => {
    const error = await rejection(fetchSecret(sdkSecretStore(), 'prod/missing'));
    expect(error.code).toBe('E_SECRET_NOT_FOUND');
    expect(error.message).toBe('AWS secret "prod/missing" not found in Secrets Manager (us-east-1)');
  });

  it('denied access is E_SECRET_DENIED naming it', async () => {
    aws.putSecret('prod/locked', 'top-secret-value');
    aws.denySecret('prod/locked');
    const error = await rejection(fetchSecret(sdkSecretStore(), 'prod/locked'));
    expect(error.code).toBe('E_SECRET_DENIED');
    expect(error.message).toContain('"prod/locked"');
    expect(error.message).not.toContain('top-secret-value');
  });

  it('a missing JSON key or a value that is not JSON names the secret, never the value', async () => {
    aws.putSecret('prod/app', { user: 'app', password: 'hunter2-value' });
    aws.putSecret('prod/text', 'not-json-value');
    const store = sdkSecretStore();
    const key = await rejection(fetchSecret(store, 'prod/app', 'passwd'));
    expect(key.code).toBe('E_SECRET_KEY');
    expect(key.message).toBe('AWS secret "prod/app" has no JSON key "passwd" (its keys: password, user)');
    const text = await rejection(fetchSecret(store, 'prod/text', 'password'));
    expect(text.code).toBe('E_SECRET_KEY');
    expect(text.message).not.toContain('not-json-value');
  });

  it('wrong credentials give a one-line error naming the secret', async () => {
    const restore = useEmulatorEnv(aws, { AWS_SECRET_ACCESS_KEY: 'wrong' });
    try {
      const error = await rejection(fetchSecret(sdkSecretStore(), 'prod/db'));
      expect(error.code).toBe('E_SECRET_FETCH');
      expect(error.message).toMatch(/^reading AWS secret "prod\/db": InvalidSignatureException: /);
    } finally {
      restore();
    }
  });

  it('no region anywhere is E_AWS_REGION', async () => {
    const restore = useEmulatorEnv(aws, { AWS_REGION: '', AWS_CONFIG_FILE: '/nonexistent/halyard-test-config' });
    delete process.env.AWS_REGION;
    try {
      const error = await rejection(fetchSecret(sdkSecretStore(), 'prod/db'));
      expect(error.code).toBe('E_AWS_REGION');
    } finally {
      restore();
    }
  });

  it('throttling is retried', async () => {
    aws.putSecret('prod/busy', 'v');
    aws.failNext({ service: 'secretsmanager', kind: 'throttle', count: 2 });
    expect((await fetchSecret(sdkSecretStore(), 'prod/busy')).reveal()).toBe('v');
  });
});

describe('per-run fetcher', () => {
  it('fetches each secret once however many refs, keys and hosts use it', async () => {
    aws.putSecret('prod/grafana', { admin_password: 'g-pw', secret_key: 'g-key' });
    aws.putSecret('prod/postgres', 'pg-pw');
    const host = (name: string, vars: Record<string, unknown>): Host => ({
      name,
      address: name,
      port: 22,
      user: undefined,
      privateKeyFile: undefined,
      become: false,
      becomePassword: undefined,
      groups: ['all'],
      vars,
    });
    const hosts = [
      host('a', { grafana: { admin_password: awsSecret('prod/grafana', 'admin_password'), secret_key: awsSecret('prod/grafana', 'secret_key') } }),
      host('b', { db: SecretRef.parse('prod/postgres'), same: awsSecret('prod/grafana', 'admin_password') }),
    ];
    const cache = createSecretFetcher();
    expect(await resolveSecretRefs(hosts, cache.fetcher)).toBe(3);
    expect(aws.countRequests({ service: 'secretsmanager', operation: 'GetSecretValue' })).toBe(2);
    expect(cache.fetchCount).toBe(2);
    const grafana = hosts[0]!.vars.grafana as Record<string, { reveal(): string }>;
    expect(grafana.admin_password!.reveal()).toBe('g-pw');
    expect(grafana.secret_key!.reveal()).toBe('g-key');
    expect((hosts[1]!.vars.db as { reveal(): string }).reveal()).toBe('pg-pw');
    expect(JSON.stringify(hosts.map((h) => h.vars))).not.toMatch(/g-pw|g-key|pg-pw/);
  });

  it('a sudo password given as !aws_secret: read as a reference, listed as one, fetched for connecting (alone, for exec/backups) into the become password', async () => {
    aws.putSecret('prod/sudo', { password: 'sudo-pw-from-aws' });
    aws.putSecret('prod/app', 'app-value');
    const dir = mkdtempSync(join(tmpdir(), 'hy-sudo-ref-'));
    const file = join(dir, 'inventory.yml');
    writeFileSync(file, 'all:\n  hosts:\n    web1:\n      ansible_become: true\n      ansible_become_password: !aws_secret prod/sudo#password\n      app_token: !aws_secret prod/app\n');
    const inventory = await loadInventory(file);
    const [web1] = inventory.hosts;
    expect(web1?.becomePassword).toBeUndefined();
    expect(web1?.becomePasswordRef?.toString()).toBe('prod/sudo#password');
    expect(formatInventory(inventory, { json: false })).toContain('become: yes (password !aws_secret prod/sudo#password)');
    // Connecting before the fetch is refused, never a reference sent to sudo as a password.
    expect(() => connectTargetOf(web1!)).toThrow(/E_SECRET_UNRESOLVED|the sudo password !aws_secret prod\/sudo#password was not fetched/);

    // exec, facts, backups and probes fetch what connecting needs, and nothing else.
    expect(await resolveSecretRefs(inventory.hosts, createSecretFetcher().fetcher, 'connection')).toBe(1);
    expect(aws.countRequests({ service: 'secretsmanager', operation: 'GetSecretValue' })).toBe(1);
    expect(web1?.becomePassword?.reveal()).toBe('sudo-pw-from-aws');
    expect(web1?.becomePasswordRef).toBeUndefined();
    expect(isSecretRef(web1?.vars.app_token)).toBe(true);
    expect(connectTargetOf(web1!).becomePassword?.reveal()).toBe('sudo-pw-from-aws');
    expect(redactorForHosts(inventory.hosts).redact('sudo said sudo-pw-from-aws')).toBe(`sudo said ${SECRET_MASK}`);

    // apply fetches every reference in the vars, the sudo password among them.
    const again = await loadInventory(file);
    expect(await resolveSecretRefs(again.hosts, createSecretFetcher().fetcher, 'vars')).toBe(2);
    expect(again.hosts[0]?.becomePassword?.reveal()).toBe('sudo-pw-from-aws');
    expect((again.hosts[0]?.vars.app_token as { reveal(): string }).reveal()).toBe('app-value');
  });

  it('concurrent requests for one secret share one call; a failure fails every ref to it', async () => {
    aws.putSecret('prod/shared', { a: '1', b: '2' });
    const cache = new SecretCache(sdkSecretStore());
    const values = await Promise.all([cache.get('prod/shared', 'a'), cache.get('prod/shared', 'b'), cache.get('prod/shared', 'a')]);
    expect(values.map((v) => v.reveal())).toEqual(['1', '2', '1']);
    expect(aws.countRequests({ operation: 'GetSecretValue' })).toBe(1);
    await rejection(cache.get('prod/none'));
    await rejection(cache.get('prod/none', 'x'));
    expect(aws.countRequests({ operation: 'GetSecretValue' })).toBe(2);
  });
});

import { isSecretRef, type SecretRef } from '../core/secret-ref.js';
import type { Secret } from '../core/secret.js';
import type { Host } from '../inventory/types.js';

// Fetches one secret by reference (AWS Secrets Manager in production, a fake in tests).
export type SecretFetcher = (ref: SecretRef) => Promise<Secret>;

// Which references a command fetches: every one in the hosts' vars (apply, drift: tasks read
// vars), or only what connecting needs (exec, facts, backups, probes: the sudo password).
export type SecretScope = 'vars' | 'connection';

// Replaces every SecretRef in the hosts' vars by its value (and a sudo password given as one),
// fetching each distinct reference once per run.
export async function resolveSecretRefs(hosts: Host[], fetch: SecretFetcher, scope: SecretScope = 'vars'): Promise<number> {
  const refs = new Map<string, SecretRef>();
  for (const host of hosts) {
    if (scope === 'vars') collectRefs(host.vars, refs);
    if (host.becomePasswordRef) refs.set(host.becomePasswordRef.toString(), host.becomePasswordRef);
  }
  if (refs.size === 0) return 0;
  const values = new Map<string, Secret>();
  // Sequential keeps the error deterministic (the first missing secret in inventory order).
  for (const [key, ref] of refs) values.set(key, await fetch(ref));
  for (const host of hosts) {
    if (scope === 'vars') host.vars = replaceRefs(host.vars, values) as Record<string, unknown>;
    if (host.becomePasswordRef) {
      host.becomePassword = values.get(host.becomePasswordRef.toString());
      delete host.becomePasswordRef;
    }
  }
  return refs.size;
}

// Whether these hosts hold a reference the scope fetches (so whether the AWS SDK is needed at all).
export function needsSecrets(hosts: readonly Host[], scope: SecretScope): boolean {
  return hosts.some((host) => host.becomePasswordRef !== undefined || (scope === 'vars' && containsSecretRef(host.vars)));
}

// Fetches what the scope needs from AWS Secrets Manager, loading the SDK only when a reference exists.
export async function fetchHostSecrets(hosts: Host[], scope: SecretScope): Promise<number> {
  if (!needsSecrets(hosts, scope)) return 0;
  const { createSecretFetcher } = await import('../aws/secrets.js');
  return resolveSecretRefs(hosts, createSecretFetcher().fetcher, scope);
}

// Whether a vars tree holds a secret reference anywhere.
function containsSecretRef(value: unknown): boolean {
  if (isSecretRef(value)) return true;
  if (Array.isArray(value)) return value.some(containsSecretRef);
  if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.values(value).some(containsSecretRef);
  }
  return false;
}

function collectRefs(value: unknown, into: Map<string, SecretRef>): void {
  if (isSecretRef(value)) {
    into.set(value.toString(), value);
    return;
  }
  if (Array.isArray(value)) for (const item of value) collectRefs(item, into);
  else if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    for (const child of Object.values(value)) collectRefs(child, into);
  }
}

function replaceRefs(value: unknown, values: Map<string, Secret>): unknown {
  if (isSecretRef(value)) return values.get(value.toString());
  if (Array.isArray(value)) return value.map((item) => replaceRefs(item, values));
  if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    const out: Record<string, unknown> = {};
    for (const [key, child] of Object.entries(value)) {
      // defineProperty: a var named "__proto__" must stay a plain key.
      Object.defineProperty(out, key, { value: replaceRefs(child, values), enumerable: true, writable: true, configurable: true });
    }
    return out;
  }
  return value;
}

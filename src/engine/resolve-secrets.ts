import { isSecretRef, type SecretRef } from '../core/secret-ref.js';
import type { Secret } from '../core/secret.js';
import type { Host } from '../inventory/types.js';

// Fetches one secret by reference (AWS Secrets Manager in production, a fake in tests).
export type SecretFetcher = (ref: SecretRef) => Promise<Secret>;

// Replaces every SecretRef in the hosts' vars by its value, fetching each distinct reference once per run.
export async function resolveSecretRefs(hosts: Host[], fetch: SecretFetcher): Promise<number> {
  const refs = new Map<string, SecretRef>();
  for (const host of hosts) collectRefs(host.vars, refs);
  if (refs.size === 0) return 0;
  const values = new Map<string, Secret>();
  // Sequential keeps the error deterministic (the first missing secret in inventory order).
  for (const [key, ref] of refs) values.set(key, await fetch(ref));
  for (const host of hosts) host.vars = replaceRefs(host.vars, values) as Record<string, unknown>;
  return refs.size;
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

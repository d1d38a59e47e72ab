import { Secret, isSecret } from '../core/secret.js';
import { isSecretRef } from '../core/secret-ref.js';
import { setOwn } from './own-property.js';

/** Label given by the `!secret` YAML tag before the value learns its var name. */
export const TAGGED_SECRET_LABEL = '!secret';

const SECRET_NAME_PATTERN = /(password|passwd|secret|token|api_key|private_key)$/i;

// Connection passwords whose Ansible names do not end in "password" but are secrets all the same.
const ALWAYS_SECRET_NAMES = new Set([
  'ansible_become_pass',
  'ansible_sudo_pass',
  'ansible_ssh_pass',
  'ansible_pass',
  'halyard_become_password',
]);

// Decides by name alone whether a var holds a secret, so a plain `db_password: x` is never printed.
export function looksLikeSecretName(name: string): boolean {
  if (/_file$/i.test(name)) return false;
  return ALWAYS_SECRET_NAMES.has(name) || SECRET_NAME_PATTERN.test(name);
}

// looksLikeSecretName per var name, remembered: the same few names recur on every host.
const secretNameMemo = new Map<string, boolean>();
function secretName(name: string): boolean {
  let secret = secretNameMemo.get(name);
  if (secret === undefined) {
    secret = looksLikeSecretName(name);
    if (secretNameMemo.size < 10_000) secretNameMemo.set(name, secret);
  }
  return secret;
}

// Wraps every secret var of one vars block; `extraSecretNames` come from `halyard_secret_vars`.
// Keys are checked at every depth, so `app: {api_token: x}` is as secret as a top-level api_token.
export function markSecretVars(
  vars: Record<string, unknown>,
  extraSecretNames: ReadonlySet<string>,
): Record<string, unknown> {
  // Vars of plain values only, none secret (most hosts of a large inventory), are kept as they are:
  // there is nothing to wrap and nothing nested another host could share.
  if (Object.entries(vars).every(([key, value]) => (value === null || typeof value !== 'object') && !secretName(key) && !extraSecretNames.has(key))) return vars;
  return markTree(vars, '', extraSecretNames) as Record<string, unknown>;
}

function markTree(value: unknown, label: string, extraSecretNames: ReadonlySet<string>): unknown {
  // References stay references; the run resolves them into Secrets.
  if (isSecretRef(value)) return value;
  if (isSecret(value)) return value.label === TAGGED_SECRET_LABEL ? new Secret(value.reveal(), label) : value;
  if (Array.isArray(value)) return value.map((item, index) => markTree(item, `${label}[${index}]`, extraSecretNames));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, child] of Object.entries(value as Record<string, unknown>)) {
      const secretByName = secretName(key) || extraSecretNames.has(key);
      // A plain leaf needs no label (most vars of most hosts): the string is built only when used.
      const plainLeaf = !secretByName && (child === null || typeof child !== 'object');
      const childLabel = plainLeaf ? '' : label === '' ? key : `${label}.${key}`;
      setOwn(out, key, plainLeaf ? child : secretByName ? toSecretTree(child, childLabel) : markTree(child, childLabel, extraSecretNames));
    }
    return out;
  }
  return value;
}

// Turns every leaf of a secret var into a Secret; null stays null (an unset secret is not a value).
function toSecretTree(value: unknown, label: string): unknown {
  if (value === null || value === undefined || isSecretRef(value)) return value;
  if (isSecret(value)) return value.label === TAGGED_SECRET_LABEL ? new Secret(value.reveal(), label) : value;
  if (Array.isArray(value)) return value.map((item, index) => toSecretTree(item, `${label}[${index}]`));
  if (typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, child] of Object.entries(value as Record<string, unknown>)) {
      setOwn(out, key, toSecretTree(child, `${label}.${key}`));
    }
    return out;
  }
  return new Secret(String(value), label);
}

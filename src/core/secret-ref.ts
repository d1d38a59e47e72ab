// A reference to a secret kept in AWS Secrets Manager, resolved on the controller once per run.

/** Brand shared by every copy of this module, as for Secret. */
const SECRET_REF_BRAND = Symbol.for('halyard.secret-ref');

// Names a secret (and optionally one key of its JSON value); prints as a reference, never a value.
export class SecretRef {
  readonly name: string;
  readonly jsonKey: string | undefined;
  readonly [SECRET_REF_BRAND] = true;

  constructor(name: string, jsonKey?: string) {
    if (!name.trim()) throw new Error('a secret reference needs a secret name');
    this.name = name;
    this.jsonKey = jsonKey === '' ? undefined : jsonKey;
  }

  /** "name" or "name#key", the form written in inventories (`!aws_secret prod/db#password`). */
  toString(): string {
    return this.jsonKey === undefined ? this.name : `${this.name}#${this.jsonKey}`;
  }

  toJSON(): string {
    return `!aws_secret ${this.toString()}`;
  }

  // Parses "name#key" (the last '#' splits; names may hold '/' and other ARN characters).
  static parse(text: string): SecretRef {
    const at = text.lastIndexOf('#');
    return at < 0 ? new SecretRef(text.trim()) : new SecretRef(text.slice(0, at).trim(), text.slice(at + 1).trim());
  }
}

// Whether a value is a SecretRef from any copy of this module.
export function isSecretRef(value: unknown): value is SecretRef {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[SECRET_REF_BRAND] === true;
}

// A secret in AWS Secrets Manager, for playbook vars: awsSecret('prod/grafana', 'admin_password').
export function awsSecret(name: string, jsonKey?: string): SecretRef {
  return new SecretRef(name, jsonKey);
}

import { inspect } from 'node:util';

/** The text printed wherever a secret value would otherwise appear. */
export const SECRET_MASK = '********';

/** Brand shared by every copy of this module (a playbook may load its own copy of halyard). */
const SECRET_BRAND = Symbol.for('halyard.secret');

// A secret is a type, not a string: every printer (logs, JSON, diffs, errors) sees only the mask.
export class Secret {
  readonly #value: string;
  /** Where the value came from (a var name or a secret id), safe to print. */
  readonly label: string;
  readonly [SECRET_BRAND] = true;

  constructor(value: string, label = 'secret') {
    this.#value = value;
    this.label = label;
  }

  /** The only way to read the value; call it at the last moment, never to print. */
  reveal(): string {
    return this.#value;
  }

  toString(): string {
    return SECRET_MASK;
  }

  toJSON(): string {
    return SECRET_MASK;
  }

  [inspect.custom](): string {
    return `Secret(${this.label})`;
  }
}

// Type guard used by renderers and redactors that walk arbitrary var trees.
export function isSecret(value: unknown): value is Secret {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[SECRET_BRAND] === true;
}

// Secret-aware text: templates may mix plain strings and secrets; reveal only when laying down.
export type MaybeSecret = string | Secret;

// Reads the value of a string or a secret; for code that must send the real bytes to a host.
export function revealText(value: MaybeSecret): string {
  return isSecret(value) ? value.reveal() : value;
}

// Collects every secret value of a run and masks any occurrence in free text (stderr, diffs).
export class Redactor {
  readonly #values = new Set<string>();

  add(value: Secret | string): void {
    const text = isSecret(value) ? value.reveal() : value;
    // Very short values would mask ordinary words; they are still never printed by type.
    if (text.length >= 3) this.#values.add(text);
  }

  /** Adds every Secret found anywhere inside a vars tree. */
  addAll(tree: unknown, seen = new Set<unknown>()): void {
    if (isSecret(tree)) {
      this.add(tree);
      return;
    }
    if (tree === null || typeof tree !== 'object' || seen.has(tree)) return;
    seen.add(tree);
    for (const child of Object.values(tree as Record<string, unknown>)) this.addAll(child, seen);
  }

  redact(text: string): string {
    let out = text;
    // Longest first so a secret containing another is masked whole.
    const values = [...this.#values].sort((a, b) => b.length - a.length);
    for (const value of values) {
      if (out.includes(value)) out = out.split(value).join(SECRET_MASK);
    }
    return out;
  }

  get size(): number {
    return this.#values.size;
  }
}

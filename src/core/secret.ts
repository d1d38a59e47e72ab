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

/** What replaces a line holding a secret too short or too common to mask in place. */
export const WITHHELD_LINE = '[line withheld: it may hold a secret too short to mask]';

// Words so common in output that masking them would point at the secret (a secret "the" masked
// every "the"): such secrets, like 1-3 character ones and short numbers, are never masked in place.
const COMMON_WORDS = new Set(
  (
    'the and for are but not you all any can had her was one our out day get has him his how man new now old see two way who boy did its let put say she too use ' +
    'a an as at be by do go if in is it me my no of on or so to up us we ok yes true false null none nil off undefined ' +
    'admin root user users guest test tests demo password passwd pass secret token key login default changeme example sample ' +
    'error errors warn warning info debug file files host hosts name value data path port task tasks run runs failed changed ' +
    'this that with from have will your what when where which there their they them then than were been being into only also'
  ).split(' '),
);

// Whether a value can be masked wherever it occurs without giving itself away.
export function maskableInPlace(value: string): boolean {
  if (value.length < 4) return false;
  if (/^\d{1,5}$/.test(value)) return false;
  return !COMMON_WORDS.has(value.toLowerCase());
}

// Collects every secret value of a run and hides it in free text (stderr, diffs, labels):
// values long and rare enough are masked where they occur, each line of a multi-line secret on
// its own too; a value too short or too common to mask is never printed: a line holding it as a
// word is withheld whole (WITHHELD_LINE). Redact before shortening: a cut value is not found.
export class Redactor {
  readonly #maskable = new Set<string>();
  readonly #withheld = new Set<string>();
  /** #maskable longest first, sorted once per add rather than per redact (a fleet with a secret per host redacts per task). */
  #longestFirst: string[] | undefined;

  add(value: Secret | string): void {
    const text = isSecret(value) ? value.reveal() : value;
    if (text.trim() === '') return;
    this.#longestFirst = undefined;
    if (maskableInPlace(text)) this.#maskable.add(text);
    else this.#withheld.add(text);
    if (!text.includes('\n')) return;
    // Each line of a multi-line secret, where a label or a tail shows only one of them; short
    // lines of such a value ("}", "-----") are structure, not secret.
    for (const line of text.split('\n').map((part) => part.trim())) if (maskableInPlace(line)) this.#maskable.add(line);
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
    this.#longestFirst ??= [...this.#maskable].sort((a, b) => b.length - a.length);
    for (const value of this.#longestFirst) {
      if (out.includes(value)) out = out.split(value).join(SECRET_MASK);
    }
    if (this.#withheld.size === 0) return out;
    return out
      .split('\n')
      .map((line) => ([...this.#withheld].some((value) => holdsAsWord(line, value)) ? WITHHELD_LINE : line))
      .join('\n');
  }

  get size(): number {
    return this.#maskable.size + this.#withheld.size;
  }
}

// Whether `value` occurs in `line` not inside a longer word (letters and digits around it).
function holdsAsWord(line: string, value: string): boolean {
  for (let at = line.indexOf(value); at >= 0; at = line.indexOf(value, at + 1)) {
    const before = at === 0 ? '' : line[at - 1] ?? '';
    const after = line[at + value.length] ?? '';
    if (!/[\p{L}\p{N}]/u.test(before) && !/[\p{L}\p{N}]/u.test(after)) return true;
  }
  return false;
}

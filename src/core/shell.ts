import { isSecret } from './secret.js';
import { isSecretRef } from './secret-ref.js';
import { isSecretText } from './template.js';

// One quoting function for every value that enters a shell script: POSIX single quotes.
// Works for any byte sequence except NUL (which no shell argument can hold).
export function quote(value: string): string {
  if (value.includes('\0')) throw new Error('a shell argument cannot contain a NUL byte');
  if (value !== '' && /^[A-Za-z0-9_@%+:,./-]+$/.test(value)) return value;
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** Brand shared by every copy of this module (a playbook may load its own copy of halyard), as for Secret. */
const SHELL_SCRIPT_BRAND = Symbol.for('halyard.shell-script');
/** Only this module makes scripts: a ShellScript's text is either quoted values or code someone vouched for. */
const MAKE_SCRIPT = Symbol('make a ShellScript');

// Shell text in which every value was quoted by `sh`: safe to run, and inserted as is into another sh`...`.
export class ShellScript {
  readonly text: string;
  readonly [SHELL_SCRIPT_BRAND] = true;

  constructor(token: typeof MAKE_SCRIPT, text: string) {
    if (token !== MAKE_SCRIPT) throw new TypeError('a ShellScript is made with sh`...` or sh.trusted(...), not new ShellScript()');
    this.text = text;
    Object.freeze(this);
  }

  toString(): string {
    return this.text;
  }

  /** JSON and test snapshots show the script itself. */
  toJSON(): string {
    return this.text;
  }
}

// Whether a value is a ShellScript from any copy of this module.
export function isShellScript(value: unknown): value is ShellScript {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[SHELL_SCRIPT_BRAND] === true;
}

// One word for `sh`: a string or number is quoted, a script goes in as is.
export type ShellWord = string | number | bigint | ShellScript;
// What `sh` takes between `${}`: a word, or a list of words (each rendered as a word, space-separated; none gives '').
export type ShellValue = ShellWord | readonly ShellWord[];

// Builds a shell script as data: `sh\`rm -f -- ${path}\``; every value is quoted, a Secret is refused,
// and so is a value written inside the template's own quotes (a script may go there).
// It follows quotes, backslashes, `$(...)` and comments, not here-document bodies: a quote in a body
// would throw it off for the values after it in the same template, so a body goes in as a script of
// its own (sh.trusted, joined with sh.lines), as halyard's own here-documents do.
export interface ShellTag {
  (strings: TemplateStringsArray, ...values: readonly ShellValue[]): ShellScript;
  /**
   * The escape hatch: shell code the caller vouches for, inserted unquoted. Only for constant
   * fragments and for text that is shell code by design (a user's command snippet, a Fact's
   * script); never for a value.
   */
  trusted(code: string): ShellScript;
  /** Values rendered as `${}` renders them (words quoted, scripts as is), joined by a separator. */
  join(values: readonly ShellValue[], separator: ShellScript): ShellScript;
  /** Values joined by newlines: one command per line. */
  lines(values: readonly ShellValue[]): ShellScript;
}

// Where a bad value sits in a template, for errors: its number and the code just before it.
function position(strings: readonly string[], index: number): string {
  const before = (strings[index] ?? '').split('\n').pop() ?? '';
  const shown = before.length > 40 ? `…${before.slice(-40)}` : before;
  return `value ${index + 1} (after ${JSON.stringify(shown)})`;
}

// Why a secret is refused, and where it goes instead.
const SECRET_ADVICE =
  "secrets never go into a script's text (labels, logs and a streamed step's argv show it); they travel on stdin: " +
  'write them with file({ content }) (the file resource sends the bytes inside the run script on stdin and masks them in output) or pass them as Command.stdin';

// Renders one `${}` value: a word quoted, a list's words quoted and space-joined, a script as is.
function renderValue(value: unknown, where: () => string): string {
  if (Array.isArray(value)) return value.map((item, at) => renderWord(item, () => `element ${at + 1} of ${where()}`, false)).join(' ');
  return renderWord(value, where, true);
}

function renderWord(value: unknown, where: () => string, listAllowed: boolean): string {
  if (isShellScript(value)) return value.text;
  if (typeof value === 'string') return quoteAt(value, where);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError(`sh: ${where()} is the number ${value}, which is no shell word`);
    return quoteAt(String(value), where);
  }
  if (typeof value === 'bigint') return quoteAt(String(value), where);
  if (isSecret(value)) throw new TypeError(`sh: ${where()} is a Secret (${value.label}): ${SECRET_ADVICE}`);
  if (isSecretText(value)) throw new TypeError(`sh: ${where()} is a template holding secrets: ${SECRET_ADVICE}`);
  if (isSecretRef(value)) throw new TypeError(`sh: ${where()} is a secret reference (${value.toString()}): ${SECRET_ADVICE}`);
  const allowed = listAllowed ? 'strings, numbers, lists of them, or sh`...` scripts' : 'strings, numbers or sh`...` scripts';
  throw new TypeError(`sh: ${where()} is ${describeKind(value)}; only ${allowed} can go into a script`);
}

// Names what a refused value is, without printing it.
function describeKind(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a nested list';
  if (typeof value === 'boolean') return `the boolean ${value}`;
  if (typeof value === 'object') return `an object (${(value as object).constructor?.name ?? 'without a prototype'})`;
  return `a ${typeof value}`;
}

function quoteAt(value: string, where: () => string): string {
  if (value.includes('\0')) throw new Error(`sh: ${where()}: a shell argument cannot contain a NUL byte`);
  return quote(value);
}

function makeScript(text: string): ShellScript {
  return new ShellScript(MAKE_SCRIPT, text);
}

// The template's own quoting where a value goes in: 'none' outside quotes, else the quote it is
// inside. `$(` opens a fresh context (quotes inside a command substitution inside "..." are its own);
// `outer` keeps what each open `(` or `$(` returns to.
interface QuoteContext {
  quote: 'none' | 'single' | 'double';
  outer: ('none' | 'single' | 'double' | 'paren')[];
}

// Follows one part of a template's code (quotes, backslashes, `$(...)`, comments) through `context`.
// `afterValue`: the part follows a value directly, so a `#` there continues that word.
function follow(code: string, context: QuoteContext, afterValue: boolean): void {
  for (let at = 0; at < code.length; at++) {
    const char = code[at];
    if (context.quote === 'single') {
      if (char === "'") context.quote = 'none';
    } else if (char === '\\') {
      at++;
    } else if (char === '$' && code[at + 1] === '(') {
      context.outer.push(context.quote);
      context.quote = 'none';
      at++;
    } else if (context.quote === 'double') {
      if (char === '"') context.quote = 'none';
    } else if (char === "'") {
      context.quote = 'single';
    } else if (char === '"') {
      context.quote = 'double';
    } else if (char === '(') {
      context.outer.push('paren');
    } else if (char === ')') {
      // A case pattern's `)` has no `(` to close.
      const outer = context.outer.pop();
      if (outer !== undefined && outer !== 'paren') context.quote = outer;
    } else if (char === '#' && (at === 0 ? !afterValue : /[\s;&|()<>]/.test(code[at - 1] as string))) {
      const end = code.indexOf('\n', at);
      if (end < 0) break;
      at = end;
    }
  }
}

function tag(strings: TemplateStringsArray, ...values: readonly ShellValue[]): ShellScript {
  let text = '';
  const context: QuoteContext = { quote: 'none', outer: [] };
  strings.forEach((code, index) => {
    if (code === undefined) throw new SyntaxError(`sh: part ${index + 1} of the template holds an invalid escape sequence: ${JSON.stringify(strings.raw[index])}`);
    text += code;
    follow(code, context, index > 0);
    if (index >= values.length) return;
    const value = values[index];
    // sh quotes a value itself: inside the template's own quotes its quotes would cancel out ('a b'
    // inside '...' comes out unquoted, so a blank splits it and `$(...)` runs) or stay as text ("...").
    if (context.quote !== 'none' && !isShellScript(value)) {
      throw new TypeError(`sh: ${position(strings, index)} is inside the template's own ${context.quote} quotes; sh quotes every value itself: put it outside them, or in a variable the quoted code reads`);
    }
    text += renderValue(value, () => position(strings, index));
  });
  return makeScript(text);
}

function trusted(code: string): ShellScript {
  if (typeof code !== 'string') throw new TypeError(`sh.trusted takes shell code as a string, got ${code === null ? 'null' : typeof code}`);
  if (code.includes('\0')) throw new Error('sh.trusted: shell code cannot contain a NUL byte');
  return makeScript(code);
}

function join(values: readonly ShellValue[], separator: ShellScript): ShellScript {
  if (!isShellScript(separator)) throw new TypeError('sh.join: the separator must be an sh`...` script (e.g. sh` && `)');
  return makeScript(values.map((value, at) => renderValue(value, () => `value ${at + 1} of sh.join`)).join(separator.text));
}

// The `sh` tag: commands as data. Values are quoted with quote(); scripts compose; secrets stay out.
export const sh: ShellTag = Object.assign(tag, {
  trusted,
  join,
  lines: (values: readonly ShellValue[]) => join(values, makeScript('\n')),
});

// A remote command as data: argv is never joined by hand, only rendered by renderCommand.
export interface Command {
  argv: readonly string[];
  /** Text to send on the command's stdin (inside the remote script, via a quoted here-string). */
  stdin?: string;
}

// Renders argv as one shell command line, each word quoted.
export function renderArgv(argv: readonly string[]): string {
  return sh`${argv}`.text;
}

// Python's ast.literal_eval for the values Ansible reads from INI inventories (its _parse_value):
// text that is a Python literal becomes that value, anything else stays the text it was. Covered:
// str (quotes, prefixes r/u/b, escapes, triple quotes, adjacent strings joined), int (decimal,
// 0x/0o/0b, underscores), float, one sign before a number, True/False/None, list, tuple (a bare
// `1,2` too) and dict, nested; `#` comments. Tuples become arrays and dict keys strings, as they
// reach JSON. Complex numbers and sets are not read (Ansible could not print them either).

/** The value, or undefined when the text is not a literal Python would accept. */
export function pythonLiteral(text: string): { value: unknown } | undefined {
  const parser = new LiteralParser(text.replace(/^[ \t]+/, ''));
  try {
    const value = parser.expression(true);
    parser.skipSpace();
    if (!parser.atEnd()) return undefined;
    return { value: value instanceof PyBytes ? value.text : value };
  } catch (error) {
    if (error instanceof NotLiteral) return undefined;
    throw error;
  }
}

class NotLiteral extends Error {}

// A bytes literal: text inside a container stays apart from str (Ansible turns only a top-level one into text).
class PyBytes {
  constructor(readonly text: string) {}
}

const SIMPLE_ESCAPES: Record<string, string> = { '\n': '', '\\': '\\', "'": "'", '"': '"', a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v' };

class LiteralParser {
  #at = 0;
  constructor(readonly text: string) {}

  atEnd(): boolean {
    return this.#at >= this.text.length;
  }

  skipSpace(): void {
    for (;;) {
      const char = this.text[this.#at];
      if (char === ' ' || char === '\t' || char === '\f') this.#at++;
      else if (char === '#') this.#at = this.text.length;
      else return;
    }
  }

  #fail(): never {
    throw new NotLiteral();
  }

  // expression := item (',' item)* [','] at the top level (a bare tuple); inside brackets, one item.
  expression(top: boolean): unknown {
    const first = this.item();
    if (!top) return first;
    this.skipSpace();
    if (this.text[this.#at] !== ',') return first;
    const items = [first];
    while (this.text[this.#at] === ',') {
      this.#at++;
      this.skipSpace();
      if (this.atEnd()) break;
      items.push(this.item());
      this.skipSpace();
    }
    return items;
  }

  item(): unknown {
    this.skipSpace();
    const char = this.text[this.#at];
    if (char === undefined) this.#fail();
    if (char === '[') return this.#sequence('[', ']');
    if (char === '(') return this.#parenthesized();
    if (char === '{') return this.#dict();
    if (char === '+' || char === '-') {
      this.#at++;
      this.skipSpace();
      const number = this.#number();
      return char === '-' ? -number : number;
    }
    if (/[0-9.]/.test(char)) return this.#number();
    const word = /^[A-Za-z_][A-Za-z0-9_]*/.exec(this.text.slice(this.#at))?.[0];
    if (word !== undefined) {
      const quote = this.text[this.#at + word.length];
      if ((quote === "'" || quote === '"') && /^(?:r|u|b|br|rb)$/i.test(word)) return this.#strings();
      this.#at += word.length;
      if (word === 'True') return true;
      if (word === 'False') return false;
      if (word === 'None') return null;
      this.#fail();
    }
    if (char === "'" || char === '"') return this.#strings();
    this.#fail();
  }

  #sequence(open: string, close: string): unknown[] {
    this.#at++; // open
    const items: unknown[] = [];
    for (;;) {
      this.skipSpace();
      if (this.text[this.#at] === close) {
        this.#at++;
        return items;
      }
      items.push(this.item());
      this.skipSpace();
      if (this.text[this.#at] === ',') this.#at++;
      else if (this.text[this.#at] !== close) this.#fail();
    }
  }

  // (x) is x; (x,) and (x, y) are tuples; () is the empty tuple.
  #parenthesized(): unknown {
    this.#at++;
    this.skipSpace();
    if (this.text[this.#at] === ')') {
      this.#at++;
      return [];
    }
    const first = this.item();
    this.skipSpace();
    if (this.text[this.#at] === ')') {
      this.#at++;
      return first;
    }
    if (this.text[this.#at] !== ',') this.#fail();
    this.#at++;
    const items = [first];
    for (;;) {
      this.skipSpace();
      if (this.text[this.#at] === ')') {
        this.#at++;
        return items;
      }
      items.push(this.item());
      this.skipSpace();
      if (this.text[this.#at] === ',') this.#at++;
      else if (this.text[this.#at] !== ')') this.#fail();
    }
  }

  #dict(): Record<string, unknown> {
    this.#at++;
    const out: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
    // Python keeps the first of equal keys (True == 1 == 1.0) and the last value.
    const written = new Map<unknown, string>();
    for (;;) {
      this.skipSpace();
      if (this.text[this.#at] === '}') {
        this.#at++;
        return out;
      }
      const key = this.item();
      this.skipSpace();
      // `{1, 2}` is a set: not read.
      if (this.text[this.#at] !== ':') this.#fail();
      this.#at++;
      const value = this.item();
      if (Array.isArray(key) || (typeof key === 'object' && key !== null && !(key instanceof PyBytes))) this.#fail();
      const same = typeof key === 'boolean' ? Number(key) : key instanceof PyBytes ? `b:${key.text}` : key;
      const name = written.get(same) ?? jsonKey(key);
      written.set(same, name);
      out[name] = value;
      this.skipSpace();
      if (this.text[this.#at] === ',') this.#at++;
      else if (this.text[this.#at] !== '}') this.#fail();
    }
  }

  #number(): number {
    const rest = this.text.slice(this.#at);
    const radix = /^0([xX](?:_?[0-9a-fA-F])+|[oO](?:_?[0-7])+|[bB](?:_?[01])+)/.exec(rest);
    let match: string;
    let value: number;
    if (radix) {
      match = radix[0];
      const base = { x: 16, o: 8, b: 2 }[match[1]!.toLowerCase() as 'x' | 'o' | 'b'];
      value = parseInt(match.slice(2).replace(/_/g, ''), base);
    } else {
      const digits = '[0-9](?:_?[0-9])*';
      const float = new RegExp(`^(?:(?:${digits})?\\.${digits}|${digits}\\.?)(?:[eE][+-]?${digits})?`).exec(rest);
      if (!float || float[0] === '.') this.#fail();
      match = float[0];
      const plain = match.replace(/_/g, '');
      // Python 3 refuses leading zeros in a non-zero decimal integer (010): not a literal.
      if (/^0+[0-9]/.test(plain) && !/[.eE]/.test(plain) && /[1-9]/.test(plain)) this.#fail();
      value = Number(plain);
    }
    this.#at += match.length;
    // 1j, 1e3j: complex; 1abc: not a number.
    if (/[A-Za-z0-9_]/.test(this.text[this.#at] ?? '')) this.#fail();
    return value;
  }

  // One or more adjacent string literals, joined ('a' "b" is 'ab'); str and bytes do not mix.
  #strings(): string | PyBytes {
    let text = '';
    let bytes: boolean | undefined;
    for (;;) {
      this.skipSpace();
      const prefix = /^(?:[rR][bB]?|[bB][rR]?|[uU])?(?=['"])/.exec(this.text.slice(this.#at))?.[0];
      if (prefix === undefined) break;
      const isBytes = /b/i.test(prefix);
      if (bytes !== undefined && bytes !== isBytes) this.#fail();
      bytes = isBytes;
      this.#at += prefix.length;
      text += this.#string(/r/i.test(prefix));
    }
    if (bytes === undefined) this.#fail();
    return bytes ? new PyBytes(text) : text;
  }

  #string(raw: boolean): string {
    const quote = this.text[this.#at]!;
    const triple = this.text.startsWith(quote.repeat(3), this.#at);
    const end = triple ? quote.repeat(3) : quote;
    this.#at += end.length;
    let out = '';
    for (;;) {
      if (this.atEnd()) this.#fail();
      if (this.text.startsWith(end, this.#at)) {
        this.#at += end.length;
        return out;
      }
      const char = this.text[this.#at]!;
      if (char === '\n' && !triple) this.#fail();
      if (char !== '\\') {
        out += char;
        this.#at++;
        continue;
      }
      const next = this.text[this.#at + 1];
      if (next === undefined) this.#fail();
      if (raw) {
        out += `\\${next}`;
        this.#at += 2;
        continue;
      }
      this.#at += 2;
      if (next in SIMPLE_ESCAPES) out += SIMPLE_ESCAPES[next];
      else if (/[0-7]/.test(next)) {
        const octal = /^[0-7]{0,2}/.exec(this.text.slice(this.#at))![0];
        this.#at += octal.length;
        out += String.fromCodePoint(parseInt(next + octal, 8));
      } else if (next === 'x' || next === 'u' || next === 'U') {
        const size = { x: 2, u: 4, U: 8 }[next];
        const hex = this.text.slice(this.#at, this.#at + size);
        if (!new RegExp(`^[0-9a-fA-F]{${size}}$`).test(hex)) this.#fail();
        const code = parseInt(hex, 16);
        if (code > 0x10ffff) this.#fail();
        out += String.fromCodePoint(code);
        this.#at += size;
      } else if (next === 'N') this.#fail();
      else out += `\\${next}`;
    }
  }
}

// A dict key as json.dumps writes it.
function jsonKey(key: unknown): string {
  if (key === null) return 'null';
  if (typeof key === 'boolean') return key ? 'true' : 'false';
  if (key instanceof PyBytes) return key.text;
  return String(key);
}

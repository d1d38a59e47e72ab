import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { quote, renderArgv } from '../../src/core/shell.js';

describe('quote', () => {
  it.each([
    ['plain', 'plain'],
    ['/opt/observability/loki-data', '/opt/observability/loki-data'],
    ['', "''"],
    ['two words', "'two words'"],
    ["it's", `'it'\\''s'`],
    ['$(touch /tmp/x)', "'$(touch /tmp/x)'"],
    ['`id`', "'`id`'"],
    ['a;b', "'a;b'"],
    ['A=b', "'A=b'"],
    ['line\nbreak', "'line\nbreak'"],
    ['*', "'*'"],
    ['ünï', "'ünï'"],
  ])('quotes %j as %s', (input, expected) => {
    expect(quote(input)).toBe(expected);
  });

  it('refuses NUL, which no shell word can hold', () => {
    expect(() => quote('a\0b')).toThrow(/NUL/);
  });

  it('round-trips hostile words through a real sh byte for byte', () => {
    const words = ["'", '"', '$(touch /tmp/hy-pwned)', '`x`', ';', '\n', '\t', '-n', '\\', 'ü ✓ 日本', '%s', '*', 'A=b'];
    const script = `for w in ${words.map(quote).join(' ')}; do printf '%s\\0' "$w"; done`;
    const out = execFileSync('sh', ['-c', script]).toString('utf8');
    expect(out.split('\0').slice(0, -1)).toEqual(words);
  });

  it('renders argv word by word', () => {
    expect(renderArgv(['printf', '%s', "a b'c"])).toBe(`printf %s 'a b'\\''c'`);
  });
});

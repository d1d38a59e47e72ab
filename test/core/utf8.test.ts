import { describe, expect, test } from 'vitest';
import { decodeUtf8, describeInvalidUtf8 } from '../../src/core/utf8.js';

describe('decodeUtf8', () => {
  test('valid UTF-8, accents and emoji included, decodes as is', () => {
    expect(decodeUtf8(Buffer.from('all:\n  hosts:\n    café-1: {}\n    🚀: {}\n'))).toEqual({ ok: true, text: 'all:\n  hosts:\n    café-1: {}\n    🚀: {}\n' });
  });

  test.each([
    ['a stray byte in a host name', Buffer.concat([Buffer.from('all:\n  hosts:\n    h'), Buffer.from([0xff, 0xfe]), Buffer.from('1: {}\n')]), 3, 6],
    ['a truncated sequence at the end', Buffer.concat([Buffer.from('a: b\n'), Buffer.from([0xe2, 0x82])]), 2, 1],
    ['an overlong encoding', Buffer.concat([Buffer.from('x'), Buffer.from([0xc0, 0xaf])]), 1, 2],
    ['a lone surrogate (CESU)', Buffer.concat([Buffer.from('\n\nk: '), Buffer.from([0xed, 0xa0, 0x80])]), 3, 4],
  ])('%s is refused at its line and column', (_name, bytes, line, column) => {
    const decoded = decodeUtf8(bytes);
    expect(decoded).toMatchObject({ ok: false, line, column });
    if (!decoded.ok) expect(describeInvalidUtf8(decoded)).toMatch(new RegExp(`^not valid UTF-8 at line ${line}, column ${column} \\(byte \\d+\\)`));
  });
});

import { describe, expect, test } from 'vitest';
import { visible, visibleLine } from '../../src/core/visible.js';

describe('visible()', () => {
  test.each([
    ['plain text and unicode stay', 'web-1 | changed | file /etc/café.conf', 'web-1 | changed | file /etc/café.conf'],
    ['newlines and tabs stay', 'a\n\tb', 'a\n\tb'],
    ['ESC of a colour or cursor sequence', '\u001b[2K\u001b[1Aall hosts OK', '\\x1b[2K\\x1b[1Aall hosts OK'],
    ['carriage return (overwrites the line)', 'FAILED\rOK    ', 'FAILED\\x0dOK    '],
    ['OSC title sequence ended by BEL', '\u001b]0;owned\u0007', '\\x1b]0;owned\\x07'],
    ['backspace and DEL', 'x\u0008\u007f', 'x\\x08\\x7f'],
    ['C1 CSI (8-bit escape)', '\u009b2J', '\\x9b2J'],
    ['NUL', 'a\u0000b', 'a\\x00b'],
    ['bidi override (Trojan Source)', 'ok\u202egnp.exe', 'ok\\u202egnp.exe'],
    ['bidi isolate', '\u2066x\u2069', '\\u2066x\\u2069'],
  ])('%s', (_name, input, expected) => {
    expect(visible(input)).toBe(expected);
  });

  test('visibleLine also shows line breaks, for one-line names', () => {
    expect(visibleLine('host\nFAKE RECAP')).toBe('host\\nFAKE RECAP');
  });
});

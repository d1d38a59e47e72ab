// pythonLiteral against Python's own ast.literal_eval (Debian's python3), value by value.
import { describe, expect, it } from 'vitest';
import { pythonLiteral } from '../../src/inventory/python-literal.js';
import { pythonLiteralOracle } from '../support/ansible-oracle.js';

const TEXTS = [
  '8080', '-5', '+7', '0', '00', '010', '0x1F', '0o17', '0b101', '1_000', '1e3', '1.5', '.5', '5.', '1_0.2_5', '-1e-3', '--1', '1j', '1e3j', '12abc',
  'True', 'False', 'None', 'true', 'yes', 'none',
  '"8080"', "'a b'", '"a\\tb"', "'\\x41\\u00e9\\101'", "r'a\\nb'", "b'bytes'", "u'x'", "'a' 'b'", "'''tri'ple'''", '"unterminated', "'mixed\"",
  '[1, 2]', '[1, [2, "x"], {}]', '[]', '()', '(1)', '(1,)', '(1, 2,)', '1,2', '1,', '{"a": 1, "b": [True, None]}', '{1: "x", None: 2, True: 3}', '{1, 2}', '{}',
  '1 # comment', 'foo # comment', '# only', '', ' 7', 'foo', 'a=b', 'http://x/y', '1.2.3.4', '/srv/app', '[1, 2', '{"a" 1}', '1 2',
];

describe('pythonLiteral', () => {
  it('reads every text as Python 3 literal_eval does (Ansible INI values)', () => {
    const oracle = pythonLiteralOracle(TEXTS);
    const ours = TEXTS.map((text) => {
      const read = pythonLiteral(text);
      return read === undefined ? { raw: text } : { value: JSON.parse(JSON.stringify(read.value)) as unknown };
    });
    TEXTS.forEach((text, index) => {
      const expected = oracle[index]!;
      // A set or a complex number has no JSON form: halyard keeps the text (Ansible could not print it).
      if ('unprintable' in expected) expect(ours[index], text).toEqual({ raw: text });
      else expect(ours[index], text).toEqual(expected);
    });
  });
});

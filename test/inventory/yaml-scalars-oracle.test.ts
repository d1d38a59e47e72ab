// Plain YAML scalars as PyYAML types them (what Ansible reads: YAML 1.1 without timestamps), by
// Debian's python3-yaml and by both of halyard's YAML readers (the yaml library's Document and the
// plain-block reader): `1e3` and `09` stay text, `1.5e+3` and `0755` are numbers.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { readPlainBlockYaml } from '../../src/inventory/yaml-fast.js';
import { parseYamlSource } from '../../src/inventory/yaml-source.js';
import { SYSTEM_PYTHON } from '../support/ansible-oracle.js';

const TEXTS = [
  '1e3', '1.5e3', '1.5e+3', '1E-2', '1.0E-2', '1.e+3', '1.0e3', '09', '0755', '0789', '00', '0', '-0', '+12', '012_3',
  '0x1F', '0x_1f', '-0x1F', '0b101', '0b1_0', '0o17', '1_000', '1__0', '_1', '1.', '0.', '.5', '._5', '.5e+1', '1.5_5',
  '+.inf', '-.inf', '.Inf', '.INF', '.NaN', '.nan', '.NAN', '190:20:30', '1:20.5', '-1:30', '1:60', '0:30',
  '12e', '0b', '0x', '1e+3', '3.14', '-3.14', '+3.', '1,000', '1 000', '2001-01-01', '12:30', 'yes', 'y', 'n', 'Off',
  'oN', 'null', 'Null', 'NULL', 'nULL', '~', 'True', 'tRUE', '0.5.1', '10.0.0.1', '1.2.3',
];

// PyYAML's value for `v: TEXT`, with the floats JSON cannot write spelled out.
function pyyaml(texts: string[]): unknown[] {
  const program = [
    'import json, math, sys, yaml',
    'out = []',
    'for t in json.load(sys.stdin):',
    '    v = yaml.safe_load("v: " + t)["v"]',
    '    if isinstance(v, float) and math.isnan(v): v = "<nan>"',
    '    elif isinstance(v, float) and math.isinf(v): v = "<inf>" if v > 0 else "<-inf>"',
    '    elif not isinstance(v, (str, int, float, bool, type(None))): v = "<" + type(v).__name__ + ">"',
    '    out.append(v)',
    'print(json.dumps(out))',
  ].join('\n');
  return JSON.parse(execFileSync(SYSTEM_PYTHON, ['-c', program], { input: JSON.stringify(texts), encoding: 'utf8' })) as unknown[];
}

function comparable(value: unknown): unknown {
  if (typeof value === 'number' && Number.isNaN(value)) return '<nan>';
  if (Object.is(value, -0)) return 0;
  if (value === Infinity) return '<inf>';
  if (value === -Infinity) return '<-inf>';
  return value;
}

describe('plain scalars against PyYAML', () => {
  const expected = pyyaml(TEXTS);
  it.each(TEXTS.map((text, index) => [text, index] as const))('%s', (text, index) => {
    const wanted = expected[index];
    // PyYAML reads dates as dates; halyard keeps the text (Ansible prints them as that text).
    const want = wanted === '<date>' ? text : wanted;
    const document = parseYamlSource(`v: ${text}\n`, 't.yml').doc.toJS() as { v: unknown };
    expect(comparable(document.v), 'yaml library').toEqual(want);
    const plain = readPlainBlockYaml(`v: ${text}\n`, 't.yml');
    expect(plain, 'plain-block reader read it').toBeDefined();
    expect(comparable((plain!.root!.toJS('E') as { v: unknown }).v), 'plain-block reader').toEqual(want);
  });
});

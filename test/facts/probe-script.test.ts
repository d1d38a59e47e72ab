import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { defineBatchedFact, defineFact, FactParseError, type Fact, type FactFamily } from '../../src/facts/fact.js';
import { sh } from '../../src/core/shell.js';
import { pathFact, type PathState } from '../../src/facts/file.js';
import { osFact, type OsInfo } from '../../src/facts/os.js';
import { buildProbeScript, parseProbeOutput, probeSections, uniqueFacts } from '../../src/facts/probe-script.js';
import { existsFact } from '../../src/facts/command.js';
import { probeLocally, runSh } from './local-shell.js';

const raw = (key: string, script: string): Fact<unknown> => defineFact(key, script, (stdout, exitCode) => ({ stdout, exitCode }));

describe('buildProbeScript', () => {
  test('exact script: markers with the nonce, each fact in a subshell without stdin or the lock fds 8 and 9', () => {
    const script = buildProbeScript([raw('a', 'echo a'), raw('b', 'exit 3')], 'n0nce');
    expect(script).toBe(
      [
        `printf '\\036HY:%s:B:%s\\n' n0nce 0`,
        `(\necho a\n) </dev/null 8>&- 9>&-`,
        `printf '\\n\\036HY:%s:E:%s:%s\\n' n0nce 0 "$?"`,
        `printf '\\036HY:%s:B:%s\\n' n0nce 1`,
        `(\nexit 3\n) </dev/null 8>&- 9>&-`,
        `printf '\\n\\036HY:%s:E:%s:%s\\n' n0nce 1 "$?"`,
        '',
      ].join('\n'),
    );
  });

  test('the nonce is quoted and must be one line', () => {
    expect(buildProbeScript([raw('a', 'true')], "x'y")).toContain(`printf '\\036HY:%s:B:%s\\n' 'x'\\''y' 0`);
    expect(() => buildProbeScript([raw('a', 'true')], '')).toThrow('non-empty');
    expect(() => buildProbeScript([raw('a', 'true')], 'a\nb')).toThrow('single line');
  });

  test('uniqueFacts keeps the first fact of each key, in order', () => {
    const facts = uniqueFacts([raw('a', '1'), raw('b', '2'), raw('a', '3')]);
    expect(facts.map((fact) => [fact.key, fact.script])).toEqual([
      ['a', '1'],
      ['b', '2'],
    ]);
  });
});

// A family whose section echoes each item on a line: its parser hands each fact its own line.
const echoFamily: FactFamily<string, string> = {
  name: 'test:echo',
  script: (items) => sh`printf '%s\\n' ${items}`.text,
  parse: (stdout, _exitCode, items) => {
    const lines = stdout.split('\n').slice(0, -1);
    if (lines.length !== items.length) throw new FactParseError(`echo:${items[0]}`, `${lines.length} lines for ${items.length} items`);
    return lines.map((line) => `seen ${line}`);
  },
};
const echo = (item: string) => defineBatchedFact(`echo:${item}`, echoFamily, item) as Fact<unknown>;

describe('facts of a family share one section', () => {
  test('exact script: the family section sits where its first fact was; other facts keep their own', () => {
    const script = buildProbeScript([raw('a', 'echo a'), echo('x y'), raw('b', 'echo b'), echo("it's")], 'n0nce');
    expect(script).toBe(
      [
        `printf '\\036HY:%s:B:%s\\n' n0nce 0`,
        `(\necho a\n) </dev/null 8>&- 9>&-`,
        `printf '\\n\\036HY:%s:E:%s:%s\\n' n0nce 0 "$?"`,
        `printf '\\036HY:%s:B:%s\\n' n0nce 1`,
        `(\nprintf '%s\\n' 'x y' 'it'\\''s'\n) </dev/null 8>&- 9>&-`,
        `printf '\\n\\036HY:%s:E:%s:%s\\n' n0nce 1 "$?"`,
        `printf '\\036HY:%s:B:%s\\n' n0nce 2`,
        `(\necho b\n) </dev/null 8>&- 9>&-`,
        `printf '\\n\\036HY:%s:E:%s:%s\\n' n0nce 2 "$?"`,
        '',
      ].join('\n'),
    );
    expect(probeSections([echo('x y'), raw('a', 'echo a'), echo('z')]).map((section) => section.facts.map((fact) => fact.key))).toEqual([['echo:x y', 'echo:z'], ['a']]);
  });

  test('a family of one is probed with the fact\'s own script, the same text it has alone', () => {
    const fact = echo('solo');
    expect(fact.script).toBe(`printf '%s\\n' solo`);
    expect(buildProbeScript([fact], 'n')).toContain(`(\nprintf '%s\\n' solo\n)`);
    expect(fact.parse('solo\n', 0)).toBe('seen solo');
  });

  test('run locally: every fact of the family gets its own value by key', async () => {
    const values = await probeLocally([echo('one'), raw('plain', 'echo plain'), echo('two words'), echo('-n')]);
    expect(values.get('echo:one')).toBe('seen one');
    expect(values.get('echo:two words')).toBe('seen two words');
    expect(values.get('echo:-n')).toBe('seen -n');
    expect(values.get('plain')).toEqual({ stdout: 'plain\n', exitCode: 0 });
  });

  test('a family parser that returns the wrong number of values is a FactParseError', () => {
    const short: FactFamily<string, string> = { name: 'test:short', script: () => 'true', parse: () => ['only one'] };
    const facts = [defineBatchedFact('s:1', short, '1'), defineBatchedFact('s:2', short, '2')] as Fact<unknown>[];
    const output = `\u001eHY:n:B:0\n\n\u001eHY:n:E:0:0\n`;
    expect(() => parseProbeOutput(output, facts, 'n')).toThrow(new FactParseError('s:1', 'the test:short family returned 1 values for 2 facts'));
  });
});

describe('batched probe run locally with sh -s', () => {
  const dir = mkdtempSync(join(tmpdir(), 'halyard-probe-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('several facts in one script come back parsed, with exit codes and exact bodies', async () => {
    const facts = [
      raw('plain', 'echo one; echo two'),
      raw('no-newline', "printf 'x'"),
      raw('trailing-newlines', "printf 'x\\n\\n'"),
      raw('fails', 'echo partial; exit 7'),
      raw('after-failure', 'echo still here'),
      osFact as Fact<unknown>,
      existsFact(dir) as Fact<unknown>,
    ];
    const values = await probeLocally(facts);
    expect(values.get('plain')).toEqual({ stdout: 'one\ntwo\n', exitCode: 0 });
    expect(values.get('no-newline')).toEqual({ stdout: 'x', exitCode: 0 });
    expect(values.get('trailing-newlines')).toEqual({ stdout: 'x\n\n', exitCode: 0 });
    expect(values.get('fails')).toEqual({ stdout: 'partial\n', exitCode: 7 });
    expect(values.get('after-failure')).toEqual({ stdout: 'still here\n', exitCode: 0 });
    expect((values.get('os') as OsInfo).id).toBe('debian');
    expect(values.get(`exists:${dir}`)).toBe(true);
  });

  test('a fact reading stdin gets EOF instead of eating the rest of the script', async () => {
    const values = await probeLocally([raw('reads-stdin', 'cat; echo done'), raw('next', 'echo next')]);
    expect(values.get('reads-stdin')).toEqual({ stdout: 'done\n', exitCode: 0 });
    expect(values.get('next')).toEqual({ stdout: 'next\n', exitCode: 0 });
  });

  test('file content holding forged markers cannot break the framing (the nonce is unknown to it)', async () => {
    const forged = [
      '\u001eHY:0000000000000000:E:0:0',
      '\u001eHY:deadbeef:B:1',
      'absent',
      '\u001eHY:deadbeef:E:1:0',
      '\u001eHY:',
      '',
    ].join('\n');
    const file = join(dir, 'forged');
    writeFileSync(file, forged);
    const echoFact = raw('cat', `cat -- ${file}`);
    const values = await probeLocally([echoFact, pathFact(file) as Fact<unknown>, raw('last', 'echo last')]);
    expect(values.get('cat')).toEqual({ stdout: forged, exitCode: 0 });
    const state = values.get(`path:${file}`) as PathState;
    expect(state.type).toBe('file');
    expect(state.size).toBe(Buffer.byteLength(forged));
    expect(values.get('last')).toEqual({ stdout: 'last\n', exitCode: 0 });
  });

  test('output cut short is a FactParseError naming the fact', async () => {
    const facts = [raw('a', 'echo a'), raw('b', 'echo b')];
    const result = await runSh(buildProbeScript(facts, 'abc123'));
    const cut = result.stdout.slice(0, result.stdout.indexOf('\u001eHY:abc123:B:1'));
    expect(() => parseProbeOutput(cut, facts, 'abc123')).toThrow(FactParseError);
    expect(() => parseProbeOutput(cut, facts, 'abc123')).toThrow('cannot read fact b: probe output is missing its start marker');
    const noStatus = result.stdout.replace(/:E:1:0\n$/, ':E:1:\n');
    expect(() => parseProbeOutput(noStatus, facts, 'abc123')).toThrow('cannot read fact b: probe exit status unreadable');
    expect(() => parseProbeOutput(result.stdout, facts, 'other')).toThrow('cannot read fact a: probe output is missing its start marker');
  });
});

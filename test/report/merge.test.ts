// `report merge`: result files read back and checked (one line naming the file and what is wrong),
// slices merged into one result whose recap sums the hosts and whose exit code is apply's for the
// whole fleet; files that cannot be one run are refused.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatRecap } from '../../src/cli/output/recap.js';
import { ExitCode } from '../../src/core/exit-codes.js';
import type { HostResult, RunResult } from '../../src/engine/results.js';
import { describeMerge, mergeResults, parseResultFile, readResultFiles, ReportError, type ResultFile } from '../../src/report/merge.js';

const host = (counts: Partial<HostResult> = {}): HostResult => ({ ok: 1, changed: 0, failed: 0, skipped: 0, unreachable: false, execs: 1, tasks: [], ...counts });

// One slice's result file.
function slice(path: string, index: number | undefined, hosts: Record<string, HostResult>, extra: Partial<RunResult> = {}): ResultFile {
  return {
    path,
    result: { ok: true, durationMs: 1000 + (index ?? 0), check: false, playbook: 'site', ...(index !== undefined ? { slice: { index, count: 3 } } : {}), hosts, ...extra },
  };
}

function thrown(run: () => unknown): ReportError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ReportError);
    expect((error as ReportError).exitCode).toBe(ExitCode.InputError);
    expect((error as ReportError).message).not.toContain('\n');
    return error as ReportError;
  }
  throw new Error('expected a ReportError');
}

describe('mergeResults', () => {
  it('merges three slices: every host once (in name order), counts as they were, the longest duration', () => {
    const merged = mergeResults([
      slice('s2.json', 2, { web10: host({ changed: 2 }) }),
      slice('s0.json', 0, { web2: host(), db1: host({ skipped: 1 }) }),
      slice('s1.json', 1, { web1: host({ ok: 3 }) }),
    ]);
    expect(merged.files).toEqual(['s0.json', 's1.json', 's2.json']);
    expect(merged.slices).toEqual({ count: 3, missing: [] });
    expect(Object.keys(merged.result.hosts)).toEqual(['db1', 'web1', 'web2', 'web10']);
    expect(merged.result).toMatchObject({ ok: true, check: false, playbook: 'site', durationMs: 1002 });
    expect(merged.result.slice).toBeUndefined();
    expect(merged.exitCode).toBe(ExitCode.Ok);
    expect(formatRecap(merged.result).split('\n')).toEqual([
      'RECAP',
      'db1    OK          ok=1 changed=0 failed=0 skipped=1 unreachable=0 execs=1',
      'web1   OK          ok=3 changed=0 failed=0 skipped=0 unreachable=0 execs=1',
      'web2   OK          ok=1 changed=0 failed=0 skipped=0 unreachable=0 execs=1',
      'web10  CHANGED     ok=1 changed=2 failed=0 skipped=0 unreachable=0 execs=1',
      'finished in 1.00 s',
    ]);
    expect(describeMerge(merged)).toEqual({ summary: 'merged 3 result files of playbook "site": 3 of 3 slices' });
  });

  it.each([
    ['every host fine', false, [host(), host()], ExitCode.Ok, true],
    ['a change applied', false, [host({ changed: 1 }), host()], ExitCode.Ok, true],
    ['--check with a change pending in one slice', true, [host(), host({ changed: 1 })], ExitCode.ChangesPending, true],
    ['--check, nothing pending', true, [host(), host()], ExitCode.Ok, true],
    ['a task failed in one slice', false, [host(), host({ failed: 1 })], ExitCode.HostFailed, false],
    ['a host unreachable in one slice, a change pending in the other (--check)', true, [host({ changed: 1 }), host({ unreachable: true, ok: 0 })], ExitCode.HostFailed, false],
    ['a host-level error (locked)', false, [host({ error: 'host is locked' }), host()], ExitCode.HostFailed, false],
  ])('%s: exit %i', (_, check, [a, b], exitCode, ok) => {
    const merged = mergeResults([slice('a.json', undefined, { a: a! }, { check }), slice('b.json', undefined, { b: b! }, { check })]);
    expect(merged.exitCode).toBe(exitCode);
    expect(merged.result.ok).toBe(ok);
    expect(merged.slices).toBeUndefined();
  });

  it('a slice with no file fails the merge (exit 1) and names it, with the hosts it has', () => {
    const merged = mergeResults([slice('s0.json', 0, { a: host() }), slice('s2.json', 2, { c: host() })]);
    expect(merged.exitCode).toBe(ExitCode.HostFailed);
    expect(merged.result.ok).toBe(false);
    expect(Object.keys(merged.result.hosts)).toEqual(['a', 'c']);
    expect(describeMerge(merged)).toEqual({
      summary: 'merged 2 result files of playbook "site": 2 of 3 slices',
      missing: 'slice 1 of 3 has no result file: those hosts are not in this recap and may have failed or never run (exit 1)',
    });
  });

  it('an empty slice merges as a success with no hosts', () => {
    const merged = mergeResults([slice('s0.json', 0, { a: host() }), slice('s1.json', 1, {}), slice('s2.json', 2, { c: host() })]);
    expect(merged.exitCode).toBe(ExitCode.Ok);
    expect(Object.keys(merged.result.hosts)).toEqual(['a', 'c']);
  });

  it('controller steps come from the slice that ran them (slice 0); a failed one fails the merge', () => {
    const steps = [{ name: 'monitor apply', status: 'failed' as const, durationMs: 5, error: 'throttled' }];
    const merged = mergeResults([slice('s1.json', 1, { b: host() }), slice('s0.json', 0, { a: host() }, { controller: steps }), slice('s2.json', 2, {})]);
    expect(merged.result.controller).toEqual(steps);
    expect(merged.exitCode).toBe(ExitCode.HostFailed);
    expect(formatRecap(merged.result)).toContain('controller: monitor apply: failed (throttled)');
  });

  it('a host named __proto__ is a host like any other', () => {
    const merged = mergeResults([slice('s0.json', 0, JSON.parse('{"__proto__": {"ok":1,"changed":1,"failed":0,"skipped":0,"unreachable":false,"execs":1,"tasks":[]}}')), slice('s1.json', 1, {}), slice('s2.json', 2, {})]);
    expect(Object.keys(merged.result.hosts)).toEqual(['__proto__']);
    expect(merged.result.hosts['__proto__']?.changed).toBe(1);
  });

  it.each([
    ['a host in two files', [slice('s0.json', 0, { web1: host() }), slice('s1.json', 1, { web1: host() })], 'E_REPORT_HOST_TWICE', 'host "web1" is in both s0.json and s1.json; each host must be in one file (the same slice run twice, or overlapping --limit runs?)'],
    ['one slice twice', [slice('a.json', 1, { a: host() }), slice('b.json', 1, { b: host() })], 'E_REPORT_SLICE_TWICE', "a.json and b.json are both slice 1/3; pass each slice's file once"],
    ['--check beside a real run', [slice('s0.json', 0, {}), slice('s1.json', 1, {}, { check: true })], 'E_REPORT_MIXED_MODE', 's0.json is an apply run and s1.json a --check run; merge the results of one run'],
    ['two playbooks', [slice('s0.json', 0, {}), slice('s1.json', 1, {}, { playbook: 'backup' })], 'E_REPORT_MIXED_PLAYBOOK', 's0.json is from playbook "site" and s1.json from "backup"; merge the results of one run'],
    ['two slice counts', [slice('s0.json', 0, {}), slice('s1.json', undefined, {}, { slice: { index: 1, count: 4 } })], 'E_REPORT_MIXED_SLICES', 's0.json is slice 0/3 and s1.json is slice 1/4; merge the slices of one run (one COUNT)'],
    ['a slice beside a whole run', [slice('s0.json', 0, {}), slice('all.json', undefined, {})], 'E_REPORT_MIXED_SLICES', 's0.json is slice 0/3 and all.json is a whole run (no --slice); merge the slices of one run (one COUNT)'],
  ])('%s is refused', (_, files, code, message) => {
    const error = thrown(() => mergeResults(files));
    expect(error.code).toBe(code);
    expect(error.message).toBe(message);
  });

  it('results without a playbook name (older files) merge with named ones', () => {
    const { playbook: _, ...unnamed } = slice('s1.json', 1, { b: host() }).result;
    const merged = mergeResults([slice('s0.json', 0, { a: host() }), { path: 's1.json', result: unnamed }, slice('s2.json', 2, {})]);
    expect(merged.result.playbook).toBe('site');
  });
});

describe('parseResultFile', () => {
  const valid = JSON.stringify(slice('x', 0, { web1: host({ tasks: [{ name: 'file /etc/motd', status: 'changed', durationMs: 3, changes: ['content'] }] }) }).result);

  it('reads a result, keeping fields it does not know', () => {
    const text = JSON.stringify({ ...JSON.parse(valid), future: { field: 1 } });
    const { result } = parseResultFile('s0.json', text);
    expect(result.hosts.web1?.tasks[0]).toEqual({ name: 'file /etc/motd', status: 'changed', durationMs: 3, changes: ['content'] });
    expect((result as unknown as { future: unknown }).future).toEqual({ field: 1 });
  });

  it.each([
    ['', 'E_REPORT_EMPTY', "s0.json is empty: the run that should have written it ended before its result (see that run's log)"],
    ['  \n', 'E_REPORT_EMPTY', "s0.json is empty: the run that should have written it ended before its result (see that run's log)"],
    ['RECAP\nweb1 OK', 'E_REPORT_JSON', 's0.json is not JSON ('],
    ['[]', 'E_REPORT_SHAPE', 's0.json is not a halyard apply result: the document: '],
    ['{"ok": true}', 'E_REPORT_SHAPE', 's0.json is not a halyard apply result: durationMs: '],
    [valid.replace('"changed":0', '"changed":"0"'), 'E_REPORT_SHAPE', 's0.json is not a halyard apply result: hosts.web1.changed: '],
    [valid.replace('"status":"changed"', '"status":"done"'), 'E_REPORT_SHAPE', 's0.json is not a halyard apply result: hosts.web1.tasks.0.status: '],
    [valid.replace('"count":3', '"count":0'), 'E_REPORT_SHAPE', 's0.json is not a halyard apply result: slice.count: '],
    [valid.replace('"hosts":{', '"hosts":[],"x":{'), 'E_REPORT_SHAPE', 's0.json is not a halyard apply result: hosts: expected an object of host results'],
  ])('%j: %s', (text, code, start) => {
    const error = thrown(() => parseResultFile('s0.json', text));
    expect(error.code).toBe(code);
    expect(error.message.startsWith(start), error.message).toBe(true);
  });
});

describe('readResultFiles', () => {
  it('reads each file, and names one that is missing or a folder', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hy-merge-'));
    writeFileSync(join(dir, 's0.json'), JSON.stringify(slice('x', 0, { a: host() }).result));
    const [file] = await readResultFiles([join(dir, 's0.json')]);
    expect(Object.keys(file!.result.hosts)).toEqual(['a']);
    await expect(readResultFiles([join(dir, 's0.json'), join(dir, 's1.json')])).rejects.toThrow(`${join(dir, 's1.json')}: no such file`);
    await expect(readResultFiles([dir])).rejects.toThrow(`${dir}: is a folder, not a result file`);
  });
});

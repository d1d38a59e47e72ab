// A run split into 3 slices, as a Kubernetes Indexed Job or a CI matrix runs it, through the real
// CLI and without Docker: six `ansible_connection: local` hosts (each a folder of its own), three
// `apply --slice INDEX/3 --json-file` processes at once, then `report merge`. Every host is in
// exactly one slice, and the merge's exit code is apply's for the whole fleet (0, 2 for drift in
// --check, 1 for a failure, 1 for a slice without a file). Needs `npm run build` (dist).
//
// The six hosts are all this machine, which has one host lock (src/engine/lock.ts): runs wait for
// it (--lock-timeout) rather than fail, as slices sharing a machine must.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RunResult } from '../../src/engine/results.js';
import { sliceOfName } from '../../src/inventory/slice.js';
import { runCli, runCliBatch, type CliRun } from '../support/cli.js';

const PLAYBOOK = 'test/e2e/playbooks/local-file.ts';
const HOSTS = Array.from({ length: 6 }, (_, index) => `sliced-${index + 1}`);

// An INI inventory of the six local hosts, each writing under DIR/<name>; `targets` overrides some.
function inventory(dir: string, file: string, targets: Record<string, string> = {}): string {
  const path = join(dir, file);
  writeFileSync(path, `[fleet]\n${HOSTS.map((name) => `${name} ansible_connection=local target_dir=${targets[name] ?? join(dir, name)}`).join('\n')}\n`);
  return path;
}

// The three slices at once, each writing its result to DIR/NAME-INDEX.json.
async function runSlices(inventoryPath: string, dir: string, name: string, extra: string[] = []): Promise<{ runs: CliRun[]; files: string[] }> {
  const files = [0, 1, 2].map((index) => join(dir, `${name}-${index}.json`));
  const runs = await Promise.all(
    files.map((file, index) => runCli(['apply', PLAYBOOK, '-i', inventoryPath, '--slice', `${index}/3`, '--json-file', file, '--lock-timeout', '60', ...extra])),
  );
  return { runs, files };
}

const readResult = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as RunResult;

describe('apply --slice INDEX/3 in parallel, then report merge', () => {
  it('covers every host exactly once; the merge prints one recap and exits as apply would for the fleet', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hy-slices-'));
    for (const name of HOSTS) mkdirSync(join(dir, name));
    const hosts = inventory(dir, 'hosts');

    // Converge: each slice holds the hosts whose name hashes to it, and the three cover the six.
    const applied = await runSlices(hosts, dir, 'apply');
    for (const [index, run] of applied.runs.entries()) {
      expect(run.exitCode, run.stderr + run.stdout).toBe(0);
      expect(run.stdout).toContain(`RECAP (slice ${index}/3)`);
      const result = readResult(applied.files[index]!);
      expect(result.slice).toEqual({ index, count: 3 });
      expect(result.playbook).toBe('local file');
      expect(Object.keys(result.hosts)).toEqual(HOSTS.filter((name) => sliceOfName(name, 3) === index));
    }
    expect(applied.files.flatMap((file) => Object.keys(readResult(file).hosts)).sort()).toEqual([...HOSTS].sort());
    for (const name of HOSTS) expect(readFileSync(join(dir, name, 'hello.txt'), 'utf8')).toBe('hello from halyard\n');

    // Merges run in one Node process each round (runCliBatch): they start nothing on hosts.
    const [merged, json] = await runCliBatch([
      ['report', 'merge', ...applied.files],
      ['report', 'merge', '--json', ...[...applied.files].reverse()],
    ]);
    expect(merged!.exitCode, merged!.stderr).toBe(0);
    const lines = merged!.stdout.split('\n');
    expect(lines[0]).toBe('merged 3 result files of playbook "local file": 3 of 3 slices');
    expect(lines.filter((line) => /^sliced-\d /.test(line))).toEqual(HOSTS.map((name) => `${name}  CHANGED     ok=0 changed=1 failed=0 skipped=0 unreachable=0 execs=1`));
    expect(json!.exitCode).toBe(0);
    const document = JSON.parse(json!.stdout) as RunResult;
    expect(Object.keys(document.hosts)).toEqual(HOSTS);
    expect(document).toMatchObject({ ok: true, check: false, playbook: 'local file', merged: { files: applied.files, slices: { count: 3, missing: [] } } });

    // Drift on one host: its slice's --check exits 2, the others 0, and so does the merge (2).
    const drifted = 'sliced-3';
    rmSync(join(dir, drifted, 'hello.txt'));
    const checked = await runSlices(hosts, dir, 'check', ['--check']);
    for (const [index, run] of checked.runs.entries()) expect(run.exitCode, run.stderr + run.stdout).toBe(sliceOfName(drifted, 3) === index ? 2 : 0);
    const [checkMerge, mixed, partial] = await runCliBatch([
      ['report', 'merge', ...checked.files],
      ['report', 'merge', applied.files[0]!, checked.files[1]!],
      ['report', 'merge', applied.files[0]!, applied.files[2]!],
    ]);
    expect(checkMerge!.exitCode, checkMerge!.stderr).toBe(2);
    expect(checkMerge!.stdout).toContain('RECAP (check mode: nothing was changed)');
    expect(checkMerge!.stdout).toContain(`${drifted}  DRIFTED `);
    expect(existsSync(join(dir, drifted, 'hello.txt'))).toBe(false);

    // A --check result beside apply results is refused (exit 65, one line naming both files).
    expect(mixed!.exitCode).toBe(65);
    expect(mixed!.stderr).toBe(`halyard: ${applied.files[0]} is an apply run and ${checked.files[1]} a --check run; merge the results of one run\n`);

    // A slice without a file (its pod died): the merge shows what it has and fails (1).
    expect(partial!.exitCode).toBe(1);
    expect(partial!.stderr).toBe('halyard: slice 1 of 3 has no result file: those hosts are not in this recap and may have failed or never run (exit 1)\n');

    // A host that fails in one slice fails the merge (1), the others still converge.
    const failing = 'sliced-4';
    const broken = inventory(dir, 'broken-hosts', { [failing]: '/dev/null/not-a-folder' });
    const failed = await runSlices(broken, dir, 'failed');
    for (const [index, run] of failed.runs.entries()) expect(run.exitCode, run.stderr + run.stdout).toBe(sliceOfName(failing, 3) === index ? 1 : 0);
    const failMerge = await runCli(['report', 'merge', ...failed.files]);
    expect(failMerge.exitCode, failMerge.stderr).toBe(1);
    expect(failMerge.stdout).toContain(`${failing}  FAILED `);
    expect(readFileSync(join(dir, drifted, 'hello.txt'), 'utf8')).toBe('hello from halyard\n');
  }, 60_000);

  it('a slice that holds none of the selected hosts succeeds and says so; --list-hosts shows a slice', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hy-slice-empty-'));
    const hosts = inventory(dir, 'hosts');
    const only = 'sliced-5';
    const other = (sliceOfName(only, 3) + 1) % 3;
    const file = join(dir, 'empty.json');
    const empty = await runCli(['apply', PLAYBOOK, '-i', hosts, '--limit', only, '--slice', `${other}/3`, '--json-file', file]);
    expect(empty.exitCode, empty.stderr).toBe(0);
    expect(empty.stdout).toContain(`slice ${other}/3: none of the selected hosts falls in this slice; nothing to do\n`);
    expect(readResult(file)).toMatchObject({ ok: true, slice: { index: other, count: 3 }, hosts: {} });

    const listed = await runCli(['apply', PLAYBOOK, '-i', hosts, '--slice', '1/3', '--list-hosts', '--json']);
    expect(listed.exitCode, listed.stderr).toBe(0);
    expect((JSON.parse(listed.stdout) as { plays: Array<{ hosts: string[] }> }).plays[0]?.hosts).toEqual(HOSTS.filter((name) => sliceOfName(name, 3) === 1));

    // `facts` and `exec` select through the same slice (local hosts gather facts; exec needs SSH).
    const [facts, exec] = await runCliBatch([
      ['facts', '-i', hosts, '--slice', '1/3', '--json', '--lock-timeout', '60'],
      ['exec', only, '-i', hosts, '--slice', `${other}/3`, '--', 'true'],
    ]);
    expect(facts!.exitCode, facts!.stderr).toBe(0);
    expect(Object.keys((JSON.parse(facts!.stdout) as { hosts: object }).hosts)).toEqual(HOSTS.filter((name) => sliceOfName(name, 3) === 1));
    expect(exec!.exitCode, exec!.stderr).toBe(0);
    expect(exec!.stderr).toBe(`halyard: slice ${other}/3: none of the 1 selected hosts falls in this slice; nothing to do\n`);
  }, 30_000);

  it("the README's shell formula gives each host's slice", () => {
    for (const name of [...HOSTS, 'web1', 'db-01.example.com']) {
      const shell = execFileSync('sh', ['-c', 'echo $(( 0x$(printf %s "$1" | sha256sum | cut -c1-8) % 7 ))', 'sh', name], { encoding: 'utf8' });
      expect(Number(shell), name).toBe(sliceOfName(name, 7));
    }
  });

  it('bad --slice values, a bad --json-file, bad merge inputs and two names for one machine are one line each: exit 64 or 65', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hy-slice-errors-'));
    const hosts = inventory(dir, 'hosts');
    writeFileSync(join(dir, 'empty.json'), '');
    writeFileSync(join(dir, 'recap.txt'), 'RECAP\n');
    // Two names for one machine, in slices 0 and 1 of 2: refused in either slice, or both would run it at once.
    writeFileSync(join(dir, 'aliases'), 'web1 ansible_host=192.0.2.10\nalias-a ansible_host=192.0.2.10\n');
    writeFileSync(join(dir, 'stale.json'), JSON.stringify({ ok: true, durationMs: 1, check: false, hosts: {} }));
    const runs = await runCliBatch([
      ['apply', PLAYBOOK, '-i', hosts, '--slice', '3/3'],
      ['apply', PLAYBOOK, '-i', hosts, '--slice', 'a/b'],
      ['apply', PLAYBOOK, '-i', hosts, '--slice', '1/0'],
      ['apply', PLAYBOOK, '-i', hosts, '--slice', '0/3', '--json-file', join(dir, 'missing', 's0.json')],
      ['apply', join(dir, 'no-playbook.ts'), '-i', hosts, '--slice', '0/3', '--json-file', join(dir, 'stale.json')],
      ['report', 'merge', join(dir, 'nothing.json')],
      ['report', 'merge', join(dir, 'empty.json')],
      ['report', 'merge', join(dir, 'recap.txt')],
      ['report', 'merge'],
      ['apply', PLAYBOOK, '-i', join(dir, 'aliases'), '--slice', '0/2', '--list-hosts'],
      ['apply', PLAYBOOK, '-i', hosts, '--list-hosts', '--json-file', join(dir, 'list.json')],
    ]);
    expect(runs.map((run) => run.exitCode)).toEqual([64, 64, 64, 64, 65, 65, 65, 65, 64, 65, 64]);
    for (const run of runs) expect(run.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(runs[0]!.stderr).toContain('--slice 3/3: INDEX runs from 0 to 2 (0-based');
    expect(runs[1]!.stderr).toContain('--slice must be INDEX/COUNT');
    expect(runs[2]!.stderr).toBe('halyard: --slice 1/0: COUNT must be at least 1\n');
    expect(runs[3]!.stderr).toBe(`halyard: --json-file ${join(dir, 'missing', 's0.json')}: the folder ${join(dir, 'missing')} does not exist; create it or pick another path\n`);
    // A run that ends before its result leaves no --json-file, not an earlier run's.
    expect(existsSync(join(dir, 'stale.json'))).toBe(false);
    expect(runs[5]!.stderr).toBe(`halyard: ${join(dir, 'nothing.json')}: no such file\n`);
    expect(runs[6]!.stderr).toBe(`halyard: ${join(dir, 'empty.json')} is empty: the run that should have written it ended before its result (see that run's log)\n`);
    expect(runs[7]!.stderr).toBe(`halyard: ${join(dir, 'recap.txt')} is not JSON (Unexpected token 'R', "RECAP\\n" is not valid JSON); pass the files apply --json-file wrote, or apply --json's output\n`);
    expect(runs[8]!.stderr).toContain("missing required argument 'files'");
    expect(runs[9]!.stderr).toContain('"web1", "alias-a" all connect to 192.0.2.10:22: one machine would be run twice at once');
    expect(runs[10]!.stderr).toBe("halyard: --json-file records a run's result, and --list-hosts/--list-tasks run nothing; use --json for the list\n");
  });
});

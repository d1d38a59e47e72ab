import { createHash } from 'node:crypto';
import { readdirSync, rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labExec } from '../../src/lab/index.js';
import { fleetInventory, freshKnownHosts, runCli } from '../support/cli.js';
import { startTestFleet, type TestFleet } from '../support/lab.js';
import { BINARY, HOSTILE, ROOT, nameOf } from './playbooks/hostile-data.js';
import { busyBudget } from '../support/budget.js';

const PLAYBOOK = 'test/e2e/playbooks/hostile-values.ts';
const MARKER_PREFIX = 'pwned-hy-';

// What the host says about a path: type, mode and sha256 (files).
interface PathReport {
  type: 'file' | 'directory' | 'other' | 'absent';
  mode?: string;
  sha256?: string;
}

// Reads paths given as JSON on stdin (never through a shell) and reports each one, plus directory listings.
const REPORT_SCRIPT = `
import hashlib, json, os, stat, sys
request = json.load(sys.stdin)
out = {"paths": {}, "listings": {}}
for path in request["paths"]:
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        out["paths"][path] = {"type": "absent"}
        continue
    entry = {"mode": oct(stat.S_IMODE(st.st_mode))[2:]}
    if stat.S_ISREG(st.st_mode):
        entry["type"] = "file"
        with open(path, "rb") as handle:
            entry["sha256"] = hashlib.sha256(handle.read()).hexdigest()
    elif stat.S_ISDIR(st.st_mode):
        entry["type"] = "directory"
    else:
        entry["type"] = "other"
    out["paths"][path] = entry
for path in request["listings"]:
    out["listings"][path] = sorted(os.listdir(path))
json.dump(out, sys.stdout)
`;

const sha256 = (bytes: Buffer | string) => createHash('sha256').update(bytes).digest('hex');

// Marker files an injected touch would leave on the controller (in /tmp or the CLI's working directory).
function controllerMarkers(): string[] {
  return ['/tmp', process.cwd()].flatMap((dir) => readdirSync(dir).filter((name) => name.includes(MARKER_PREFIX)).map((name) => `${dir}/${name}`));
}

// Python sorts by code point, as JavaScript's default sort does for these (BMP) names.
function sorted(names: string[]): string[] {
  return [...names].sort();
}

describe('hostile values through the inventory, the CLI and every quoting path', () => {
  let fleet: TestFleet;
  let container: string;
  let hostName: string;
  let inventory: string;
  let knownHosts: string;
  const apply = () => runCli(['apply', PLAYBOOK, '-i', inventory, '--known-hosts', knownHosts, '--json']);

  beforeAll(async () => {
    for (const name of readdirSync('/tmp').filter((entry) => entry.startsWith(MARKER_PREFIX))) rmSync(`/tmp/${name}`, { force: true });
    fleet = await startTestFleet({ count: 1, prefix: 'hostile' });
    const [host] = fleet.hosts;
    if (!host) throw new Error('no host');
    container = host.container;
    hostName = host.name;
    inventory = fleetInventory(fleet, { hostile: HOSTILE });
    knownHosts = freshKnownHosts();
  });
  afterAll(() => fleet?.stop());

  // Every path the playbook manages and what it must hold.
  function expected(): Map<string, PathReport> {
    const paths = new Map<string, PathReport>();
    for (const sub of ['content', 'names', 'vars', 'argv']) paths.set(`${ROOT}/${sub}`, { type: 'directory', mode: '755' });
    paths.set(`${ROOT}/content/binary`, { type: 'file', mode: '600', sha256: sha256(BINARY) });
    for (const [key, value] of Object.entries(HOSTILE)) {
      paths.set(`${ROOT}/content/${key}`, { type: 'file', mode: '644', sha256: sha256(value) });
      paths.set(`${ROOT}/names/${nameOf(value)}`, { type: 'directory', mode: '750' });
      paths.set(`${ROOT}/names/${nameOf(value)}/${nameOf(value)}`, { type: 'file', mode: '640', sha256: sha256(`${key}\n`) });
      paths.set(`${ROOT}/vars/${key}`, { type: 'file', mode: '644', sha256: sha256(`value=${value}\n`) });
      paths.set(`${ROOT}/argv/${key}`, { type: 'file', sha256: sha256(value) });
    }
    return paths;
  }

  async function report(paths: string[], listings: string[]): Promise<{ paths: Record<string, PathReport>; listings: Record<string, string[]> }> {
    // The program is fixed text in single quotes; the hostile paths travel as JSON on stdin.
    const run = await labExec(container, `python3 -c '${REPORT_SCRIPT.replace(/'/g, `'\\''`)}'`, { input: JSON.stringify({ paths, listings }) });
    if (run.exitCode !== 0) throw new Error(`report failed: ${run.stderr}`);
    return JSON.parse(run.stdout) as { paths: Record<string, PathReport>; listings: Record<string, string[]> };
  }

  // Marker files anywhere on the host (the managed tree aside, whose names hold the text on purpose).
  async function hostMarkers(): Promise<string> {
    const find = await labExec(container, `find / \\( -path /proc -o -path /sys -o -path /dev -o -path ${ROOT} \\) -prune -o -name '*pwned*' -print`);
    expect(find.exitCode, find.stderr).toBe(0);
    return find.stdout;
  }

  it('lays down every value byte-exact, runs nothing it should not, and reruns with changed=0 in one exec', async () => {
    const values = Object.values(HOSTILE);
    expect(new Set(values.map(nameOf)).size).toBe(values.length);
    // The detector finds a marker where an injected touch would put one.
    await labExec(container, `touch /tmp/${MARKER_PREFIX}selftest`);
    expect(await hostMarkers()).toBe(`/tmp/${MARKER_PREFIX}selftest\n`);
    await labExec(container, `rm /tmp/${MARKER_PREFIX}selftest`);

    const first = await apply();
    expect(first.exitCode, first.stdout + first.stderr).toBe(0);
    const host = first.json?.hosts[hostName];
    expect(host).toMatchObject({ failed: 0, unreachable: false });
    // 4 directories, the binary file, and 5 tasks per value (content, directory, file in it, template, command).
    expect(host?.changed).toBe(4 + 1 + values.length * 5);

    const wanted = expected();
    const names = values.map(nameOf);
    const listings = [...['names', 'content', 'vars', 'argv'].map((sub) => `${ROOT}/${sub}`), ...names.map((name) => `${ROOT}/names/${name}`)];
    const seen = await report([...wanted.keys()], listings);
    for (const [path, want] of wanted) {
      const got = seen.paths[path];
      expect(got, JSON.stringify(path)).toMatchObject(want);
    }
    // Nothing else was created (a glob or a split word would have made extra entries).
    expect(seen.listings[`${ROOT}/names`]).toEqual(sorted(names));
    expect(seen.listings[`${ROOT}/content`]).toEqual(sorted([...Object.keys(HOSTILE), 'binary']));
    expect(seen.listings[`${ROOT}/vars`]).toEqual(sorted(Object.keys(HOSTILE)));
    expect(seen.listings[`${ROOT}/argv`]).toEqual(sorted(Object.keys(HOSTILE)));
    for (const name of names) expect(seen.listings[`${ROOT}/names/${name}`], JSON.stringify(name)).toEqual([name]);

    expect(await hostMarkers()).toBe('');
    expect(controllerMarkers()).toEqual([]);

    const second = await apply();
    expect(second.exitCode, second.stdout + second.stderr).toBe(0);
    expect(second.json?.hosts[hostName]).toMatchObject({ changed: 0, failed: 0, execs: 1 });

    const check = await runCli(['apply', PLAYBOOK, '-i', inventory, '--known-hosts', knownHosts, '--check', '--diff']);
    expect(check.exitCode, check.stdout + check.stderr).toBe(0);
    expect(check.stdout).toMatch(/changed=0 .*execs=1/);

    expect(await hostMarkers()).toBe('');
    expect(controllerMarkers()).toEqual([]);
  }, busyBudget(29));
});

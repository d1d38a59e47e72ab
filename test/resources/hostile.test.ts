import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { existsFact } from '../../src/facts/command.js';
import { pathFact } from '../../src/facts/file.js';
import { absentResource } from '../../src/resources/absent.js';
import { commandResource } from '../../src/resources/command.js';
import { directoryResource } from '../../src/resources/directory.js';
import { fileResource, type FileDesired } from '../../src/resources/file.js';
import type { Plan, PlanContext, ResourceType } from '../../src/resources/types.js';
import { probeLocally, runSh } from '../facts/local-shell.js';

// Every generated script is run locally with sh (dash here) in a temp directory; a remote host is the e2e suite's job.
const marker = join(tmpdir(), `pwned-${randomBytes(8).toString('hex')}`);
const ctx: PlanContext = { diff: false };

const HOSTILE: { name: string; value: string }[] = [
  { name: 'single quotes', value: "it's a 'quoted' value" },
  { name: 'double quotes', value: 'say "hi" "$HOME"' },
  { name: 'command substitution', value: `$(touch ${marker})` },
  { name: 'backticks', value: `\`touch ${marker}\`` },
  { name: 'semicolons', value: `; touch ${marker};` },
  { name: 'quote breakout', value: `'; touch ${marker}; echo '` },
  { name: 'double quote breakout', value: `"; touch ${marker}; echo "` },
  { name: 'newlines', value: `line one\ntouch ${marker}\nline three` },
  { name: 'heredoc terminator', value: `x\nHALYARD_EOF\ntouch ${marker}\n` },
  { name: 'tabs', value: 'a\tb\t\tc' },
  { name: 'unicode', value: 'ünïcødé ✓ 日本語 🚢' },
  { name: 'leading dash', value: '-rf' },
  { name: 'leading double dash', value: '--help' },
  { name: 'spaces', value: '  leading and trailing  ' },
  { name: 'glob star', value: '*' },
  { name: 'glob chars', value: '[a-z]?*' },
  { name: 'variables', value: '${IFS}$PATH$1$@' },
  { name: 'backslashes', value: 'back\\slash \\n \\\\' },
  { name: 'operators', value: `a && touch ${marker} || b | c > d < e & f` },
  { name: 'tilde and bang', value: '~root !! !$' },
  { name: 'percent (printf format)', value: '%s %d %n %%' },
];

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'halyard-hostile-'));
  // Something for an unquoted glob to match, so a quoting bug would show.
  writeFileSync(join(dir, 'decoy'), 'decoy');
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  rmSync(marker, { force: true });
});

function steps(plan: Plan): string[] {
  if (plan.action !== 'change') throw new Error(`expected a change, got noop: ${plan.reason}`);
  return plan.steps.map((step) => step.script);
}

async function apply<D>(type: ResourceType<D>, desired: D): Promise<void> {
  const facts = await probeFacts(type, desired);
  for (const script of steps(type.plan(desired, facts, ctx))) {
    const result = await runSh(script, { cwd: dir });
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
  }
}

async function probeFacts<D>(type: ResourceType<D>, desired: D): Promise<Record<string, unknown>> {
  const facts = type.facts(desired, ctx);
  const values = await probeLocally(Object.values(facts), dir);
  return Object.fromEntries(Object.entries(facts).map(([name, fact]) => [name, values.get(fact.key)]));
}

async function planAgain<D>(type: ResourceType<D>, desired: D): Promise<Plan> {
  return type.plan(desired, await probeFacts(type, desired), ctx);
}

describe('hostile values', () => {
  test('the marker mechanism detects execution (control)', async () => {
    const control = `${marker}-control`;
    await runSh(`touch ${control}`);
    expect(existsSync(control)).toBe(true);
    rmSync(control);
  });

  describe.each(HOSTILE)('$name', ({ value }) => {
    test('as file content: byte-exact, then idempotent', async () => {
      const path = join(dir, `content-${randomBytes(4).toString('hex')}`);
      const desired: FileDesired = { path, content: value, mode: '0640' };
      await apply(fileResource, desired);
      expect(readFileSync(path, 'utf8')).toBe(value);
      expect(statSync(path).mode & 0o7777).toBe(0o640);
      expect(await planAgain(fileResource, desired)).toEqual({ action: 'noop', reason: `${path} already has this content, owner and mode` });
      expect(existsSync(marker)).toBe(false);
    });

    test('as a file path: byte-exact name and content, then idempotent; drift repaired', async () => {
      const path = join(dir, `p-${value.replace(/\//g, '_')}`);
      const desired: FileDesired = { path, content: `${value}\n`, owner: 'root', mode: '0600' };
      await apply(fileResource, desired);
      expect(readdirSync(dir)).toContain(`p-${value.replace(/\//g, '_')}`);
      expect(readFileSync(path, 'utf8')).toBe(`${value}\n`);
      expect(await planAgain(fileResource, desired)).toMatchObject({ action: 'noop' });
      // Drift by hand: content and mode; the next plan repairs both, the one after is a noop.
      writeFileSync(path, 'tampered');
      const { chmodSync } = await import('node:fs');
      chmodSync(path, 0o644);
      await apply(fileResource, desired);
      expect(readFileSync(path, 'utf8')).toBe(`${value}\n`);
      expect(statSync(path).mode & 0o7777).toBe(0o600);
      expect(await planAgain(fileResource, desired)).toMatchObject({ action: 'noop' });
      // Mode drift only: chmod in place.
      chmodSync(path, 0o666);
      expect(steps(await planAgain(fileResource, desired))).toHaveLength(1);
      await apply(fileResource, desired);
      expect(statSync(path).mode & 0o7777).toBe(0o600);
      expect(existsSync(marker)).toBe(false);
    });

    test('as a directory path, then removed by absent', async () => {
      const path = join(dir, `d-${value.replace(/\//g, '_')}`, 'sub');
      await apply(directoryResource, { path, mode: '0750' });
      expect(statSync(path).isDirectory()).toBe(true);
      expect(statSync(path).mode & 0o7777).toBe(0o750);
      expect(await planAgain(directoryResource, { path, mode: '0750' })).toMatchObject({ action: 'noop' });
      const parent = path.slice(0, path.lastIndexOf('/'));
      await apply(absentResource, { path: parent, recursive: true });
      expect(existsSync(parent)).toBe(false);
      expect(existsSync(join(dir, 'decoy'))).toBe(true);
      expect(await planAgain(absentResource, { path: parent })).toMatchObject({ action: 'noop' });
      expect(existsSync(marker)).toBe(false);
    });
  });

  test('as argv words: every word arrives byte-exact, nothing runs', async () => {
    const values = HOSTILE.map(({ value }) => value);
    const plan = commandResource.plan({ argv: ['printf', '%s\\0', ...values] }, {}, ctx);
    const result = await runSh(steps(plan)[0] as string, { cwd: dir });
    expect(result.exitCode).toBe(0);
    expect(result.stdout.split('\0').slice(0, -1)).toEqual(values);
    expect(existsSync(marker)).toBe(false);
  });

  test('as env values and chdir of a command: arrive byte-exact, nothing runs', async () => {
    const env = Object.fromEntries(HOSTILE.map(({ value }, index) => [`V${index}`, value]));
    const chdir = join(dir, `cwd ${HOSTILE[2]?.value} ${HOSTILE[5]?.value}`);
    await apply(directoryResource, { path: chdir });
    const plan = commandResource.plan({ argv: ['sh', '-c', 'pwd && env -0'], env, chdir }, {}, ctx);
    const result = await runSh(steps(plan)[0] as string);
    expect(result.stderr).toBe('');
    const newline = result.stdout.indexOf('\n');
    expect(result.stdout.slice(0, newline)).toBe(chdir);
    const seen = new Map(result.stdout.slice(newline + 1).split('\0').map((entry) => [entry.slice(0, entry.indexOf('=')), entry.slice(entry.indexOf('=') + 1)]));
    expect(HOSTILE.map((_, index) => seen.get(`V${index}`))).toEqual(HOSTILE.map(({ value }) => value));
    expect(existsSync(marker)).toBe(false);
  });

  test('as a creates path: the guard sees the hostile path and makes the command a noop', async () => {
    const path = join(dir, `guard ${HOSTILE[3]?.value.replace(/\//g, '_')}`);
    writeFileSync(path, '');
    const desired = { command: `touch ${marker}`, creates: path };
    expect(await planAgain(commandResource, desired)).toEqual({ action: 'noop', reason: `${path} exists (creates)` });
    expect((await probeLocally([existsFact(join(dir, 'nope *'))])).get(`exists:${join(dir, 'nope *')}`)).toBe(false);
    expect(existsSync(marker)).toBe(false);
  });

  test('pathFact of every hostile path stays framed in one batch', async () => {
    const paths = HOSTILE.map(({ value }) => join(dir, `batch-${value.replace(/\//g, '_')}`));
    paths.forEach((path, index) => writeFileSync(path, HOSTILE[index]?.value ?? ''));
    const values = await probeLocally(paths.map((path) => pathFact(path)));
    for (const path of paths) expect(values.get(`path:${path}`)).toMatchObject({ type: 'file' });
    expect(existsSync(marker)).toBe(false);
  });
});

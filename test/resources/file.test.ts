import { createHash } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { Secret } from '../../src/core/secret.js';
import { template } from '../../src/core/template.js';
import type { PathState } from '../../src/facts/file.js';
import { atomicWriteScript, fileResource, type FileDesired } from '../../src/resources/file.js';
import { HOSTILE_PATH_WORDS, HOSTILE_WORDS, quotedAfter } from '../core/hostile-words.js';
import { outcomeOf, planOf, type PlanRow } from './plan-table.js';

const sha = (content: string | Buffer) => createHash('sha256').update(content).digest('hex');
const fileState = (content: string, extra: Partial<PathState> = {}): PathState => ({
  type: 'file', uid: 0, gid: 0, user: 'root', group: 'root', mode: 0o644, size: Buffer.byteLength(content), sha256: sha(content), ...extra,
});
const write = (path: string, dir: string, base64: string, finish: string) =>
  [
    't=',
    `trap 'if [ -n "$t" ]; then rm -f -- "$t"; fi' EXIT`,
    `trap 'exit 1' HUP INT TERM PIPE`,
    `t=$(mktemp ${dir}/.halyard.XXXXXXXX) || exit 1`,
    `if base64 -d > "$t" <<'HALYARD_EOF'`,
    base64,
    'HALYARD_EOF',
    `then ${finish} && mv -f -- "$t" ${path} && t= || exit 1`,
    `else exit 1; fi`,
  ].join('\n');

const rows: PlanRow<FileDesired>[] = [
  {
    name: 'create with the default mode',
    desired: { path: '/etc/motd', content: 'hello\n' },
    facts: { path: { type: 'absent' } },
    expected: { scripts: [write('/etc/motd', '/etc', 'aGVsbG8K', 'chmod 0644 -- "$t"')] },
  },
  {
    name: 'create with owner, group and mode',
    desired: { path: '/etc/app.env', content: 'A=1\n', owner: 'deploy', group: 'deploy', mode: '0600' },
    facts: { path: { type: 'absent' } },
    expected: { scripts: [write('/etc/app.env', '/etc', 'QT0xCg==', 'chown deploy:deploy -- "$t" && chmod 0600 -- "$t"')] },
  },
  {
    name: 'create an empty file at the root, numeric ids',
    desired: { path: '/empty', content: '', owner: 0, group: 0, mode: '0600' },
    facts: { path: { type: 'absent' } },
    expected: { scripts: [write('/empty', '', '', 'chown 0:0 -- "$t" && chmod 0600 -- "$t"')] },
  },
  {
    name: 'create: quoted path with spaces and quotes',
    desired: { path: "/srv/my app/it's.conf", content: 'x' },
    facts: { path: { type: 'absent' } },
    expected: {
      scripts: [
        [
          't=',
          `trap 'if [ -n "$t" ]; then rm -f -- "$t"; fi' EXIT`,
          `trap 'exit 1' HUP INT TERM PIPE`,
          `t=$(mktemp '/srv/my app/.halyard.XXXXXXXX') || exit 1`,
          `if base64 -d > "$t" <<'HALYARD_EOF'`,
          'eA==',
          'HALYARD_EOF',
          `then chmod 0644 -- "$t" && mv -f -- "$t" '/srv/my app/it'\\''s.conf' && t= || exit 1`,
          `else exit 1; fi`,
        ].join('\n'),
      ],
    },
  },
  {
    name: 'noop: same content, owner by name, mode as string',
    desired: { path: '/etc/motd', content: 'hello\n', owner: 'root', group: 'root', mode: '0644' },
    facts: { path: fileState('hello\n') },
    expected: { noop: '/etc/motd already has this content, owner and mode' },
  },
  {
    name: 'noop: owner by id, mode as number, Buffer content',
    desired: { path: '/etc/motd', content: Buffer.from('hello\n'), owner: 0, group: 0, mode: '0644' },
    facts: { path: fileState('hello\n') },
    expected: { noop: '/etc/motd already has this content, owner and mode' },
  },
  {
    name: 'noop: nothing said about ownership keeps whatever is there',
    desired: { path: '/etc/motd', content: 'hello\n' },
    facts: { path: fileState('hello\n', { uid: 1000, gid: 1000, user: 'deploy', group: 'deploy', mode: 0o600 }) },
    expected: { noop: '/etc/motd already has this content, owner and mode' },
  },
  {
    name: 'content drift keeps the current owner and mode (atomic_move)',
    desired: { path: '/etc/motd', content: 'new\n' },
    facts: { path: fileState('old\n', { uid: 1000, gid: 1001, user: 'deploy', group: 'staff', mode: 0o640 }) },
    expected: { scripts: [write('/etc/motd', '/etc', 'bmV3Cg==', 'chown 1000:1001 -- "$t" && chmod 0640 -- "$t"')] },
  },
  {
    name: 'content and mode drift',
    desired: { path: '/etc/motd', content: 'new\n', mode: '0600' },
    facts: { path: fileState('old\n') },
    expected: { scripts: [write('/etc/motd', '/etc', 'bmV3Cg==', 'chown 0:0 -- "$t" && chmod 0600 -- "$t"')] },
  },
  {
    name: 'owner drift only: chown in place',
    desired: { path: '/etc/motd', content: 'hello\n', owner: 'deploy' },
    facts: { path: fileState('hello\n') },
    expected: { scripts: ['chown deploy -- /etc/motd'] },
  },
  {
    name: 'group drift only',
    desired: { path: '/etc/motd', content: 'hello\n', group: 'adm' },
    facts: { path: fileState('hello\n') },
    expected: { scripts: ['chown :adm -- /etc/motd'] },
  },
  {
    name: 'mode drift only: chmod in place',
    desired: { path: '/etc/motd', content: 'hello\n', mode: '600' },
    facts: { path: fileState('hello\n') },
    expected: { scripts: ['chmod 0600 -- /etc/motd'] },
  },
  {
    name: 'owner and mode drift',
    desired: { path: '/etc/motd', content: 'hello\n', owner: 'deploy', group: 'deploy', mode: '0640' },
    facts: { path: fileState('hello\n') },
    expected: { scripts: ['chown deploy:deploy -- /etc/motd && chmod 0640 -- /etc/motd'] },
  },
  {
    name: 'a directory in the way',
    desired: { path: '/etc/motd', content: 'x' },
    facts: { path: { type: 'directory', uid: 0, gid: 0, mode: 0o755 } },
    expected: { error: '/etc/motd is a directory, not a regular file; remove it first' },
  },
  {
    name: 'a symlink in the way',
    desired: { path: '/etc/motd', content: 'x' },
    facts: { path: { type: 'symlink' } },
    expected: { error: '/etc/motd is a symlink, not a regular file; remove it first' },
  },
  {
    name: 'a fifo in the way',
    desired: { path: '/etc/motd', content: 'x' },
    facts: { path: { type: 'other' } },
    expected: { error: '/etc/motd is a other, not a regular file; remove it first' },
  },
  { name: 'relative path', desired: { path: 'etc/motd', content: 'x' }, facts: { path: { type: 'absent' } }, expected: { error: 'file path must be absolute: "etc/motd"' } },
  { name: 'path with ..', desired: { path: '/etc/../motd', content: 'x' }, facts: { path: { type: 'absent' } }, expected: { error: 'file path must not contain "..": /etc/../motd' } },
  { name: 'path with a trailing /', desired: { path: '/etc/motd/', content: 'x' }, facts: { path: { type: 'absent' } }, expected: { error: 'file path must not end with "/": /etc/motd/' } },
  { name: 'path with //', desired: { path: '/etc//motd', content: 'x' }, facts: { path: { type: 'absent' } }, expected: { error: 'file path must be normalized (no "//" or "/./"): /etc//motd' } },
  { name: 'path with /./', desired: { path: '/etc/./motd', content: 'x' }, facts: { path: { type: 'absent' } }, expected: { error: 'file path must be normalized (no "//" or "/./"): /etc/./motd' } },
  { name: 'path with NUL', desired: { path: '/etc/mo\0td', content: 'x' }, facts: { path: { type: 'absent' } }, expected: { error: 'file path contains a NUL byte' } },
  { name: 'owner with a space', desired: { path: '/x', content: 'x', owner: 'a b' }, facts: { path: { type: 'absent' } }, expected: { error: 'invalid owner "a b"' } },
  { name: 'owner starting with -', desired: { path: '/x', content: 'x', owner: '-R' }, facts: { path: { type: 'absent' } }, expected: { error: 'invalid owner "-R"' } },
  { name: 'negative gid', desired: { path: '/x', content: 'x', group: -1 }, facts: { path: { type: 'absent' } }, expected: { error: 'invalid group -1' } },
  { name: 'mode not octal', desired: { path: '/x', content: 'x', mode: '0999' }, facts: { path: { type: 'absent' } }, expected: { error: 'invalid mode "0999": use octal like "0644"' } },
  { name: 'mode symbolic', desired: { path: '/x', content: 'x', mode: 'u+x' }, facts: { path: { type: 'absent' } }, expected: { error: 'invalid mode "u+x": use octal like "0644"' } },
  { name: 'mode string too large', desired: { path: '/x', content: 'x', mode: '17777' }, facts: { path: { type: 'absent' } }, expected: { error: 'invalid mode "17777": use octal like "0644"' } },
];

describe('fileResource.plan', () => {
  test.each(rows)('$name', ({ desired, facts, expected, context }) => {
    expect(outcomeOf(fileResource, desired, facts, context)).toEqual(expected);
  });

  test('changes say what differs', () => {
    const plan = planOf(fileResource, { path: '/etc/motd', content: 'new\n', mode: '0600' }, { path: fileState('old\n') });
    expect(plan).toMatchObject({
      action: 'change',
      changes: [`content of /etc/motd differs (sha256 ${sha('old\n').slice(0, 12)} -> ${sha('new\n').slice(0, 12)})`, 'mode 0644 -> 0600'],
    });
    expect(planOf(fileResource, { path: '/etc/motd', content: 'hello\n' }, { path: { type: 'absent' } })).toMatchObject({ changes: ['create /etc/motd (6 bytes)'] });
  });

  test.each(HOSTILE_PATH_WORDS)('a path holding $name is one quoted word', (row) => {
    const path = `/srv/${row.value}`;
    const quoted = quotedAfter('/srv/', row);
    expect(outcomeOf(fileResource, { path, content: 'x', owner: 'deploy' }, { path: { type: 'absent' } })).toEqual({
      scripts: [write(quoted, '/srv', 'eA==', 'chown deploy -- "$t" && chmod 0644 -- "$t"')],
    });
    expect(outcomeOf(fileResource, { path, content: 'x', mode: '0600' }, { path: fileState('x') })).toEqual({ scripts: [`chmod 0600 -- ${quoted}`] });
  });

  test('hostile content travels as base64 in a quoted here-document, never as shell', () => {
    const content = HOSTILE_WORDS.map((row) => row.value).join('\n');
    const plan = outcomeOf(fileResource, { path: '/etc/hostile', content }, { path: { type: 'absent' } });
    const base64 = Buffer.from(content).toString('base64').replace(/(.{76})/g, '$1\n');
    expect(plan).toEqual({ scripts: [write('/etc/hostile', '/etc', base64, 'chmod 0644 -- "$t"')] });
  });

  test('long content is wrapped at 76 base64 characters', () => {
    const content = 'x'.repeat(120);
    const base64 = Buffer.from(content).toString('base64');
    expect(base64).toHaveLength(160);
    expect(atomicWriteScript('/a', Buffer.from(content), { mode: '0644' })).toContain(
      `t=$(mktemp /.halyard.XXXXXXXX) || exit 1\nif base64 -d > "$t" <<'HALYARD_EOF'\n${base64.slice(0, 76)}\n${base64.slice(76, 152)}\n${base64.slice(152)}\nHALYARD_EOF\n`,
    );
  });

  test('secret content: script carries it, label and changes do not', () => {
    const plan = planOf(fileResource, { path: '/etc/app.env', content: template`TOKEN=${new Secret('hunter2-token')}\n` }, { path: { type: 'absent' } }, { diff: true });
    if (plan.action !== 'change') throw new Error('expected a change');
    expect(plan.steps[0]?.script).toContain(Buffer.from('TOKEN=hunter2-token\n').toString('base64'));
    expect(JSON.stringify({ changes: plan.changes, label: plan.steps[0]?.label, diff: plan.diff })).not.toContain('hunter2');
    expect(plan.diff?.text).toBe('--- /etc/app.env\n+++ /etc/app.env\n(content holds secrets; diff not shown)\n');
  });

  test('secret content: neither a hash prefix nor a length in the change lines (a PIN falls to either)', () => {
    const pin = new Secret('482915', 'pin');
    const created = planOf(fileResource, { path: '/etc/pin', content: pin, mode: '0600' }, { path: { type: 'absent' } });
    const changed = planOf(fileResource, { path: '/etc/pin', content: pin, mode: '0600' }, { path: fileState('000000\n', { mode: 0o600 }) });
    const sensitive = planOf(fileResource, { path: '/etc/pin', content: '482915', sensitive: true }, { path: fileState('000000\n') });
    expect(created.action === 'change' && created.changes).toEqual(['create /etc/pin (secret content)']);
    expect(changed.action === 'change' && changed.changes).toEqual(['content of /etc/pin differs (secret content)']);
    expect(sensitive.action === 'change' && sensitive.changes).toEqual(['content of /etc/pin differs (secret content)']);
    const shown = JSON.stringify([created, changed, sensitive].map((plan) => plan.action === 'change' && [plan.changes, plan.steps.map((step) => step.label)]));
    for (const leak of [sha('482915').slice(0, 12), sha('000000\n').slice(0, 12), '6 bytes', '(6 bytes)']) expect(shown).not.toContain(leak);
  });

  test('diff mode shows a unified diff against the old content', () => {
    const plan = planOf(
      fileResource,
      { path: '/etc/motd', content: 'a\nB\nc\n' },
      { path: fileState('a\nb\nc\n', { contentBase64: Buffer.from('a\nb\nc\n').toString('base64') }) },
      { diff: true },
    );
    expect(plan.action === 'change' && plan.diff?.text).toContain('-b\n+B\n');
  });
});

describe('fileResource facts and invalidation', () => {
  test('reads the path (with content in diff mode), invalidates the path, its existence and guards', () => {
    expect(Object.values(fileResource.facts({ path: '/etc/motd', content: '' }, { diff: false })).map((fact) => fact.key)).toEqual(['path:/etc/motd']);
    expect(Object.values(fileResource.facts({ path: '/etc/motd', content: '' }, { diff: true })).map((fact) => fact.key)).toEqual(['path:/etc/motd:content']);
    expect(fileResource.invalidates({ path: '/etc/motd', content: '' })).toEqual(['path:/etc/motd', 'exists:/etc/motd', 'status:*']);
    expect(fileResource.describe({ path: '/etc/motd', content: '' })).toBe('file /etc/motd');
  });

  test('a unit file also invalidates service facts (a later service task must see the new unit)', () => {
    const unit = '/etc/systemd/system/app.service';
    expect(fileResource.invalidates({ path: unit, content: '' })).toEqual([`path:${unit}`, `exists:${unit}`, 'status:*', 'service:*']);
    expect(fileResource.invalidates({ path: '/usr/lib/systemd/system/app.service.d/x.conf', content: '' })).toContain('service:*');
    expect(fileResource.invalidates({ path: '/etc/systemd-notes', content: '' })).not.toContain('service:*');
  });
});

import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { gzipSync, gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { HalyardError } from '../../src/core/errors.js';
import type { PathState } from '../../src/facts/file.js';
import { upload } from '../../src/playbook/tasks.js';
import type { Ownership } from '../../src/resources/ownership.js';
import { localFileDigest, uploadDesired, uploadResource, uploadScript, uploadSource, type UploadDesired } from '../../src/resources/upload.js';
import { HOSTILE_PATH_WORDS, HOSTILE_WORDS, quotedAfter } from '../core/hostile-words.js';
import { outcomeOf, planOf, type PlanRow } from './plan-table.js';

const sha = (content: string | Buffer) => createHash('sha256').update(content).digest('hex');
const PAYLOAD = 'payload bytes\n';
const SHA = sha(PAYLOAD);
const OLD_SHA = sha('old bytes\n');

const desired = (extra: Partial<UploadDesired> = {}): UploadDesired => ({
  src: '/ctl/dist/app.bin',
  path: '/opt/app/app.bin',
  sha256: SHA,
  size: Buffer.byteLength(PAYLOAD),
  localMode: 0o755,
  compress: true,
  ...extra,
});
const fileState = (sha256: string, extra: Partial<PathState> = {}): PathState => ({
  type: 'file', uid: 0, gid: 0, user: 'root', group: 'root', mode: 0o755, size: 10, sha256, ...extra,
});
const absent = { path: { type: 'absent' } };

// The host script, written out line by line (not built with uploadScript, so a change to it shows here).
const script = (options: { dir?: string; path?: string; receive?: string; sha256?: string; ownership?: string; validate?: string }) => {
  const path = options.path ?? '/opt/app/app.bin';
  const dir = options.dir ?? '/opt/app';
  const sha256 = options.sha256 ?? SHA;
  return [
    't=',
    `trap 'if [ -n "$t" ]; then rm -f -- "$t"; fi' EXIT`,
    `trap 'exit 1' HUP INT TERM PIPE`,
    `t=$(mktemp ${dir}/.halyard.XXXXXXXX) || exit 1`,
    `${options.receive ?? 'gzip -dc'} > "$t" || { echo 'upload of ${path} was cut short' >&2; exit 1; }`,
    `s=$(sha256sum < "$t" | cut -c1-64)`,
    `if [ "$s" != ${sha256} ]; then printf 'received sha256 %s, expected %s: the local file changed during the upload, or the stream was damaged\\n' "$s" ${sha256} >&2; exit 1; fi`,
    ...(options.ownership ? [`${options.ownership} || exit 1`] : []),
    ...(options.validate ? [options.validate] : []),
    `mv -f -- "$t" ${path}`,
  ].join('\n');
};

const rows: PlanRow<UploadDesired>[] = [
  {
    name: 'absent: upload, gunzip on the host, the local file\'s mode',
    desired: desired(),
    facts: absent,
    expected: { scripts: [script({ ownership: 'chmod 0755 -- "$t"' })] },
  },
  {
    name: 'absent: raw bytes (compress off), owner, group, mode and a validate check',
    desired: desired({ compress: false, owner: 'deploy', group: 'deploy', mode: '0640', validate: ['visudo', '-cf', '%s'] }),
    facts: absent,
    expected: {
      scripts: [
        script({
          receive: 'cat',
          ownership: 'chown deploy:deploy -- "$t" && chmod 0640 -- "$t"',
          validate: `visudo -cf "$t" >&2 || { echo 'validation of /opt/app/app.bin failed: visudo -cf %s' >&2; exit 1; }`,
        }),
      ],
    },
  },
  {
    name: 'absent: validate that runs the file itself, words quoted',
    desired: desired({ mode: '0700', validate: ['%s', '--check', "it's here"] }),
    facts: absent,
    expected: {
      scripts: [
        script({
          ownership: 'chmod 0700 -- "$t"',
          validate: `"$t" --check 'it'\\''s here' >&2 || { echo 'validation of /opt/app/app.bin failed: %s --check it'\\''s here' >&2; exit 1; }`,
        }),
      ],
    },
  },
  {
    name: 'absent: a file at the root, quoted path with spaces',
    desired: desired({ path: '/my app.bin', localMode: 0o644 }),
    facts: absent,
    expected: {
      scripts: [
        [
          't=',
          `trap 'if [ -n "$t" ]; then rm -f -- "$t"; fi' EXIT`,
          `trap 'exit 1' HUP INT TERM PIPE`,
          `t=$(mktemp /.halyard.XXXXXXXX) || exit 1`,
          `gzip -dc > "$t" || { echo 'upload of /my app.bin was cut short' >&2; exit 1; }`,
          `s=$(sha256sum < "$t" | cut -c1-64)`,
          `if [ "$s" != ${SHA} ]; then printf 'received sha256 %s, expected %s: the local file changed during the upload, or the stream was damaged\\n' "$s" ${SHA} >&2; exit 1; fi`,
          `chmod 0644 -- "$t" || exit 1`,
          `mv -f -- "$t" '/my app.bin'`,
        ].join('\n'),
      ],
    },
  },
  {
    name: 'noop: same sha256, nothing said about ownership',
    desired: desired(),
    facts: { path: fileState(SHA, { uid: 1000, gid: 1000, user: 'deploy', group: 'deploy', mode: 0o600 }) },
    expected: { noop: `/opt/app/app.bin already has sha256 ${SHA.slice(0, 12)}, owner and mode` },
  },
  {
    name: 'noop: same sha256, owner by name, group by id, mode as string',
    desired: desired({ owner: 'root', group: 0, mode: '0755' }),
    facts: { path: fileState(SHA) },
    expected: { noop: `/opt/app/app.bin already has sha256 ${SHA.slice(0, 12)}, owner and mode` },
  },
  {
    name: 'noop: the local mode does not matter once the file exists',
    desired: desired({ localMode: 0o600 }),
    facts: { path: fileState(SHA, { mode: 0o644 }) },
    expected: { noop: `/opt/app/app.bin already has sha256 ${SHA.slice(0, 12)}, owner and mode` },
  },
  {
    name: 'different sha256: re-upload keeping the host\'s owner and mode (not the local mode)',
    desired: desired(),
    facts: { path: fileState(OLD_SHA, { uid: 1000, gid: 1001, user: 'deploy', group: 'staff', mode: 0o640 }) },
    expected: { scripts: [script({ ownership: 'chown 1000:1001 -- "$t" && chmod 0640 -- "$t"' })] },
  },
  {
    name: 'different sha256 and a mode given: the given mode, the host\'s owner',
    desired: desired({ mode: '0600' }),
    facts: { path: fileState(OLD_SHA, { uid: 1000, gid: 1001, user: 'deploy', group: 'staff', mode: 0o640 }) },
    expected: { scripts: [script({ ownership: 'chown 1000:1001 -- "$t" && chmod 0600 -- "$t"' })] },
  },
  {
    name: 'different sha256, owner and group given',
    desired: desired({ owner: 'app', group: 'app', compress: false }),
    facts: { path: fileState(OLD_SHA) },
    expected: { scripts: [script({ receive: 'cat', ownership: 'chown app:app -- "$t" && chmod 0755 -- "$t"' })] },
  },
  {
    name: 'ownership drift only: chown and chmod in place, no upload',
    desired: desired({ owner: 'deploy', group: 'deploy', mode: '0640' }),
    facts: { path: fileState(SHA) },
    expected: { scripts: ['chown deploy:deploy -- /opt/app/app.bin && chmod 0640 -- /opt/app/app.bin'] },
  },
  {
    name: 'mode drift only',
    desired: desired({ mode: '0700' }),
    facts: { path: fileState(SHA) },
    expected: { scripts: ['chmod 0700 -- /opt/app/app.bin'] },
  },
  {
    name: 'group drift only',
    desired: desired({ group: 'adm' }),
    facts: { path: fileState(SHA) },
    expected: { scripts: ['chown :adm -- /opt/app/app.bin'] },
  },
  {
    name: 'a directory in the way',
    desired: desired(),
    facts: { path: { type: 'directory', uid: 0, gid: 0, mode: 0o755 } },
    expected: { error: '/opt/app/app.bin is a directory, not a regular file; remove it first' },
  },
  {
    name: 'a symlink in the way',
    desired: desired(),
    facts: { path: { type: 'symlink' } },
    expected: { error: '/opt/app/app.bin is a symlink, not a regular file; remove it first' },
  },
  {
    name: 'validate without the word "%s"',
    desired: desired({ validate: ['sh', '-n'] }),
    facts: absent,
    expected: { error: 'upload /opt/app/app.bin: validate must be an argv holding the word "%s" (the uploaded file), e.g. ["%s", "--version"]' },
  },
  {
    name: 'validate with "%s" only inside a word',
    desired: desired({ validate: ['check', '--file=%s'] }),
    facts: absent,
    expected: { error: 'upload /opt/app/app.bin: validate must be an argv holding the word "%s" (the uploaded file), e.g. ["%s", "--version"]' },
  },
  {
    name: 'validate empty',
    desired: desired({ validate: [] }),
    facts: absent,
    expected: { error: 'upload /opt/app/app.bin: validate must be an argv holding the word "%s" (the uploaded file), e.g. ["%s", "--version"]' },
  },
  {
    name: 'validate as a string, not an argv',
    desired: desired({ validate: 'sh -n %s' as unknown as string[] }),
    facts: absent,
    expected: { error: 'upload /opt/app/app.bin: validate must be an argv holding the word "%s" (the uploaded file), e.g. ["%s", "--version"]' },
  },
  {
    name: 'validate word with a NUL byte',
    desired: desired({ validate: ['%s', 'a\0b'] }),
    facts: absent,
    expected: { error: 'upload /opt/app/app.bin: validate words must be strings without NUL bytes' },
  },
  {
    name: 'sha256 too short',
    desired: desired({ sha256: SHA.slice(0, 63) }),
    facts: absent,
    expected: { error: 'upload /opt/app/app.bin: sha256 must be 64 hex digits (use upload() to make the task)' },
  },
  {
    name: 'sha256 upper case',
    desired: desired({ sha256: SHA.toUpperCase() }),
    facts: { path: fileState(SHA) },
    expected: { error: 'upload /opt/app/app.bin: sha256 must be 64 hex digits (use upload() to make the task)' },
  },
  {
    name: 'sha256 with a shell word',
    desired: desired({ sha256: `${SHA.slice(0, 60)};rm ` }),
    facts: absent,
    expected: { error: 'upload /opt/app/app.bin: sha256 must be 64 hex digits (use upload() to make the task)' },
  },
  { name: 'relative path', desired: desired({ path: 'opt/app.bin' }), facts: absent, expected: { error: 'upload path must be absolute: "opt/app.bin"' } },
  { name: 'path with ..', desired: desired({ path: '/opt/../app.bin' }), facts: absent, expected: { error: 'upload path must not contain "..": /opt/../app.bin' } },
  { name: 'path with a trailing /', desired: desired({ path: '/opt/app/' }), facts: absent, expected: { error: 'upload path must not end with "/": /opt/app/' } },
  { name: 'owner starting with -', desired: desired({ owner: '-R' }), facts: absent, expected: { error: 'invalid owner "-R"' } },
  { name: 'mode not octal', desired: desired({ mode: '0999' }), facts: absent, expected: { error: 'invalid mode "0999": use octal like "0644"' } },
];

describe('uploadResource.plan', () => {
  test.each(rows)('$name', ({ desired: given, facts, expected }) => {
    expect(outcomeOf(uploadResource, given, facts)).toEqual(expected);
  });

  test('changes name the size, the source and the sha256s; the upload step streams', () => {
    const created = planOf(uploadResource, desired({ size: 3 * 1024 * 1024 + 512 * 1024 }), absent);
    expect(created).toMatchObject({ action: 'change', changes: ['upload /opt/app/app.bin (3.5 MiB) from /ctl/dist/app.bin'], steps: [{ label: 'upload /opt/app/app.bin' }] });
    expect(created.action === 'change' && typeof created.steps[0]?.stream?.open).toBe('function');

    const replaced = planOf(uploadResource, desired({ size: 2048, mode: '0600' }), { path: fileState(OLD_SHA) });
    expect(replaced).toMatchObject({
      action: 'change',
      changes: [`content of /opt/app/app.bin differs from /ctl/dist/app.bin (sha256 ${OLD_SHA.slice(0, 12)} -> ${SHA.slice(0, 12)}, 2.0 KiB)`, 'mode 0755 -> 0600'],
    });
    expect(planOf(uploadResource, desired({ size: 12 }), absent)).toMatchObject({ changes: ['upload /opt/app/app.bin (12 B) from /ctl/dist/app.bin'] });

    // Ownership alone is fixed in the run's shell: no stream, no second exec.
    const chown = planOf(uploadResource, desired({ owner: 'deploy' }), { path: fileState(SHA) });
    expect(chown).toMatchObject({ action: 'change', changes: ['owner root -> deploy'], steps: [{ label: 'set ownership of /opt/app/app.bin' }] });
    expect(chown.action === 'change' && chown.steps[0]?.stream).toBeUndefined();
  });

  test.each(HOSTILE_PATH_WORDS)('a path holding $name is one quoted word', (row) => {
    const quoted = quotedAfter('/srv/', row);
    const inner = row.quoted.startsWith("'") ? row.quoted.slice(1, -1) : row.quoted;
    const host = uploadScript(desired({ path: `/srv/${row.value}` }), {});
    expect(host).toContain(`\nt=$(mktemp /srv/.halyard.XXXXXXXX) || exit 1\ngzip -dc > "$t" || { echo 'upload of /srv/${inner} was cut short' >&2; exit 1; }\n`);
    expect(host.endsWith(`\nmv -f -- "$t" ${quoted}`)).toBe(true);
    expect(outcomeOf(uploadResource, desired({ path: `/srv/${row.value}`, mode: '0600' }), { path: fileState(SHA) })).toEqual({ scripts: [`chmod 0600 -- ${quoted}`] });
  });

  test.each(HOSTILE_WORDS)('a validate word holding $name is one quoted word', (row) => {
    // The failure message holds spaces, so it is always quoted: the word's own quoting, inside.
    const inner = row.quoted.startsWith("'") ? row.quoted.slice(1, -1) : row.quoted;
    const check = `"$t" --check ${row.quoted} >&2 || { echo 'validation of /opt/app/app.bin failed: %s --check ${inner}' >&2; exit 1; }`;
    expect(uploadScript(desired({ validate: ['%s', '--check', row.value] }), {})).toBe(script({ validate: check }));
  });

  test('facts, invalidation and description', () => {
    expect(Object.values(uploadResource.facts(desired(), { diff: false })).map((fact) => fact.key)).toEqual(['path:/opt/app/app.bin']);
    // No old content is read back for diffs, even in diff mode (the file may be large or binary).
    expect(Object.values(uploadResource.facts(desired(), { diff: true })).map((fact) => fact.key)).toEqual(['path:/opt/app/app.bin']);
    expect(uploadResource.invalidates(desired())).toEqual(['path:/opt/app/app.bin', 'exists:/opt/app/app.bin', 'status:*']);
    expect(uploadResource.invalidates(desired({ path: '/etc/systemd/system/app.service' }))).toContain('service:*');
    expect(uploadResource.describe(desired())).toBe('upload /opt/app/app.bin');
  });
});

describe('controller side: uploadDesired, localFileDigest, uploadSource', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'hy-upload-local-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const local = (name: string, content: string | Buffer, mode = 0o644): string => {
    const path = join(dir, name);
    writeFileSync(path, content);
    chmodSync(path, mode);
    return path;
  };

  async function bytesOf(stream: NodeJS.ReadableStream): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
    return Buffer.concat(chunks);
  }

  test('the desired state: digest, size and mode of the local file; compression by name unless told', () => {
    const src = local('tool.bin', PAYLOAD, 0o750);
    expect(uploadDesired({ src, path: '/usr/local/bin/tool' })).toEqual({
      src, path: '/usr/local/bin/tool', sha256: SHA, size: Buffer.byteLength(PAYLOAD), localMode: 0o750, compress: true,
    });
    for (const name of ['release.tar.gz', 'data.TGZ', 'blob.zst', 'x.xz', 'x.bz2', 'x.zip', 'x.7z', 'x.br', 'x.lz4', 'photo.jpeg', 'photo.jpg', 'logo.png', 'img.webp']) {
      expect(uploadDesired({ src: local(name, 'x'), path: '/tmp/x' }).compress, name).toBe(false);
    }
    for (const name of ['app.tar', 'run.sh', 'noext', 'gz', 'notes.gz.txt']) {
      expect(uploadDesired({ src: local(name, 'x'), path: '/tmp/x' }).compress, name).toBe(true);
    }
    expect(uploadDesired({ src: local('forced.gz', 'x'), path: '/tmp/x', compress: true }).compress).toBe(true);
    expect(uploadDesired({ src: local('plain.txt', 'x'), path: '/tmp/x', compress: false }).compress).toBe(false);
    // Ownership and validate pass through.
    expect(uploadDesired({ src, path: '/x', owner: 'root', group: 0, mode: '0644', validate: ['%s', '--version'] })).toMatchObject({
      owner: 'root', group: 0, mode: '0644', validate: ['%s', '--version'],
    });
  });

  test('a relative src is resolved against the working directory', () => {
    const src = local('relative.txt', 'rel');
    const given = relative(process.cwd(), src);
    expect(given.startsWith('/')).toBe(false);
    expect(uploadDesired({ src: given, path: '/x' })).toMatchObject({ src, sha256: sha('rel') });
  });

  test('upload() makes a task of the upload kind with the digest taken now', () => {
    const src = local('task.bin', PAYLOAD);
    const instance = upload({ src, path: '/opt/task.bin', mode: '0644' });
    expect(instance.type).toBe(uploadResource);
    expect(instance.name).toBe('upload /opt/task.bin');
    expect(instance.desired).toMatchObject({ src, path: '/opt/task.bin', sha256: SHA, mode: '0644', compress: true });
  });

  test('the digest is cached per (path, size, mtime) and taken again once the file changes', () => {
    const src = local('cached.bin', 'first version\n');
    utimesSync(src, 1_000_000, 1_000_000);
    expect(localFileDigest(src).sha256).toBe(sha('first version\n'));
    // Same size, same mtime: the cached digest (the file is not read again).
    writeFileSync(src, 'other version\n');
    utimesSync(src, 1_000_000, 1_000_000);
    expect(localFileDigest(src).sha256).toBe(sha('first version\n'));
    // A new mtime: read again.
    utimesSync(src, 1_000_000, 1_000_050);
    expect(localFileDigest(src)).toEqual({ sha256: sha('other version\n'), size: 14, mode: 0o644 });
    // A new size with the old mtime: read again.
    writeFileSync(src, 'third, longer version\n');
    utimesSync(src, 1_000_000, 1_000_050);
    expect(localFileDigest(src).sha256).toBe(sha('third, longer version\n'));
    expect(uploadDesired({ src, path: '/x' })).toMatchObject({ sha256: sha('third, longer version\n'), size: 22 });
  });

  test('a large file is hashed in chunks to the right digest', () => {
    const content = randomBytes(3 * 1024 * 1024 + 17);
    expect(localFileDigest(local('large.bin', content))).toEqual({ sha256: sha(content), size: content.length, mode: 0o644 });
  });

  test('a missing local file is a clear HalyardError naming the path', () => {
    const missing = join(dir, 'no-such-release.tar.gz');
    let caught: unknown;
    try {
      uploadDesired({ src: missing, path: '/opt/release.tar.gz' });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(HalyardError);
    expect(caught).toMatchObject({ code: 'E_LOCAL_FILE', message: `upload: cannot read ${missing} on the controller (no such file)` });
    expect(() => localFileDigest(missing)).toThrow(missing);
    expect(() => upload({ src: missing, path: '/x' })).toThrow(`upload: cannot read ${missing} on the controller (no such file)`);
  });

  test('a directory as the local file is refused', () => {
    const sub = join(dir, 'a-directory');
    mkdirSync(sub);
    expect(() => localFileDigest(sub)).toThrow(new HalyardError('E_LOCAL_FILE', `upload: ${sub} on the controller is not a regular file`));
  });

  test('compressed: the stream is gzip (level 1) that gunzips to the original bytes', async () => {
    const content = Buffer.concat([randomBytes(700 * 1024), Buffer.alloc(700 * 1024, 'a')]);
    const src = local('stream.bin', content);
    const sent = await bytesOf(uploadSource({ src, compress: true }).open());
    expect(sent.subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));
    expect(sent.length).toBeLessThan(content.length);
    expect(gunzipSync(sent).equals(content)).toBe(true);
    // Each open() is a fresh read of the file.
    expect(gunzipSync(await bytesOf(uploadSource({ src, compress: true }).open())).equals(content)).toBe(true);
  });

  test('not compressed: the raw bytes', async () => {
    const content = randomBytes(600 * 1024);
    const src = local('raw.tar.gz', content);
    expect((await bytesOf(uploadSource({ src, compress: false }).open())).equals(content)).toBe(true);
  });

  test('an empty file streams as a valid (empty) gzip member', async () => {
    const src = local('empty.bin', '');
    expect(gunzipSync(await bytesOf(uploadSource({ src, compress: true }).open()))).toHaveLength(0);
    expect(await bytesOf(uploadSource({ src, compress: false }).open())).toHaveLength(0);
  });

  test('a local file gone by the time it is read errors the stream (the host never sees a clean end)', async () => {
    const gone = join(dir, 'gone.bin');
    await expect(bytesOf(uploadSource({ src: gone, compress: true }).open())).rejects.toThrow(`upload: reading ${gone}: ENOENT`);
    await expect(bytesOf(uploadSource({ src: gone, compress: false }).open())).rejects.toThrow('ENOENT');
  });
});

// The host script run by a real local `sh` (no SSH), fed the stream on stdin.
describe('host side: uploadScript under a local sh', () => {
  let root: string;
  // The "host" directory of the current test (its own, so a leftover temp file is that test's failure only).
  let dir: string;
  let srcDir: string;
  const uid = process.getuid?.() ?? 0;
  const gid = process.getgid?.() ?? 0;
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'hy-upload-host-'));
    srcDir = mkdtempSync(join(tmpdir(), 'hy-upload-src-'));
  });
  beforeEach(() => {
    dir = mkdtempSync(join(root, 'case-'));
  });
  afterAll(() => {
    rmSync(root, { recursive: true, force: true });
    rmSync(srcDir, { recursive: true, force: true });
  });

  interface ShResult {
    code: number | null;
    stderr: string;
  }

  // Runs the script with `input` (bytes, or a stream) on stdin, as the streamed exec does.
  function runScript(text: string, input: Buffer | NodeJS.ReadableStream): Promise<ShResult> {
    return new Promise((resolve, reject) => {
      const child = spawn('sh', ['-c', text], { stdio: ['pipe', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stderr }));
      // A script that exits early closes the pipe: that is its exit code's business, not an error here.
      child.stdin.on('error', () => undefined);
      if (Buffer.isBuffer(input)) child.stdin.end(input);
      else input.pipe(child.stdin);
    });
  }

  const temps = (where = dir) => readdirSync(where).filter((name) => name.startsWith('.halyard.'));
  let counter = 0;
  function case_(content: string | Buffer, options: { compress?: boolean; validate?: string[]; name?: string } = {}): UploadDesired {
    counter += 1;
    const src = join(srcDir, options.name ?? `src-${counter}.bin`);
    writeFileSync(src, content);
    chmodSync(src, 0o640);
    const made = uploadDesired({ src, path: join(dir, `target-${counter}`), ...(options.validate ? { validate: options.validate } : {}) });
    return options.compress === undefined ? made : { ...made, compress: options.compress };
  }
  const wanted: Ownership = { owner: uid, group: gid, mode: '0640' };
  const old = (path: string, content = 'old content\n') => {
    writeFileSync(path, content);
    chmodSync(path, 0o600);
    return statSync(path);
  };

  test('gzip stream: the target is written with the content and mode, by rename (a new inode), no temp left', async () => {
    const content = Buffer.concat([randomBytes(2 * 1024 * 1024), Buffer.alloc(1024 * 1024, 'z')]);
    const upload = case_(content);
    expect(upload.compress).toBe(true);
    const before = old(upload.path);
    const result = await runScript(uploadScript(upload, wanted), uploadSource(upload).open());
    expect(result).toEqual({ code: 0, stderr: '' });
    expect(readFileSync(upload.path).equals(content)).toBe(true);
    const after = statSync(upload.path);
    expect(after.mode & 0o7777).toBe(0o640);
    expect([after.uid, after.gid]).toEqual([uid, gid]);
    expect(after.ino).not.toBe(before.ino);
    expect(temps()).toEqual([]);
  });

  test('raw stream into a new file; an empty file works too', async () => {
    const content = randomBytes(256 * 1024);
    const raw = case_(content, { compress: false });
    expect(await runScript(uploadScript(raw, { mode: '0755' }), uploadSource(raw).open())).toEqual({ code: 0, stderr: '' });
    expect(readFileSync(raw.path).equals(content)).toBe(true);
    expect(statSync(raw.path).mode & 0o7777).toBe(0o755);

    const empty = case_('');
    expect(await runScript(uploadScript(empty, wanted), uploadSource(empty).open())).toEqual({ code: 0, stderr: '' });
    expect(readFileSync(empty.path)).toHaveLength(0);
    expect(temps()).toEqual([]);
  });

  test('while the stream is arriving the old target is whole; the data goes to a temp file beside it', async () => {
    const content = randomBytes(512 * 1024);
    const upload = case_(content, { compress: false });
    old(upload.path);
    const child = spawn('sh', ['-c', uploadScript(upload, wanted)], { stdio: ['pipe', 'ignore', 'pipe'] });
    const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
    child.stdin.write(content.subarray(0, 200 * 1024));
    await expect.poll(() => temps().map((name) => statSync(join(dir, name)).size), { timeout: 5_000 }).toEqual([200 * 1024]);
    expect(readFileSync(upload.path, 'utf8')).toBe('old content\n');
    child.stdin.end(content.subarray(200 * 1024));
    expect(await closed).toBe(0);
    expect(readFileSync(upload.path).equals(content)).toBe(true);
    expect(temps()).toEqual([]);
  });

  test('a truncated gzip stream: exit 1, "cut short", old target untouched, no temp file', async () => {
    const content = randomBytes(300 * 1024);
    const upload = case_(content);
    const before = old(upload.path);
    const gz = gzipSync(content, { level: 1 });
    const result = await runScript(uploadScript(upload, wanted), gz.subarray(0, Math.floor(gz.length / 2)));
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`upload of ${upload.path} was cut short`);
    expect(readFileSync(upload.path, 'utf8')).toBe('old content\n');
    expect(statSync(upload.path)).toMatchObject({ ino: before.ino, mode: before.mode });
    expect(temps()).toEqual([]);
  });

  test('a corrupted gzip stream (flipped bytes) fails the same way', async () => {
    const content = randomBytes(100 * 1024);
    const upload = case_(content);
    old(upload.path);
    const gz = gzipSync(content, { level: 1 });
    for (let index = 1000; index < 1010; index += 1) gz[index] = (gz[index] ?? 0) ^ 0xff;
    const result = await runScript(uploadScript(upload, wanted), gz);
    expect(result.code).toBe(1);
    expect(readFileSync(upload.path, 'utf8')).toBe('old content\n');
    expect(temps()).toEqual([]);
  });

  test('raw stream damaged or cut short: the sha256 check refuses it', async () => {
    const content = randomBytes(100 * 1024);
    const upload = case_(content, { compress: false });
    old(upload.path);
    const damaged = Buffer.from(content);
    damaged[5000] = (damaged[5000] ?? 0) ^ 0x01;
    const flipped = await runScript(uploadScript(upload, wanted), damaged);
    expect(flipped.code).toBe(1);
    expect(flipped.stderr).toBe(
      `received sha256 ${sha(damaged)}, expected ${upload.sha256}: the local file changed during the upload, or the stream was damaged\n`,
    );
    const short = await runScript(uploadScript(upload, wanted), content.subarray(0, 4096));
    expect(short.code).toBe(1);
    expect(short.stderr).toContain(`received sha256 ${sha(content.subarray(0, 4096))}, expected ${upload.sha256}`);
    expect(readFileSync(upload.path, 'utf8')).toBe('old content\n');
    expect(temps()).toEqual([]);
  });

  test('a wrong expected sha256 (the local file changed after the task was made): refused, old target kept', async () => {
    const upload = case_('version one\n');
    old(upload.path);
    writeFileSync(upload.src, 'version two, written during the run\n');
    const result = await runScript(uploadScript(upload, wanted), uploadSource(upload).open());
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`received sha256 ${sha('version two, written during the run\n')}, expected ${sha('version one\n')}`);
    expect(readFileSync(upload.path, 'utf8')).toBe('old content\n');
    expect(temps()).toEqual([]);
  });

  test('interrupted (TERM, then the stream ends): exit 1, no temp file, old target kept', async () => {
    const content = randomBytes(256 * 1024);
    const upload = case_(content, { compress: false });
    old(upload.path);
    const child = spawn('sh', ['-c', uploadScript(upload, wanted)], { stdio: ['pipe', 'ignore', 'pipe'] });
    const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
    child.stdin.write(content.subarray(0, 64 * 1024));
    // Bytes in the temp file: `cat` is running, so the traps (set before mktemp) are in place.
    await expect.poll(() => temps().map((name) => statSync(join(dir, name)).size), { timeout: 5_000 }).toEqual([64 * 1024]);
    child.kill('SIGTERM');
    child.stdin.end();
    expect(await closed).not.toBe(0);
    expect(readFileSync(upload.path, 'utf8')).toBe('old content\n');
    expect(temps()).toEqual([]);
  });

  test('a failing validate: exit 1 naming the check, old target byte-identical, no temp file', async () => {
    const upload = case_('#!/bin/sh\nif then fi (\n', { validate: ['sh', '-n', '%s'], name: 'broken.sh' });
    old(upload.path, '#!/bin/sh\necho previous\n');
    const result = await runScript(uploadScript(upload, { mode: '0755' }), uploadSource(upload).open());
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/Syntax error/);
    expect(result.stderr.trimEnd().split('\n').at(-1)).toBe(`validation of ${upload.path} failed: sh -n %s`);
    expect(readFileSync(upload.path, 'utf8')).toBe('#!/bin/sh\necho previous\n');
    expect(temps()).toEqual([]);

    const refused = case_('fine\n', { validate: ['/bin/false', '%s'] });
    old(refused.path);
    const falseResult = await runScript(uploadScript(refused, wanted), uploadSource(refused).open());
    expect(falseResult).toEqual({ code: 1, stderr: `validation of ${refused.path} failed: /bin/false %s\n` });
    expect(readFileSync(refused.path, 'utf8')).toBe('old content\n');
    expect(temps()).toEqual([]);
  });

  test('validate runs on the temp file after ownership is set (it may execute it), with its output on stderr', async () => {
    const upload = case_('#!/bin/sh\necho "tool 1.2 $1"\n', { validate: ['%s', '--version'], name: 'tool' });
    const result = await runScript(uploadScript(upload, { owner: uid, group: gid, mode: '0750' }), uploadSource(upload).open());
    expect(result).toEqual({ code: 0, stderr: 'tool 1.2 --version\n' });
    expect(statSync(upload.path).mode & 0o7777).toBe(0o750);

    // The check sees the temp file beside the target, already with the wanted mode.
    const probe = case_('data\n', { validate: ['sh', '-c', 'echo "$(basename "$1") $(stat -c %a "$1") $(cat "$1")"', 'probe', '%s'] });
    const probed = await runScript(uploadScript(probe, { mode: '0604' }), uploadSource(probe).open());
    expect(probed.code).toBe(0);
    expect(probed.stderr).toMatch(/^\.halyard\.[A-Za-z0-9]{8} 604 data\n$/);
    expect(readFileSync(probe.path, 'utf8')).toBe('data\n');
    expect(temps()).toEqual([]);
  });

  test('a missing target directory: mktemp fails, nothing is written', async () => {
    const upload = { ...case_('x\n'), path: join(dir, 'no-such-dir', 'file') };
    const result = await runScript(uploadScript(upload, wanted), uploadSource(upload).open());
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('mktemp');
    expect(readdirSync(dir).includes('no-such-dir')).toBe(false);
  });

  test('a target path with spaces and quotes', async () => {
    const upload = { ...case_('odd name\n'), path: join(dir, "it's a file") };
    expect(await runScript(uploadScript(upload, wanted), uploadSource(upload).open())).toEqual({ code: 0, stderr: '' });
    expect(readFileSync(join(dir, "it's a file"), 'utf8')).toBe('odd name\n');
    expect(temps()).toEqual([]);
  });
});

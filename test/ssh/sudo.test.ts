import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { DEFERRED_SCRIPT_READER, becomeMode, buildExecCommand, buildStreamCommand, deferredScriptHeader, newSudoMarkers, sudoFailure, SudoStderrFilter, wrapScriptForStdin } from '../../src/ssh/sudo.js';

const markers = { prompt: 'halyard-sudo-prompt-abc', ready: 'halyard-sudo-ready-abc' };

describe('remote command lines (exact strings)', () => {
  it('exec without become runs sh -s; the script is never in argv', () => {
    expect(buildExecCommand('none', markers)).toBe('sh -s');
  });

  it('exec with NOPASSWD sudo never prompts and announces readiness on stderr', () => {
    expect(buildExecCommand('sudo-nopasswd', markers)).toBe(
      `sudo -n -H -- sh -c 'echo halyard-sudo-ready-abc >&2; exec sh -s'`,
    );
  });

  it('exec with a sudo password reads it on stdin with our prompt marker', () => {
    expect(buildExecCommand('sudo-password', markers)).toBe(
      `sudo -S -H -p halyard-sudo-prompt-abc -- sh -c 'echo halyard-sudo-ready-abc >&2; exec sh -s'`,
    );
  });

  it('stream commands carry the fixed script as one quoted argument', () => {
    const script = `tar -C /var/lib/app -cf - . | gzip -c`;
    expect(buildStreamCommand('none', markers, script)).toBe(`sh -c 'tar -C /var/lib/app -cf - . | gzip -c'`);
    expect(buildStreamCommand('sudo-nopasswd', markers, script)).toBe(
      `sudo -n -H -- sh -c 'echo halyard-sudo-ready-abc >&2; exec sh -c "$1"' halyard 'tar -C /var/lib/app -cf - . | gzip -c'`,
    );
    expect(buildStreamCommand('sudo-password', markers, "docker load")).toBe(
      `sudo -S -H -p halyard-sudo-prompt-abc -- sh -c 'echo halyard-sudo-ready-abc >&2; exec sh -c "$1"' halyard 'docker load'`,
    );
  });

  it('a stream without its script yet waits for it on stdin: length, newline, exactly that many bytes', () => {
    const reader = 'IFS= read -r hy_n || exit 70; hy_s=$(dd bs=1 count="$hy_n" 2>/dev/null) || exit 70; exec sh -c "$hy_s"';
    expect(DEFERRED_SCRIPT_READER).toBe(reader);
    expect(buildStreamCommand('none', markers, undefined)).toBe(`sh -c '${reader}'`);
    expect(buildStreamCommand('sudo-nopasswd', markers, undefined)).toBe(`sudo -n -H -- sh -c 'echo halyard-sudo-ready-abc >&2; ${reader}'`);
    expect(buildStreamCommand('sudo-password', markers, undefined)).toBe(`sudo -S -H -p halyard-sudo-prompt-abc -- sh -c 'echo halyard-sudo-ready-abc >&2; ${reader}'`);
    // Bytes, not characters: a script with UTF-8 in it.
    expect(deferredScriptHeader("echo 'é'").toString('utf8')).toBe("9\necho 'é'"); // 8 characters, 9 bytes
  });

  it('the deferred reader under sh runs exactly the script and hands it the rest of stdin; no script, exit 70 and nothing run', () => {
    const script = 'echo "script ran"; tr a-z A-Z';
    const ran = spawnSync('sh', ['-c', DEFERRED_SCRIPT_READER], { input: Buffer.concat([deferredScriptHeader(script), Buffer.from('the data after it\n')]) });
    expect({ status: ran.status, stdout: ran.stdout.toString() }).toEqual({ status: 0, stdout: 'script ran\nTHE DATA AFTER IT\n' });
    const cut = spawnSync('sh', ['-c', DEFERRED_SCRIPT_READER], { input: '' });
    expect({ status: cut.status, stdout: cut.stdout.toString() }).toEqual({ status: 70, stdout: '' });
  });

  it('picks the mode from become and whether a password is set', () => {
    expect(becomeMode(false, true)).toBe('none');
    expect(becomeMode(true, false)).toBe('sudo-nopasswd');
    expect(becomeMode(true, true)).toBe('sudo-password');
  });

  it('markers are fresh per exec and safe to pass unquoted-or-quoted', () => {
    const a = newSudoMarkers();
    const b = newSudoMarkers();
    expect(a.prompt).not.toBe(b.prompt);
    expect(a.ready).toMatch(/^halyard-sudo-ready-[0-9a-f]{18}$/);
  });

  it('wraps the script so the shell parses it whole and commands cannot read it from stdin', () => {
    expect(wrapScriptForStdin('echo hi')).toBe('{\necho hi\n} </dev/null\n');
  });
});

describe('SudoStderrFilter', () => {
  it('asks for the password on the first prompt, strips markers, passes later stderr through', () => {
    const filter = new SudoStderrFilter('sudo-password', markers);
    const first = filter.push(Buffer.from('halyard-sudo-pro'));
    expect(first.events).toEqual([]);
    const second = filter.push(Buffer.from('mpt-abc'));
    expect(second.events).toEqual([{ type: 'send-password' }]);
    const third = filter.push(Buffer.from('\nhalyard-sudo-ready-abc\nwarning: x\n'));
    expect(third.events).toEqual([{ type: 'ready' }]);
    expect(Buffer.concat([first.output, second.output, third.output]).toString()).toBe('\nwarning: x\n');
    expect(filter.ready).toBe(true);
    expect(filter.push(Buffer.from('halyard-sudo-prompt-abc')).output.toString()).toBe('halyard-sudo-prompt-abc');
  });

  it('reports a second prompt as a wrong password', () => {
    const filter = new SudoStderrFilter('sudo-password', markers);
    const { events, output } = filter.push(Buffer.from('halyard-sudo-prompt-abc\nSorry, try again.\nhalyard-sudo-prompt-abc'));
    expect(events).toEqual([{ type: 'send-password' }, { type: 'wrong-password' }]);
    expect(output.toString()).toBe('\nSorry, try again.\n');
    expect(filter.promptsSeen).toBe(2);
  });

  it('keeps non-UTF-8 bytes intact and flushes a held tail', () => {
    const filter = new SudoStderrFilter('sudo-nopasswd', markers);
    const bytes = Buffer.from([0xff, 0xfe, 0x00, 0x41]);
    const out = filter.push(bytes);
    expect(Buffer.concat([out.output, filter.flush()])).toEqual(bytes);
  });

  it('is transparent without become', () => {
    const filter = new SudoStderrFilter('none', markers);
    expect(filter.ready).toBe(true);
    expect(filter.push(Buffer.from('halyard-sudo-ready-abc')).output.toString()).toBe('halyard-sudo-ready-abc');
  });
});

describe('sudoFailure', () => {
  it('classifies by mode, exit status and prompts seen, never by stderr text', () => {
    const tail = 'sudo: some message';
    expect(sudoFailure('sudo-nopasswd', 'x', { exitCode: 1, promptsSeen: 0, stderrTail: tail }).code).toBe('E_SUDO_PASSWORD_REQUIRED');
    expect(sudoFailure('sudo-nopasswd', 'x', { exitCode: 127, promptsSeen: 0, stderrTail: 'sh: sudo: not found' }).code).toBe('E_SUDO_FAILED');
    expect(sudoFailure('sudo-password', 'x', { exitCode: 1, promptsSeen: 2, stderrTail: tail }).code).toBe('E_SUDO_PASSWORD_WRONG');
    expect(sudoFailure('sudo-password', 'x', { exitCode: 1, promptsSeen: 1, stderrTail: tail }).code).toBe('E_SUDO_FAILED');
    expect(sudoFailure('sudo-password', 'x', { exitCode: 1, promptsSeen: 1, stderrTail: tail }).message).toContain(tail);
  });
});

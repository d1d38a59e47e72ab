// The handler journal's scripts as exact strings (commands are data), and its parser.
import { describe, expect, it } from 'vitest';
import { journalScript, pendingHandlersFact } from '../../src/engine/handler-journal.js';
import { FactParseError } from '../../src/facts/fact.js';

const WHERE = 'if [ "$(id -u)" = 0 ]; then hy_journal=/var/lib/halyard/handlers; else hy_journal="$HOME/.halyard/handlers"; fi';

describe('handler journal', () => {
  it('reads the file, or nothing when there is none', () => {
    expect(pendingHandlersFact.script).toBe(`${WHERE}\ncat "$hy_journal/pending-handlers" 2>/dev/null; true`);
    expect(pendingHandlersFact.parse('', 0)).toEqual([]);
    expect(pendingHandlersFact.parse('"restart app"\n"reload nginx"\n"restart app"\n', 0)).toEqual(['restart app', 'reload nginx']);
  });

  it('refuses a file it did not write, without quoting it', () => {
    expect(() => pendingHandlersFact.parse('rm -rf /\n', 0)).toThrow(new FactParseError('halyard:pending-handlers', 'a line that is not a handler name (1 line, 9 bytes)'));
    expect(() => pendingHandlersFact.parse('42\n', 0)).toThrow(FactParseError);
  });

  it('writes names as JSON lines through one quoting, atomically, 0600 in a 0700 folder', () => {
    expect(journalScript(['restart app', "it's \"odd\"\n$(x)"])).toBe(
      `${WHERE}\n` +
        `mkdir -p "\${hy_journal%/*}" && { [ -d "$hy_journal" ] || mkdir -m 700 "$hy_journal"; } && ` +
        `(umask 077 && printf '%s\\n' '"restart app"' '"it'\\''s \\"odd\\"\\n$(x)"' > "$hy_journal/pending-handlers".tmp) && ` +
        `mv -f "$hy_journal/pending-handlers".tmp "$hy_journal/pending-handlers"`,
    );
    expect(journalScript([])).toBe(`${WHERE}\nrm -f "$hy_journal/pending-handlers"`);
  });

  it('what it writes reads back as the same names', async () => {
    const { execFileSync } = await import('node:child_process');
    const { mkdtempSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const home = mkdtempSync(join(tmpdir(), 'hy-journal-home-'));
    const names = ['restart app', "it's \"odd\"\n$(touch /tmp/hy-pwned)", 'ünïcode'];
    const run = (script: string) => execFileSync('sh', ['-c', script], { env: { ...process.env, HOME: home }, encoding: 'utf8', uid: 65534, gid: 65534 });
    execFileSync('chown', ['65534:65534', home]);
    run(journalScript(names));
    expect(pendingHandlersFact.parse(run(pendingHandlersFact.script), 0)).toEqual(names);
    expect(execFileSync('stat', ['-c', '%a', join(home, '.halyard/handlers'), join(home, '.halyard/handlers/pending-handlers')], { encoding: 'utf8' })).toBe('700\n600\n');
  });
});

// apply -v/-vv/-vvv: the counting flag, the -vv lines (requests, durations, masked scripts) and
// the -vvv SSH log plumbing.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { Server } from 'ssh2';
import { registerApplyCommand, type ApplyFlags } from '../../src/cli/apply-command.js';
import { configFilesLine, displayScript, formatDuration, RunTrace, scriptLines, sshDebugLine, traceLine } from '../../src/cli/verbosity.js';
import { Redactor, Secret } from '../../src/core/secret.js';
import { template } from '../../src/core/template.js';
import { runHost, type HostLink, type HostRunOptions } from '../../src/engine/host-run.js';
import { generateEd25519OpenSshKey } from '../../src/lab/keys.js';
import { task } from '../../src/playbook/define.js';
import { commandResource } from '../../src/resources/command.js';
import { fileResource } from '../../src/resources/file.js';
import { SshPool } from '../../src/ssh/pool.js';
import { localLink } from '../support/local-link.js';

// apply's flags as commander parses them from `halyard apply ARGS` (the run itself replaced).
async function applyFlags(...args: string[]): Promise<ApplyFlags> {
  const program = new Command().exitOverride();
  registerApplyCommand(program, () => undefined);
  const apply = program.commands.find((command) => command.name() === 'apply')!;
  let parsed: ApplyFlags | undefined;
  apply.exitOverride().action((_playbook: string, flags: ApplyFlags) => {
    parsed = flags;
  });
  await program.parseAsync(['node', 'halyard', 'apply', 'site.ts', ...args]);
  return parsed!;
}

function redactorOf(...values: string[]): Redactor {
  const redactor = new Redactor();
  for (const value of values) redactor.add(new Secret(value));
  return redactor;
}

describe('-v, -vv, -vvv', () => {
  it('counts: each -v (also inside -vv, beside other short flags) adds one; none is 0', async () => {
    expect((await applyFlags()).verbose).toBe(0);
    expect((await applyFlags('-v')).verbose).toBe(1);
    expect((await applyFlags('-vv')).verbose).toBe(2);
    expect((await applyFlags('-vvv')).verbose).toBe(3);
    expect((await applyFlags('-v', '-v')).verbose).toBe(2);
    expect((await applyFlags('--verbose', '--verbose', '--verbose')).verbose).toBe(3);
    const combined = await applyFlags('-vvC');
    expect(combined.verbose).toBe(2);
    expect(combined.check).toBe(true);
  });

  it('leaves --forks and the SSH timeouts unset when not given, so halyard.yml and ansible.cfg can fill them', async () => {
    const flags = await applyFlags();
    expect(flags.forks).toBeUndefined();
    expect(flags.connectTimeout).toBeUndefined();
    expect(flags.timeout).toBeUndefined();
    expect((await applyFlags('-f', '5', '--timeout', '60')).forks).toBe('5');
  });
});

describe('-vv formatting', () => {
  it('durations, request lines and the settings files line', () => {
    expect(formatDuration(12.4)).toBe('12 ms');
    expect(formatDuration(1250)).toBe('1.25 s');
    expect(traceLine('web-1', 'request #3 step 1 of task 2/5 "nginx"', 'exit 0', 45)).toBe('web-1 | request #3 step 1 of task 2/5 "nginx": exit 0, 45 ms');
    // Names from inventories are shown, never obeyed.
    expect(traceLine('evil\u001b[2J', 'connect', 'ok', 3)).toBe('evil\\x1b[2J | connect: ok, 3 ms');
    expect(configFilesLine({ project: { file: '/r/halyard.yml' }, ansible: {} })).toBe('halyard: halyard.yml: /r/halyard.yml; ansible.cfg: none');
  });

  it('scripts are masked: secret values, base64 here-document data (file contents) and secrets quoted with a quote in them', () => {
    const redactor = redactorOf('s3cr3t-token-value', "it's-a-secret");
    const script = [
      'export TOKEN=s3cr3t-token-value',
      `curl -H 'X-Pass: it'\\''s-a-secret' https://example.com`,
      'echo plain',
      `if base64 -d > "$t" <<'HALYARD_EOF'`,
      Buffer.from('PASSWORD=s3cr3t-token-value\n').toString('base64'),
      'HALYARD_EOF',
      'then mv -f -- "$t" /etc/app.env; fi',
      "  exec sh /dev/fd/3 3<<'HALYARD_GUARD_0123'",
      'test -f /etc/app.env',
      'HALYARD_GUARD_0123',
    ].join('\n');
    expect(displayScript(script, redactor)).toBe(
      [
        'export TOKEN=********',
        "curl -H 'X-Pass: ********' https://example.com",
        'echo plain',
        `if base64 -d > "$t" <<'HALYARD_EOF'`,
        '[base64 data, not shown]',
        'HALYARD_EOF',
        'then mv -f -- "$t" /etc/app.env; fi',
        "  exec sh /dev/fd/3 3<<'HALYARD_GUARD_0123'",
        'test -f /etc/app.env',
        'HALYARD_GUARD_0123',
      ].join('\n'),
    );
    expect(scriptLines('web-1', 'echo one\necho two\n', redactor)).toEqual(['web-1 |     echo one', 'web-1 |     echo two']);
  });

  it('-vvv: ssh2 log lines are masked and carry their host', () => {
    expect(sshDebugLine('web-1', 'Outbound: Sending USERAUTH_REQUEST (s3cr3t-token-value)', redactorOf('s3cr3t-token-value'))).toBe('web-1 | ssh: Outbound: Sending USERAUTH_REQUEST (********)');
  });
});

describe('RunTrace on a real host run (local shell)', () => {
  it('prints each request with what it is for, its exit status and duration, and the masked script of each step', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hy-trace-'));
    const secret = new Secret('s3cr3t-in-file-and-command', 'api_token');
    const redactor = new Redactor();
    redactor.add(secret);
    const lines: string[] = [];
    const trace = new RunTrace({ redactor, write: (line) => lines.push(line) });
    const tasks = [
      task(fileResource, { path: `${dir}/app.env`, content: template`TOKEN=${secret}\n`, mode: '0600' }, { notify: 'reload' }),
      task(commandResource, { command: `test -n ${secret.reveal()} && touch ${dir}/ran`, creates: `${dir}/ran` }),
    ];
    const handlers = new Map([['reload', [task(fileResource, { path: `${dir}/reloaded`, content: 'yes\n' })]]]);
    const link = localLink();
    const options: HostRunOptions = {
      check: false,
      diff: false,
      lockOwner: { runId: 'trace', controller: 'vitest', pid: process.pid, startedAt: new Date().toISOString() },
      lockWaitSeconds: 10,
      probeTimeoutMs: 10_000,
      stepTimeoutMs: 10_000,
      redactor,
      onEvent: (event) => trace.onEvent(event),
    };
    const result = await runHost('local', link as HostLink, { tasks, handlers }, options);
    await link.close();
    trace.onEvent({ type: 'host-done', host: 'local', result });
    expect(result).toMatchObject({ changed: 3, failed: 0 });

    const text = lines.join('\n');
    expect(text).not.toContain('s3cr3t');
    // Each line from the engine's own request events: what the request is for, its outcome, its duration.
    // A duration as formatDuration writes it: "12 ms", or "1.23 s" on a machine busy enough.
    expect(lines[0]).toMatch(/^local \| open the run shell: exit 0, (\d+ ms|\d+\.\d\d s)$/);
    expect(lines[1]).toMatch(/^local \| request #1 probe facts: exit 0, (\d+ ms|\d+\.\d\d s)$/);
    expect(text).toMatch(new RegExp(`local \\| request #2 [^\\n]*\\(task 1/2 "file ${dir}/app.env"\\): script\\n(local \\|     .*\\n)*local \\|     \\[base64 data, not shown\\]`));
    expect(text).toMatch(/local \| request #\d+ record pending handlers: exit 0, (\d+ ms|\d+\.\d\d s)/);
    expect(text).toMatch(/local \| request #\d+ [^\n]*\(task 2\/2 "[^"]*"\): script\nlocal \|     test -n \*{8} && touch /);
    expect(text).toMatch(/local \| request #\d+ probe facts for handler reload: exit 0/);
    // Every request sent was answered, in order.
    const ids = lines.flatMap((line) => /request #(\d+) .*: exit \d+, /.exec(line)?.[1] ?? []).map(Number);
    expect(ids).toEqual(ids.map((_, index) => index + 1));
  });
});

describe('-vvv: ssh2 protocol log through the pool', () => {
  it('passes a debug callback to ssh2 and labels each line with the host', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hy-sshdebug-'));
    const clientKey = join(dir, 'id');
    writeFileSync(clientKey, generateEd25519OpenSshKey('client'), { mode: 0o600 });
    // A local ssh2 server that accepts any key: enough for a real handshake and authentication.
    const server = new Server({ hostKeys: [generateEd25519OpenSshKey('host')] }, (client) => {
      client.on('authentication', (context) => context.accept());
      client.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    const logged: Array<[string, string]> = [];
    const pool = new SshPool({
      knownHostsFile: join(dir, 'known_hosts'),
      sshConfigFile: null,
      connectTimeoutMs: 5_000,
      sshDebug: (host, message) => logged.push([host, message]),
    });
    try {
      await pool.session({ name: 'web-1', address: '127.0.0.1', port, user: 'deploy', privateKeyFile: clientKey, become: false, becomePassword: undefined });
    } finally {
      await pool.closeAll();
      server.close();
    }
    expect(logged.length).toBeGreaterThan(5);
    expect(new Set(logged.map(([host]) => host))).toEqual(new Set(['web-1']));
    expect(logged.map(([, message]) => message)).toContain('Handshake completed');
  });
});

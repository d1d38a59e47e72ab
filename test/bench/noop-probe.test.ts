// The bench's OpenSSH baseline sends the first request the engine builds for stack-files.ts.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { checkNoopAnswer, noopProbe } from '../../src/bench/noop-probe.js';
import { firstRequest } from '../../src/engine/host-run.js';
import { probeSections } from '../../src/facts/probe-script.js';

const dir = mkdtempSync(join(tmpdir(), 'hy-noop-probe-'));
const inventory = join(dir, 'inventory.yml');
writeFileSync(inventory, 'all:\n  hosts:\n    web1: {ansible_host: 10.0.0.1, install_dir: /srv/obs, grafana_password: a, postgres_password: b}\n');

describe('noopProbe', () => {
  test('stack-files: the locks, then four sections (host facts, pending handlers, packages, every path)', async () => {
    const probe = await noopProbe('playbooks/examples/stack-files.ts', inventory);
    const sections = probeSections(probe.facts);
    expect(sections.map((section) => section.facts.length)).toEqual([1, 1, 1, 12]);
    expect(probe.facts.slice(0, 3).map((fact) => fact.key)).toEqual(['halyard:host-facts', 'halyard:pending-handlers', 'packages:ca-certificates,curl']);
    const paths = ['', '/loki-data', '/mimir-data', '/tempo-data', '/grafana-data', '/docker-compose.yml', '/otel-collector-config.yml', '/tempo-config.yml', '/loki-config.yml', '/mimir-config.yml', '/nginx.conf', '/.env'];
    expect(probe.script).toContain(`\nset -- ${paths.map((path) => `/srv/obs${path}`).join(' ')}\n`);
    expect(probe.script.match(/dpkg-query -W/g)).toHaveLength(1);
    expect(probe.script.match(/sha256sum -z/g)).toHaveLength(1);
    // The engine's own builder made it: the same text for the same facts and nonce (the lock owner aside).
    const again = firstRequest([], probe.facts.slice(2), probe.nonce, { lockOwner: { runId: 'x', controller: 'y', pid: 1, startedAt: 'z' }, lockWaitSeconds: 0 });
    expect(probe.script.slice(probe.script.indexOf('\nhy_lock\n'))).toBe(again.script.slice(again.script.indexOf('\nhy_lock\n')));
  });

  test('an answer without the lock line, or cut short, is refused by name', async () => {
    const probe = await noopProbe('playbooks/examples/stack-files.ts', inventory);
    expect(checkNoopAnswer(probe, '')).toBe('lock not taken (denied)');
    expect(checkNoopAnswer(probe, `\u001eHY:${probe.nonce}:LOCK:ok:1\n`)).toBe('cannot read fact halyard:host-facts: probe output is missing its start marker');
  });
});

// Pure parts of the simulated fleet (src/lab/sim-fleet.ts): endpoints, the docker argv, the
// container's script, the inventory and known_hosts it writes, and the /proc and smaps parsers.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkDistinctEndpoints } from '../../src/inventory/endpoints.js';
import { loadInventory } from '../../src/inventory/index.js';
import {
  SIM_START_SCRIPT,
  busyPorts,
  listeningLoopbackPorts,
  parseSmapsTotals,
  renderSimInventory,
  renderSimKnownHosts,
  simContainerName,
  simDockerRunArgs,
  simEndpoints,
  simUserName,
} from '../../src/lab/sim-fleet.js';

describe('sim endpoints', () => {
  it('gives endpoint i its own port from the base and its own user, named alike', () => {
    expect(simEndpoints(3, 30000)).toEqual([
      { name: 'sim0001', user: 'sim0001', address: '127.0.0.1', port: 30000 },
      { name: 'sim0002', user: 'sim0002', address: '127.0.0.1', port: 30001 },
      { name: 'sim0003', user: 'sim0003', address: '127.0.0.1', port: 30002 },
    ]);
    const thousand = simEndpoints(1000);
    expect(thousand.at(-1)).toEqual({ name: 'sim1000', user: 'sim1000', address: '127.0.0.1', port: 30999 });
    expect(new Set(thousand.map((endpoint) => endpoint.port)).size).toBe(1000);
    expect(simUserName(42)).toBe('sim0042');
  });

  it('refuses sizes over 1000, empty fleets and ports past 65535 in one line naming the fix', () => {
    expect(() => simEndpoints(1001)).toThrow('sim endpoint count must be a whole number from 1 to 1000, got 1001');
    expect(() => simEndpoints(0)).toThrow(/from 1 to 1000, got 0/);
    expect(() => simEndpoints(10, 65530)).toThrow('sim ports 65530-65539 are not unprivileged TCP ports; pick a base port from 1024 to 65526');
    expect(() => simEndpoints(10, 22)).toThrow(/not unprivileged/);
  });

  it('names containers halyard-sim-<name> and refuses names Docker would', () => {
    expect(simContainerName('bench')).toBe('halyard-sim-bench');
    expect(() => simContainerName('a b')).toThrow('invalid sim fleet name "a b"');
  });
});

describe('sim container', () => {
  it('runs the lab host image on the host network with tini, its sizes in the environment', () => {
    expect(simDockerRunArgs({ container: 'halyard-sim-bench', name: 'bench', image: 'halyard-lab-host:abc', count: 500, basePort: 30000 })).toEqual([
      'run', '-d', '--init', '--name', 'halyard-sim-bench', '--network', 'host',
      '--label', 'halyard.sim=bench',
      '-e', 'SIM_COUNT=500', '-e', 'SIM_BASE_PORT=30000', '-e', 'SIM_UID_BASE=20000',
      '--entrypoint', '/bin/sh', 'halyard-lab-host:abc', '-c', SIM_START_SCRIPT,
    ]);
  });

  it('starts one sshd per endpoint on 127.0.0.1 only, each allowing only its own user', () => {
    expect(SIM_START_SCRIPT).toContain(
      `/usr/sbin/sshd -D -e -p "$port" -o ListenAddress=127.0.0.1 -o "PidFile=/run/sshd/$port.pid" -o "AllowUsers=$name" &`,
    );
    expect(SIM_START_SCRIPT).toContain(`printf '%s:x:%s:%s::/home/%s:/bin/bash\\n' "$name" "$uid" "$uid" "$name" >> /etc/passwd`);
    expect(SIM_START_SCRIPT).toContain('install -m 0600 -o "$uid" -g "$uid" "$keys" "/home/$name/.ssh/authorized_keys"');
  });
});

describe('sim inventory and known_hosts', () => {
  const endpoints = simEndpoints(3, 30000);

  it('makes each endpoint a distinct host: its port, its user, the lab key, no become', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'halyard-sim-'));
    try {
      const path = join(dir, 'inventory.yml');
      await writeFile(path, renderSimInventory(endpoints, '/keys/id_ed25519', 'bench'));
      const inventory = await loadInventory(path);
      expect(inventory.hosts.map((host) => [host.name, host.address, host.port, host.user, host.privateKeyFile, host.become])).toEqual([
        ['sim0001', '127.0.0.1', 30000, 'sim0001', '/keys/id_ed25519', false],
        ['sim0002', '127.0.0.1', 30001, 'sim0002', '/keys/id_ed25519', false],
        ['sim0003', '127.0.0.1', 30002, 'sim0003', '/keys/id_ed25519', false],
      ]);
      expect(() => checkDistinctEndpoints(inventory.hosts)).not.toThrow();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('writes every host key for every port in OpenSSH [host]:port form', () => {
    expect(renderSimKnownHosts(endpoints.slice(0, 2), ['ssh-ed25519 AAAA1', 'ecdsa-sha2-nistp256 AAAA2'])).toBe(
      '[127.0.0.1]:30000 ssh-ed25519 AAAA1\n[127.0.0.1]:30000 ecdsa-sha2-nistp256 AAAA2\n' +
        '[127.0.0.1]:30001 ssh-ed25519 AAAA1\n[127.0.0.1]:30001 ecdsa-sha2-nistp256 AAAA2\n',
    );
  });
});

describe('readiness and memory parsers', () => {
  it('reads listening ports on 127.0.0.1 and 0.0.0.0 from /proc/net/tcp, skipping other states and addresses', () => {
    const text = [
      '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
      '   0: 0100007F:7530 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0 100 0 0 10 0',
      '   1: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2 1 0 100 0 0 10 0',
      '   2: 0100007F:7531 0100007F:9C40 01 00000000:00000000 00:00000000 00000000     0        0 3 1 0 100 0 0 10 0',
      '   3: 0A00000A:7532 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4 1 0 100 0 0 10 0',
    ].join('\n');
    expect([...listeningLoopbackPorts(text)].sort()).toEqual([22, 30000]);
  });

  it('sums PSS and private memory of smaps_rollup blocks, one block per sshd', () => {
    const block = 'Rss: 9372 kB\nPss: 2048 kB\nPrivate_Clean: 24 kB\nPrivate_Dirty: 1000 kB\n.\n';
    expect(parseSmapsTotals(block + block)).toEqual({ sshd: 2, pssMb: 4, privateMb: 2 });
  });

  it('finds the ports something already listens on', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve));
    const port = (server.address() as { port: number }).port;
    try {
      expect(await busyPorts([port])).toEqual([port]);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    expect(await busyPorts([port])).toEqual([]);
  });
});

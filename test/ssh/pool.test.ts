import { describe, expect, it } from 'vitest';
import { ConnectError } from '../../src/core/errors.js';
import { SshPool, type Connector } from '../../src/ssh/pool.js';
import type { ChannelOpener } from '../../src/ssh/session.js';
import type { ConnectTarget } from '../../src/ssh/types.js';

const host = (name: string): ConnectTarget => ({ name, address: name, port: 22, user: 'u', privateKeyFile: undefined, become: false, becomePassword: undefined });

function fakeConnection(): ChannelOpener & { closedCount: number } {
  return {
    closed: false,
    closedCount: 0,
    openChannel: () => Promise.reject(new Error('not used')),
    async close() {
      this.closedCount += 1;
    },
  };
}

describe('SshPool', () => {
  it('fills in defaults and keeps sshConfigFile null (disabled)', () => {
    const pool = new SshPool({ sshConfigFile: null, maxChannelsPerConnection: 4, connectTimeoutMs: undefined });
    expect(pool.options).toMatchObject({ sshConfigFile: null, maxChannelsPerConnection: 4, maxConcurrentHandshakes: 10, hostKeyPolicy: 'accept-new', connectTimeoutMs: 20_000 });
  });

  it('gives one session per host, shared by concurrent callers', async () => {
    let connects = 0;
    const connector: Connector = async () => {
      connects += 1;
      return fakeConnection();
    };
    const pool = new SshPool({ sshConfigFile: null }, connector);
    const [a, b] = await Promise.all([pool.session(host('web1')), pool.session(host('web1'))]);
    const c = await pool.session(host('web2'));
    expect(a).toBe(b);
    expect(c).not.toBe(a);
    expect(connects).toBe(2);
    await pool.closeAll();
    await expect(pool.session(host('web1'))).rejects.toMatchObject({ code: 'E_POOL_CLOSED' });
  });

  it('bounds handshakes in flight across hosts via the shared semaphore', async () => {
    let inFlight = 0;
    let most = 0;
    const connector: Connector = (_target, context) =>
      context.handshakes.run(async () => {
        inFlight += 1;
        most = Math.max(most, inFlight);
        await new Promise((resolve) => setTimeout(resolve, 10));
        inFlight -= 1;
        return fakeConnection();
      });
    const pool = new SshPool({ sshConfigFile: null, maxConcurrentHandshakes: 3 }, connector);
    await Promise.all(Array.from({ length: 12 }, (_, i) => pool.session(host(`h${i}`))));
    expect(most).toBe(3);
    expect(pool.handshakeStats.highWater).toBe(3);
    await pool.closeAll();
  });

  it('forgets a closed session: its connection is freed and the next call connects afresh', async () => {
    const connections: Array<ReturnType<typeof fakeConnection>> = [];
    const connector: Connector = async () => {
      const connection = fakeConnection();
      connections.push(connection);
      return connection;
    };
    const pool = new SshPool({ sshConfigFile: null }, connector);
    const first = await pool.session(host('web1'));
    await first.close();
    const second = await pool.session(host('web1'));
    expect(second).not.toBe(first);
    expect(connections).toHaveLength(2);
    await pool.closeAll();
    // closeAll closes the open session only; the first was closed once, by its caller.
    expect(connections.map((connection) => connection.closedCount)).toEqual([1, 1]);
  });

  it('forgets a failed connect so the next call tries again', async () => {
    let attempts = 0;
    const connector: Connector = async () => {
      attempts += 1;
      if (attempts === 1) throw new ConnectError('E_CONNECT_REFUSED', 'refused');
      return fakeConnection();
    };
    const pool = new SshPool({ sshConfigFile: null }, connector);
    await expect(pool.session(host('web1'))).rejects.toMatchObject({ code: 'E_CONNECT_REFUSED' });
    await expect(pool.session(host('web1'))).resolves.toBeDefined();
    expect(attempts).toBe(2);
  });

  describe('warm: connecting while the run still prepares', () => {
    // A connector that, like openConnection, waits on the gate and fails E_NOT_TARGETED when it is shut.
    function gatedConnector(log: string[]): Connector {
      return async (target, _context, gate) => {
        log.push(`connect ${target.name}${gate ? ' (gated)' : ''}`);
        if (gate && !(await gate)) throw new ConnectError('E_NOT_TARGETED', `${target.name}: not targeted`);
        return fakeConnection();
      };
    }

    it('a targeted host: session() takes over the early connection (one connect)', async () => {
      const log: string[] = [];
      const pool = new SshPool({ sshConfigFile: null }, gatedConnector(log));
      let target!: (wanted: boolean) => void;
      pool.warm(host('web1'), new Promise((resolve) => (target = resolve)));
      target(true);
      await pool.session(host('web1'));
      expect(log).toEqual(['connect web1 (gated)']);
      await pool.closeAll();
    });

    it('the session takes the target as the run has it then: a play\'s become, a fetched sudo password', async () => {
      const pool = new SshPool({ sshConfigFile: null }, gatedConnector([]));
      pool.warm(host('web1'), Promise.resolve(true));
      const session = await pool.session({ ...host('web1'), become: true });
      expect(session.target.become).toBe(true);
      await pool.closeAll();
    });

    it('an untargeted host: the early connection fails E_NOT_TARGETED and is forgotten; a later session() connects afresh', async () => {
      const log: string[] = [];
      const pool = new SshPool({ sshConfigFile: null }, gatedConnector(log));
      pool.warm(host('db1'), Promise.resolve(false));
      await new Promise((resolve) => setTimeout(resolve, 0));
      await pool.session(host('db1'));
      expect(log).toEqual(['connect db1 (gated)', 'connect db1']);
      await pool.closeAll();
    });

    it('a failure before the gate opened is not the run\'s: a targeted host gets a fresh attempt; after it opened, the failure stands', async () => {
      let attempts = 0;
      const connector: Connector = async (_target, _context, gate) => {
        attempts += 1;
        if (gate) throw new ConnectError('E_CONNECTION_CLOSED', 'the server gave up waiting (LoginGraceTime)');
        return fakeConnection();
      };
      const pool = new SshPool({ sshConfigFile: null }, connector);
      let target!: (wanted: boolean) => void;
      pool.warm(host('web1'), new Promise((resolve) => (target = resolve)));
      await new Promise((resolve) => setTimeout(resolve, 0));
      target(true);
      await expect(pool.session(host('web1'))).resolves.toBeDefined();
      expect(attempts).toBe(2);

      const late: Connector = async (_target, _context, gate) => {
        if (gate && (await gate)) throw new ConnectError('E_AUTH_FAILED', 'authentication failed');
        return fakeConnection();
      };
      const second = new SshPool({ sshConfigFile: null }, late);
      second.warm(host('web2'), Promise.resolve(true));
      await expect(second.session(host('web2'))).rejects.toMatchObject({ code: 'E_AUTH_FAILED' });
      await Promise.all([pool.closeAll(), second.closeAll()]);
    });

    it('closeAll shuts gates still waiting (a run that ended before deciding never hangs the pool)', async () => {
      const log: string[] = [];
      const pool = new SshPool({ sshConfigFile: null }, gatedConnector(log));
      pool.warm(host('web1'), new Promise(() => undefined));
      await pool.closeAll();
      expect(log).toEqual(['connect web1 (gated)']);
    });

    it('closeAll closes an early connection no session took over', async () => {
      const connections: Array<ReturnType<typeof fakeConnection>> = [];
      const pool = new SshPool({ sshConfigFile: null }, async () => {
        const connection = fakeConnection();
        connections.push(connection);
        return connection;
      });
      pool.warm(host('web1'), Promise.resolve(true));
      await new Promise((resolve) => setTimeout(resolve, 0));
      await pool.closeAll();
      expect(connections.map((connection) => connection.closedCount)).toEqual([1]);
    });
  });
});

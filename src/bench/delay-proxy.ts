// A TCP relay that holds every chunk for a fixed time in each direction: a lab host on loopback
// made to look like one across a network with that round-trip time (`npm run bench:noop -- --rtt-ms
// 50`). It runs as a process of its own, so its timers never wait on the measured client's work.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import { fileURLToPath } from 'node:url';

export interface DelayProxies {
  /** The relay's port for each target port. */
  ports: Map<number, number>;
  stop(): void;
}

// Starts one relay process with a listening port on 127.0.0.1 for each target port.
export async function startDelayProxies(targetPorts: readonly number[], roundTripMs: number): Promise<DelayProxies> {
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), String(roundTripMs / 2), ...targetPorts.map(String)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let first = '';
  child.stdout.setEncoding('utf8');
  for await (const chunk of child.stdout as AsyncIterable<string>) {
    first += chunk;
    if (first.includes('\n')) break;
  }
  const pairs = JSON.parse(first.split('\n')[0] ?? '[]') as Array<[number, number]>;
  if (pairs.length !== targetPorts.length) throw new Error(`delay proxy: started ${pairs.length} of ${targetPorts.length} relays`);
  return { ports: new Map(pairs), stop: () => child.kill() };
}

// Relays one connection to 127.0.0.1:target, each chunk (and the end) `oneWayMs` later.
function relay(client: net.Socket, target: number, oneWayMs: number): void {
  const server = net.connect(target, '127.0.0.1');
  const forward = (from: net.Socket, to: net.Socket) => {
    from.on('data', (chunk: Buffer) => setTimeout(() => to.write(chunk), oneWayMs));
    from.on('end', () => setTimeout(() => to.end(), oneWayMs));
    from.on('error', () => to.destroy());
    from.on('close', () => setTimeout(() => to.destroy(), oneWayMs + 1));
  };
  forward(client, server);
  forward(server, client);
}

async function main(): Promise<void> {
  const [oneWay, ...targets] = process.argv.slice(2).map(Number);
  if (oneWay === undefined || !(oneWay >= 0) || targets.some((port) => !Number.isInteger(port))) throw new Error('usage: delay-proxy ONE_WAY_MS PORT...');
  const pairs: Array<[number, number]> = [];
  for (const target of targets) {
    const listener = net.createServer((client) => relay(client, target, oneWay));
    listener.listen(0, '127.0.0.1');
    await once(listener, 'listening');
    pairs.push([target, (listener.address() as net.AddressInfo).port]);
  }
  process.stdout.write(`${JSON.stringify(pairs)}\n`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((error: unknown) => {
    process.stderr.write(`delay-proxy: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}

import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { Client } from 'ssh2';

// `ssh -R`: a port on a lab host's 127.0.0.1 that leads to a port on the controller's 127.0.0.1,
// so a service on the host (the daemon) reaches the AWS emulator with every hop on loopback.
export interface ReverseTunnel {
  /** The port on the host's 127.0.0.1. */
  remotePort: number;
  close(): void;
}

// Opens the tunnel over its own SSH connection (the lab's key; the host is the test's own container).
export async function reverseTunnel(options: { port: number; user: string; keyFile: string; targetPort: number }): Promise<ReverseTunnel> {
  const client = new Client();
  await new Promise<void>((resolve, reject) => {
    client.once('ready', () => resolve());
    client.once('error', reject);
    client.connect({ host: '127.0.0.1', port: options.port, username: options.user, privateKey: readFileSync(options.keyFile), readyTimeout: 20_000 });
  });
  const remotePort = await new Promise<number>((resolve, reject) => {
    client.forwardIn('127.0.0.1', 0, (error, port) => (error ? reject(error) : resolve(port)));
  });
  client.on('tcp connection', (_info, accept) => {
    const channel = accept();
    const socket = connect(options.targetPort, '127.0.0.1');
    channel.pipe(socket).pipe(channel);
    socket.on('error', () => channel.close());
    channel.on('error', () => socket.destroy());
  });
  client.on('error', () => undefined);
  return { remotePort, close: () => client.end() };
}

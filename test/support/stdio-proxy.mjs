// A ProxyCommand for tests: relays its stdin and stdout to HOST:PORT (as `nc HOST PORT` would) and
// appends "HOST:PORT" to LOG, so a test can see the connection went through it.
import { appendFileSync } from 'node:fs';
import { connect } from 'node:net';

const [host, port, log] = process.argv.slice(2);
appendFileSync(log, `${host}:${port}\n`);
const socket = connect(Number(port), host);
process.stdin.pipe(socket);
socket.pipe(process.stdout);
socket.on('close', () => process.exit(0));
socket.on('error', (error) => {
  process.stderr.write(`${error.message}\n`);
  process.exit(1);
});

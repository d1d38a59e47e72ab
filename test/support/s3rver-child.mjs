// s3rver in a process of its own, driven by test/support/s3rver.ts over IPC. s3rver 3.7.1 answers a
// PutObject of a small body before its file is open, so a DELETE that empties the key's folder right
// after makes that late open fail ENOENT with no listener: an uncaught exception, which in the test
// worker failed the whole run. Here it is logged and only that late write is lost (the object was
// deleted anyway); the tests still see every answer s3rver gives.
import { createRequire } from 'node:module';

const [directory, bucketsJson] = process.argv.slice(2);
const S3rver = createRequire(import.meta.url)('s3rver');
const server = new S3rver({
  address: '127.0.0.1',
  port: 0,
  silent: true,
  directory,
  configureBuckets: JSON.parse(bucketsJson).map((name) => ({ name })),
});

process.on('uncaughtException', (error) => {
  process.stderr.write(`[s3rver child] s3rver's own uncaught error, ignored: ${error.message}\n`);
});

process.on('message', async (message) => {
  try {
    if (message === 'reset') {
      server.reset();
      await server.configureBuckets();
    } else if (message === 'stop') {
      await server.close();
    }
    process.send?.({ done: message });
  } catch (error) {
    process.send?.({ done: message, error: error instanceof Error ? error.message : String(error) });
  }
  if (message === 'stop') process.exit(0);
});

const address = await server.run();
process.send?.({ port: address.port });

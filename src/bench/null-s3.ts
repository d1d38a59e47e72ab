import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

// For the backup bench: an S3 endpoint that reads every byte it is sent and keeps none, so a
// backup's rate can be measured without a store's own work (disk, md5) on the same 2 cores. It
// answers the calls a backup makes (multipart create, part, complete; PutObject; list and get of
// manifests: empty) and nothing else. Not a store: restores and verification need s3rver.
export interface NullS3 {
  url: string;
  /** Bytes received in request bodies. */
  received(): number;
  close(): Promise<void>;
}

// Starts the sink on 127.0.0.1 on a free port.
export async function startNullS3(): Promise<NullS3> {
  let received = 0;
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    request.on('data', (chunk: Buffer) => {
      received += chunk.length;
    });
    request.on('end', () => {
      // No md5 of the body: that would be a store's work again. The SDK does not check a part's ETag.
      const etag = `"${randomBytes(16).toString('hex')}"`;
      const xml = (body: string) => {
        response.writeHead(200, { 'content-type': 'application/xml', etag });
        response.end(`<?xml version="1.0" encoding="UTF-8"?>${body}`);
      };
      if (request.method === 'POST' && url.searchParams.has('uploads')) return xml(`<InitiateMultipartUploadResult><UploadId>${randomBytes(8).toString('hex')}</UploadId></InitiateMultipartUploadResult>`);
      if (request.method === 'POST' && url.searchParams.has('uploadId')) return xml(`<CompleteMultipartUploadResult><ETag>${etag}</ETag></CompleteMultipartUploadResult>`);
      if (request.method === 'PUT') {
        response.writeHead(200, { etag });
        return response.end();
      }
      if (request.method === 'GET' && (url.searchParams.get('list-type') === '2' || url.searchParams.has('uploads'))) {
        return xml(url.searchParams.has('uploads') ? '<ListMultipartUploadsResult><IsTruncated>false</IsTruncated></ListMultipartUploadsResult>' : '<ListBucketResult><IsTruncated>false</IsTruncated><KeyCount>0</KeyCount></ListBucketResult>');
      }
      if (request.method === 'DELETE') {
        response.writeHead(204);
        return response.end();
      }
      response.writeHead(404, { 'content-type': 'application/xml' });
      response.end('<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchKey</Code><Message>the null store keeps nothing</Message></Error>');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received: () => received,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { CLOUDWATCH_TARGET_PREFIX, cloudWatchError, handleCloudWatch } from './cloudwatch.js';
import { EC2_VERSION, ec2ErrorResponse, handleEc2 } from './ec2.js';
import { SECRETS_TARGET_PREFIX, handleSecretsManager, secretsManagerError } from './secrets-manager.js';
import { parseAuthorization, verifySignature, type SignatureCheck } from './sigv4.js';
import { S3State, handleS3, s3ErrorResponse, s3Operation } from './s3.js';
import { SNS_VERSION, handleSns, snsError } from './sns.js';
import { DEFAULT_REGION, type EmulatorState, type ServiceName } from './state.js';
import { ServiceError, parseForm, type WireResponse } from './wire.js';

// The HTTP front of the emulator: reads a request, finds the service (by the SigV4 credential
// scope, else by the shape of the request), checks the signature, applies injected faults, and
// hands the decoded input to the service, rendering errors in that service's protocol.

/** A fault to inject: the next `count` matching requests fail with this kind of error. */
export interface FaultSpec {
  service: ServiceName;
  operation?: string;
  /**
   * `drop`: the connection is destroyed without an answer (S3: after reading `afterBytes` of the body).
   * `denied`: the identity lacks the permission (403; never retried). `not-implemented` (501
   * NotImplemented) and `method-not-allowed` (405 MethodNotAllowed): what S3-compatible servers
   * answer for operations they lack (s3rver: ListMultipartUploads, AbortMultipartUpload).
   */
  kind: FaultKind;
  count?: number;
  /** Let this many matching requests through before the fault applies (kill an upload midway). */
  after?: number;
  /** With kind `drop`: body bytes read before the connection is cut (default 0). */
  afterBytes?: number;
}

export type FaultKind = 'throttle' | '500' | 'drop' | 'denied' | 'not-implemented' | 'method-not-allowed';

/** One request the emulator answered, for tests that count calls or check how they were sent. */
export interface RecordedRequest {
  service: ServiceName | 'unknown';
  operation: string;
  status: number;
  /** Error code sent back, if any. */
  errorCode?: string;
  /** The body arrived `Content-Encoding: gzip`. */
  gzip: boolean;
  /** The request carried `x-amzn-query-mode: true` (query-compatible JSON). */
  queryMode: boolean;
  accessKeyId?: string;
  region?: string;
  /** A fault injected by failNext answered this request. */
  injected?: boolean;
  /** Which TCP connection it came on (numbered from 1 as the server accepts them): kept-alive requests share one. */
  connection: number;
}

interface ActiveFault extends FaultSpec {
  remaining: number;
  skip: number;
}

const SCOPE_SERVICES: Record<string, ServiceName> = {
  secretsmanager: 'secretsmanager',
  ec2: 'ec2',
  monitoring: 'cloudwatch',
  sns: 'sns',
  s3: 's3',
};

export class EmulatorServer {
  readonly requests: RecordedRequest[] = [];
  readonly #faults: ActiveFault[] = [];
  readonly #server: Server;
  readonly s3 = new S3State();
  readonly #connections = new WeakMap<object, number>();
  #accepted = 0;

  constructor(
    readonly state: EmulatorState,
    readonly keys: Map<string, string>,
  ) {
    this.#server = createServer((req, res) => {
      this.#handle(req, res).catch((error: unknown) => {
        // A client that went away mid-body (a killed upload) fails the handler after the answer
        // started: there is nobody to tell, so the connection is just closed.
        if (res.headersSent || req.destroyed) {
          res.destroy();
          return;
        }
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`emulator internal error: ${String(error)}`);
      });
    });
    this.#server.on('connection', (socket) => this.#connections.set(socket, ++this.#accepted));
    // Clients keep connections alive (close() ends them, idle or not). Node's own 5 s: a server that
    // says `Keep-Alive: timeout=1` is never reused by Node's client, which drops a socket whose hint
    // leaves under a second, so a 1 s timeout here made every request a new connection.
    this.#server.keepAliveTimeout = 5000;
  }

  async listen(): Promise<string> {
    await new Promise<void>((done, fail) => {
      this.#server.once('error', fail);
      this.#server.listen(0, '127.0.0.1', () => done());
    });
    const { port } = this.#server.address() as AddressInfo;
    return `http://127.0.0.1:${port}`;
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((done) => this.#server.close(() => done()));
    this.s3.dispose();
  }

  failNext(spec: FaultSpec): void {
    this.#faults.push({ ...spec, remaining: spec.count ?? 1, skip: spec.after ?? 0 });
  }

  clearFaults(): void {
    this.#faults.length = 0;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // S3 bodies are streamed (to temp files), so S3 is told apart before any body is read.
    if (parseAuthorization(req.headers.authorization)?.service === 's3') {
      await this.#handleS3(req, res);
      return;
    }
    const raw = await readBody(req);
    const gzip = /gzip/i.test(String(req.headers['content-encoding'] ?? ''));
    const queryMode = String(req.headers['x-amzn-query-mode'] ?? '') === 'true';
    const check = await verifySignature({ method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers, body: raw }, this.keys);
    const record: RecordedRequest = { service: 'unknown', operation: '', status: 0, gzip, queryMode, connection: this.#connectionOf(req) };
    if (check.auth) {
      record.accessKeyId = check.auth.accessKeyId;
      record.region = check.auth.region;
    }
    let body: Buffer;
    try {
      body = gzip ? gunzipSync(raw) : raw;
    } catch {
      body = Buffer.alloc(0);
    }
    const target = String(req.headers['x-amz-target'] ?? '');
    const form = target === '' ? parseForm(body.toString('utf8')) : new Map<string, string>();
    const service = serviceOf(check, target, form);
    record.service = service ?? 'unknown';
    record.operation = target !== '' ? target.slice(target.indexOf('.') + 1) : (form.get('Action') ?? '');

    const response = await this.#dispatch(service, record, check, target, form, body, req);
    record.status = response.status;
    this.requests.push(record);
    res.writeHead(response.status, { ...response.headers, 'content-length': Buffer.byteLength(response.body) });
    res.end(response.body);
  }

  async #dispatch(
    service: ServiceName | undefined,
    record: RecordedRequest,
    check: SignatureCheck,
    target: string,
    form: Map<string, string>,
    body: Buffer,
    req: IncomingMessage,
  ): Promise<WireResponse> {
    if (!service) {
      record.errorCode = 'UnknownService';
      return { status: 400, headers: { 'content-type': 'text/plain' }, body: 'emulator: cannot tell which AWS service this request is for' };
    }
    const render = renderer(service);
    try {
      if (!check.ok) throw authError(service, check.reason);
      const fault = this.#takeFault(service, record.operation);
      if (fault) {
        record.injected = true;
        throw faultError(service, fault.kind);
      }
      const region = check.auth.region || DEFAULT_REGION;
      switch (service) {
        case 'secretsmanager':
        case 'cloudwatch': {
          const version = service === 'secretsmanager' ? '1.1' : '1.0';
          const contentType = String(req.headers['content-type'] ?? '');
          if (contentType !== `application/x-amz-json-${version}`) {
            throw new ServiceError('SerializationException', `Unexpected content type ${contentType || '(none)'}`);
          }
          const prefix = service === 'secretsmanager' ? SECRETS_TARGET_PREFIX : CLOUDWATCH_TARGET_PREFIX;
          if (!target.startsWith(prefix)) throw new ServiceError('UnknownOperationException', `Unknown target ${target}`);
          let input: Record<string, unknown>;
          try {
            input = JSON.parse(body.toString('utf8') || '{}') as Record<string, unknown>;
          } catch {
            throw new ServiceError('SerializationException', 'Request body is not valid JSON');
          }
          const operation = target.slice(prefix.length);
          return service === 'secretsmanager'
            ? handleSecretsManager(this.state, operation, input, region)
            : handleCloudWatch(this.state, operation, input, region);
        }
        case 'ec2':
        case 'sns': {
          const version = service === 'ec2' ? EC2_VERSION : SNS_VERSION;
          if (form.get('Version') !== version) {
            throw new ServiceError('InvalidParameterValue', `Unsupported API version ${form.get('Version') ?? '(none)'}; expected ${version}`);
          }
          const action = form.get('Action') ?? '';
          return service === 'ec2' ? handleEc2(this.state, action, form, region) : handleSns(this.state, action, form, region);
        }
        case 's3':
          throw new ServiceError('InvalidRequest', 'S3 requests must be signed for the s3 service');
      }
    } catch (error) {
      if (!(error instanceof ServiceError)) throw error;
      record.errorCode = error.code;
      return render(error);
    }
  }

  #connectionOf(req: IncomingMessage): number {
    return this.#connections.get(req.socket) ?? 0;
  }

  async #handleS3(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    const url = new URL(req.url ?? '/', 'http://s3.local');
    const operation = s3Operation(method, url);
    const record: RecordedRequest = { service: 's3', operation, status: 0, gzip: false, queryMode: false, connection: this.#connectionOf(req) };
    this.requests.push(record);
    const check = await verifySignature({ method, url: req.url ?? '/', headers: req.headers, body: Buffer.alloc(0) }, this.keys, { uriEscapePath: false });
    if (check.auth) {
      record.accessKeyId = check.auth.accessKeyId;
      record.region = check.auth.region;
    }
    try {
      if (!check.ok) {
        const error = authError('s3', check.reason);
        throw new ServiceError(check.reason === 'unknown-key' ? 'InvalidAccessKeyId' : error.code, error.message, 403);
      }
      const fault = this.#takeFault('s3', operation);
      if (fault) {
        record.injected = true;
        if (fault.kind === 'drop') {
          await dropAfter(req, fault.afterBytes ?? 0);
          record.status = 0;
          return;
        }
        throw faultError('s3', fault.kind);
      }
      await handleS3(this.s3, req, res, url, {
        auth: check.auth,
        secretAccessKey: this.keys.get(check.auth.accessKeyId) ?? '',
        amzDate: String(req.headers['x-amz-date'] ?? ''),
        operation,
      });
      record.status = res.statusCode;
    } catch (error) {
      if (!(error instanceof ServiceError)) throw error;
      record.errorCode = error.code;
      record.status = error.status;
      // The body may still be arriving; S3 answers and closes.
      if (!req.readableEnded) res.setHeader('connection', 'close');
      s3ErrorResponse(res, error, method);
      if (!req.readableEnded) req.resume();
    }
  }

  #takeFault(service: ServiceName, operation: string): ActiveFault | undefined {
    const fault = this.#faults.find((f) => f.service === service && (f.operation === undefined || f.operation === operation) && f.remaining > 0);
    if (!fault) return undefined;
    if (fault.skip > 0) {
      fault.skip--;
      return undefined;
    }
    fault.remaining--;
    if (fault.remaining === 0) this.#faults.splice(this.#faults.indexOf(fault), 1);
    return fault;
  }
}

// Reads `bytes` of the body, then cuts the connection (a network failure midway through an upload).
function dropAfter(req: IncomingMessage, bytes: number): Promise<void> {
  return new Promise((done) => {
    let seen = 0;
    const cut = (): void => {
      req.socket.destroy();
      done();
    };
    if (bytes <= 0) {
      cut();
      return;
    }
    req.on('data', (chunk: Buffer) => {
      seen += chunk.length;
      if (seen >= bytes) cut();
    });
    req.on('end', cut);
    req.on('error', () => done());
  });
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((done, fail) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => done(Buffer.concat(chunks)));
    req.on('error', fail);
  });
}

// The credential scope names the service (as the host name does on AWS); unsigned requests are
// recognised by their target header or form version.
function serviceOf(check: SignatureCheck, target: string, form: Map<string, string>): ServiceName | undefined {
  const scoped = check.auth ? SCOPE_SERVICES[check.auth.service] : undefined;
  if (scoped) return scoped;
  if (target.startsWith(SECRETS_TARGET_PREFIX)) return 'secretsmanager';
  if (target.startsWith(CLOUDWATCH_TARGET_PREFIX)) return 'cloudwatch';
  if (form.get('Version') === EC2_VERSION) return 'ec2';
  if (form.get('Version') === SNS_VERSION) return 'sns';
  return undefined;
}

function renderer(service: ServiceName): (error: ServiceError) => WireResponse {
  switch (service) {
    case 'secretsmanager':
      return secretsManagerError;
    case 'cloudwatch':
      return cloudWatchError;
    case 'ec2':
      return ec2ErrorResponse;
    case 'sns':
      return snsError;
    case 's3':
      return (error) => ({ status: error.status, headers: { 'content-type': 'application/xml' }, body: `<Error><Code>${error.code}</Code><Message>${error.message}</Message></Error>` });
  }
}

const CORAL = 'com.amazon.coral.service#';
const BAD_SIGNATURE =
  'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.';
const BAD_TOKEN = 'The security token included in the request is invalid.';

// Each service's own answer to a request it cannot authenticate.
function authError(service: ServiceName, reason: 'missing' | 'malformed' | 'unknown-key' | 'mismatch'): ServiceError {
  const json = service === 'secretsmanager';
  if (reason === 'missing') {
    return json
      ? new ServiceError('MissingAuthenticationTokenException', 'Missing Authentication Token')
      : new ServiceError('MissingAuthenticationToken', 'Request is missing Authentication Token', 403, 'Sender', `${CORAL}MissingAuthenticationTokenException`);
  }
  if (reason === 'malformed') {
    return json
      ? new ServiceError('IncompleteSignatureException', 'Authorization header requires a Credential, SignedHeaders and Signature, and X-Amz-Date.')
      : new ServiceError('IncompleteSignature', 'Authorization header requires a Credential, SignedHeaders and Signature, and X-Amz-Date.', 400, 'Sender', `${CORAL}IncompleteSignatureException`);
  }
  if (reason === 'unknown-key') {
    if (json) return new ServiceError('UnrecognizedClientException', BAD_TOKEN);
    if (service === 'ec2') return new ServiceError('AuthFailure', 'AWS was not able to validate the provided access credentials', 401);
    return new ServiceError('InvalidClientTokenId', BAD_TOKEN, 403, 'Sender', `${CORAL}UnrecognizedClientException`);
  }
  if (json) return new ServiceError('InvalidSignatureException', BAD_SIGNATURE);
  return new ServiceError('SignatureDoesNotMatch', BAD_SIGNATURE, 403, 'Sender', `${CORAL}InvalidSignatureException`);
}

// Throttling and internal errors as each protocol sends them (the SDK retries both); a missing
// permission and an operation the server lacks (never retried).
function faultError(service: ServiceName, kind: FaultKind): ServiceError {
  if (kind === 'not-implemented') return new ServiceError('NotImplemented', 'A header or parameter you provided implies functionality that is not implemented', 501);
  if (kind === 'method-not-allowed') return new ServiceError('MethodNotAllowed', 'The specified method is not allowed against this resource.', 405);
  if (kind === 'denied') {
    const notAuthorized = 'User: arn:aws:iam::123456789012:user/halyard-test is not authorized to perform this action';
    switch (service) {
      case 'secretsmanager':
        return new ServiceError('AccessDeniedException', notAuthorized);
      case 'ec2':
        return new ServiceError('UnauthorizedOperation', 'You are not authorized to perform this operation.', 403);
      case 'cloudwatch':
        return new ServiceError('AccessDenied', notAuthorized, 403, 'Sender', `${CORAL}AccessDeniedException`);
      case 'sns':
        return new ServiceError('AuthorizationError', notAuthorized, 403);
      case 's3':
        return new ServiceError('AccessDenied', 'Access Denied', 403);
    }
  }
  if (kind === 'throttle' || kind === 'drop') {
    switch (service) {
      case 'secretsmanager':
        return new ServiceError('ThrottlingException', 'Rate exceeded');
      case 'ec2':
        return new ServiceError('RequestLimitExceeded', 'Request limit exceeded.', 503, 'Receiver');
      case 'cloudwatch':
        return new ServiceError('Throttling', 'Rate exceeded', 400, 'Sender', 'com.amazonaws.coral.availability#ThrottlingException');
      case 'sns':
        return new ServiceError('Throttling', 'Rate exceeded', 400);
      case 's3':
        return new ServiceError('SlowDown', 'Please reduce your request rate.', 503);
    }
  }
  switch (service) {
    case 'secretsmanager':
      return new ServiceError('InternalServiceError', 'An error occurred on the server side.', 500);
    case 'ec2':
      return new ServiceError('InternalError', 'An internal error has occurred', 500);
    case 'cloudwatch':
      return new ServiceError('InternalServiceError', 'Internal service error', 500, 'Receiver', 'com.amazonaws.cloudwatch#InternalServiceFault');
    case 'sns':
      return new ServiceError('InternalError', 'Internal Error', 500);
    case 's3':
      return new ServiceError('InternalError', 'We encountered an internal error. Please try again.', 500);
  }
}

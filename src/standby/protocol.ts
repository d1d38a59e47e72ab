// What a command's client and a standby process say to each other over the standby's Unix socket:
// the request first (argv, cwd, environment, terminal), then the command's terminal traffic both
// ways, each piece a frame of one type byte and a 4-byte big-endian length.

// Frame types. To the standby: the request, standard input, signals and resizes; to the client:
// the command's output, its exit status and what its standard input should do.
export const Frame = {
  Request: 1,
  Stdin: 2,
  StdinEnd: 3,
  Signal: 4,
  Resize: 5,
  Stdout: 10,
  Stderr: 11,
  Exit: 12,
  RawMode: 13,
  StdinWant: 14,
  StdinPause: 15,
} as const;
// One of the frame types above.
export type FrameType = (typeof Frame)[keyof typeof Frame];

// One end of the client's terminal: whether it is a terminal, and its size when it is.
export interface TerminalEnd {
  isTTY: boolean;
  columns?: number;
  rows?: number;
}

// The command a client hands over: everything a process started by the shell would have had.
export interface StandbyRequest {
  // `stop`: end the standby without running anything (`halyard standby stop`).
  stop?: boolean;
  argv: string[];
  cwd: string;
  env: Record<string, string>;
  umask: number;
  stdin: TerminalEnd;
  stdout: TerminalEnd;
  stderr: TerminalEnd;
}

// The signals a client passes on: what a terminal or a supervisor sends to the command.
export const RELAYED_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'] as const;
// One of the signals a client passes on.
export type RelayedSignal = (typeof RELAYED_SIGNALS)[number];

const HEADER = 5;

// One frame as bytes.
export function encodeFrame(type: FrameType, payload: Buffer | string = Buffer.alloc(0)): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const frame = Buffer.allocUnsafe(HEADER + body.length);
  frame.writeUInt8(type, 0);
  frame.writeUInt32BE(body.length, 1);
  body.copy(frame, HEADER);
  return frame;
}

// Cuts a byte stream into frames, however the socket splits it.
export class FrameReader {
  private chunks: Buffer[] = [];
  private length = 0;
  // The length of the frame at the head once its header has arrived.
  private needed: number | undefined;

  constructor(private readonly onFrame: (type: number, payload: Buffer) => void) {}

  // Chunks wait in a list until a whole frame is there, so a large frame in many small chunks is
  // copied once, not once per chunk.
  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.length += chunk.length;
    for (;;) {
      if (this.needed === undefined) {
        if (this.length < HEADER) return;
        this.needed = HEADER + this.joined().readUInt32BE(1);
      }
      if (this.length < this.needed) return;
      const bytes = this.joined();
      const type = bytes.readUInt8(0);
      const payload = bytes.subarray(HEADER, this.needed);
      const rest = bytes.subarray(this.needed);
      this.chunks = rest.length > 0 ? [rest] : [];
      this.length = rest.length;
      this.needed = undefined;
      this.onFrame(type, payload);
    }
  }

  // Bytes of a frame not yet complete (a peer that ended mid-frame).
  get partial(): number {
    return this.length;
  }

  private joined(): Buffer {
    if (this.chunks.length > 1) this.chunks = [Buffer.concat(this.chunks, this.length)];
    return this.chunks[0] ?? Buffer.alloc(0);
  }
}

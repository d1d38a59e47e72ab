// The standby side of a handed-over command's terminal: stand-ins for process.stdout, stderr and
// stdin that carry bytes over the client's socket and tell the command what the client's own
// streams are (a terminal or not, its size), as a process started by the shell would see them.
import { writeSync } from 'node:fs';
import { clearLine, clearScreenDown, cursorTo, moveCursor, type Direction } from 'node:readline';
import { Readable, Writable } from 'node:stream';
import { WriteStream } from 'node:tty';
import { encodeFrame, Frame, type FrameType, type TerminalEnd } from './protocol.js';

const pause = new Int32Array(new SharedArrayBuffer(4));

// Writes frames to the client's socket synchronously, in order, as Node writes stdout to a pipe or
// a terminal on Linux: a slow reader slows the command, and nothing is lost when it exits.
export class FrameWriter {
  private gone = false;

  constructor(private readonly fd: number) {}

  // Whether the client has gone (its end closed): later frames are dropped.
  get clientGone(): boolean {
    return this.gone;
  }

  send(type: FrameType, payload?: Buffer | string): void {
    if (this.gone) return;
    const frame = encodeFrame(type, payload);
    let offset = 0;
    while (offset < frame.length) {
      try {
        offset += writeSync(this.fd, frame, offset);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'EAGAIN') {
          Atomics.wait(pause, 0, 0, 2);
          continue;
        }
        this.gone = true;
        return;
      }
    }
  }
}

// process.stdout or process.stderr of a handed-over command.
export class RelayedOutput extends Writable {
  isTTY: boolean;
  columns: number | undefined;
  rows: number | undefined;

  constructor(
    private readonly writer: FrameWriter,
    private readonly type: typeof Frame.Stdout | typeof Frame.Stderr,
    end: TerminalEnd,
  ) {
    super({ decodeStrings: true });
    this.isTTY = end.isTTY;
    this.columns = end.columns;
    this.rows = end.rows;
    // A terminal's extra methods exist only when the client's stream is one, as on tty.WriteStream.
    if (end.isTTY) Object.assign(this, TERMINAL_METHODS);
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    this.writer.send(this.type, chunk);
    done();
  }

  // The client's terminal changed size.
  resize(end: TerminalEnd): void {
    this.columns = end.columns;
    this.rows = end.rows;
    this.emit('resize');
  }
}

const TERMINAL_METHODS = {
  getColorDepth(this: RelayedOutput, env?: object): number {
    return WriteStream.prototype.getColorDepth.call(this, env);
  },
  hasColors(this: RelayedOutput, count?: number | object, env?: object): boolean {
    return WriteStream.prototype.hasColors.call(this, count as number, env);
  },
  getWindowSize(this: RelayedOutput): [number, number] {
    return [this.columns ?? 80, this.rows ?? 24];
  },
  cursorTo(this: RelayedOutput, x: number, y?: number | (() => void), callback?: () => void): boolean {
    return typeof y === 'function' ? cursorTo(this, x, undefined, y) : cursorTo(this, x, y, callback);
  },
  moveCursor(this: RelayedOutput, dx: number, dy: number, callback?: () => void): boolean {
    return moveCursor(this, dx, dy, callback);
  },
  clearLine(this: RelayedOutput, dir: Direction, callback?: () => void): boolean {
    return clearLine(this, dir, callback);
  },
  clearScreenDown(this: RelayedOutput, callback?: () => void): boolean {
    return clearScreenDown(this, callback);
  },
};

// process.stdin of a handed-over command. The client reads its own standard input only while the
// command reads this one, so input meant for whatever runs next stays where it is, and the
// socket holds the standby's event loop open only while the command waits for input, as a
// process's own stdin does.
export class RelayedInput extends Readable {
  readonly isTTY: boolean;
  isRaw = false;
  private wanted = false;

  constructor(
    private readonly writer: FrameWriter,
    end: TerminalEnd,
    private readonly holdOpen: (hold: boolean) => void,
  ) {
    super();
    this.isTTY = end.isTTY;
    this.on('pause', () => {
      if (!this.wanted) return;
      this.wanted = false;
      this.writer.send(Frame.StdinPause);
      this.holdOpen(false);
    });
  }

  override _read(): void {
    if (this.wanted) return;
    this.wanted = true;
    this.holdOpen(true);
    this.writer.send(Frame.StdinWant);
  }

  setRawMode(mode: boolean): this {
    this.isRaw = mode;
    this.writer.send(Frame.RawMode, Buffer.from([mode ? 1 : 0]));
    return this;
  }

  // Bytes the client read from its standard input.
  received(chunk: Buffer): void {
    this.push(chunk);
  }

  // The client's standard input ended.
  ended(): void {
    this.wanted = false;
    this.holdOpen(false);
    this.push(null);
  }
}

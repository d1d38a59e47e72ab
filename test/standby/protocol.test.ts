// Frames between a client and a standby: whatever sizes the socket cuts the bytes into, the reader
// gives back each frame whole, in order, with its type and payload.
import { describe, expect, it } from 'vitest';
import { encodeFrame, Frame, FrameReader } from '../../src/standby/protocol.js';

const frames: Array<[number, Buffer]> = [
  [Frame.Request, Buffer.from(JSON.stringify({ argv: ['node', 'halyard', '--version'], cwd: '/tmp' }))],
  [Frame.Stdout, Buffer.from('hello\n')],
  [Frame.StdinWant, Buffer.alloc(0)],
  [Frame.Stderr, Buffer.alloc(70_000, 0xe2)],
  [Frame.Exit, Buffer.from([0, 0, 0, 65])],
];
const bytes = Buffer.concat(frames.map(([type, payload]) => encodeFrame(type as Parameters<typeof encodeFrame>[0], payload)));

// Frames as [type, hex of the payload]: vitest compares long Buffers byte by byte, slowly.
const expected = frames.map(([type, payload]) => [type, payload.toString('hex')]);

function readAll(chunks: Buffer[]): { got: Array<[number, string]>; partial: number } {
  const got: Array<[number, string]> = [];
  const reader = new FrameReader((type, payload) => got.push([type, payload.toString('hex')]));
  for (const chunk of chunks) reader.push(chunk);
  return { got, partial: reader.partial };
}

describe('standby frames', () => {
  it('a frame is its type, a 4-byte big-endian length and the payload', () => {
    expect(encodeFrame(Frame.Stdout, 'ab')).toEqual(Buffer.from([Frame.Stdout, 0, 0, 0, 2, 0x61, 0x62]));
    expect(encodeFrame(Frame.StdinEnd)).toEqual(Buffer.from([Frame.StdinEnd, 0, 0, 0, 0]));
  });

  it('all frames in one chunk come back whole and in order', () => {
    const { got, partial } = readAll([bytes]);
    expect(got).toEqual(expected);
    expect(partial).toBe(0);
  });

  it('a byte at a time, and cut at every position, gives the same frames', () => {
    expect(readAll([...bytes].map((byte) => Buffer.from([byte]))).got).toEqual(expected);
    for (let cut = 1; cut < bytes.length; cut += cut < 200 ? 1 : 997) {
      expect(readAll([bytes.subarray(0, cut), bytes.subarray(cut)]).got).toEqual(expected);
    }
  });

  it('a peer that ends mid-frame leaves the bytes counted as partial, no frame made of them', () => {
    const { got, partial } = readAll([bytes.subarray(0, bytes.length - 3)]);
    expect(got).toEqual(expected.slice(0, 4));
    expect(partial).toBe(6);
  });
});

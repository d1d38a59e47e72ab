// Files users write (inventories, vars files, daemon, backup and monitor files) are UTF-8. A byte
// that is not UTF-8 is refused with its line: decoding would replace it with U+FFFD silently (a
// host named "h\xff\xfe1" became "h\ufffd\ufffd1", another host than the one meant).
export type Utf8Decoded = { ok: true; text: string } | { ok: false; line: number; column: number; offset: number };

const strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

// Decodes bytes as UTF-8, or says where the first invalid byte is (1-based line and column).
export function decodeUtf8(bytes: Uint8Array): Utf8Decoded {
  try {
    return { ok: true, text: strict.decode(bytes) };
  } catch {
    const offset = firstInvalidOffset(bytes);
    let line = 1;
    let lineStart = 0;
    for (let index = 0; index < offset; index += 1) {
      if (bytes[index] === 0x0a) {
        line += 1;
        lineStart = index + 1;
      }
    }
    return { ok: false, line, column: offset - lineStart + 1, offset };
  }
}

// The one-line reason for an error message: where, never the bytes.
export function describeInvalidUtf8(decoded: Extract<Utf8Decoded, { ok: false }>): string {
  return `not valid UTF-8 at line ${decoded.line}, column ${decoded.column} (byte ${decoded.offset}); save the file as UTF-8`;
}

// Offset of the first byte that does not start or continue a valid UTF-8 sequence.
function firstInvalidOffset(bytes: Uint8Array): number {
  let index = 0;
  while (index < bytes.length) {
    const byte = bytes[index] ?? 0;
    const length = byte < 0x80 ? 1 : byte >= 0xc2 && byte <= 0xdf ? 2 : byte >= 0xe0 && byte <= 0xef ? 3 : byte >= 0xf0 && byte <= 0xf4 ? 4 : 0;
    if (length === 0 || index + length > bytes.length) return index;
    if (length > 1 && !strictlyValid(bytes.subarray(index, index + length))) return index;
    index += length;
  }
  return bytes.length;
}

function strictlyValid(sequence: Uint8Array): boolean {
  try {
    strict.decode(sequence);
    return true;
  } catch {
    return false;
  }
}

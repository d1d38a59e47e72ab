import { visible } from '../../core/visible.js';

// A stream for human-readable output: host and inventory bytes are shown, never obeyed.
export interface TextOut {
  write(text: string): void;
}

// Wraps a stream so every write passes through visible() (JSON documents bypass this: they escape).
export function terminalText(stream: NodeJS.WritableStream): TextOut {
  return { write: (text: string) => void stream.write(visible(text)) };
}

// Human-readable standard output and error of the CLI. Each write looks process.stdout up again:
// a standby process (src/standby/) hands each command its client's streams after this loaded.
export const stdoutText: TextOut = { write: (text: string) => void process.stdout.write(visible(text)) };
export const stderrText: TextOut = { write: (text: string) => void process.stderr.write(visible(text)) };

// Structured logs: one JSON object per line (time, level, job, event, durationMs, error, ...).
// Callers pass only safe fields; error texts go through the redactor when one is given.

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface LogFields {
  job?: string;
  durationMs?: number;
  error?: string;
  [key: string]: unknown;
}

export interface DaemonLogger {
  log(level: LogLevel, event: string, fields?: LogFields): void;
}

/** Writes JSON lines to a stream (stdout by default); `redact` masks secret values in every string. */
export function jsonLogger(options: { write?: (line: string) => void; now?: () => Date; redact?: (text: string) => string } = {}): DaemonLogger {
  const write = options.write ?? ((line: string) => void process.stdout.write(line));
  const now = options.now ?? (() => new Date());
  const redact = options.redact ?? ((text: string) => text);
  return {
    log(level, event, fields = {}) {
      const record: Record<string, unknown> = { time: now().toISOString(), level, event };
      for (const [key, value] of Object.entries(fields)) {
        if (value === undefined) continue;
        record[key] = typeof value === 'string' ? redact(value) : value;
      }
      write(`${JSON.stringify(record)}\n`);
    },
  };
}

/** Collects records in memory (tests). */
export function memoryLogger(): DaemonLogger & { records: Array<Record<string, unknown>> } {
  const records: Array<Record<string, unknown>> = [];
  return {
    records,
    log(level, event, fields = {}) {
      records.push({ level, event, ...fields });
    },
  };
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

import { z } from 'zod';
import { nameTable } from '../core/name-table.js';
import type { HostResult, RunResult } from '../engine/results.js';

// The shape of `halyard apply --json` (src/engine/results.ts) as `report merge` reads it back from
// files written elsewhere (another pod, another CI job): checked field by field, so a file that is
// not a result fails with the field that is wrong. Unknown fields are kept (a newer halyard's).

const count = z.number().int().nonnegative();

const taskSchema = z.looseObject({
  name: z.string(),
  status: z.enum(['ok', 'changed', 'failed', 'skipped']),
  durationMs: z.number(),
  error: z.string().optional(),
});

const hostSchema = z.looseObject({
  ok: count,
  changed: count,
  failed: count,
  skipped: count,
  unreachable: z.boolean(),
  execs: count,
  requests: count.optional(),
  tasks: z.array(taskSchema),
  error: z.string().optional(),
  errorCode: z.string().optional(),
  errorClass: z.string().optional(),
  pendingHandlers: z.array(z.string()).optional(),
});

const controllerStepSchema = z.looseObject({
  name: z.string(),
  status: z.enum(['ok', 'changed', 'failed', 'skipped']),
  durationMs: z.number(),
  error: z.string().optional(),
  reason: z.string().optional(),
});

const sliceSchema = z
  .object({ index: count, count: z.number().int().positive() })
  .refine((slice) => slice.index < slice.count, { message: 'index must be below count' });

// Host names are read apart (below): zod's records drop a key named "__proto__".
const runResultSchema = z.looseObject({
  ok: z.boolean(),
  durationMs: z.number().nonnegative(),
  check: z.boolean(),
  playbook: z.string().optional(),
  slice: sliceSchema.optional(),
  hosts: z.custom<object>((value) => value !== null && typeof value === 'object' && !Array.isArray(value), 'expected an object of host results'),
  controller: z.array(controllerStepSchema).optional(),
});

// A parsed JSON value as a RunResult, or the first thing wrong with it ("hosts.web1.changed: ...").
export function parseRunResult(value: unknown): { result: RunResult } | { problem: string } {
  const top = runResultSchema.safeParse(value);
  if (!top.success) return { problem: firstIssue(top.error, []) };
  const hosts = nameTable<HostResult>();
  for (const [name, raw] of Object.entries(top.data.hosts)) {
    const host = hostSchema.safeParse(raw);
    if (!host.success) return { problem: firstIssue(host.error, ['hosts', name]) };
    hosts[name] = host.data as HostResult;
  }
  return { result: { ...(top.data as Omit<RunResult, 'hosts'>), hosts } };
}

// One line for zod's first issue: where in the document, and what was expected.
function firstIssue(error: z.ZodError, prefix: readonly (string | number)[]): string {
  const issue = error.issues[0];
  const path = [...prefix, ...(issue?.path ?? [])].map((key) => String(key)).join('.');
  return `${path === '' ? 'the document' : path}: ${issue?.message ?? 'invalid'}`;
}

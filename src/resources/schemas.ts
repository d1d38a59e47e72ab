import { z } from 'zod';
import { isSecret } from '../core/secret.js';
import { isShellScript, type ShellScript } from '../core/shell.js';
import { isSecretText } from '../core/template.js';

// The arguments each resource takes, as schemas checked when a task is made (before any host is
// touched): a wrong type fails the run with the playbook's file:line, never a surprise on a host
// (`mode: 644`, a decimal number, used to land as mode 1204; `group: true` ran chown 0:true).

// A path on the host; planners check it further (absolute, normalized).
const path = z.string({ error: 'must be a string (an absolute path)' });

// A user or group: a name or a numeric id.
const owner = z.union([z.string(), z.number().int().nonnegative()], { error: 'must be a user or group name (a string) or a numeric id' });

// Modes are strings of octal digits: a number is ambiguous (644 is not 0o644), so it is refused.
const mode = z.custom<string>((value) => typeof value === 'string', {
  error: (issue) =>
    typeof issue.input === 'number'
      ? `must be a string of octal digits like "0644", got the number ${issue.input} (write "${issue.input.toString(8).padStart(4, '0')}" for 0o${issue.input.toString(8)}, or "0${issue.input}" if you meant octal ${issue.input})`
      : 'must be a string of octal digits like "0644"',
});

const ownership = { owner: owner.optional(), group: owner.optional(), mode: mode.optional() };

// File content: text, bytes, a Secret or a template holding secrets.
const content = z.custom<unknown>((value) => typeof value === 'string' || Buffer.isBuffer(value) || isSecret(value) || isSecretText(value), {
  error: 'must be text, a Buffer, a Secret or a template`...`',
});

// Shell code a user hands over on purpose: text, or sh`...` with its values quoted.
const shellSnippet = z.custom<string | ShellScript>((value) => typeof value === 'string' || isShellScript(value), {
  error: 'must be shell text (a string) or an sh`...` script',
});

const names = z.array(z.string({ error: 'must be a list of names (strings)' }), { error: 'must be a list of names (strings)' });
const composeCommand = z.enum(['auto', 'v2', 'v1']).optional();
const state = <T extends [string, ...string[]]>(values: T) => z.enum(values).optional();

// Schemas by resource kind. Objects are strict: a misspelt argument is an error, not ignored.
export const RESOURCE_SCHEMAS: Record<string, z.ZodType> = {
  file: z.strictObject({ path, content, sensitive: z.boolean().optional(), ...ownership }),
  directory: z.strictObject({ path, ...ownership }),
  absent: z.strictObject({ path, recursive: z.boolean().optional() }),
  packages: z.strictObject({
    names: z.union([names, z.strictObject({ apt: names.optional(), dnf: names.optional() })], { error: 'must be a list of package names or { apt, dnf } lists' }),
    state: state(['present', 'absent']),
    manager: state(['auto', 'apt', 'dnf']),
    updateCache: state(['auto', 'always', 'never']),
  }),
  user: z.strictObject({
    name: z.string(),
    uid: z.number().int().nonnegative().optional(),
    group: owner.optional(),
    groups: names.optional(),
    append: z.boolean().optional(),
    home: path.optional(),
    shell: path.optional(),
    system: z.boolean().optional(),
    createHome: z.boolean().optional(),
    state: state(['present', 'absent']),
  }),
  group: z.strictObject({ name: z.string(), gid: z.number().int().nonnegative().optional(), system: z.boolean().optional(), state: state(['present', 'absent']) }),
  service: z.strictObject({
    name: z.string(),
    enabled: z.boolean().optional(),
    state: state(['started', 'stopped', 'restarted', 'reloaded']),
    daemonReload: z.boolean().optional(),
  }),
  command: z.strictObject({
    command: shellSnippet.optional(),
    argv: z.array(z.string()).optional(),
    creates: path.optional(),
    removes: path.optional(),
    unless: shellSnippet.optional(),
    onlyIf: shellSnippet.optional(),
    chdir: path.optional(),
    env: z.record(z.string(), z.string({ error: 'environment values must be strings' })).optional(),
  }),
  upload: z.strictObject({
    src: z.string(),
    path,
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
    size: z.number().int().nonnegative(),
    localMode: z.number().int().nonnegative(),
    compress: z.boolean(),
    validate: z.array(z.string()).optional(),
    ...ownership,
  }),
  'docker-image': z.strictObject({ ref: z.string(), id: z.string() }),
  'compose-project': z.strictObject({
    dir: path,
    project: z.string(),
    file: z.string().optional(),
    command: composeCommand,
    restartHandlers: z.record(z.string(), z.string()).optional(),
    inputs: z.strictObject({ composeFile: content, envFile: content.optional() }).optional(),
    expectImages: z.record(z.string(), z.string()).optional(),
  }),
  'compose-restart': z.strictObject({ dir: path, project: z.string(), services: names, file: z.string().optional(), command: composeCommand, together: z.boolean().optional() }),
  'http-health': z.strictObject({
    dir: path,
    project: z.string(),
    checks: z.array(z.strictObject({ service: z.string(), url: z.string() })),
    timeoutSeconds: z.number().positive().optional(),
    file: z.string().optional(),
    command: composeCommand,
    together: z.boolean().optional(),
  }),
};

// The first problem with a resource's arguments, as "name: message", or undefined when they pass.
export function argumentProblem(kind: string, desired: unknown): string | undefined {
  const schema = RESOURCE_SCHEMAS[kind];
  if (!schema) return undefined;
  const result = schema.safeParse(desired);
  if (result.success) return undefined;
  const issue = result.error.issues[0];
  if (!issue) return 'invalid arguments';
  const where = issue.path.map(String).join('.');
  if (issue.code === 'unrecognized_keys') return `unknown argument${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((key) => JSON.stringify(key)).join(', ')}`;
  if (issue.path.length > 0 && valueAt(desired, issue.path) === undefined) return `${where} is required`;
  return `${where ? `${where} ` : ''}${issue.message}`;
}

function valueAt(value: unknown, path: readonly PropertyKey[]): unknown {
  let current = value;
  for (const key of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<PropertyKey, unknown>)[key];
  }
  return current;
}

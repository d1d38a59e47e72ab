import { z } from 'zod';
import { PlaybookError } from '../core/errors.js';
import { Secret, isSecret } from '../core/secret.js';

// A role var that holds a secret: accepts a Secret (inventory, Secrets Manager) or a plain string,
// and always hands the role a Secret so it can never be printed by accident.
export function secretVar(label: string) {
  return z
    .custom<Secret | string>((value) => isSecret(value) || typeof value === 'string', { message: 'expected a secret or a string' })
    .transform((value) => (isSecret(value) ? value : new Secret(value, label)));
}

// Validates a host's vars against a role's schema; a bad var fails the run with the var's path.
// Text where the schema asks for a number or a boolean is read as Ansible reads `-e key=value`
// (always text) for a module's int, float or bool option: "3101" is 3101, "yes"/"off" are booleans.
export function roleVars<S extends z.ZodType>(role: string, schema: S, vars: Readonly<Record<string, unknown>>): z.output<S> {
  const parsed = schema.safeParse(schema instanceof z.ZodObject ? coerceLikeAnsible(schema, vars) : vars);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const where = issue?.path.length ? issue.path.join('.') : '(vars)';
  throw new PlaybookError('E_ROLE_VARS', `role ${role}: var ${where}: ${issue?.message ?? 'invalid'}`);
}

// Ansible's boolean() words (module_utils/parsing/convert_bool.py), compared in lower case.
const ANSIBLE_TRUE = new Set(['y', 'yes', 'on', '1', 'true', 't']);
const ANSIBLE_FALSE = new Set(['n', 'no', 'off', '0', 'false', 'f']);
const NUMBER_TEXT = /^\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*$/;

// The kind a var's schema asks for under default/optional/nullable wrappers.
function wantedKind(type: z.ZodType): string {
  let def = (type as unknown as { _zod: { def: { type: string; innerType?: z.ZodType } } })._zod.def;
  while ((def.type === 'default' || def.type === 'optional' || def.type === 'nullable' || def.type === 'prefault') && def.innerType) {
    def = (def.innerType as unknown as { _zod: { def: { type: string; innerType?: z.ZodType } } })._zod.def;
  }
  return def.type;
}

// A copy of vars with text turned into numbers and booleans where the schema wants them and the
// text is one (anything else is left for the schema to refuse with the var's name).
export function coerceLikeAnsible(schema: z.ZodObject, vars: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = Object.assign(Object.create(null) as Record<string, unknown>, vars);
  for (const [name, field] of Object.entries(schema.shape)) {
    const value = out[name];
    if (typeof value !== 'string') continue;
    const kind = wantedKind(field as z.ZodType);
    if (kind === 'number' && NUMBER_TEXT.test(value)) out[name] = Number(value);
    else if (kind === 'boolean' && ANSIBLE_TRUE.has(value.trim().toLowerCase())) out[name] = true;
    else if (kind === 'boolean' && ANSIBLE_FALSE.has(value.trim().toLowerCase())) out[name] = false;
  }
  return out;
}

// One documented var of a role, read back from its schema (for README tables and tests).
export interface RoleVarDoc {
  name: string;
  type: string;
  default: unknown;
  description: string | undefined;
}

// Lists a role's vars with type, default and description, from a z.object schema.
export function describeRoleVars(schema: z.ZodObject): RoleVarDoc[] {
  return Object.entries(schema.shape).map(([name, field]) => {
    const type = field as z.ZodType;
    const def = (type as unknown as { _zod: { def: { type: string; defaultValue?: unknown; innerType?: { _zod: { def: { type: string } } } } } })._zod.def;
    const defaultValue = def.type === 'default' ? (typeof def.defaultValue === 'function' ? (def.defaultValue as () => unknown)() : def.defaultValue) : undefined;
    return {
      name,
      type: def.type === 'default' ? (def.innerType?._zod.def.type ?? 'unknown') : def.type,
      default: defaultValue,
      description: type.description,
    };
  });
}

export { z };

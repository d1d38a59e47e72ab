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
export function roleVars<S extends z.ZodType>(role: string, schema: S, vars: Readonly<Record<string, unknown>>): z.output<S> {
  const parsed = schema.safeParse(vars);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const where = issue?.path.length ? issue.path.join('.') : '(vars)';
  throw new PlaybookError('E_ROLE_VARS', `role ${role}: var ${where}: ${issue?.message ?? 'invalid'}`);
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

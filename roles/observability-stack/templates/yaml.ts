import { toYaml } from 'halyard';

// Renders a config as YAML that every reader of it agrees on: YAML 1.1 rules (PyYAML in
// docker-compose v1, Go yaml), every string double-quoted (no "80:80" read as a base-60 number,
// no "no" read as false), no line folding. Values are data, never spliced into YAML text.
export function renderYaml(header: string, value: unknown): string {
  const body = toYaml(value, { version: '1.1', lineWidth: 0, aliasDuplicateObjects: false, defaultStringType: 'QUOTE_DOUBLE', defaultKeyType: 'PLAIN' });
  const comment = header
    .split('\n')
    .map((line) => `# ${line}`.trimEnd())
    .join('\n');
  return `${comment}\n${body}`;
}

// The first line of every generated file.
export const MANAGED = 'Managed by halyard (role observability-stack); local edits are overwritten.';

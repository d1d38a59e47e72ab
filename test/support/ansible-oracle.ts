import { execFileSync } from 'node:child_process';

// Debian's python3 and ansible-core (installed by scripts/setup-machine.sh): the oracles inventory
// tests compare halyard's reading with. Missing, they fail the test loudly, never skip it.
export const SYSTEM_PYTHON = '/usr/bin/python3';

// What Python's ast.literal_eval makes of each text, as Ansible's INI plugin keeps it (_parse_value:
// a top-level bytes value becomes text; text that is no literal stays as written), in JSON;
// `unprintable` where json.dumps cannot write the value (a set, a complex number).
export function pythonLiteralOracle(texts: string[]): Array<{ value: unknown } | { raw: string } | { unprintable: true }> {
  const program = [
    'import ast, json, sys',
    'out = []',
    'for s in json.load(sys.stdin):',
    '    try:',
    '        v = ast.literal_eval(s)',
    '    except (ValueError, SyntaxError):',
    '        out.append({"raw": s}); continue',
    '    if isinstance(v, bytes): v = v.decode("utf-8")',
    '    try:',
    '        out.append({"value": json.loads(json.dumps(v))})',
    '    except (TypeError, ValueError):',
    '        out.append({"unprintable": True})',
    'print(json.dumps(out))',
  ].join('\n');
  return JSON.parse(execFileSync(SYSTEM_PYTHON, ['-c', program], { input: JSON.stringify(texts), encoding: 'utf8' })) as Array<{ value: unknown } | { raw: string } | { unprintable: true }>;
}

// `ansible-inventory -i FILE --list`: every host's vars as Ansible resolves them.
export function ansibleHostVars(inventoryFile: string): Record<string, Record<string, unknown>> {
  const out = execFileSync('ansible-inventory', ['-i', inventoryFile, '--list'], { encoding: 'utf8', env: { ...process.env, ANSIBLE_NOCOLOR: '1', ANSIBLE_INVENTORY_UNPARSED_FAILED: '1' } });
  return (JSON.parse(out) as { _meta: { hostvars: Record<string, Record<string, unknown>> } })._meta.hostvars;
}

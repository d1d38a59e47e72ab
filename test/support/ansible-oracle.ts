import { execFileSync, spawn } from 'node:child_process';
import type { Writable } from 'node:stream';

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

// ansible-inventory's own code (InventoryCLI.cli_executor, what /usr/bin/ansible-inventory runs)
// in a warm Python: ansible is imported once, then each call runs in a child forked from that
// untouched process, so it sees a fresh ansible (no state from earlier calls) without paying the
// 0.5-0.7 s import again (40 corpus cases: 86 s of a busy suite before).
const WARM_INVENTORY_CLI = String.raw`
import json, os, sys
from ansible.cli.inventory import InventoryCLI
for line in sys.stdin:
    job = json.loads(line)
    out_r, out_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(out_r)
        os.dup2(out_w, 1)
        devnull = os.open(os.devnull, os.O_WRONLY); os.dup2(devnull, 2)
        os.chdir(job["cwd"])
        code = 0
        try:
            InventoryCLI.cli_executor(["ansible-inventory"] + job["args"])
        except SystemExit as exit:
            code = exit.code if isinstance(exit.code, int) else 1
        sys.stdout.flush()
        os._exit(code)
    os.close(out_w)
    chunks = []
    while True:
        chunk = os.read(out_r, 1 << 20)
        if not chunk: break
        chunks.append(chunk)
    os.close(out_r)
    _, status = os.waitpid(pid, 0)
    sys.stdout.write(json.dumps({"exitCode": os.waitstatus_to_exitcode(status), "stdout": b"".join(chunks).decode("utf-8")}) + "\n")
    sys.stdout.flush()
`;

interface WarmOracle {
  stdin: Writable;
  queue: Array<(reply: { exitCode: number; stdout: string }) => void>;
}
let warm: WarmOracle | undefined;

// `ansible-inventory ARGS` run in `cwd` by the warm Python; rejects on a non-zero exit.
export function warmAnsibleInventory(args: string[], cwd: string): Promise<string> {
  const oracle = (warm ??= startWarmOracle());
  return new Promise((resolve, reject) => {
    oracle.queue.push((reply) => (reply.exitCode === 0 ? resolve(reply.stdout) : reject(new Error(`ansible-inventory ${args.join(' ')} exited ${reply.exitCode}`))));
    oracle.stdin.write(`${JSON.stringify({ args, cwd })}\n`);
  });
}

function startWarmOracle(): WarmOracle {
  const child = spawn(SYSTEM_PYTHON, ['-c', WARM_INVENTORY_CLI], { env: { ...process.env, ANSIBLE_NOCOLOR: '1' }, stdio: ['pipe', 'pipe', 'inherit'] });
  const oracle: WarmOracle = { stdin: child.stdin, queue: [] };
  let buffered = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    buffered += chunk;
    for (let at = buffered.indexOf('\n'); at >= 0; at = buffered.indexOf('\n')) {
      const line = buffered.slice(0, at);
      buffered = buffered.slice(at + 1);
      oracle.queue.shift()?.(JSON.parse(line) as { exitCode: number; stdout: string });
    }
  });
  // The test process may end while the oracle waits for more work; its stdin closing ends it.
  child.unref();
  return oracle;
}

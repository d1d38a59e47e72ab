// `halyard completion bash|zsh`: scripts written from the program itself, checked by the shells.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { bashCompletion, completionSpec, zshCompletion } from '../../src/cli/completion-command.js';
import { main } from '../../src/cli/main.js';

// What `halyard completion SHELL` prints, through the CLI's own main().
async function completionScript(shell: string): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => ((stdout += String(chunk)), true));
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => ((stderr += String(chunk)), true));
  try {
    await main(['node', 'halyard', 'completion', shell]);
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
  const exitCode = Number(process.exitCode ?? 0);
  process.exitCode = undefined;
  return { exitCode, stdout, stderr };
}

const dir = mkdtempSync(join(tmpdir(), 'hy-completion-'));
let bashScript: string;
let zshScript: string;

beforeAll(async () => {
  const bash = await completionScript('bash');
  const zsh = await completionScript('zsh');
  expect(bash.exitCode).toBe(0);
  expect(zsh.exitCode).toBe(0);
  bashScript = join(dir, 'halyard.bash');
  zshScript = join(dir, '_halyard');
  writeFileSync(bashScript, bash.stdout);
  writeFileSync(zshScript, zsh.stdout);
  // Files and folders for path completion.
  const cwd = join(dir, 'repo');
  mkdirSync(join(cwd, 'playbooks'), { recursive: true });
  mkdirSync(join(cwd, 'inventory'));
  for (const file of ['site.ts', 'secrets.yml', 'playbooks/web.ts', 'inventory/prod.yml']) writeFileSync(join(cwd, file), '');
});

// What bash's completion function offers for a command line (the last word is being completed).
function bashComplete(line: string): string[] {
  const words = line.split(' ');
  const driver = [
    'source "$1"',
    `COMP_WORDS=(${words.map((word) => `'${word}'`).join(' ')})`,
    `COMP_CWORD=${words.length - 1}`,
    `COMP_LINE='${line}'`,
    'COMP_POINT=${#COMP_LINE}',
    '_halyard',
    'printf "%s\\n" "${COMPREPLY[@]}"',
  ].join('\n');
  const output = execFileSync('bash', ['--norc', '--noprofile', '-c', driver, 'driver', bashScript], { cwd: join(dir, 'repo'), encoding: 'utf8' });
  return output.split('\n').filter(Boolean).sort();
}

describe('halyard completion bash', () => {
  it('is valid bash and registers _halyard for halyard', () => {
    expect(spawnSync('bash', ['-n', bashScript]).status).toBe(0);
    expect(execFileSync('bash', ['--norc', '-c', 'source "$1"; complete -p halyard', 'check', bashScript], { encoding: 'utf8' })).toBe('complete -F _halyard halyard\n');
  });

  it('completes subcommands and their options', () => {
    expect(bashComplete('halyard ap')).toEqual(['apply']);
    expect(bashComplete('halyard apply --li')).toEqual(['--limit', '--list-hosts', '--list-tasks']);
    expect(bashComplete('halyard apply site.ts -i inventory/prod.yml --vault-')).toEqual(['--vault-id', '--vault-password-file']);
    expect(bashComplete('halyard inventory ')).toEqual(['help', 'list', 'vars']);
    expect(bashComplete('halyard inventory list --pl')).toEqual(['--playbook-dir']);
    expect(bashComplete('halyard vault e')).toEqual(['encrypt', 'encrypt-string']);
    expect(bashComplete('halyard completion ')).toEqual(['bash', 'zsh']);
    expect(bashComplete('halyard help ap')).toEqual(['apply']);
    expect(bashComplete('halyard -')).toEqual(['--help', '--version', '-V', '-h']);
  });

  it('completes files for options and arguments that take paths, directories for folders, nothing for other values', () => {
    expect(bashComplete('halyard apply s')).toEqual(['secrets.yml', 'site.ts']);
    expect(bashComplete('halyard apply -i inv')).toEqual(['inventory']);
    expect(bashComplete('halyard apply site.ts --inventory inventory/')).toEqual(['inventory/prod.yml']);
    expect(bashComplete('halyard apply site.ts --vault-password-file se')).toEqual(['secrets.yml']);
    expect(bashComplete('halyard inventory list --playbook-dir ')).toEqual(['inventory', 'playbooks']);
    expect(bashComplete('halyard vault encrypt secrets.yml s')).toEqual(['secrets.yml', 'site.ts']);
    // A value that is no path (a host pattern, a number) completes to nothing, not to options.
    expect(bashComplete('halyard apply site.ts --limit ')).toEqual([]);
    expect(bashComplete('halyard apply site.ts -f ')).toEqual([]);
    // After an option's value, options and the playbook complete again.
    expect(bashComplete('halyard apply -f 5 --che')).toEqual(['--check']);
    expect(bashComplete('halyard apply -l web site')).toEqual(['site.ts']);
    // `--inventory=inv`: bash splits at "=" (COMP_WORDBREAKS), the value is still a path.
    expect(bashComplete('halyard apply --inventory = inv')).toEqual(['inventory']);
  });
});

describe('halyard completion zsh', () => {
  it('is valid zsh (zsh must be installed: apt-get install zsh)', () => {
    const zsh = spawnSync('zsh', ['-n', zshScript], { encoding: 'utf8' });
    expect(zsh.error, 'zsh is not installed (apt-get install zsh)').toBeUndefined();
    expect(zsh.stderr).toBe('');
    expect(zsh.status).toBe(0);
  });

  it("gives _arguments each option with its description and value action, as zsh's quoting reads them", () => {
    // _arguments and compdef stubbed: what the apply function passes, after zsh's own word splitting.
    const driver = 'compdef() { :; }; _arguments() { print -rl -- "$@"; }; source "$1"; _halyard__apply';
    const specs = execFileSync('zsh', ['-f', '-c', driver, 'driver', zshScript], { encoding: 'utf8' }).split('\n');
    expect(specs).toContain('*-i+[inventory file or directory (Ansible YAML/INI; repeatable, read in order; default: halyard.yml\'s, else ansible.cfg\'s)]:path:_files');
    expect(specs).toContain("(-l --limit)--limit=[only these hosts/groups (globs, !exclude, &intersect)]:pattern: ");
    expect(specs).toContain('(-C --check)-C[change nothing; report what would change (exit 2 when changes are pending)]');
    expect(specs.filter((spec) => spec.startsWith('*-v[') || spec.startsWith('*--verbose['))).toHaveLength(2);
    expect(specs).toContain(':playbook:_files');
  });

  it('completes in an interactive zsh (compinit, a pseudo-terminal)', () => {
    // zpty drives `halyard apply --li<TAB>` and reads until the listing shows the last candidate.
    const driver = [
      'zmodload zsh/zpty',
      "zpty z 'zsh -f -i'",
      `zpty -w z 'PS1="> "; fpath=(${dir} $fpath); autoload -U compinit; compinit -u -D; print LOA""DED'`,
      "zpty -r z out '*LOADED*'",
      "zpty -w -n z $'halyard apply --li\\t'",
      "zpty -r z out '*--list-tasks*--*'",
      'print -r -- "$out"',
      'zpty -d z',
    ].join('\n');
    const output = execFileSync('timeout', ['20', 'zsh', '-f', '-c', driver], { encoding: 'utf8' });
    for (const option of ['--limit', '--list-hosts', '--list-tasks']) expect(output).toContain(option);
  });
});

describe('completionSpec', () => {
  it('is read from the commander program: a new option or command completes without touching the scripts', () => {
    const program = new Command().name('tool');
    program.command('deploy').option('--target-dir <dir>', 'where').option('-n, --dry-run', 'plan only').argument('<file>');
    const spec = completionSpec(program);
    expect(spec.commands.map((command) => command.name)).toEqual(['deploy', 'help']);
    expect(spec.commands[0]).toMatchObject({
      path: ['deploy'],
      options: [
        { names: ['--target-dir'], value: { name: 'dir', kind: 'dir' }, repeatable: false },
        { names: ['-n', '--dry-run'], repeatable: false },
        { names: ['-h', '--help'] },
      ],
      args: [{ name: 'file', required: true, variadic: false, value: { kind: 'file' } }],
    });
    expect(spec.commands[1]?.args[0]?.value).toEqual({ kind: 'choice', choices: ['deploy'] });
    expect(bashCompletion(spec)).toContain("complete -F _tool tool");
    expect(zshCompletion(spec)).toContain('_tool__deploy() {');
  });
});

import type { Command } from 'commander';
import type { ApplyFlags } from './apply-command.js';
import { addVaultFlags } from './common-flags.js';

// `halyard check PLAYBOOK`: type-check a playbook with the project's tsconfig, then list its
// plays, hosts, roles, tasks and handlers, connecting to no host (CI's check before an apply).
export function registerCheckCommand(program: Command): void {
  const check = program
    .command('check')
    .description("type-check a playbook with its project's tsconfig and list its hosts, roles, tasks and handlers, connecting to none")
    .argument('<playbook>', 'playbook file (.ts)')
    .option('-i, --inventory <path>', "inventory file or directory (repeatable; default: halyard.yml's, else ansible.cfg's)", (value: string, previous: string[] | undefined) => [...(previous ?? []), value])
    .option('-l, --limit <pattern>', 'only these hosts/groups')
    .option('-e, --extra-vars <var>', 'key=value, JSON/YAML object, or @file (repeatable)', (value: string, previous: string[]) => [...previous, value], [] as string[])
    .option('-t, --tags <tags>', 'only tasks with these tags', (value: string, previous: string[]) => [...previous, value], [] as string[])
    .option('--skip-tags <tags>', 'skip tasks with these tags', (value: string, previous: string[]) => [...previous, value], [] as string[])
    .option('--json', 'print exactly one JSON document on stdout', false);
  addVaultFlags(check);
  check.action(async (playbookPath: string, flags: Partial<ApplyFlags>) => {
    const { typecheckPlaybook, reportTypeCheck } = await import('./check-run.js');
    const { listPlaybook } = await import('./apply-run.js');
    reportTypeCheck(playbookPath, typecheckPlaybook(playbookPath), flags.json === true);
    await listPlaybook(playbookPath, { ...(flags as ApplyFlags), listHosts: true, listTasks: true });
  });
}

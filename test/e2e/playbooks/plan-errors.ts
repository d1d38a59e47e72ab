import { command, defineRole, definePlaybook, file, z } from 'halyard';

// For the plan-time error tests: a role whose first task writes a file and whose second task is
// broken on purpose by a var (a misspelt notify, or an argument of the wrong type), so a run that
// touched the host before finding the mistake would leave the file behind.
const broken = defineRole({
  name: 'broken',
  vars: z.object({ target_dir: z.string(), mistake: z.enum(['notify', 'argument', 'none']).default('none') }),
  tasks: (_host, vars) => [
    file({ path: `${vars.target_dir}/first.txt`, content: 'written before the mistake\n' }, { notify: 'reload' }),
    vars.mistake === 'notify' && file({ path: `${vars.target_dir}/second.txt`, content: 'x\n' }, { notify: 'relaod' }),
    vars.mistake === 'argument' && file({ path: `${vars.target_dir}/second.txt`, content: 'x\n', mode: 644 as unknown as string }),
  ],
  handlers: (_host, vars) => ({ reload: command({ command: `touch ${vars.target_dir}/reloaded` }, { name: 'reload' }) }),
});

export default definePlaybook({ name: 'plan errors', hosts: 'all', roles: [broken] });

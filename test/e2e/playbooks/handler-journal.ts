import { command, defineRole, definePlaybook, file, z } from 'halyard';

// For the handler journal tests: a config file whose change notifies "restart app" (the handler
// appends a line to `restarts`), then a task that fails when `fail_after` is true.
const app = defineRole({
  name: 'app',
  vars: z.object({ target_dir: z.string(), config_version: z.string().default('1'), fail_after: z.boolean().default(false) }),
  tasks: (_host, vars) => [
    file({ path: `${vars.target_dir}/app.conf`, content: `version ${vars.config_version}\n` }, { notify: 'restart app' }),
    vars.fail_after && command({ command: 'echo a later task fails >&2; exit 3' }, { name: 'a later task' }),
  ],
  handlers: (_host, vars) => ({ 'restart app': command({ command: `echo restarted >> ${vars.target_dir}/restarts` }, { name: 'restart app' }) }),
});

export default definePlaybook({ name: 'handler journal', hosts: 'all', roles: [app] });

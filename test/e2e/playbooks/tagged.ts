import { command, defineRole, definePlaybook, file, flushHandlers } from 'halyard';

// For the --tags tests: tags on a role (inherited by its tasks), on tasks, on the play, and
// Ansible's special tags always and never.
const web = defineRole({
  name: 'web',
  tags: ['web'],
  tasks: () => [
    file({ path: '/tmp/hy-tags/web.conf', content: 'x\n' }, { name: 'web config', tags: 'config' }),
    command({ command: 'true' }, { name: 'web check' }),
  ],
});

export default definePlaybook({
  name: 'tagged',
  hosts: 'all',
  tags: ['site'],
  roles: [web],
  tasks: () => [
    file({ path: '/tmp/hy-tags/db.conf', content: 'x\n' }, { name: 'db config', tags: ['db', 'config'] }),
    flushHandlers(),
    command({ command: 'true' }, { name: 'always runs', tags: 'always' }),
    command({ command: 'true' }, { name: 'debug only', tags: ['never', 'debug'] }),
  ],
});

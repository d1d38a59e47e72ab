import { awsSecret, command, definePlaybook, directory, file, template } from 'halyard';

// Two services read two secrets from AWS Secrets Manager; each file notifies only its own service.
export default definePlaybook({
  name: 'aws secrets',
  hosts: 'all',
  vars: { db_password: awsSecret('prod/app', 'db_password') },
  tasks: (host) => [
    directory({ path: '/etc/hy-app', owner: 'root', group: 'root', mode: '0750' }),
    file(
      { path: '/etc/hy-app/db.env', content: template`DB_PASSWORD=${host.vars.db_password}\n`, owner: 'root', group: 'root', mode: '0600' },
      { notify: 'restart app' },
    ),
    file(
      { path: '/etc/hy-app/token', content: template`${host.vars.api_token}`, owner: 'nobody', group: 'root', mode: '0600' },
      { notify: 'restart worker' },
    ),
  ],
  handlers: () => ({
    'restart app': command({ command: 'echo app >> /var/log/hy-restarts' }),
    'restart worker': command({ command: 'echo worker >> /var/log/hy-restarts' }),
  }),
});

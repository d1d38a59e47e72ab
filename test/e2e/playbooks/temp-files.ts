import { definePlaybook, file } from 'halyard';

// For the temp-file e2e test: one file in /srv/hy-temp whose content comes from -e version=N.
export default definePlaybook({
  name: 'temp files',
  hosts: 'all',
  tasks: (host) => [file({ path: '/srv/hy-temp/app.conf', content: `version=${String(host.vars.version ?? 1)}\n`, mode: '0644' })],
});

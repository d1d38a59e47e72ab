import { definePlaybook, file } from 'halyard';

// For the host-key e2e: a play for the `targeted` group only, so the inventory's other hosts are
// never the run's (the run may reach them early, while this file loads, but must not log in).
export default definePlaybook({
  name: 'targeted group',
  hosts: 'targeted',
  tasks: (host) => [file({ path: `/tmp/hy-targeted-${host.name}`, content: `targeted ${host.name}\n`, mode: '0644' })],
});

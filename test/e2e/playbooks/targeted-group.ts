import { definePlaybook, file } from 'halyard';

// For the host-key e2e: a play for the `targeted` group only, so the inventory's other hosts are
// never the run's (the run may reach them early, while this file loads, but must not log in).
// A playbook that takes a moment to load (as a large one does), so the early connections are under
// way when the run learns which hosts it targets.
await new Promise((resolve) => setTimeout(resolve, 400));

export default definePlaybook({
  name: 'targeted group',
  hosts: 'targeted',
  tasks: (host) => [file({ path: `/tmp/hy-targeted-${host.name}`, content: `targeted ${host.name}\n`, mode: '0644' })],
});

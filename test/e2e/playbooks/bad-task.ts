import { definePlaybook, file } from 'halyard';

// For the host-key e2e: a task whose argument has the wrong type, a playbook error found while the
// run prepares (after the inventory is read): no host may be logged in to.
export default definePlaybook({
  name: 'bad task',
  hosts: 'all',
  tasks: () => [file({ path: 42 as unknown as string, content: 'never\n', mode: '0644' })],
});

import { definePlaybook, file } from 'halyard';

// For the ansible_connection: local test: one file under -e target_dir=DIR on the controller.
export default definePlaybook({
  name: 'local file',
  hosts: 'all',
  tasks: (host) => [file({ path: `${String(host.vars.target_dir)}/hello.txt`, content: 'hello from halyard\n', mode: '0640' })],
});

import { command, definePlaybook } from 'halyard';

// For the timeout e2e test: a guard that never returns, probed with the facts (a hung host).
export default definePlaybook({
  name: 'hung probe',
  hosts: 'all',
  tasks: () => [command({ command: 'true', unless: 'sleep 600' }, { name: 'guarded by a hung check' })],
});

import { definePlaybook, directory, monitorStep } from 'halyard';

// One host task, then the monitor reconciliation once on the controller (as playbooks/site.ts does).
export default definePlaybook({
  name: 'controller steps',
  hosts: 'all',
  tasks: () => [directory({ path: '/opt/hy-controller-steps', mode: '0755' })],
  afterHosts: [monitorStep()],
});

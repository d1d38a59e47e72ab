import { definePlaybook } from 'halyard';
import { halyardDaemon } from '../../../roles/halyard-daemon/index.js';

// roles/halyard-daemon alone, vars from the inventory and -e; used by test/e2e/halyard-daemon.e2e.test.ts.
export default definePlaybook({
  name: 'halyard daemon',
  hosts: 'all',
  roles: [halyardDaemon],
});

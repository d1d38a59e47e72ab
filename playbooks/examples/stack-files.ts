import { definePlaybook } from 'halyard';
import { stackFiles } from '../../roles/stack-files/index.js';

// Lays down the deployment guide's files on every host: packages, data dirs, six configs and .env.
export default definePlaybook({
  name: 'stack files',
  hosts: 'all',
  roles: [stackFiles],
});

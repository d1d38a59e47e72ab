import { defineHostFact, definePlaybook, defineRole, file, z } from 'halyard';

// For the host facts test: a role that branches on host.facts and on a custom fact of its own,
// writing what it read into -e target_dir=DIR on the controller (ansible_connection: local).
const loginUser = defineHostFact({ name: 'login_user', command: 'id -un', parse: (stdout) => stdout.trim() });

const factsReport = defineRole({
  name: 'facts_report',
  vars: z.object({ target_dir: z.string() }),
  facts: [loginUser],
  tasks: (host, vars) => [
    file({
      path: `${vars.target_dir}/facts.txt`,
      content: `${host.facts.packageManager === 'apt' ? 'apt' : `not apt (${host.facts.packageManager})`} ${host.facts.distribution} ${host.facts.arch} ${host.fact(loginUser)}\n`,
    }),
  ],
});

export default definePlaybook({ name: 'host facts', hosts: 'all', roles: [factsReport] });

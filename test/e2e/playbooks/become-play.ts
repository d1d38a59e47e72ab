import { definePlaybook, directory, file } from 'halyard';

// For the become e2e test: a play that needs root (a directory and a file under /etc owned by
// root), asking for it with the play keyword, as an Ansible play says `become: true`.
export default definePlaybook({
  name: 'become play',
  hosts: 'all',
  become: true,
  tasks: (host) => {
    const dir = String(host.vars.become_dir ?? '/etc/hy-become');
    return [
      directory({ path: dir, owner: 'root', group: 'root', mode: '0750' }),
      file({ path: `${dir}/marker`, content: `converged by a become play on ${host.name}\n`, owner: 'root', group: 'root', mode: '0640' }),
    ];
  },
});

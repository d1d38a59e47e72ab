import { definePlaybook, directory, file } from 'halyard';

// A small playbook that needs no root: a directory and three files in the login user's home. The
// fleet bench (npm run bench:fleet) converges it on 100-1000 simulated hosts, then times the no-op.
export default definePlaybook({
  name: 'home files',
  hosts: 'all',
  become: false,
  tasks: (host) => {
    const login = host.host.user ?? String(host.vars['ansible_user'] ?? '');
    if (login === '') throw new Error(`${host.name}: home-files.ts needs the login user (ansible_user) to find its home`);
    const dir = String(host.vars['home_files_dir'] ?? `/home/${login}/halyard-example`);
    return [
      directory({ path: dir, mode: '0755' }),
      file({ path: `${dir}/motd.txt`, content: `managed by halyard for ${host.name}\n`, mode: '0644' }),
      file({ path: `${dir}/settings.env`, content: 'LOG_LEVEL=info\nWORKERS=2\n', mode: '0640' }),
      file({ path: `${dir}/hosts.txt`, content: `${host.name}\n`, mode: '0644' }),
    ];
  },
});

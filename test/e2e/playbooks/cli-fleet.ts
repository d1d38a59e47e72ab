import { command, definePlaybook, directory, file } from 'halyard';

// For the CLI e2e tests: a greeting file built from vars, plus two optional tasks switched on by vars:
// `fail_here: true` makes a task fail on that host, `sleep_seconds: N` appends start/end timestamps
// around a sleep to `<dir>/times` (to see which hosts ran at the same time).
export default definePlaybook({
  name: 'cli fleet',
  hosts: 'all',
  tasks: (host) => {
    const dir = String(host.vars.cli_dir ?? '/tmp/hy-cli');
    const sleep = host.vars.sleep_seconds === undefined ? undefined : Number(host.vars.sleep_seconds);
    return [
      directory({ path: dir, owner: 'root', group: 'root', mode: '0755' }),
      file({ path: `${dir}/greeting`, content: `${String(host.vars.greeting ?? 'hello')} from ${host.name}\n`, mode: '0644' }),
      host.vars.fail_here === true && command({ command: 'echo failing on purpose >&2; exit 3' }, { name: 'fail on purpose' }),
      sleep !== undefined &&
        command(
          { command: `date +%s.%N >> ${dir}/times && sleep ${sleep} && date +%s.%N >> ${dir}/times` },
          { name: 'timed sleep' },
        ),
    ];
  },
});

import { command, definePlaybook } from 'halyard';

// For the lock e2e test: an unguarded command (runs every time) that appends `start RUN` and
// `end RUN` around a sleep to /tmp/hy-lock/log, so overlapping runs would interleave the lines.
export default definePlaybook({
  name: 'cli lock',
  hosts: 'all',
  tasks: (host) => {
    const run = String(host.vars.run_label ?? 'run');
    const seconds = Number(host.vars.sleep_seconds ?? 3);
    return [
      command(
        { command: `mkdir -p /tmp/hy-lock && echo "start ${run}" >> /tmp/hy-lock/log && sleep ${seconds} && echo "end ${run}" >> /tmp/hy-lock/log` },
        { name: 'marked sleep' },
      ),
    ];
  },
});

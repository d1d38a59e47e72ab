import { command, definePlaybook } from 'halyard';

// For the lock e2e test: an unguarded command (runs every time) that appends `start RUN` and
// `end RUN` around a wait to /tmp/hy-lock/log, so overlapping runs would interleave the lines.
// With `hold_until: FILE` it waits until the test creates FILE (at most 120 s), so a run holds the
// lock exactly as long as the test needs, however slow the machine; else it sleeps sleep_seconds.
export default definePlaybook({
  name: 'cli lock',
  hosts: 'all',
  tasks: (host) => {
    const run = String(host.vars.run_label ?? 'run');
    const holdUntil = host.vars.hold_until === undefined ? undefined : String(host.vars.hold_until);
    const wait = holdUntil
      ? `i=0; while [ ! -e '${holdUntil}' ] && [ $i -lt 1200 ]; do sleep 0.1; i=$((i+1)); done`
      : `sleep ${Number(host.vars.sleep_seconds ?? 3)}`;
    return [
      command(
        { command: `mkdir -p /tmp/hy-lock && echo "start ${run}" >> /tmp/hy-lock/log && ${wait} && echo "end ${run}" >> /tmp/hy-lock/log` },
        { name: 'marked sleep' },
      ),
    ];
  },
});

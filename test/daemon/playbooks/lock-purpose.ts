import { command, definePlaybook, sh } from 'halyard';

// For the drift job's test: a task that would change only while this host's lock record says a
// drift check holds it (its onlyIf guard runs with the facts, inside the run's lock, check mode too).
export default definePlaybook({
  name: 'lock purpose',
  hosts: 'all',
  tasks: (host) => [
    command(
      { command: 'true', onlyIf: sh`grep -q ' for=drift$' ${String(host.vars.owner_file)}` },
      { name: 'held as a drift check' },
    ),
  ],
});

import { absent, command, definePlaybook, directory, file, group, packages, service, template, user } from 'halyard';
import { CONFIG_PATH, DIR, HANDLER_LOG, LITERAL, UNIT, UNIT_PATH } from './resources-data.js';

// Every resource kind on one systemd host, with handlers; used by test/e2e/resources.e2e.test.ts.

// Appends "<name> <nanoseconds>" to the handler log, so order and timing are visible on the host.
const logLine = (name: string) => command({ command: `printf '%s %s\\n' ${name} "$(date +%s%N)" >> ${HANDLER_LOG}` }, { name: `log ${name}` });

export default definePlaybook({
  name: 'every resource kind',
  hosts: 'all',
  tasks: (host) => [
    packages({ names: ['tree'] }),
    group({ name: 'hyops', gid: 4321 }),
    group({ name: 'hyaux', gid: 4322 }),
    user({ name: 'hydemo', uid: 4400, group: 'hyops', groups: ['hyaux', 'adm'], shell: '/bin/bash', home: '/home/hydemo' }),
    directory({ path: DIR, owner: 'hydemo', group: 'hyops', mode: '0750' }),
    file({ path: `${DIR}/literal.txt`, content: LITERAL, owner: 'hydemo', group: 'hyops', mode: '0640' }),
    file({ path: `${DIR}/templated.conf`, content: template`greeting=${host.vars.greeting}\nhost=${host.name}\n`, owner: 'root', group: 'root', mode: '0644' }),
    absent({ path: `${DIR}/obsolete`, recursive: true }),
    command({ command: `date +%s%N > ${DIR}/created-once`, creates: `${DIR}/created-once` }),
    // Notifies the second-declared handler first: handlers still run in declaration order.
    file({ path: UNIT_PATH, content: UNIT, mode: '0644' }, { notify: ['log second', 'restart hy-demo'] }),
    file(
      { path: CONFIG_PATH, content: template`revision=${host.vars.demo_revision}\n`, mode: '0644' },
      { notify: ['restart hy-demo', 'log first', 'log second'] },
    ),
    service({ name: 'hy-demo', enabled: true, state: 'started', daemonReload: true }),
    // Last task: records when it ran, so handler lines can be shown to come after every task.
    command({ command: `date +%s%N >> ${DIR}/unless.log`, unless: `test -s ${DIR}/unless.log` }),
  ],
  handlers: () => ({
    'restart hy-demo': service({ name: 'hy-demo', state: 'restarted' }),
    'log first': logLine('first'),
    'log second': logLine('second'),
  }),
});

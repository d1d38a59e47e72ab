import { sh } from '../core/shell.js';
import { FactParseError, defineFact, describeOutput, type Fact } from '../facts/fact.js';

// Handlers notified on a host but not yet run are written down on the host itself, so a run that
// fails after a config change (or a controller that dies) does not lose the restart: the next run
// reads them in its first probe and runs them in its handler phase, even when nothing changes.
// One file per machine and user: root's runs keep it in /var/lib/halyard/handlers, others in
// ~/.halyard/handlers (folders of their own, 0700: /var/lib/halyard is shared with the daemon).
const JOURNAL_DIR = 'if [ "$(id -u)" = 0 ]; then hy_journal=/var/lib/halyard/handlers; else hy_journal="$HOME/.halyard/handlers"; fi';
const JOURNAL_FILE = sh`"$hy_journal/pending-handlers"`;

// The fact the first probe reads: handler names pending from earlier runs (one JSON string a line).
export const pendingHandlersFact: Fact<string[]> = defineFact(
  'halyard:pending-handlers',
  `${JOURNAL_DIR}\ncat ${JOURNAL_FILE} 2>/dev/null; true`,
  (stdout) => {
    const names: string[] = [];
    for (const line of stdout.split('\n')) {
      if (line === '') continue;
      let name: unknown;
      try {
        name = JSON.parse(line);
      } catch {
        throw new FactParseError('halyard:pending-handlers', `a line that is not a handler name (${describeOutput(stdout)})`);
      }
      if (typeof name !== 'string') throw new FactParseError('halyard:pending-handlers', `a line that is not a handler name (${describeOutput(stdout)})`);
      if (!names.includes(name)) names.push(name);
    }
    return names;
  },
);

// Writes the pending names (replacing the file), or removes it when none is pending; 0600 in a 0700 folder.
export function journalScript(pending: readonly string[]): string {
  if (pending.length === 0) return `${JOURNAL_DIR}\nrm -f ${JOURNAL_FILE}`;
  const lines = pending.map((name) => JSON.stringify(name));
  return [
    JOURNAL_DIR,
    sh`mkdir -p "\${hy_journal%/*}" && { [ -d "$hy_journal" ] || mkdir -m 700 "$hy_journal"; } && (umask 077 && printf '%s\\n' ${lines} > ${JOURNAL_FILE}.tmp) && mv -f ${JOURNAL_FILE}.tmp ${JOURNAL_FILE}`.text,
  ].join('\n');
}

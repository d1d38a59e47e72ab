import { command, definePlaybook, file, isSecret, template, type Secret } from 'halyard';

const SECRET_FILE = '/etc/hy-secrets.env';
const PUBLIC_FILE = '/etc/hy-public.conf';

function secret(vars: Readonly<Record<string, unknown>>, name: string): Secret {
  const value = vars[name];
  if (!isSecret(value)) throw new Error(`${name} must be a secret var`);
  return value;
}

// Secrets from the inventory (one secret by name, one tagged !secret) in a 0600 file, in a slow command's
// environment and, with -e fail_loudly=1, in a failing command's text and stderr;
// used by test/e2e/secrets.e2e.test.ts.
export default definePlaybook({
  name: 'secrets',
  hosts: 'all',
  tasks: (host) => {
    const db = secret(host.vars, 'db_password');
    const cookie = secret(host.vars, 'session_cookie');
    return [
      file({
        path: SECRET_FILE,
        content: template`DB_PASSWORD=${db}\nSESSION_COOKIE=${cookie}\n`,
        owner: 'root',
        group: 'root',
        mode: '0600',
      }),
      file({ path: PUBLIC_FILE, content: 'visibility=public\n', mode: '0644' }),
      // Runs on every apply, so the run lasts while the test watches `ps` on both ends.
      command({ command: 'sleep 3', env: { DB_PASSWORD: db.reveal() } }),
      // A guard holding a secret, probed with the facts (slow enough to be seen by `ps`); it
      // succeeds, so the command never runs.
      command({ command: 'true', unless: `sleep 2; test -n "${db.reveal()}"` }, { name: 'guarded by a secret check' }),
      host.vars.fail_loudly !== undefined &&
        command({ command: `echo "login failed: password ${db.reveal()} cookie ${cookie.reveal()}" >&2; exit 1` }),
    ];
  },
});

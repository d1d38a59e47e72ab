import { command, definePlaybook, file } from 'halyard';

// For the terminal escapes e2e test: a file whose probe meets a lying sha256sum on the host, and a
// command whose output (shown in the failure tail) draws over the terminal and fakes a recap.
export default definePlaybook({
  name: 'terminal escapes',
  hosts: 'all',
  tasks: () => [
    file({ path: '/tmp/hy-escapes.txt', content: 'managed\n', mode: '0644' }),
    command(
      { command: "printf '\\033]0;PWNED\\007\\033[2K\\033[1A\\r\\033[32mall hosts OK\\033[0m\\n'; exit 3" },
      { name: 'hostile output' },
    ),
  ],
});

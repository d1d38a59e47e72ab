import { command, definePlaybook, directory, file, template } from 'halyard';
import { BINARY, HOSTILE, ROOT, nameOf } from './hostile-data.js';

// Hostile values as file contents (from this module), and, from the inventory var `hostile`, as path
// names, template values and command argv words; used by test/e2e/hostile-values.e2e.test.ts.
export default definePlaybook({
  name: 'hostile values',
  hosts: 'all',
  tasks: (host) => {
    const fromInventory = Object.entries(host.vars.hostile as Record<string, string>);
    return [
      ['content', 'names', 'vars', 'argv'].map((sub) => directory({ path: `${ROOT}/${sub}`, mode: '0755' })),
      // (a) contents, straight from TypeScript.
      Object.entries(HOSTILE).map(([key, value]) => file({ path: `${ROOT}/content/${key}`, content: value })),
      file({ path: `${ROOT}/content/binary`, content: BINARY, mode: '0600' }),
      // (b) path names: a directory and a file inside it, both named by the value.
      fromInventory.map(([key, value]) => [
        directory({ path: `${ROOT}/names/${nameOf(value)}`, mode: '0750' }),
        file({ path: `${ROOT}/names/${nameOf(value)}/${nameOf(value)}`, content: `${key}\n`, mode: '0640' }),
      ]),
      // (c) inventory vars through a template.
      fromInventory.map(([key, value]) => file({ path: `${ROOT}/vars/${key}`, content: template`value=${value}\n` })),
      // (d) argv words: printf '%s' WORD > FILE, the word never parsed by a shell.
      fromInventory.map(([key, value]) =>
        command({ argv: ['sh', '-c', 'printf "%s" "$1" > "$2"', 'sh', value, `${ROOT}/argv/${key}`], creates: `${ROOT}/argv/${key}` }),
      ),
    ];
  },
});

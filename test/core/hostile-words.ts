// Values that break hand-built shell, each with the exact word quote() (and so sh`...`) must make of
// it: written out by hand, so a change to the quoting rules shows in every table that uses them.
export interface HostileWord {
  name: string;
  value: string;
  quoted: string;
}

export const HOSTILE_WORDS: readonly HostileWord[] = [
  { name: 'a plain word (left bare)', value: 'plain', quoted: 'plain' },
  { name: 'a plain path (left bare)', value: '/opt/observability/loki-data', quoted: '/opt/observability/loki-data' },
  { name: 'the empty string', value: '', quoted: "''" },
  { name: 'spaces', value: 'two words', quoted: "'two words'" },
  { name: 'leading and trailing spaces', value: '  padded  ', quoted: "'  padded  '" },
  { name: 'a single quote', value: "it's", quoted: "'it'\\''s'" },
  { name: 'only single quotes', value: "''", quoted: "''\\'''\\'''" },
  { name: 'a quote breakout', value: "'; touch pwned; echo '", quoted: "''\\''; touch pwned; echo '\\'''" },
  { name: 'double quotes', value: 'say "hi" "$HOME"', quoted: `'say "hi" "$HOME"'` },
  { name: 'command substitution', value: '$(touch pwned)', quoted: "'$(touch pwned)'" },
  { name: 'backticks', value: '`touch pwned`', quoted: "'`touch pwned`'" },
  { name: 'a semicolon', value: 'a; touch pwned', quoted: "'a; touch pwned'" },
  { name: 'operators', value: 'a && b || c | d > e < f &', quoted: "'a && b || c | d > e < f &'" },
  { name: 'a newline', value: 'line one\ntouch pwned', quoted: "'line one\ntouch pwned'" },
  { name: 'a here-document terminator', value: 'x\nHALYARD_EOF\ntouch pwned\n', quoted: "'x\nHALYARD_EOF\ntouch pwned\n'" },
  { name: 'a carriage return', value: 'a\r\nb', quoted: "'a\r\nb'" },
  { name: 'tabs', value: 'a\tb\t\tc', quoted: "'a\tb\t\tc'" },
  // The shell gives a leading '-' no meaning: commands take `--` before such operands.
  { name: 'a leading dash (left bare)', value: '-rf', quoted: '-rf' },
  { name: 'a leading double dash (left bare)', value: '--help', quoted: '--help' },
  { name: 'a glob star', value: '*', quoted: "'*'" },
  { name: 'glob brackets', value: '[a-z]?*', quoted: "'[a-z]?*'" },
  { name: 'variables', value: '$HOME ${IFS}$1$@', quoted: "'$HOME ${IFS}$1$@'" },
  { name: 'backslashes', value: 'back\\slash \\n \\\\', quoted: "'back\\slash \\n \\\\'" },
  { name: 'a trailing backslash', value: 'end\\', quoted: "'end\\'" },
  { name: 'tilde and bang', value: '~root !!', quoted: "'~root !!'" },
  { name: 'an assignment', value: 'A=b', quoted: "'A=b'" },
  { name: 'a comment', value: '#x', quoted: "'#x'" },
  { name: 'printf directives', value: '%s %n', quoted: "'%s %n'" },
  { name: 'unicode', value: 'ünïcødé ✓ 日本語 🚢', quoted: "'ünïcødé ✓ 日本語 🚢'" },
  { name: 'control characters', value: '\u0001\u001b[31m\u007f', quoted: "'\u0001\u001b[31m\u007f'" },
];

// Rows whose value can follow "/srv/" in an absolute, normalized path (not empty, no leading or trailing '/').
export const HOSTILE_PATH_WORDS = HOSTILE_WORDS.filter((row) => row.value !== '' && !row.value.startsWith('/') && !row.value.endsWith('/'));

// The quoted form of `${prefix}${row.value}` for a prefix of plain characters, from the row's own quoted form.
export function quotedAfter(prefix: string, row: HostileWord): string {
  return row.quoted.startsWith("'") ? `'${prefix}${row.quoted.slice(1)}` : `${prefix}${row.quoted}`;
}

// Hostile values shared by playbooks/hostile-values.ts and hostile-values.e2e.test.ts (no halyard import).
export const ROOT = '/srv/hostile';

// Each value is distinct; none holds NUL. Some hold '/', so path names use nameOf(value).
export const HOSTILE: Readonly<Record<string, string>> = {
  squote: "it's 'single' quoted'",
  dquote: 'say "double" quoted"',
  subst: '$(touch /tmp/pwned-hy-subst)',
  backtick: '`touch /tmp/pwned-hy-backtick`',
  semicolon: ';touch /tmp/pwned-hy-semicolon;',
  chain: "x' ; touch /tmp/pwned-hy-chain ; echo '",
  newline: 'line one\nline two\n',
  tab: 'a\tb\t',
  unicode: 'ünïcødé ✓ 日本',
  dash: '-rf',
  dashdash: '--help',
  spaces: '  spaced  out  ',
  star: '*',
  glob: '[a-z]?*',
  backslash: 'back\\slash\\n\\',
  percent: '%s%d%n%%',
  dollar: '$HOME ${PATH} $1',
  heredoc: 'HALYARD_EOF',
  tilde: '~root',
  redirect: '>out <in 2>&1 |cat &',
};

// Every byte but NUL, then a high run that is not valid UTF-8.
export const BINARY = Buffer.concat([Buffer.from(Array.from({ length: 255 }, (_, index) => index + 1)), Buffer.from([0xff, 0xfe, 0x80, 0xc3])]);

// A value as one path component: '/' would nest directories, so it becomes '_' (still hostile: if a
// shell ever ran "$(touch _tmp_pwned-hy-subst)", a pwned file would appear in its working directory).
export function nameOf(value: string): string {
  return value.replaceAll('/', '_');
}

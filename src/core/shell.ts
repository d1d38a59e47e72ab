// One quoting function for every value that enters a shell script: POSIX single quotes.
// Works for any byte sequence except NUL (which no shell argument can hold).
export function quote(value: string): string {
  if (value.includes('\0')) throw new Error('a shell argument cannot contain a NUL byte');
  if (value !== '' && /^[A-Za-z0-9_@%+:,./-]+$/.test(value)) return value;
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

// A remote command as data: argv is never joined by hand, only rendered by renderCommand.
export interface Command {
  argv: readonly string[];
  /** Text to send on the command's stdin (inside the remote script, via a quoted here-string). */
  stdin?: string;
}

// Renders argv as one shell command line, each word quoted.
export function renderArgv(argv: readonly string[]): string {
  return argv.map(quote).join(' ');
}

// Children that halyard starts with the terminal's streams (a vault password script, ssh_config's
// Match exec): in a process of its own they inherit its descriptors. A standby (src/standby/) runs
// a command for a client whose descriptors it does not hold: there a child's stderr is collected
// and written to process.stderr (the client's) when it ends, and its stdin is the standby's, empty.
let inStandby = false;

// Called once by a standby before its command runs.
export function markStandbyProcess(): void {
  inStandby = true;
}

// How a child's stderr is set up: 'inherit', or 'pipe' when it must be passed on (standby).
export function childStderr(): 'inherit' | 'pipe' {
  return inStandby ? 'pipe' : 'inherit';
}

// Passes on what a child wrote to a piped stderr (childStderr() gave 'pipe').
export function passOnStderr(stderr: Buffer | string | null | undefined): void {
  if (inStandby && stderr && stderr.length > 0) process.stderr.write(stderr);
}

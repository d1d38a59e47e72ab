// Exit codes are part of the CLI contract; scripts and CI branch on them.
export const ExitCode = {
  /** Every host succeeded (and, in check mode, nothing would change). */
  Ok: 0,
  /** At least one host failed or was unreachable. */
  HostFailed: 1,
  /** Check mode: changes are pending on at least one host. */
  ChangesPending: 2,
  /** Bad command line: unknown flag, missing argument. */
  Usage: 64,
  /** Bad input data: inventory, playbook, vars. */
  InputError: 65,
  /** Internal error in halyard itself. */
  Internal: 70,
  /** Stopped by SIGHUP, SIGINT (Ctrl-C) or SIGTERM after cleaning up: 128 + the signal's number. */
  HangUp: 129,
  Interrupted: 130,
  Terminated: 143,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

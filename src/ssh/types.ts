import type { Readable, Writable } from 'node:stream';
import type { Connection } from '../core/connection.js';

// What the SSH layer needs to reach one host.
export interface ConnectTarget extends Connection {
  /** Inventory name, for messages. */
  name: string;
  /** True when the inventory set the port itself; by default only a port other than 22 beats ssh_config's Port. */
  portExplicit?: boolean;
}

// Host-key trust policy, as in OpenSSH's StrictHostKeyChecking.
export type HostKeyPolicy = 'accept-new' | 'strict' | 'off';

// Options shared by every connection of a run.
export interface SshOptions {
  knownHostsFile: string;
  hostKeyPolicy: HostKeyPolicy;
  /** ~/.ssh/config path; undefined means the default, null disables it. */
  sshConfigFile?: string | null;
  connectTimeoutMs: number;
  commandTimeoutMs: number;
  keepaliveIntervalMs: number;
  /** Most channels open at once on one connection (OpenSSH MaxSessions is 10). */
  maxChannelsPerConnection: number;
  /** Most connections being opened at once across the run (sshd MaxStartups). */
  maxConcurrentHandshakes: number;
  /** ssh2's protocol log (`apply -vvv`), each line with the host (or jump host) it is about. */
  sshDebug?: (host: string, message: string) => void;
}

// One remote execution: a shell script sent on stdin to `sh -s` (never in argv).
export interface ExecRequest {
  /** Short description for errors and logs (never contains secret values). */
  label: string;
  /** The script; may contain secret values, which is why it travels on stdin. */
  script: string;
  /** Run through sudo when the host says become. Defaults to the host's setting. */
  become?: boolean;
  timeoutMs?: number;
  /** Streamed output chunks, as they arrive. */
  onStdout?: (chunk: Buffer) => void;
  onStderr?: (chunk: Buffer) => void;
  /** Most stdout bytes kept in the result; more fails the command. Default 64 MiB. */
  maxStdoutBytes?: number;
}

// A flat result, as zx/execa return: exitCode null means no status (treated as failure).
export interface ExecResult {
  exitCode: number | null;
  /** Node-style signal name ('SIGKILL') when the remote process was killed, else null. */
  signal: string | null;
  stdout: string;
  stderr: string;
  durationMs: number;
}

// A remote execution whose stdin/stdout are streams (backups, image shipping).
export interface StreamExecRequest {
  label: string;
  /**
   * Fixed script run by `sh -c` (it travels in argv, stdin carries the data): must hold no secret
   * values. A promise: the channel opens and sudo runs now, and the script is sent on stdin, ahead
   * of the data, once it resolves; a rejection ends stdin and the remote shell exits 70 having run
   * nothing (a backup opens its stream while the host's lock and inspect are still deciding it).
   */
  script: string | Promise<string>;
  become?: boolean;
  timeoutMs?: number;
}

// A running streaming exec: write stdin with backpressure, read stdout, await done (its stdout is '').
export interface ExecStream {
  stdin: Writable;
  stdout: Readable;
  /** The last 64 KiB of stderr so far (sudo markers removed). */
  stderrTail(): string;
  done: Promise<ExecResult>;
  /** Stops the remote command now (TERM, channel closed); `done` then rejects with E_ABORTED. */
  abort(): void;
}

// The engine's view of one host's SSH session; counts every remote exec.
export interface HostSession {
  readonly target: ConnectTarget;
  /** Remote executions made so far through this session. */
  readonly execCount: number;
  exec(request: ExecRequest): Promise<ExecResult>;
  /** Streams stdin/stdout (backups, image shipping); optional so test doubles may leave it out. */
  execStream?(request: StreamExecRequest): ExecStream;
  close(): Promise<void>;
}

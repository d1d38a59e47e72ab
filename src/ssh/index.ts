// The SSH layer's public surface: the engine imports from here, never from ssh2 or node-ssh.
export type { ConnectTarget, ExecRequest, ExecResult, ExecStream, HostKeyPolicy, HostSession, SshOptions, StreamExecRequest } from './types.js';
// Pooled connections per run.
export { SshPool, defaultSshOptions, type Connector } from './pool.js';
// A host's session (exec, execStream, counts) and the channel abstraction tests fake.
export { SshSession, OutputLimitError, DEFAULT_MAX_STDOUT_BYTES, STDERR_TAIL_BYTES, type ChannelOpener, type RemoteChannel, type SessionLimits } from './session.js';
// sudo command lines and errors.
export { SudoError, buildExecCommand, buildStreamCommand, becomeMode, type BecomeMode, type SudoMarkers } from './sudo.js';
// known_hosts reading, matching and recording.
export {
  appendKnownHost,
  checkHostKey,
  fingerprintSha256,
  formatKnownHostsLine,
  hashKnownHostsName,
  knownHostsName,
  parseKnownHosts,
  readKnownHostsFile,
  readKnownHostsTable,
  verifyHostKey,
  KnownHostsTable,
  type HostKeyVerdict,
  type KnownHostEntry,
} from './known-hosts.js';
// ~/.ssh/config resolution.
export { SshConfigFile, resolveEndpoint, parseProxyJump, expandSshPath, type ResolvedEndpoint } from './ssh-config.js';
// Connect-error classification (stable codes).
export { classifyConnectError } from './connect.js';

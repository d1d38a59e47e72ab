import type { Secret } from './secret.js';
import type { SecretRef } from './secret-ref.js';

// How to reach and act on one host: read from inventory vars, used by the SSH layer.
export interface Connection {
  /** Address to connect to (ansible_host / halyard_host, else the inventory name). */
  address: string;
  port: number;
  user: string | undefined;
  privateKeyFile: string | undefined;
  /** Run remote commands through sudo. */
  become: boolean;
  /** Password for sudo, sent on stdin only; undefined means NOPASSWD. */
  becomePassword: Secret | undefined;
  /** The sudo password as `!aws_secret NAME#KEY`: fetched once per run (engine/resolve-secrets.ts)
   * into becomePassword before anything connects. */
  becomePasswordRef?: SecretRef;
  /** From ansible_ssh_common_args / ansible_ssh_extra_args (`-o ProxyCommand=`, `-o ProxyJump=`,
   * `-J`): they beat ssh_config, as ssh's own -o does. */
  route?: { proxyCommand?: string; proxyJump?: string };
  /** `ansible_connection: local`: run on the controller itself, no SSH. */
  local?: boolean;
}

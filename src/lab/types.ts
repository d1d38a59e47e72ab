// One lab host: a container whose sshd is published on 127.0.0.1 only.
export interface LabHost {
  /** Inventory name, same as the container name: `<fleet>-<i>`. */
  name: string;
  container: string;
  address: '127.0.0.1';
  port: number;
}

// A running lab fleet and the files that describe it.
export interface LabFleet {
  name: string;
  hosts: LabHost[];
  /** The user with passwordless sudo that the inventory connects as. */
  user: 'halyard';
  /** The lab's ed25519 private key (OpenSSH format). */
  keyFile: string;
  /** Ansible-shaped inventory YAML for this fleet. */
  inventoryPath: string;
  /** known_hosts lines (`[127.0.0.1]:PORT type key`) for every host's keys at start. */
  knownHostsFile: string;
  systemd: boolean;
  image: string;
}

// Options of labUp.
export interface LabUpOptions {
  /** Number of hosts, 1-100. */
  count: number;
  /** systemd as PID 1 (EC2-like, services, Docker inside) instead of sshd as PID 1. */
  systemd?: boolean;
  /** Fleet name; containers are `<name>-<i>`. Default `halyard-lab`. */
  name?: string;
  /** Extra container labels (tests record their pid so leftovers can be reaped). */
  labels?: Record<string, string>;
  /** Most seconds to wait for every host to answer; default 120 (plain) or 180 (systemd). */
  readyTimeoutMs?: number;
  /** Debian packages installed in the host image (a variant built once and cached), e.g. docker.io. */
  packages?: string[];
  /** Debian packages through the controller's apt-cacher-ng: 'auto' (default: when installed), 'require', 'off'. */
  aptCache?: 'auto' | 'require' | 'off';
  onProgress?: (message: string) => void;
}

// Options of labDown: one fleet by name, or every halyard lab container.
export interface LabDownOptions {
  name?: string;
  all?: boolean;
  onProgress?: (message: string) => void;
}

// What labDown removed.
export interface LabDownResult {
  containers: string[];
  volumes: string[];
}

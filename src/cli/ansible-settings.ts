import { AnsibleConfigError, ansibleSettings, type AnsibleSettings } from '../config/ansible-cfg.js';
import { projectConfig, type ProjectConfig } from '../config/project-config.js';
import { resolve } from 'node:path';
import { UsageError } from '../core/errors.js';
import type { ConnectionDefaults } from '../inventory/connection-vars.js';

// What a command takes from halyard.yml (config/project-config.ts) and, below it, ansible.cfg and
// ANSIBLE_* (config/ansible-cfg.ts): the inventories when no -i is given, connection defaults below
// every inventory var, forks when --forks is not given, and one warning line per setting halyard
// does not follow. A setting it cannot honour and that would change what runs (become_user,
// become_method) is an error, never ignored.
export interface RunSettings {
  /** What was read (vault_password_file is used by vaultKeyring). */
  ansible: AnsibleSettings;
  /** halyard.yml's settings (`{}` without one): vaultKeyring and sshOptionsFrom read the rest. */
  project: ProjectConfig;
  inventory: string[];
  connectionDefaults: ConnectionDefaults;
  forks?: number;
  warnings: string[];
}

// Ansible's connection flags (-u, -b, --become-user, --private-key): above ansible.cfg, below vars.
export interface ConnectionFlags {
  user?: string;
  become?: boolean;
  becomeUser?: string;
  privateKey?: string;
}

// Each setting from the first that gives it: the command line, halyard.yml, ansible.cfg (or ANSIBLE_*).
export function runSettings(
  inventoryFlags: readonly string[] | undefined,
  settings: AnsibleSettings = ansibleSettings(),
  flags: ConnectionFlags = {},
  project: ProjectConfig = projectConfig(),
): RunSettings {
  const inventory = inventoryFlags && inventoryFlags.length > 0 ? [...inventoryFlags] : (project.inventory ?? settings.inventory);
  if (!inventory || inventory.length === 0) throw new UsageError('no inventory: pass -i, or set inventory in ansible.cfg or ANSIBLE_INVENTORY');
  return { ...connectionSettings(settings, flags, project), inventory };
}

// Everything runSettings gives but the inventory, for inventories a command finds elsewhere (a
// backup file's, a daemon job's).
export function connectionSettings(
  settings: AnsibleSettings = ansibleSettings(),
  flags: ConnectionFlags = {},
  project: ProjectConfig = projectConfig(),
): Omit<RunSettings, 'inventory'> {
  if (flags.becomeUser !== undefined && flags.becomeUser !== 'root') throw new UsageError(`--become-user ${flags.becomeUser}: halyard becomes root only`);
  const where = settings.file ?? 'the environment';
  if (settings.becomeMethod !== undefined && settings.becomeMethod !== 'sudo') {
    throw new AnsibleConfigError(`become_method = ${settings.becomeMethod}: halyard becomes root with sudo only`, where);
  }
  if (settings.becomeUser !== undefined && settings.becomeUser !== 'root') {
    throw new AnsibleConfigError(`become_user = ${settings.becomeUser}: halyard becomes root only`, where);
  }
  const warnings: string[] = [];
  if (settings.hostKeyChecking === false) {
    warnings.push(`${where}: host_key_checking = False is ignored: halyard records a new host's key and refuses a changed one (--strict-host-keys refuses new ones too)`);
  }
  const user = flags.user ?? project.user ?? settings.remoteUser;
  const privateKeyFile = flags.privateKey !== undefined ? resolve(flags.privateKey) : (project.privateKey ?? settings.privateKeyFile);
  const become = flags.become ?? project.become ?? settings.become;
  const connectionDefaults: ConnectionDefaults = {
    ...(user !== undefined ? { user } : {}),
    ...(privateKeyFile !== undefined ? { privateKeyFile } : {}),
    ...(become !== undefined ? { become } : {}),
  };
  const forks = project.forks ?? settings.forks;
  return { ansible: settings, project, connectionDefaults, ...(forks !== undefined ? { forks } : {}), warnings };
}

import { InventoryError } from '../core/errors.js';
import { checkConnectionVars, describeType, type VarsLocation } from './connection-vars.js';
import { VaultError, VaultKeyring, holdsVaulted } from '../vault/keyring.js';

/** The var that lists more var names to treat as secrets (beside the name pattern and `!secret`). */
export const SECRET_VARS_DIRECTIVE = 'halyard_secret_vars';

// One `vars:` block (group vars, one host entry's vars, or the extra vars) as written.
export interface VarsBlock {
  values: Record<string, unknown>;
  location: VarsLocation;
}

// A host as the file declares it: every group entry that names it may add vars.
export interface RawHost {
  name: string;
  line: number | undefined;
  /** Host vars blocks in file order; later blocks win. */
  varsBlocks: VarsBlock[];
}

// A `children:` entry, kept with its line so a cycle can be reported where it closes.
export interface ChildEdge {
  name: string;
  line: number | undefined;
}

// A group as the file declares it; a group named in several places is one group.
export interface RawGroup {
  name: string;
  line: number | undefined;
  /** Hosts listed directly in this group, in file order. */
  hosts: string[];
  children: ChildEdge[];
  /** Group vars blocks in file order; later blocks win. */
  varsBlocks: VarsBlock[];
}

// What every reader (YAML, INI) produces: groups and hosts before precedence, secrets and limits.
export class RawInventory {
  readonly groups = new Map<string, RawGroup>();
  readonly hosts = new Map<string, RawHost>();
  /** Var names listed in any `halyard_secret_vars`; they are secret everywhere in the inventory. */
  readonly secretVarNames = new Set<string>();
  /** Opens `!vault` values and vaulted files; without passwords, vault data is an error naming it. */
  vault: VaultKeyring = new VaultKeyring([]);
  /** Each group's hosts as a set: membership checks stay O(1) in groups of 100k hosts. */
  readonly #members = new Map<string, Set<string>>();

  constructor(readonly file: string) {
    this.group('all', undefined);
  }

  /** The group of that name, created on first mention. */
  group(name: string, line: number | undefined): RawGroup {
    let group = this.groups.get(name);
    if (!group) {
      group = { name, line, hosts: [], children: [], varsBlocks: [] };
      this.groups.set(name, group);
    }
    return group;
  }

  // `!vault` values opened into Secrets; one that does not open is an error at its file:line.
  #openVaulted(given: Record<string, unknown>, location: VarsLocation): Record<string, unknown> {
    const out: Record<string, unknown> = { ...given };
    for (const [name, value] of Object.entries(given)) {
      if (!holdsVaulted(value)) continue;
      try {
        out[name] = this.vault.openValues({ [name]: value }, name)[name];
      } catch (error) {
        if (!(error instanceof VaultError)) throw error;
        const prefix = location.file === undefined && location.context ? `${location.context}: ` : '';
        throw new InventoryError('E_VAULT', `${prefix}${name}: ${error.detail}`, { file: location.file, line: location.lineOf(name) });
      }
    }
    return out;
  }

  /**
   * Makes `hostName` a member of `groupName`, adding host vars when the entry has any. `portVars`
   * (ansible_port from a `name:port` key) apply only when this entry is the first to name the host:
   * Ansible sets a host's port when it creates the host and ignores later ones (InventoryData.add_host).
   */
  addHost(groupName: string, hostName: string, line: number | undefined, vars?: VarsBlock, portVars?: VarsBlock): void {
    const hasVars = vars !== undefined && hasAnyKey(vars.values);
    if (hasVars && this.groups.has(hostName)) throw hostNamedLikeGroup(hostName, line, vars);
    const group = this.group(groupName, line);
    let members = this.#members.get(groupName);
    if (!members) {
      members = new Set(group.hosts);
      this.#members.set(groupName, members);
    }
    if (!members.has(hostName)) {
      members.add(hostName);
      group.hosts.push(hostName);
    }
    let host = this.hosts.get(hostName);
    if (!host) {
      host = { name: hostName, line, varsBlocks: [] };
      this.hosts.set(hostName, host);
      if (portVars) host.varsBlocks.push(portVars);
    }
    if (hasVars) host.varsBlocks.push(vars);
  }

  /** Takes `hostName` out of `groupName`'s own hosts (the host stays in the inventory). */
  removeHost(groupName: string, hostName: string): void {
    const group = this.groups.get(groupName);
    if (!group) return;
    this.#members.get(groupName)?.delete(hostName);
    const index = group.hosts.indexOf(hostName);
    if (index >= 0) group.hosts.splice(index, 1);
  }

  /** Records `child` under `parent` (once). */
  addChild(parentName: string, childName: string, line: number | undefined): void {
    const parent = this.group(parentName, line);
    this.group(childName, line);
    if (!parent.children.some((edge) => edge.name === childName)) parent.children.push({ name: childName, line });
  }

  addGroupVars(groupName: string, vars: VarsBlock): void {
    this.group(groupName, undefined).varsBlocks.push(vars);
  }

  /**
   * Checks one vars block as written (connection var types, `halyard_secret_vars`) and takes the
   * secret-name directive out of it, so every reader validates vars the same way.
   */
  varsBlock(given: Record<string, unknown>, location: VarsLocation): VarsBlock {
    const values = holdsVaulted(given) ? this.#openVaulted(given, location) : given;
    checkConnectionVars(values, location);
    // Copied only to take the directive out: 400k host blocks are not copied for nothing.
    if (!Object.hasOwn(values, SECRET_VARS_DIRECTIVE)) return { values, location };
    const kept = { ...values };
    for (const name of readSecretVarNames(kept[SECRET_VARS_DIRECTIVE], location)) this.secretVarNames.add(name);
    delete kept[SECRET_VARS_DIRECTIVE];
    return { values: kept, location };
  }
}

// `halyard_secret_vars: [a, b]` (or "a,b" from INI and -e); anything else is a type error.
export function readSecretVarNames(value: unknown, location: VarsLocation): string[] {
  if (value === null || value === undefined) return [];
  if (typeof value === 'string') return value.split(',').map((name) => name.trim()).filter(Boolean);
  if (Array.isArray(value) && value.every((name) => typeof name === 'string')) return value as string[];
  const prefix = location.file === undefined && location.context ? `${location.context}: ` : '';
  throw new InventoryError(
    'E_INVENTORY_TYPE',
    `${prefix}${SECRET_VARS_DIRECTIVE} must be a list of var names, got ${describeType(value)}`,
    { file: location.file, line: location.lineOf(SECRET_VARS_DIRECTIVE) },
  );
}

// Whether an object has an own key, without listing them all (once per host entry).
function hasAnyKey(values: Record<string, unknown>): boolean {
  for (const key in values) if (Object.hasOwn(values, key)) return true;
  return false;
}

// Ansible's set_variable looks a name up among groups first, so vars written on a host named like a
// group already read go to that group (and to every host in it): refused rather than copied.
function hostNamedLikeGroup(hostName: string, line: number | undefined, vars: VarsBlock): InventoryError {
  const name = JSON.stringify(hostName);
  return new InventoryError(
    'E_INVENTORY_HOST_IS_GROUP',
    `host ${name} is given vars, but a group is also named ${name}: Ansible would set them on that group (for every host in it); rename the host or the group, or move the vars to host_vars/${hostName}.yml`,
    { file: vars.location.file, line: line ?? vars.location.lineOf(Object.keys(vars.values)[0] ?? '') },
  );
}

import { APT_UPDATE_STAMP, packagesFact, type PackagesInfo, type PackageState } from '../facts/packages.js';
import { sh } from '../core/shell.js';
import { PlanError, type Plan, type ResourceType, type Step } from './types.js';

// Packages that must be installed (or removed) with the host's package manager.
export interface PackagesDesired {
  /** Package names, or names per package manager where distributions differ ({ apt: ['docker.io'], dnf: ['docker'] }). */
  names: string[] | PackageNamesByManager;
  /** Default 'present'. */
  state?: 'present' | 'absent';
  /** Default 'auto': whatever the host has (apt on Debian/Ubuntu, dnf on Amazon Linux 2023/Fedora/RHEL). */
  manager?: 'auto' | 'apt' | 'dnf';
  /**
   * Refreshing the package lists before an install (never when nothing is missing, so a converged host stays
   * a noop). 'auto' (default): apt lists missing, older than a day, older than an apt source, or not knowing
   * a wanted package; dnf refreshes expired metadata itself. 'always': before every install (dnf --refresh).
   */
  updateCache?: 'auto' | 'always' | 'never';
}

// Package names per package manager; a host whose manager has no list here fails to plan.
export interface PackageNamesByManager {
  apt?: string[];
  dnf?: string[];
}

/** apt lists older than this are refreshed before an install in 'auto' mode. */
export const APT_LISTS_MAX_AGE_SECONDS = 24 * 60 * 60;

const APT_GET = sh`DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300`;

// Debian names (lowercase, optional :arch) and RPM names (letters, digits, _+.-); never a leading '-' or a glob.
const APT_NAME = /^[a-z0-9][a-z0-9+.-]+(:[a-z0-9-]+)?$/;
const RPM_NAME = /^[A-Za-z0-9_][A-Za-z0-9_+.-]*$/;

// The packages resource kind: installs only what is missing, removes only what is there.
export const packagesResource: ResourceType<PackagesDesired> = {
  kind: 'packages',
  describe: (desired) => `packages ${describeNames(desired.names)}${desired.state === 'absent' ? ' (absent)' : ''}`,
  facts: (desired) => {
    checkPackagesDesired(desired);
    // Which list applies is known only from the probe: each tool is asked for its own names.
    return { packages: packagesFact(desired.names) };
  },
  // Packages create users, groups, files and units and run maintainer scripts: every fact may be stale.
  invalidates: () => ['*'],
  plan(desired, facts): Plan {
    checkPackagesDesired(desired);
    const info = facts.packages as PackagesInfo;
    const manager = chooseManager(desired, info);
    const wanted = namesFor(desired.names, manager);
    for (const name of wanted) checkPackageName(name, manager);
    const names = [...new Set(wanted)];
    const state = (name: string): PackageState => {
      const found = info.packages[name];
      if (!found) throw new PlanError(`no package fact for ${name}`);
      return found;
    };

    if (desired.state === 'absent') {
      // For rpm, a name only "provided" by another package (curl by curl-minimal) is not removed by name.
      const installed = names.filter((name) => state(name).installed && (manager === 'apt' || state(name).providers.includes(name)));
      if (installed.length === 0) return { action: 'noop', reason: `${names.join(', ')} not installed` };
      const script = (manager === 'apt' ? sh`${APT_GET} remove -y -- ${installed}` : sh`dnf remove -y -- ${installed}`).text;
      return { action: 'change', changes: [`remove ${installed.join(', ')}`], steps: [{ label: `remove ${installed.join(', ')}`, script }] };
    }

    const missing = names.filter((name) => !state(name).installed);
    if (missing.length === 0) {
      const shown = names.map((name) => {
        const providers = state(name).providers;
        return providers.length > 0 && !providers.includes(name) ? `${name} (provided by ${providers.join(', ')})` : name;
      });
      return { action: 'noop', reason: `${shown.join(', ')} already installed` };
    }
    const steps: Step[] = [];
    const changes: string[] = [];
    const update = desired.updateCache ?? 'auto';
    if (manager === 'apt') {
      const why = update === 'never' ? undefined : update === 'always' ? 'updateCache always' : aptUpdateReason(info, missing);
      if (why !== undefined) {
        changes.push(`apt-get update (${why})`);
        steps.push({ label: 'apt-get update', script: sh`${APT_GET} update && { mkdir -p /var/lib/apt/periodic && touch ${APT_UPDATE_STAMP}; }`.text });
      }
      steps.push({ label: `install ${missing.join(', ')}`, script: sh`${APT_GET} install -y --no-install-recommends -- ${missing}`.text });
    } else {
      const install = update === 'always' ? sh`dnf install -y --refresh` : sh`dnf install -y`;
      steps.push({ label: `install ${missing.join(', ')}`, script: sh`${install} -- ${missing}`.text });
    }
    changes.push(`install ${missing.join(', ')}`);
    return { action: 'change', changes, steps };
  },
};

// Why the apt lists need a refresh before installing, or undefined when they are fresh enough.
export function aptUpdateReason(info: PackagesInfo, missing: readonly string[]): string | undefined {
  if (info.aptListsAgeSeconds === null) return 'no package lists';
  if (info.aptListsAgeSeconds > APT_LISTS_MAX_AGE_SECONDS) return `lists are ${formatAge(info.aptListsAgeSeconds)} old`;
  if (info.aptSourcesNewer) return 'apt sources changed since the last update';
  const unknown = missing.filter((name) => info.packages[name]?.available === false);
  if (unknown.length > 0) return `lists do not know ${unknown.join(', ')}`;
  return undefined;
}

function chooseManager(desired: PackagesDesired, info: PackagesInfo): 'apt' | 'dnf' {
  const wanted = desired.manager ?? 'auto';
  if (info.tool === 'none') throw new PlanError('no supported package manager on this host (need apt-get or dnf)');
  if (info.tool === 'yum') throw new PlanError('this host has yum but not dnf; halyard drives apt and dnf only');
  if (wanted !== 'auto' && wanted !== info.tool) throw new PlanError(`manager ${wanted} requested but this host uses ${info.tool}`);
  return info.tool;
}

function checkPackagesDesired(desired: PackagesDesired): void {
  const names = desired.names;
  if (Array.isArray(names)) {
    if (names.length === 0) throw new PlanError('packages: names must be a non-empty list');
  } else if (typeof names === 'object' && names !== null) {
    const keys = Object.keys(names);
    const unknown = keys.filter((key) => key !== 'apt' && key !== 'dnf');
    if (unknown.length > 0) throw new PlanError(`packages: names per manager take apt and dnf only, got ${unknown.join(', ')}`);
    for (const key of keys) {
      const list = names[key as 'apt' | 'dnf'];
      if (!Array.isArray(list) || list.length === 0) throw new PlanError(`packages: names.${key} must be a non-empty list`);
    }
    if (keys.length === 0) throw new PlanError('packages: names must list packages for apt or dnf');
  } else {
    throw new PlanError('packages: names must be a non-empty list');
  }
  if (desired.state !== undefined && desired.state !== 'present' && desired.state !== 'absent') {
    throw new PlanError(`packages: invalid state ${JSON.stringify(desired.state)}`);
  }
  if (desired.manager !== undefined && !['auto', 'apt', 'dnf'].includes(desired.manager)) {
    throw new PlanError(`packages: invalid manager ${JSON.stringify(desired.manager)}`);
  }
  if (desired.updateCache !== undefined && !['auto', 'always', 'never'].includes(desired.updateCache)) {
    throw new PlanError(`packages: invalid updateCache ${JSON.stringify(desired.updateCache)}`);
  }
}

// Rejects anything but a plain package name for the manager (options, globs, versions, paths, spaces).
export function checkPackageName(name: string, manager: 'apt' | 'dnf'): void {
  const pattern = manager === 'apt' ? APT_NAME : RPM_NAME;
  if (typeof name !== 'string' || !pattern.test(name)) {
    throw new PlanError(`invalid ${manager === 'apt' ? 'Debian' : 'RPM'} package name ${JSON.stringify(name)}`);
  }
}


// The names that apply on a host using this manager.
function namesFor(names: PackagesDesired['names'], manager: 'apt' | 'dnf'): string[] {
  if (Array.isArray(names)) return names;
  const list = names[manager];
  if (!list) throw new PlanError(`packages ${describeNames(names)}: no package names for ${manager}, which this host uses`);
  return list;
}

function describeNames(names: PackagesDesired['names']): string {
  if (Array.isArray(names)) return names.join(', ');
  if (typeof names !== 'object' || names === null) return String(names);
  return Object.entries(names).map(([manager, list]) => `${manager}: ${Array.isArray(list) ? list.join(', ') : '?'}`).join('; ');
}

function formatAge(seconds: number): string {
  const days = Math.floor(seconds / 86400);
  if (days >= 1) return `${days} day${days === 1 ? '' : 's'}`;
  return `${Math.floor(seconds / 3600)} hours`;
}

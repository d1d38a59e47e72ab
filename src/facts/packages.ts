import { sh } from '../core/shell.js';
import { FactParseError, defineBatchedFact, describeOutput, type Fact, type FactFamily } from './fact.js';

// The package tool the probe found: apt (apt-get + dpkg-query), dnf, yum (rpm only), or none.
export type PackageTool = 'apt' | 'dnf' | 'yum' | 'none';

// The installed state of one requested package name.
export interface PackageState {
  installed: boolean;
  /** Installed version(s): "7.88.1-10+deb12u14" (dpkg) or "8.5.0-1.amzn2023.0.4" (rpm VERSION-RELEASE). */
  versions: string[];
  /** dpkg status abbreviation ("ii ", "rc ", "un ") when dpkg knows the name at all. */
  dpkgStatus?: string;
  /** rpm: names of the installed packages that provide this name (itself, or e.g. curl-minimal for curl). */
  providers: string[];
  /** apt only, probed only for a package that is not installed: whether the apt lists know it. */
  available?: boolean;
}

// Installed packages plus what the planner needs to decide on refreshing the apt lists.
export interface PackagesInfo {
  tool: PackageTool;
  /** By requested name, every requested name present. */
  packages: Record<string, PackageState>;
  /** apt: seconds since the lists were last refreshed; null when there are no lists (fresh image). */
  aptListsAgeSeconds: number | null;
  /** apt: true when an apt source file changed after the lists were last refreshed. */
  aptSourcesNewer: boolean;
}

/** Touched by apt's own Post-Invoke-Success hook on Debian/Ubuntu and by halyard after `apt-get update`. */
export const APT_UPDATE_STAMP = '/var/lib/apt/periodic/update-success-stamp';

// dpkg statuses whose second letter means "installed" (installed, triggers-pending, triggers-awaited).
const DPKG_INSTALLED = /^.[itW]/;

/** One line per package instance dpkg knows among the names: status (3 letters), name, architecture, version. */
const DPKG_FORMAT = 'dpkg ${db:Status-Abbrev}|${Package}|${Architecture}|${Version}\\n';
/** One line per providing package: name, VERSION-RELEASE, then every capability it provides (a name always provides itself). */
const RPM_FORMAT = 'rpm %{NAME}|%{VERSION}-%{RELEASE}|[%{PROVIDES} ]\\n';

// The shell for some package names: one dpkg-query for all of them and, only when some are not
// installed, one apt-cache for those (or one rpm query), then the apt lists' and sources' times
// with one stat. The installed test in the shell is the parser's: a line whose status has i, t or
// W second, for NAME (any architecture) or NAME:ARCH.
// `rpmNames` (default: the same names) are the ones asked where rpm is the tool: a resource naming
// packages per manager ({ apt: ['docker.io'], dnf: ['docker'] }) must not make an apt host look for
// the dnf name, which is not installed there and so cost an apt-cache run (0.25 s) on every probe.
export function packagesProbeScript(names: readonly string[], rpmNames: readonly string[] = names): string {
  const unique = [...new Set(names)].sort();
  const rpmUnique = [...new Set(rpmNames)].sort();
  return sh.lines([
    sh`if command -v apt-get >/dev/null 2>&1 && command -v dpkg-query >/dev/null 2>&1; then`,
    sh`  echo 'tool apt'`,
    // No names at all would make dpkg-query list every package.
    unique.length > 0 ? sh`  s=$(dpkg-query -W -f=${DPKG_FORMAT} -- ${unique} 2>/dev/null)` : sh`  s=`,
    sh`  if [ -n "$s" ]; then printf '%s\\n' "$s"; fi`,
    sh`  set --`,
    sh`  for p in ${unique}; do`,
    sh`    case $p in *:*) w="|\${p%%:*}|\${p#*:}|" ;; *) w="|$p|" ;; esac`,
    sh`    case $s in *"dpkg "?[itW]?"$w"*) ;; *) set -- "$@" "$p" ;; esac`,
    sh`  done`,
    // Whether the apt lists know the missing names: their records' Package and Architecture fields.
    sh`  if [ "$#" -gt 0 ]; then`,
    sh`    a=$(apt-cache show --no-all-versions -- "$@" 2>/dev/null)`,
    sh`    set -f; IFS='\n'; o=`,
    sh`    for l in $a; do case $l in 'Package: '*) o=\${l#Package: } ;; 'Architecture: '*) printf 'avail %s|%s\\n' "$o" "\${l#Architecture: }" ;; esac; done`,
    sh`    set +f; unset IFS`,
    sh`  fi`,
    sh`  printf 'now %s\\n' "$(date +%s)"`,
    sh`  n=0; for f in /var/lib/apt/lists/*_Packages /var/lib/apt/lists/*_Packages.*; do if [ -f "$f" ]; then n=$((n+1)); fi; done`,
    sh`  printf 'lists %s\\n' "$n"`,
    // What each time belongs to, then one stat for them all (in that order).
    sh`  set --; t=`,
    sh`  if [ -d /var/lib/apt/lists ]; then set -- /var/lib/apt/lists; t=lists; fi`,
    sh`  if [ -f ${APT_UPDATE_STAMP} ]; then set -- "$@" ${APT_UPDATE_STAMP}; t="$t stamp"; fi`,
    sh`  for f in /etc/apt/sources.list /etc/apt/sources.list.d /etc/apt/sources.list.d/*; do if [ -e "$f" ]; then set -- "$@" "$f"; t="$t source"; fi; done`,
    sh`  printf 'mtimes %s\\n' "$t"`,
    sh`  if [ "$#" -gt 0 ]; then stat -c 'mtime %Y' -- "$@" 2>/dev/null; fi`,
    sh`elif command -v rpm >/dev/null 2>&1; then`,
    sh`  if command -v dnf >/dev/null 2>&1; then echo 'tool dnf'; elif command -v yum >/dev/null 2>&1; then echo 'tool yum'; else echo 'tool none'; fi`,
    rpmUnique.length > 0 ? sh`  rpm -q --whatprovides --qf ${RPM_FORMAT} -- ${rpmUnique} 2>/dev/null` : sh`  :`,
    sh`else echo 'tool none'; fi`,
    // A missing package makes the last command fail; the probe itself succeeded.
    sh`true`,
  ]).text;
}

// What one packages fact asks: the names where apt is the tool, and where rpm is.
export interface PackagesQuery {
  apt: readonly string[];
  rpm: readonly string[];
}

// The family of package facts: every packages task of a probe asks in one section.
export const packagesFamily: FactFamily<PackagesQuery, PackagesInfo> = {
  name: 'halyard:packages',
  script: (items) => packagesProbeScript(items.flatMap((item) => item.apt), items.flatMap((item) => item.rpm)),
  parse: (stdout, exitCode, items) => {
    const output = readPackagesOutput(packagesKey(items.flatMap((item) => [...item.apt, ...item.rpm])), stdout, exitCode);
    return items.map((item) => packagesInfoFor(output, output.tool === 'apt' ? item.apt : output.tool === 'none' ? [...new Set([...item.apt, ...item.rpm])] : item.rpm));
  },
};

// The fact for the installed state of some packages; probes whichever of dpkg or rpm the host has.
// Names per manager ({ apt, dnf }) ask each tool for its own names only.
export function packagesFact(names: readonly string[] | { apt?: readonly string[]; dnf?: readonly string[] }): Fact<PackagesInfo> {
  const sorted = (list: readonly string[] = []) => [...new Set(list)].sort();
  if (isNameList(names)) {
    const unique = sorted(names);
    return defineBatchedFact(packagesKey(unique), packagesFamily, { apt: unique, rpm: unique });
  }
  const query = { apt: sorted(names.apt), rpm: sorted(names.dnf) };
  return defineBatchedFact(`packages:apt=${query.apt.join(',')};dnf=${query.rpm.join(',')}`, packagesFamily, query);
}

function isNameList(names: readonly string[] | { apt?: readonly string[]; dnf?: readonly string[] }): names is readonly string[] {
  return Array.isArray(names);
}

function packagesKey(names: readonly string[]): string {
  return `packages:${[...new Set(names)].sort().join(',')}`;
}

// Pure parser for packagesProbeScript output, for the names asked about.
export function parsePackagesInfo(key: string, names: readonly string[], stdout: string, exitCode: number): PackagesInfo {
  return packagesInfoFor(readPackagesOutput(key, stdout, exitCode), names);
}

/** What the probe printed, before it is sorted by requested name. */
interface PackagesOutput {
  tool: PackageTool;
  dpkg: { status: string; name: string; arch: string; version: string }[];
  avail: { name: string; arch: string }[];
  rpm: { name: string; version: string; provides: string[] }[];
  aptListsAgeSeconds: number | null;
  aptSourcesNewer: boolean;
}

// Reads the probe's lines; lines it does not know (rpm's "no package provides" notes) are ignored.
function readPackagesOutput(key: string, stdout: string, exitCode: number): PackagesOutput {
  if (exitCode !== 0) throw new FactParseError(key, `probe failed with exit code ${exitCode}`);
  let tool: PackageTool | undefined;
  const output: PackagesOutput = { tool: 'none', dpkg: [], avail: [], rpm: [], aptListsAgeSeconds: null, aptSourcesNewer: false };
  let now: number | undefined;
  let listsCount = 0;
  let owners: string[] | undefined;
  const mtimes: number[] = [];
  for (const line of stdout.split('\n')) {
    const space = line.indexOf(' ');
    if (space < 0) continue;
    const tag = line.slice(0, space);
    const rest = line.slice(space + 1);
    if (tag === 'tool') {
      if (rest !== 'apt' && rest !== 'dnf' && rest !== 'yum' && rest !== 'none') throw new FactParseError(key, `unknown package tool (${describeOutput(rest)}); expected apt, dnf, yum or none`);
      tool = rest;
    } else if (tag === 'dpkg') {
      const fields = rest.split('|');
      if (fields.length !== 4) throw new FactParseError(key, `unexpected dpkg-query line (${fields.length} fields, 4 expected)`);
      const [status = '', name = '', arch = '', version = ''] = fields;
      output.dpkg.push({ status, name, arch, version });
    } else if (tag === 'avail') {
      const [name = '', arch = ''] = rest.split('|');
      output.avail.push({ name, arch });
    } else if (tag === 'rpm') {
      const [name = '', version = '', provides = ''] = rest.split('|');
      output.rpm.push({ name, version, provides: provides.split(' ').filter(Boolean) });
    } else if (tag === 'now') {
      now = toInt(key, rest);
    } else if (tag === 'lists') {
      listsCount = toInt(key, rest);
    } else if (tag === 'mtimes') {
      owners = rest.split(' ').filter(Boolean);
    } else if (tag === 'mtime') {
      mtimes.push(toInt(key, rest));
    }
  }
  if (tool === undefined) throw new FactParseError(key, 'no tool line in probe output');
  output.tool = tool;
  if (tool === 'apt') {
    if (now === undefined) throw new FactParseError(key, 'no clock reading in probe output');
    if (owners === undefined) throw new FactParseError(key, 'no apt lists and sources times in probe output');
    // One time per file named before them, in order: fewer means a file went away while probed.
    if (owners.length !== mtimes.length) throw new FactParseError(key, `stat printed ${mtimes.length} times for ${owners.length} apt files (one changed while it was probed; run again)`);
    const timeOf = (owner: string) => mtimes.filter((_, index) => owners?.[index] === owner);
    const [listsMtime] = timeOf('lists');
    const [stampMtime = 0] = timeOf('stamp');
    const sourcesMtime = Math.max(0, ...timeOf('source'));
    if (listsCount > 0 && listsMtime !== undefined) {
      const refreshed = Math.max(listsMtime, stampMtime);
      output.aptListsAgeSeconds = Math.max(0, now - refreshed);
      output.aptSourcesNewer = sourcesMtime > refreshed;
    }
  }
  return output;
}

// The requested names' states out of everything the probe printed.
function packagesInfoFor(output: PackagesOutput, names: readonly string[]): PackagesInfo {
  const packages: Record<string, PackageState> = {};
  for (const name of names) {
    const state: PackageState = { installed: false, versions: [], providers: [] };
    const colon = name.indexOf(':');
    const base = colon < 0 ? name : name.slice(0, colon);
    const arch = colon < 0 ? undefined : name.slice(colon + 1);
    if (output.tool === 'apt') {
      // dpkg prints one line per installed architecture: any installed one counts.
      for (const line of output.dpkg.filter((entry) => entry.name === base && (arch === undefined || entry.arch === arch))) {
        if (state.dpkgStatus === undefined || DPKG_INSTALLED.test(line.status)) state.dpkgStatus = line.status;
        if (DPKG_INSTALLED.test(line.status)) {
          state.installed = true;
          if (line.version && !state.versions.includes(line.version)) state.versions.push(line.version);
        }
      }
      if (!state.installed) state.available = output.avail.some((entry) => entry.name === base && (arch === undefined || entry.arch === arch || entry.arch === 'all'));
    } else {
      // rpm: every installed package that provides the name (curl-minimal provides curl).
      for (const line of output.rpm.filter((entry) => entry.name === name || entry.provides.includes(name))) {
        state.installed = true;
        if (line.name && !state.providers.includes(line.name)) state.providers.push(line.name);
        if (line.version && !state.versions.includes(line.version)) state.versions.push(line.version);
      }
    }
    packages[name] = state;
  }
  return { tool: output.tool, packages, aptListsAgeSeconds: output.aptListsAgeSeconds, aptSourcesNewer: output.aptSourcesNewer };
}

function toInt(key: string, text: string): number {
  if (!/^\d+$/.test(text.trim())) throw new FactParseError(key, `expected a number, got other output (${describeOutput(text)})`);
  return Number(text.trim());
}

import { sh } from '../core/shell.js';
import { FactParseError, defineFact, describeOutput, type Fact } from './fact.js';

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

// The fact for the installed state of some packages; probes whichever of dpkg or rpm the host has.
export function packagesFact(names: readonly string[]): Fact<PackagesInfo> {
  const unique = [...new Set(names)].sort();
  const key = `packages:${unique.join(',')}`;
  const script = sh.lines([
    sh`if command -v apt-get >/dev/null 2>&1 && command -v dpkg-query >/dev/null 2>&1; then`,
    sh`  echo 'tool apt'`,
    sh`  for p in ${unique}; do`,
    sh`    printf 'pkg %s\\n' "$p"`,
    sh`    s=$(dpkg-query -W -f='dpkg \${db:Status-Abbrev}|\${Version}\\n' -- "$p" 2>/dev/null)`,
    sh`    if [ -n "$s" ]; then printf '%s\\n' "$s"; fi`,
    sh`    case "$s" in *'dpkg '?[itW]*) ;; *) if apt-cache show --no-all-versions -- "$p" >/dev/null 2>&1; then echo 'avail 1'; else echo 'avail 0'; fi ;; esac`,
    sh`  done`,
    sh`  printf 'now %s\\n' "$(date +%s)"`,
    sh`  n=0; for f in /var/lib/apt/lists/*_Packages /var/lib/apt/lists/*_Packages.*; do if [ -f "$f" ]; then n=$((n+1)); fi; done`,
    sh`  if [ -d /var/lib/apt/lists ]; then printf 'lists %s %s\\n' "$n" "$(stat -c %Y -- /var/lib/apt/lists)"; fi`,
    sh`  if [ -f ${APT_UPDATE_STAMP} ]; then printf 'stamp %s\\n' "$(stat -c %Y -- ${APT_UPDATE_STAMP})"; fi`,
    sh`  for f in /etc/apt/sources.list /etc/apt/sources.list.d /etc/apt/sources.list.d/*; do if [ -e "$f" ]; then printf 'source %s\\n' "$(stat -c %Y -- "$f")"; fi; done`,
    sh`elif command -v rpm >/dev/null 2>&1; then`,
    sh`  if command -v dnf >/dev/null 2>&1; then echo 'tool dnf'; elif command -v yum >/dev/null 2>&1; then echo 'tool yum'; else echo 'tool none'; fi`,
    sh`  for p in ${unique}; do`,
    sh`    printf 'pkg %s\\n' "$p"`,
    sh`    rpm -q --whatprovides --qf 'rpm %{NAME}|%{VERSION}-%{RELEASE}\\n' -- "$p" 2>/dev/null`,
    sh`  done`,
    sh`else echo 'tool none'; fi`,
    // A missing package makes the last command fail; the probe itself succeeded.
    sh`true`,
  ]).text;
  return defineFact(key, script, (stdout, exitCode) => parsePackagesInfo(key, unique, stdout, exitCode));
}

// Pure parser for packagesFact output; lines it does not know (rpm's "not installed" notes) are ignored.
export function parsePackagesInfo(key: string, names: readonly string[], stdout: string, exitCode: number): PackagesInfo {
  if (exitCode !== 0) throw new FactParseError(key, `probe failed with exit code ${exitCode}`);
  let tool: PackageTool | undefined;
  const packages: Record<string, PackageState> = {};
  let current: PackageState | undefined;
  let now: number | undefined;
  let listsCount = 0;
  let listsMtime: number | undefined;
  let stampMtime: number | undefined;
  let sourcesMtime = 0;
  for (const line of stdout.split('\n')) {
    const space = line.indexOf(' ');
    if (space < 0) continue;
    const tag = line.slice(0, space);
    const rest = line.slice(space + 1);
    if (tag === 'tool') {
      if (rest !== 'apt' && rest !== 'dnf' && rest !== 'yum' && rest !== 'none') throw new FactParseError(key, `unknown package tool (${describeOutput(rest)}); expected apt, dnf, yum or none`);
      tool = rest;
    } else if (tag === 'pkg') {
      current = { installed: false, versions: [], providers: [] };
      packages[rest] = current;
    } else if (tag === 'dpkg' && current) {
      const [status = '', version = ''] = rest.split('|');
      // With several architectures installed dpkg prints one line each; any installed one counts.
      if (current.dpkgStatus === undefined || DPKG_INSTALLED.test(status)) current.dpkgStatus = status;
      if (DPKG_INSTALLED.test(status)) {
        current.installed = true;
        if (version && !current.versions.includes(version)) current.versions.push(version);
      }
    } else if (tag === 'avail' && current) {
      current.available = rest === '1';
    } else if (tag === 'rpm' && current) {
      const [name = '', version = ''] = rest.split('|');
      current.installed = true;
      if (name && !current.providers.includes(name)) current.providers.push(name);
      if (version && !current.versions.includes(version)) current.versions.push(version);
    } else if (tag === 'now') {
      now = toInt(key, rest);
    } else if (tag === 'lists') {
      const [count = '', mtime = ''] = rest.split(' ');
      listsCount = toInt(key, count);
      listsMtime = toInt(key, mtime);
    } else if (tag === 'stamp') {
      stampMtime = toInt(key, rest);
    } else if (tag === 'source') {
      sourcesMtime = Math.max(sourcesMtime, toInt(key, rest));
    }
  }
  if (tool === undefined) throw new FactParseError(key, 'no tool line in probe output');
  for (const name of names) {
    if (tool !== 'none' && !packages[name]) throw new FactParseError(key, `no result for package ${name}`);
    packages[name] ??= { installed: false, versions: [], providers: [] };
  }
  let aptListsAgeSeconds: number | null = null;
  let aptSourcesNewer = false;
  if (tool === 'apt') {
    if (now === undefined) throw new FactParseError(key, 'no clock reading in probe output');
    if (listsCount > 0 && listsMtime !== undefined) {
      const refreshed = Math.max(listsMtime, stampMtime ?? 0);
      aptListsAgeSeconds = Math.max(0, now - refreshed);
      aptSourcesNewer = sourcesMtime > refreshed;
    }
  }
  return { tool, packages, aptListsAgeSeconds, aptSourcesNewer };
}

function toInt(key: string, text: string): number {
  if (!/^\d+$/.test(text.trim())) throw new FactParseError(key, `expected a number, got other output (${describeOutput(text)})`);
  return Number(text.trim());
}

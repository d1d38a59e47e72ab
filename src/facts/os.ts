import { FactParseError, defineFact, type Fact } from './fact.js';

// Which package manager a planner should drive; 'unknown' when neither apt nor dnf is usable.
export type PackageManager = 'apt' | 'dnf' | 'unknown';

// The operating system of a host, read from /etc/os-release and a few probes.
export interface OsInfo {
  /** os-release ID, e.g. "debian", "ubuntu", "amzn" ('' when os-release is missing). */
  id: string;
  /** os-release ID_LIKE split on spaces, e.g. ["rhel", "fedora"]. */
  idLike: string[];
  /** os-release VERSION_ID, e.g. "12", "2023" ('' when not set). */
  versionId: string;
  /** os-release PRETTY_NAME, for messages. */
  prettyName: string;
  /** apt when apt-get and dpkg-query exist, else dnf when dnf exists, else unknown (yum alone is not driven). */
  packageManager: PackageManager;
  /** Every package tool found on PATH, in probe order (apt-get, dnf, yum). */
  managersFound: string[];
  /** True when systemd is PID 1 (`/run/systemd/system` exists). */
  systemd: boolean;
  /** uid of the user running the probe (0 under sudo). */
  uid: number;
  /** `uname -m`, e.g. "x86_64", "aarch64". */
  arch: string;
}

/** Probe lines shared with the host facts: `tool NAME` per package tool found, `osr LINE` per os-release line. */
export const PACKAGE_TOOLS_PROBE = `for m in apt-get dpkg-query dnf yum; do if command -v "$m" >/dev/null 2>&1; then printf 'tool %s\\n' "$m"; fi; done`;
export const OS_RELEASE_PROBE = [
  `if [ -r /etc/os-release ]; then f=/etc/os-release; elif [ -r /usr/lib/os-release ]; then f=/usr/lib/os-release; else f=; fi`,
  // The shell's own read (no sed): a last line without its newline is read too.
  `if [ -n "$f" ]; then while IFS= read -r l || [ -n "$l" ]; do printf 'osr %s\\n' "$l"; done < "$f"; fi`,
].join('\n');

// apt when apt-get and dpkg-query exist, else dnf when dnf exists, else unknown (yum alone is not driven).
export function packageManagerOf(tools: ReadonlySet<string>): PackageManager {
  if (tools.has('apt-get') && tools.has('dpkg-query')) return 'apt';
  if (tools.has('dnf')) return 'dnf';
  return 'unknown';
}

const OS_SCRIPT = [
  `printf 'uid %s\\n' "$(id -u)"`,
  `printf 'arch %s\\n' "$(uname -m)"`,
  `if [ -d /run/systemd/system ]; then echo 'systemd 1'; else echo 'systemd 0'; fi`,
  PACKAGE_TOOLS_PROBE,
  OS_RELEASE_PROBE,
].join('\n');

// The os fact: distribution, package manager, init system and uid, in one probe.
export const osFact: Fact<OsInfo> = defineFact('os', OS_SCRIPT, parseOsInfo);

// Pure parser for the os fact's output.
export function parseOsInfo(stdout: string, exitCode: number): OsInfo {
  if (exitCode !== 0) throw new FactParseError('os', `probe failed with exit code ${exitCode}`);
  const release: Record<string, string> = {};
  const tools = new Set<string>();
  let uid: number | undefined;
  let systemd: boolean | undefined;
  let arch = '';
  for (const line of stdout.split('\n')) {
    if (line === '') continue;
    const space = line.indexOf(' ');
    const tag = space < 0 ? line : line.slice(0, space);
    const rest = space < 0 ? '' : line.slice(space + 1);
    if (tag === 'uid') uid = /^\d+$/.test(rest) ? Number(rest) : undefined;
    else if (tag === 'arch') arch = rest.trim();
    else if (tag === 'systemd') systemd = rest === '1';
    else if (tag === 'tool') tools.add(rest);
    else if (tag === 'osr') {
      const entry = parseOsReleaseLine(rest);
      if (entry) release[entry[0]] = entry[1];
    }
  }
  if (uid === undefined) throw new FactParseError('os', 'no uid in probe output');
  if (systemd === undefined) throw new FactParseError('os', 'no systemd line in probe output');
  const managersFound = ['apt-get', 'dnf', 'yum'].filter((tool) => tools.has(tool));
  const packageManager = packageManagerOf(tools);
  return {
    id: release.ID ?? '',
    idLike: (release.ID_LIKE ?? '').split(/\s+/).filter(Boolean),
    versionId: release.VERSION_ID ?? '',
    prettyName: release.PRETTY_NAME ?? release.NAME ?? '',
    packageManager,
    managersFound,
    systemd,
    uid,
    arch,
  };
}

// Reads one os-release assignment (KEY=value, KEY="va\"lue" or KEY='value') without running it as shell.
export function parseOsReleaseLine(line: string): [string, string] | undefined {
  const match = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line.trim());
  if (!match) return undefined;
  const key = match[1] as string;
  const raw = match[2] as string;
  let value = '';
  let index = 0;
  while (index < raw.length) {
    const char = raw[index] as string;
    if (char === '"') {
      index += 1;
      while (index < raw.length && raw[index] !== '"') {
        if (raw[index] === '\\' && index + 1 < raw.length && '$"\\`'.includes(raw[index + 1] as string)) index += 1;
        value += raw[index];
        index += 1;
      }
      index += 1;
    } else if (char === "'") {
      const close = raw.indexOf("'", index + 1);
      const end = close < 0 ? raw.length : close;
      value += raw.slice(index + 1, end);
      index = end + 1;
    } else if (char === '\\' && index + 1 < raw.length) {
      value += raw[index + 1];
      index += 2;
    } else if ((char === '#' && index === 0) || /\s/.test(char)) {
      break;
    } else {
      value += char;
      index += 1;
    }
  }
  return [key, value];
}

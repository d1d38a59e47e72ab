import { FactParseError, defineFact, type Fact } from './fact.js';
import { OS_RELEASE_PROBE, PACKAGE_TOOLS_PROBE, packageManagerOf, parseOsReleaseLine, type PackageManager } from './os.js';

// What a role may branch on before its tasks are built (Ansible's gathered facts, typed): read in
// the run's first request, beside the lock, so a converged host still costs one exec.
export interface HostFacts {
  /** `uname -n`. */
  hostname: string;
  /** os-release ID, e.g. "debian", "ubuntu", "amzn" ('' when os-release is missing). */
  distribution: string;
  /** The family a distribution belongs to: "debian" for Debian and Ubuntu, "redhat" for RHEL, Fedora, Amazon Linux... */
  family: OsFamily;
  /** os-release VERSION_ID, e.g. "12", "24.04", "2023" ('' when not set). */
  version: string;
  /** os-release VERSION_CODENAME (or UBUNTU_CODENAME), e.g. "bookworm", "noble" ('' when not set). */
  codename: string;
  /** os-release PRETTY_NAME, for messages. */
  prettyName: string;
  /** `uname -m`, e.g. "x86_64", "aarch64". */
  arch: string;
  /** `uname -r`. */
  kernel: string;
  /** apt when apt-get and dpkg-query exist, else dnf, else unknown. */
  packageManager: PackageManager;
  /** "systemd" when systemd is PID 1, else PID 1's command name (e.g. "sshd", "tini", "init"). */
  initSystem: string;
  /** Online CPUs. */
  cpus: number;
  /** MemTotal in MiB. */
  memoryMb: number;
  /** Global IPv4 addresses, in interface order. */
  ipv4: string[];
  /** Global IPv6 addresses, in interface order. */
  ipv6: string[];
}

// Families as Ansible's os_family groups distributions, in lower case.
export type OsFamily = 'debian' | 'redhat' | 'suse' | 'arch' | 'alpine' | 'gentoo' | 'unknown';

/** The fields of HostFacts, in the order `halyard facts` prints them. */
export const HOST_FACT_FIELDS = [
  'hostname',
  'distribution',
  'family',
  'version',
  'codename',
  'prettyName',
  'arch',
  'kernel',
  'packageManager',
  'initSystem',
  'cpus',
  'memoryMb',
  'ipv4',
  'ipv6',
] as const satisfies ReadonlyArray<keyof HostFacts>;

// Distributions whose family is not in their ID_LIKE (or which have none).
const FAMILY_OF: Record<string, OsFamily> = {
  debian: 'debian',
  ubuntu: 'debian',
  raspbian: 'debian',
  linuxmint: 'debian',
  pop: 'debian',
  kali: 'debian',
  devuan: 'debian',
  rhel: 'redhat',
  centos: 'redhat',
  fedora: 'redhat',
  amzn: 'redhat',
  rocky: 'redhat',
  almalinux: 'redhat',
  ol: 'redhat',
  sles: 'suse',
  opensuse: 'suse',
  'opensuse-leap': 'suse',
  'opensuse-tumbleweed': 'suse',
  arch: 'arch',
  manjaro: 'arch',
  alpine: 'alpine',
  gentoo: 'gentoo',
};

// Read with the shell's own builtins where a file holds the answer (/proc, /sys, os-release): the
// whole probe runs two programs, uname and ip, on every run of every host.
const HOST_FACTS_SCRIPT = [
  // uname prints node name, release and machine in that order; only the node name may hold a space.
  `u=$(uname -nrm); m=\${u##* }; u=\${u% *}; printf 'hostname %s\\narch %s\\nkernel %s\\n' "\${u% *}" "$m" "\${u##* }"`,
  `if [ -d /run/systemd/system ]; then echo 'init systemd'; else c=; { read -r c < /proc/1/comm; } 2>/dev/null; printf 'init %s\\n' "$c"; fi`,
  PACKAGE_TOOLS_PROBE,
  // Online CPUs as glibc counts them (_NPROCESSORS_ONLN reads this list of ranges, e.g. "0-3,6").
  `c=; { read -r c < /sys/devices/system/cpu/online; } 2>/dev/null; n=0`,
  `case $c in ''|*[!0-9,-]*) n= ;; *) IFS=,; for r in $c; do case $r in *-*) n=$((n + \${r#*-} - \${r%-*} + 1)) ;; *) n=$((n + 1)) ;; esac; done; unset IFS ;; esac`,
  `if [ -n "$n" ] && [ "$n" -gt 0 ]; then printf 'cpus %s\\n' "$n"; else printf 'cpus %s\\n' "$(getconf _NPROCESSORS_ONLN 2>/dev/null || nproc 2>/dev/null)"; fi`,
  `{ while read -r k v _; do if [ "$k" = MemTotal: ]; then printf 'memkb %s\\n' "$v"; break; fi; done < /proc/meminfo; } 2>/dev/null`,
  // "2: eth0    inet 172.17.0.2/16 brd ...": the family is the third word, the address the fourth.
  `if command -v ip >/dev/null 2>&1; then a=$(ip -o addr show scope global 2>/dev/null); set -f; IFS='`,
  `'; for l in $a; do unset IFS; set -- $l; case $3 in inet|inet6) printf '%s %s\\n' "$3" "\${4%%/*}" ;; esac; done; unset IFS; set +f`,
  `else for a in $(hostname -I 2>/dev/null); do case $a in *:*) echo "inet6 $a";; *) echo "inet $a";; esac; done; fi`,
  OS_RELEASE_PROBE,
].join('\n');

// The host facts: one probe in the run's first request.
export const hostFactsFact: Fact<HostFacts> = defineFact('halyard:host-facts', HOST_FACTS_SCRIPT, parseHostFacts);

// Pure parser for the host facts probe.
export function parseHostFacts(stdout: string, exitCode: number): HostFacts {
  if (exitCode !== 0) throw new FactParseError('halyard:host-facts', `probe failed with exit code ${exitCode}`);
  const release: Record<string, string> = {};
  const tools = new Set<string>();
  const seen: Record<string, string> = {};
  const ipv4: string[] = [];
  const ipv6: string[] = [];
  for (const line of stdout.split('\n')) {
    if (line === '') continue;
    const space = line.indexOf(' ');
    const tag = space < 0 ? line : line.slice(0, space);
    const rest = space < 0 ? '' : line.slice(space + 1).trim();
    if (tag === 'tool') tools.add(rest);
    else if (tag === 'inet') ipv4.push(rest);
    else if (tag === 'inet6') ipv6.push(rest);
    else if (tag === 'osr') {
      const entry = parseOsReleaseLine(rest);
      if (entry) release[entry[0]] = entry[1];
    } else seen[tag] = rest;
  }
  for (const required of ['hostname', 'arch', 'init']) {
    if (seen[required] === undefined) throw new FactParseError('halyard:host-facts', `no ${required} line in probe output`);
  }
  const packageManager = packageManagerOf(tools);
  const distribution = release.ID ?? '';
  return {
    hostname: seen.hostname ?? '',
    distribution,
    family: osFamily(distribution, (release.ID_LIKE ?? '').split(/\s+/).filter(Boolean)),
    version: release.VERSION_ID ?? '',
    codename: release.VERSION_CODENAME || release.UBUNTU_CODENAME || '',
    prettyName: release.PRETTY_NAME ?? release.NAME ?? '',
    arch: seen.arch ?? '',
    kernel: seen.kernel ?? '',
    packageManager,
    initSystem: seen.init || 'unknown',
    cpus: wholeNumber(seen.cpus),
    memoryMb: Math.floor(wholeNumber(seen.memkb) / 1024),
    ipv4,
    ipv6,
  };
}

// A distribution's family: its own entry, else the first ID_LIKE entry with one.
export function osFamily(id: string, idLike: readonly string[]): OsFamily {
  for (const candidate of [id, ...idLike]) {
    const family = FAMILY_OF[candidate];
    if (family) return family;
  }
  return 'unknown';
}

function wholeNumber(text: string | undefined): number {
  return text !== undefined && /^\d+$/.test(text) ? Number(text) : 0;
}

// A fact of a role's own (Ansible's custom facts): a command run in the first request beside the
// host facts, and a parser from its output, so tasks can branch on it with `host.fact(probe)`.
export interface CustomFact<T> extends Fact<T> {
  readonly name: string;
  readonly [CUSTOM_FACT_BRAND]: true;
}

// Brand that tells a custom fact from any other object across module copies.
export const CUSTOM_FACT_BRAND = Symbol.for('halyard.custom-fact');

// Declares a custom fact: `name` identifies it, `command` is POSIX sh (its exit code goes to parse).
export function defineHostFact<T>(spec: { name: string; command: string | { toString(): string }; parse(stdout: string, exitCode: number): T }): CustomFact<T> {
  if (typeof spec?.name !== 'string' || !/^[A-Za-z0-9_.:-]+$/.test(spec.name)) {
    throw new TypeError(`a custom fact needs a name of letters, digits, _ . : - (got ${JSON.stringify(spec?.name)})`);
  }
  if (typeof spec.parse !== 'function') throw new TypeError(`custom fact ${spec.name} needs a parse(stdout, exitCode) function`);
  const script = String(spec.command);
  return { name: spec.name, key: `custom:${spec.name}`, script, parse: spec.parse, [CUSTOM_FACT_BRAND]: true };
}

// Whether a value came from defineHostFact.
export function isCustomFact(value: unknown): value is CustomFact<unknown> {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[CUSTOM_FACT_BRAND] === true;
}

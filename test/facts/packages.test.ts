import { describe, expect, test } from 'vitest';
import { FactParseError, type Fact } from '../../src/facts/fact.js';
import { packagesFact, packagesProbeScript, parsePackagesInfo, type PackagesInfo } from '../../src/facts/packages.js';
import { probeSections } from '../../src/facts/probe-script.js';
import { probeLocally, probeOne } from './local-shell.js';

// Captured from this Debian 12 machine (dpkg-query 1.21, apt 2.6) by running packagesFact(...).script.
const DEBIAN_CAPTURED = [
  'tool apt',
  'dpkg ii |ca-certificates|all|20230311+deb12u1',
  'dpkg ii |curl|amd64|7.88.1-10+deb12u14',
  'dpkg ii |libc6|amd64|2.36-9+deb12u14',
  'now 1795604486',
  'lists 3',
  'mtimes lists source source source source',
  'mtime 1795603844',
  'mtime 1795603827',
  'mtime 1747699200',
  'mtime 1750775824',
  'mtime 1779295757',
  '',
].join('\n');

const NOW = 1795604486;

describe('parsePackagesInfo', () => {
  const rows: { name: string; names: string[]; stdout: string; expected: PackagesInfo }[] = [
    {
      name: 'Debian: installed and unknown packages, fresh lists (captured)',
      names: ['ca-certificates', 'curl', 'libc6', 'nosuchpkg-xyz'],
      stdout: DEBIAN_CAPTURED,
      expected: {
        tool: 'apt',
        packages: {
          'ca-certificates': { installed: true, versions: ['20230311+deb12u1'], providers: [], dpkgStatus: 'ii ' },
          curl: { installed: true, versions: ['7.88.1-10+deb12u14'], providers: [], dpkgStatus: 'ii ' },
          libc6: { installed: true, versions: ['2.36-9+deb12u14'], providers: [], dpkgStatus: 'ii ' },
          'nosuchpkg-xyz': { installed: false, versions: [], providers: [], available: false },
        },
        aptListsAgeSeconds: 642,
        aptSourcesNewer: false,
      },
    },
    {
      name: 'Debian: removed with config files (rc), known but never installed (un), multiarch, triggers pending, an architecture asked for',
      names: ['nginx', 'libc6-amd64', 'libssl3', 'man-db', 'libssl3:i386', 'zlib1g:amd64'],
      stdout: [
        'tool apt',
        'dpkg un |libc6-amd64||',
        'dpkg ii |libssl3|amd64|3.0.15-1~deb12u1',
        'dpkg ii |libssl3|i386|3.0.15-1~deb12u1',
        'dpkg it |man-db|amd64|2.11.2-2',
        'dpkg rc |nginx|amd64|1.22.1-9',
        'dpkg rc |zlib1g|amd64|1:1.2.13.dfsg-1',
        // apt-cache show's Package and Architecture fields of the names not installed.
        'avail libc6-amd64|amd64',
        'avail nginx|amd64',
        'avail zlib1g|amd64',
        `now ${NOW}`,
        'lists 3',
        'mtimes lists stamp source',
        `mtime ${NOW - 3 * 86400}`,
        `mtime ${NOW - 3600}`,
        `mtime ${NOW - 90 * 86400}`,
        '',
      ].join('\n'),
      expected: {
        tool: 'apt',
        packages: {
          'libc6-amd64': { installed: false, versions: [], providers: [], dpkgStatus: 'un ', available: true },
          libssl3: { installed: true, versions: ['3.0.15-1~deb12u1'], providers: [], dpkgStatus: 'ii ' },
          'libssl3:i386': { installed: true, versions: ['3.0.15-1~deb12u1'], providers: [], dpkgStatus: 'ii ' },
          'man-db': { installed: true, versions: ['2.11.2-2'], providers: [], dpkgStatus: 'it ' },
          nginx: { installed: false, versions: [], providers: [], dpkgStatus: 'rc ', available: true },
          'zlib1g:amd64': { installed: false, versions: [], providers: [], dpkgStatus: 'rc ', available: true },
        },
        // The update-success stamp is newer than the lists directory.
        aptListsAgeSeconds: 3600,
        aptSourcesNewer: false,
      },
    },
    {
      name: 'Debian container image: lists emptied (no *_Packages files), new apt source',
      names: ['curl'],
      stdout: ['tool apt', `now ${NOW}`, 'lists 0', 'mtimes lists source', `mtime ${NOW - 100}`, `mtime ${NOW - 10}`, ''].join('\n'),
      expected: {
        tool: 'apt',
        packages: { curl: { installed: false, versions: [], providers: [], available: false } },
        aptListsAgeSeconds: null,
        aptSourcesNewer: false,
      },
    },
    {
      name: 'Debian: an apt source added after the last update',
      names: ['docker-ce'],
      stdout: ['tool apt', `now ${NOW}`, 'lists 5', 'mtimes lists source', `mtime ${NOW - 600}`, `mtime ${NOW - 60}`, ''].join('\n'),
      expected: {
        tool: 'apt',
        packages: { 'docker-ce': { installed: false, versions: [], providers: [], available: false } },
        aptListsAgeSeconds: 600,
        aptSourcesNewer: true,
      },
    },
    {
      name: 'Debian without any apt lists directory',
      names: ['curl'],
      stdout: ['tool apt', 'dpkg ii |curl|amd64|7.88.1-10+deb12u14', `now ${NOW}`, 'lists 0', 'mtimes ', ''].join('\n'),
      expected: {
        tool: 'apt',
        packages: { curl: { installed: true, versions: ['7.88.1-10+deb12u14'], providers: [], dpkgStatus: 'ii ' } },
        aptListsAgeSeconds: null,
        aptSourcesNewer: false,
      },
    },
    {
      // rpm -q --whatprovides --qf 'rpm %{NAME}|%{VERSION}-%{RELEASE}|[%{PROVIDES} ]\n' a b c: one line
      // per providing package and name asked; "no package provides NAME" for none (ignored).
      name: 'Amazon Linux 2023: provided by another package, several kernels, missing',
      names: ['curl', 'jq', 'kernel'],
      stdout: [
        'tool dnf',
        'rpm curl-minimal|8.5.0-1.amzn2023.0.4|curl curl-minimal curl-minimal(x86-64) ',
        'no package provides jq',
        'rpm kernel|6.1.112-122.189.amzn2023|kernel kernel(x86-64) kernel-uname-r ',
        'rpm kernel|6.1.115-126.197.amzn2023|kernel kernel(x86-64) kernel-uname-r ',
        '',
      ].join('\n'),
      expected: {
        tool: 'dnf',
        packages: {
          curl: { installed: true, versions: ['8.5.0-1.amzn2023.0.4'], providers: ['curl-minimal'] },
          jq: { installed: false, versions: [], providers: [] },
          kernel: { installed: true, versions: ['6.1.112-122.189.amzn2023', '6.1.115-126.197.amzn2023'], providers: ['kernel'] },
        },
        aptListsAgeSeconds: null,
        aptSourcesNewer: false,
      },
    },
    {
      name: 'Amazon Linux 2: yum and rpm',
      names: ['git'],
      stdout: 'tool yum\nrpm git|2.40.1-1.amzn2.0.3|git git(x86-64) \n',
      expected: {
        tool: 'yum',
        packages: { git: { installed: true, versions: ['2.40.1-1.amzn2.0.3'], providers: ['git'] } },
        aptListsAgeSeconds: null,
        aptSourcesNewer: false,
      },
    },
    {
      name: 'no package tool at all',
      names: ['git'],
      stdout: 'tool none\n',
      expected: { tool: 'none', packages: { git: { installed: false, versions: [], providers: [] } }, aptListsAgeSeconds: null, aptSourcesNewer: false },
    },
  ];
  test.each(rows)('$name', ({ names, stdout, expected }) => {
    expect(parsePackagesInfo('packages:x', names, stdout, 0)).toEqual(expected);
  });

  test.each([
    ['failed probe', 'tool apt\n', 1, 'probe failed with exit code 1'],
    ['no tool line', 'dpkg ii |curl|amd64|1\n', 0, 'no tool line in probe output'],
    ['unknown tool', 'tool pacman\n', 0, 'unknown package tool (1 line, 6 bytes); expected apt, dnf, yum or none'],
    ['a dpkg line of another shape', 'tool apt\ndpkg ii |1\n', 0, 'unexpected dpkg-query line (2 fields, 4 expected)'],
    ['apt without a clock reading', 'tool apt\ndpkg ii |curl|amd64|1\n', 0, 'no clock reading in probe output'],
    ['apt without the times of its lists', `tool apt\nnow ${NOW}\nlists 3\n`, 0, 'no apt lists and sources times in probe output'],
    ['a time missing (a file went away)', `tool apt\nnow ${NOW}\nlists 3\nmtimes lists source\nmtime ${NOW}\n`, 0, 'stat printed 1 times for 2 apt files (one changed while it was probed; run again)'],
    ['garbage number', 'tool apt\ndpkg ii |curl|amd64|1\nnow soon\n', 0, 'expected a number, got other output (1 line, 4 bytes)'],
  ])('%s is a FactParseError', (_name, stdout, exitCode, message) => {
    expect(() => parsePackagesInfo('packages:curl', ['curl'], stdout, exitCode)).toThrow(FactParseError);
    expect(() => parsePackagesInfo('packages:curl', ['curl'], stdout, exitCode)).toThrow(message);
  });
});

describe('packagesFact', () => {
  test('key is the sorted, de-duplicated names; names are quoted in the script', () => {
    const fact = packagesFact(['jq', 'curl', 'jq']);
    expect(fact.key).toBe('packages:curl,jq');
    expect(fact.script).toContain('  for p in curl jq; do');
    expect(packagesFact(["x'; touch /tmp/pwned; '"]).script).toContain(`for p in 'x'\\''; touch /tmp/pwned; '\\'''; do`);
  });

  test('exact script: one dpkg-query for all names, apt-cache once for the missing ones only, one stat for the times', () => {
    expect(packagesProbeScript(['jq', 'curl', "it's:amd64"])).toBe(
      [
        `if command -v apt-get >/dev/null 2>&1 && command -v dpkg-query >/dev/null 2>&1; then`,
        `  echo 'tool apt'`,
        `  s=$(dpkg-query -W -f='dpkg \${db:Status-Abbrev}|\${Package}|\${Architecture}|\${Version}\\n' -- curl 'it'\\''s:amd64' jq 2>/dev/null)`,
        `  if [ -n "$s" ]; then printf '%s\\n' "$s"; fi`,
        `  set --`,
        `  for p in curl 'it'\\''s:amd64' jq; do`,
        `    case $p in *:*) w="|\${p%%:*}|\${p#*:}|" ;; *) w="|$p|" ;; esac`,
        `    case $s in *"dpkg "?[itW]?"$w"*) ;; *) set -- "$@" "$p" ;; esac`,
        `  done`,
        `  if [ "$#" -gt 0 ]; then`,
        `    a=$(apt-cache show --no-all-versions -- "$@" 2>/dev/null)`,
        `    set -f; IFS='\n'; o=`,
        `    for l in $a; do case $l in 'Package: '*) o=\${l#Package: } ;; 'Architecture: '*) printf 'avail %s|%s\\n' "$o" "\${l#Architecture: }" ;; esac; done`,
        `    set +f; unset IFS`,
        `  fi`,
        `  printf 'now %s\\n' "$(date +%s)"`,
        `  n=0; for f in /var/lib/apt/lists/*_Packages /var/lib/apt/lists/*_Packages.*; do if [ -f "$f" ]; then n=$((n+1)); fi; done`,
        `  printf 'lists %s\\n' "$n"`,
        `  set --; t=`,
        `  if [ -d /var/lib/apt/lists ]; then set -- /var/lib/apt/lists; t=lists; fi`,
        `  if [ -f /var/lib/apt/periodic/update-success-stamp ]; then set -- "$@" /var/lib/apt/periodic/update-success-stamp; t="$t stamp"; fi`,
        `  for f in /etc/apt/sources.list /etc/apt/sources.list.d /etc/apt/sources.list.d/*; do if [ -e "$f" ]; then set -- "$@" "$f"; t="$t source"; fi; done`,
        `  printf 'mtimes %s\\n' "$t"`,
        `  if [ "$#" -gt 0 ]; then stat -c 'mtime %Y' -- "$@" 2>/dev/null; fi`,
        `elif command -v rpm >/dev/null 2>&1; then`,
        `  if command -v dnf >/dev/null 2>&1; then echo 'tool dnf'; elif command -v yum >/dev/null 2>&1; then echo 'tool yum'; else echo 'tool none'; fi`,
        `  rpm -q --whatprovides --qf 'rpm %{NAME}|%{VERSION}-%{RELEASE}|[%{PROVIDES} ]\\n' -- curl 'it'\\''s:amd64' jq 2>/dev/null`,
        `else echo 'tool none'; fi`,
        `true`,
      ].join('\n'),
    );
  });

  test('two packages tasks share one section; each fact gets its own names', async () => {
    const a = packagesFact(['dpkg', 'halyard-no-such-package']);
    const b = packagesFact(['coreutils']);
    expect(probeSections([a, b] as Fact<unknown>[])).toHaveLength(1);
    const values = await probeLocally([a, b] as Fact<unknown>[]);
    expect(Object.keys((values.get(a.key) as PackagesInfo).packages)).toEqual(['dpkg', 'halyard-no-such-package']);
    expect(Object.keys((values.get(b.key) as PackagesInfo).packages)).toEqual(['coreutils']);
    expect((values.get(b.key) as PackagesInfo).packages.coreutils?.installed).toBe(true);
  });

  test('names per manager: dpkg is asked for the apt names and rpm for the dnf ones, so an apt host never looks up a dnf name', async () => {
    const fact = packagesFact({ apt: ['dpkg', 'coreutils'], dnf: ['halyard-dnf-only'] });
    expect(fact.key).toBe('packages:apt=coreutils,dpkg;dnf=halyard-dnf-only');
    const lines = fact.script.split('\n');
    expect(lines.find((line) => line.includes('dpkg-query -W'))).toContain('-- coreutils dpkg 2>/dev/null');
    expect(lines.find((line) => line.includes('rpm -q'))).toContain('-- halyard-dnf-only 2>/dev/null');
    expect(fact.script).not.toMatch(/dpkg-query .*halyard-dnf-only|for p in .*halyard-dnf-only/);
    // On this Debian machine: the apt names only, both installed, so apt-cache never runs.
    const info = await probeOne(fact);
    expect(info.tool).toBe('apt');
    expect(Object.keys(info.packages)).toEqual(['coreutils', 'dpkg']);
    expect(Object.values(info.packages).every((state) => state.installed && state.available === undefined)).toBe(true);
    // With no names for apt, dpkg-query is not run at all (with none it would list every package).
    expect(packagesFact({ dnf: ['docker'] }).script).toContain(`  s=\n`);
  });

  test('probed locally on this Debian machine', async () => {
    const info = await probeOne(packagesFact(['dpkg', 'coreutils', 'halyard-no-such-package']));
    expect(info.tool).toBe('apt');
    expect(info.packages.dpkg?.installed).toBe(true);
    expect(info.packages.dpkg?.versions[0]).toMatch(/^\d/);
    expect(info.packages.coreutils?.dpkgStatus).toBe('ii ');
    expect(info.packages['halyard-no-such-package']).toEqual({ installed: false, versions: [], providers: [], available: false });
    expect(info.aptListsAgeSeconds === null || info.aptListsAgeSeconds >= 0).toBe(true);
  });
});

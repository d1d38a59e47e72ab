import { describe, expect, test } from 'vitest';
import type { PackagesInfo, PackageState } from '../../src/facts/packages.js';
import { packagesResource, type PackagesDesired } from '../../src/resources/packages.js';
import { outcomeOf, planOf, type PlanRow } from './plan-table.js';

const installed = (version = '1.0-1', providers: string[] = []): PackageState => ({ installed: true, versions: [version], providers, dpkgStatus: providers.length ? undefined : 'ii ' });
const missing = (available = true): PackageState => ({ installed: false, versions: [], providers: [], available });
const apt = (packages: Record<string, PackageState>, extra: Partial<PackagesInfo> = {}): { packages: PackagesInfo } => ({
  packages: { tool: 'apt', packages, aptListsAgeSeconds: 3600, aptSourcesNewer: false, ...extra },
});
const rpm = (packages: Record<string, PackageState>, tool: PackagesInfo['tool'] = 'dnf'): { packages: PackagesInfo } => ({
  packages: { tool, packages, aptListsAgeSeconds: null, aptSourcesNewer: false },
});

const APT = 'DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300';
const UPDATE = `${APT} update && { mkdir -p /var/lib/apt/periodic && touch /var/lib/apt/periodic/update-success-stamp; }`;

const rows: PlanRow<PackagesDesired>[] = [
  {
    name: 'apt: all installed',
    desired: { names: ['curl', 'ca-certificates'] },
    facts: apt({ curl: installed(), 'ca-certificates': installed() }),
    expected: { noop: 'curl, ca-certificates already installed' },
  },
  {
    name: 'apt: all installed, stale lists do not matter',
    desired: { names: ['curl'], updateCache: 'always' },
    facts: apt({ curl: installed() }, { aptListsAgeSeconds: null }),
    expected: { noop: 'curl already installed' },
  },
  {
    name: 'apt: install only the missing one, lists fresh',
    desired: { names: ['curl', 'jq'] },
    facts: apt({ curl: installed(), jq: missing() }),
    expected: { scripts: [`${APT} install -y --no-install-recommends -- jq`] },
  },
  {
    name: 'apt: duplicate names install once',
    desired: { names: ['jq', 'jq', 'git'] },
    facts: apt({ jq: missing(), git: missing() }),
    expected: { scripts: [`${APT} install -y --no-install-recommends -- jq git`] },
  },
  {
    name: 'apt: lists missing (container image) -> update first',
    desired: { names: ['curl'] },
    facts: apt({ curl: missing(false) }, { aptListsAgeSeconds: null }),
    expected: { scripts: [UPDATE, `${APT} install -y --no-install-recommends -- curl`] },
  },
  {
    name: 'apt: lists older than a day -> update first',
    desired: { names: ['curl'] },
    facts: apt({ curl: missing() }, { aptListsAgeSeconds: 86401 }),
    expected: { scripts: [UPDATE, `${APT} install -y --no-install-recommends -- curl`] },
  },
  {
    name: 'apt: lists exactly a day old are fresh',
    desired: { names: ['curl'] },
    facts: apt({ curl: missing() }, { aptListsAgeSeconds: 86400 }),
    expected: { scripts: [`${APT} install -y --no-install-recommends -- curl`] },
  },
  {
    name: 'apt: a source was added after the last update -> update first',
    desired: { names: ['docker-ce'] },
    facts: apt({ 'docker-ce': missing() }, { aptSourcesNewer: true }),
    expected: { scripts: [UPDATE, `${APT} install -y --no-install-recommends -- docker-ce`] },
  },
  {
    name: 'apt: fresh lists that do not know a wanted package -> update first',
    desired: { names: ['docker-ce', 'jq'] },
    facts: apt({ 'docker-ce': missing(false), jq: missing(true) }),
    expected: { scripts: [UPDATE, `${APT} install -y --no-install-recommends -- docker-ce jq`] },
  },
  {
    name: "apt: updateCache 'never' with no lists",
    desired: { names: ['curl'], updateCache: 'never' },
    facts: apt({ curl: missing(false) }, { aptListsAgeSeconds: null }),
    expected: { scripts: [`${APT} install -y --no-install-recommends -- curl`] },
  },
  {
    name: "apt: updateCache 'always' with fresh lists",
    desired: { names: ['curl'], updateCache: 'always' },
    facts: apt({ curl: missing() }),
    expected: { scripts: [UPDATE, `${APT} install -y --no-install-recommends -- curl`] },
  },
  {
    name: 'apt: arch-qualified and plus-sign names',
    desired: { names: ['libc6:i386', 'libstdc++6', 'g++'], manager: 'apt' },
    facts: apt({ 'libc6:i386': missing(), 'libstdc++6': installed(), 'g++': missing() }),
    expected: { scripts: [`${APT} install -y --no-install-recommends -- libc6:i386 g++`] },
  },
  {
    name: 'apt: removed-but-configured (rc) counts as missing',
    desired: { names: ['nginx'] },
    facts: apt({ nginx: { installed: false, versions: [], providers: [], dpkgStatus: 'rc ', available: true } }),
    expected: { scripts: [`${APT} install -y --no-install-recommends -- nginx`] },
  },
  {
    name: 'apt: absent, one installed',
    desired: { names: ['telnet', 'ftp'], state: 'absent' },
    facts: apt({ telnet: installed(), ftp: missing() }),
    expected: { scripts: [`${APT} remove -y -- telnet`] },
  },
  {
    name: 'apt: absent, none installed',
    desired: { names: ['telnet', 'ftp'], state: 'absent' },
    facts: apt({ telnet: missing(), ftp: missing() }),
    expected: { noop: 'telnet, ftp not installed' },
  },
  {
    name: 'dnf: install the missing ones',
    desired: { names: ['git', 'jq', 'tar'] },
    facts: rpm({ git: missing(), jq: missing(), tar: installed('1.34-1.amzn2023', ['tar']) }),
    expected: { scripts: ['dnf install -y -- git jq'] },
  },
  {
    name: 'dnf: --refresh when updateCache is always',
    desired: { names: ['git'], updateCache: 'always' },
    facts: rpm({ git: missing() }),
    expected: { scripts: ['dnf install -y --refresh -- git'] },
  },
  {
    name: 'dnf: a name provided by another package is installed (curl by curl-minimal)',
    desired: { names: ['curl', 'git'] },
    facts: rpm({ curl: installed('8.5.0-1', ['curl-minimal']), git: installed('2.40-1', ['git']) }),
    expected: { noop: 'curl (provided by curl-minimal), git already installed' },
  },
  {
    name: 'dnf: uppercase RPM names',
    desired: { names: ['NetworkManager', 'perl-Data-Dumper'], manager: 'dnf' },
    facts: rpm({ NetworkManager: missing(), 'perl-Data-Dumper': missing() }),
    expected: { scripts: ['dnf install -y -- NetworkManager perl-Data-Dumper'] },
  },
  {
    name: 'dnf: absent removes by name only',
    desired: { names: ['curl', 'telnet'], state: 'absent' },
    facts: rpm({ curl: installed('8.5.0-1', ['curl-minimal']), telnet: installed('0.17-1', ['telnet']) }),
    expected: { scripts: ['dnf remove -y -- telnet'] },
  },
  {
    name: 'dnf: absent, provided only by another package is a noop',
    desired: { names: ['curl'], state: 'absent' },
    facts: rpm({ curl: installed('8.5.0-1', ['curl-minimal']) }),
    expected: { noop: 'curl not installed' },
  },
  { name: 'yum only (Amazon Linux 2)', desired: { names: ['git'] }, facts: rpm({ git: missing() }, 'yum'), expected: { error: 'this host has yum but not dnf; halyard drives apt and dnf only' } },
  { name: 'no package manager', desired: { names: ['git'] }, facts: rpm({ git: missing() }, 'none'), expected: { error: 'no supported package manager on this host (need apt-get or dnf)' } },
  { name: 'apt requested on a dnf host', desired: { names: ['git'], manager: 'apt' }, facts: rpm({ git: missing() }), expected: { error: 'manager apt requested but this host uses dnf' } },
  { name: 'dnf requested on an apt host', desired: { names: ['git'], manager: 'dnf' }, facts: apt({ git: missing() }), expected: { error: 'manager dnf requested but this host uses apt' } },
  { name: 'empty list', desired: { names: [] }, facts: apt({}), expected: { error: 'packages: names must be a non-empty list' } },
  { name: 'an option as a name', desired: { names: ['--force-yes'] }, facts: apt({ '--force-yes': missing() }), expected: { error: 'invalid Debian package name "--force-yes"' } },
  { name: 'a leading - in an RPM name', desired: { names: ['-x'] }, facts: rpm({ '-x': missing() }), expected: { error: 'invalid RPM package name "-x"' } },
  { name: 'a shell word', desired: { names: ['curl;reboot'] }, facts: apt({ 'curl;reboot': missing() }), expected: { error: 'invalid Debian package name "curl;reboot"' } },
  { name: 'a glob', desired: { names: ['php*'] }, facts: rpm({ 'php*': missing() }), expected: { error: 'invalid RPM package name "php*"' } },
  { name: 'a version pin', desired: { names: ['nginx=1.22.1-9'] }, facts: apt({ 'nginx=1.22.1-9': missing() }), expected: { error: 'invalid Debian package name "nginx=1.22.1-9"' } },
  { name: 'uppercase on Debian', desired: { names: ['Curl'] }, facts: apt({ Curl: missing() }), expected: { error: 'invalid Debian package name "Curl"' } },
  { name: 'a space', desired: { names: ['a b'] }, facts: rpm({ 'a b': missing() }), expected: { error: 'invalid RPM package name "a b"' } },
  { name: 'bad state', desired: { names: ['x1'], state: 'latest' as 'present' }, facts: apt({ x1: missing() }), expected: { error: 'packages: invalid state "latest"' } },
  { name: 'bad updateCache', desired: { names: ['x1'], updateCache: 'yes' as 'always' }, facts: apt({ x1: missing() }), expected: { error: 'packages: invalid updateCache "yes"' } },
];

describe('packagesResource.plan', () => {
  test.each(rows)('$name', ({ desired, facts, expected }) => {
    expect(outcomeOf(packagesResource, desired, facts)).toEqual(expected);
  });

  test('changes and labels say why the lists are refreshed', () => {
    const plan = planOf(packagesResource, { names: ['curl', 'jq'] }, apt({ curl: missing(), jq: missing() }, { aptListsAgeSeconds: 3 * 86400 + 5 }));
    expect(plan).toMatchObject({
      action: 'change',
      changes: ['apt-get update (lists are 3 days old)', 'install curl, jq'],
      steps: [{ label: 'apt-get update' }, { label: 'install curl, jq' }],
    });
    expect(planOf(packagesResource, { names: ['x1'] }, apt({ x1: missing() }, { aptListsAgeSeconds: null }))).toMatchObject({ changes: ['apt-get update (no package lists)', 'install x1'] });
    expect(planOf(packagesResource, { names: ['x1'] }, apt({ x1: missing(false) }))).toMatchObject({ changes: ['apt-get update (lists do not know x1)', 'install x1'] });
  });

  test('facts: one packages fact for the names; invalidates everything (maintainer scripts)', () => {
    const facts = packagesResource.facts({ names: ['jq', 'curl'] }, { diff: false });
    expect(Object.keys(facts)).toEqual(['packages']);
    expect(facts.packages?.key).toBe('packages:curl,jq');
    expect(packagesResource.invalidates({ names: ['jq'] })).toEqual(['*']);
    expect(packagesResource.describe({ names: ['jq', 'curl'] })).toBe('packages jq, curl');
    expect(packagesResource.describe({ names: ['telnet'], state: 'absent' })).toBe('packages telnet (absent)');
  });
});

// Names per package manager, where distributions name a package differently (docker.io on Debian, docker on AL2023).
describe('packagesResource with names per manager', () => {
  const DOCKER = { names: { apt: ['docker.io', 'docker-compose'], dnf: ['docker'] } } satisfies PackagesDesired;
  const rows: PlanRow<PackagesDesired>[] = [
    {
      name: 'apt host: the apt list',
      desired: DOCKER,
      facts: apt({ 'docker.io': missing(), 'docker-compose': missing(), docker: missing(false) }),
      expected: { scripts: [`${APT} install -y --no-install-recommends -- docker.io docker-compose`] },
    },
    {
      name: 'apt host: a dnf name apt does not know is not a reason to refresh',
      desired: DOCKER,
      facts: apt({ 'docker.io': installed(), 'docker-compose': installed(), docker: missing(false) }),
      expected: { noop: 'docker.io, docker-compose already installed' },
    },
    { name: 'dnf host: the dnf list', desired: DOCKER, facts: rpm({ 'docker.io': missing(), 'docker-compose': missing(), docker: missing() }), expected: { scripts: ['dnf install -y -- docker'] } },
    { name: 'dnf host: installed', desired: DOCKER, facts: rpm({ 'docker.io': missing(), 'docker-compose': missing(), docker: installed('25.0.6-1.amzn2023.0.2', ['docker']) }), expected: { noop: 'docker already installed' } },
    {
      name: 'dnf host, apt list only',
      desired: { names: { apt: ['docker-ce'] } },
      facts: rpm({ 'docker-ce': missing() }),
      expected: { error: 'packages apt: docker-ce: no package names for dnf, which this host uses' },
    },
    { name: 'empty list for a manager', desired: { names: { apt: [] } }, facts: apt({}), expected: { error: 'packages: names.apt must be a non-empty list' } },
    { name: 'unknown manager key', desired: { names: { yum: ['x'] } as unknown as { apt: string[] } }, facts: apt({}), expected: { error: 'packages: names per manager take apt and dnf only, got yum' } },
    { name: 'no manager at all', desired: { names: {} }, facts: apt({}), expected: { error: 'packages: names must list packages for apt or dnf' } },
  ];
  test.each(rows)('$name', ({ desired, facts, expected }) => {
    expect(outcomeOf(packagesResource, desired, facts)).toEqual(expected);
  });

  test('each tool is asked for its own names; description lists each manager', () => {
    expect(packagesResource.facts(DOCKER, { diff: false }).packages?.key).toBe('packages:apt=docker-compose,docker.io;dnf=docker');
    expect(packagesResource.describe(DOCKER)).toBe('packages apt: docker.io, docker-compose; dnf: docker');
  });
});

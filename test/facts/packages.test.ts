import { describe, expect, test } from 'vitest';
import { FactParseError } from '../../src/facts/fact.js';
import { packagesFact, parsePackagesInfo, type PackagesInfo } from '../../src/facts/packages.js';
import { probeOne } from './local-shell.js';

// Captured from this Debian 12 machine (dpkg-query 1.21, apt 2.6) by running packagesFact(...).script.
const DEBIAN_CAPTURED = [
  'tool apt',
  'pkg ca-certificates',
  'dpkg ii |20230311+deb12u1',
  'pkg curl',
  'dpkg ii |7.88.1-10+deb12u14',
  'pkg libc6',
  'dpkg ii |2.36-9+deb12u14',
  'pkg nosuchpkg-xyz',
  'avail 0',
  'now 1795604486',
  'lists 3 1795603844',
  'source 1795603827',
  'source 1747699200',
  'source 1750775824',
  'source 1779295757',
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
      name: 'Debian: removed with config files (rc), known but never installed (un), multiarch, triggers pending',
      names: ['nginx', 'libc6-amd64', 'libssl3', 'man-db'],
      stdout: [
        'tool apt',
        'pkg libc6-amd64',
        'dpkg un ||',
        'avail 1',
        'pkg libssl3',
        'dpkg ii |3.0.15-1~deb12u1',
        'dpkg ii |3.0.15-1~deb12u1',
        'pkg man-db',
        'dpkg it |2.11.2-2',
        'pkg nginx',
        'dpkg rc |1.22.1-9',
        'avail 1',
        `now ${NOW}`,
        `lists 3 ${NOW - 3 * 86400}`,
        `stamp ${NOW - 3600}`,
        `source ${NOW - 90 * 86400}`,
        '',
      ].join('\n'),
      expected: {
        tool: 'apt',
        packages: {
          'libc6-amd64': { installed: false, versions: [], providers: [], dpkgStatus: 'un ', available: true },
          libssl3: { installed: true, versions: ['3.0.15-1~deb12u1'], providers: [], dpkgStatus: 'ii ' },
          'man-db': { installed: true, versions: ['2.11.2-2'], providers: [], dpkgStatus: 'it ' },
          nginx: { installed: false, versions: [], providers: [], dpkgStatus: 'rc ', available: true },
        },
        // The update-success stamp is newer than the lists directory.
        aptListsAgeSeconds: 3600,
        aptSourcesNewer: false,
      },
    },
    {
      name: 'Debian container image: lists emptied (no *_Packages files), new apt source',
      names: ['curl'],
      stdout: ['tool apt', 'pkg curl', 'avail 0', `now ${NOW}`, `lists 0 ${NOW - 100}`, `source ${NOW - 10}`, ''].join('\n'),
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
      stdout: ['tool apt', 'pkg docker-ce', 'avail 0', `now ${NOW}`, `lists 5 ${NOW - 600}`, `source ${NOW - 60}`, ''].join('\n'),
      expected: {
        tool: 'apt',
        packages: { 'docker-ce': { installed: false, versions: [], providers: [], available: false } },
        aptListsAgeSeconds: 600,
        aptSourcesNewer: true,
      },
    },
    {
      // rpm -q --whatprovides --qf 'rpm %{NAME}|%{VERSION}-%{RELEASE}\n': one line per providing package;
      // "no package provides NAME" for none (an untagged line the parser ignores).
      name: 'Amazon Linux 2023: provided by another package, several kernels, missing',
      names: ['curl', 'jq', 'kernel'],
      stdout: [
        'tool dnf',
        'pkg curl',
        'rpm curl-minimal|8.5.0-1.amzn2023.0.4',
        'pkg jq',
        'no package provides jq',
        'pkg kernel',
        'rpm kernel|6.1.112-122.189.amzn2023',
        'rpm kernel|6.1.115-126.197.amzn2023',
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
      stdout: 'tool yum\npkg git\nrpm git|2.40.1-1.amzn2.0.3\n',
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
    ['no tool line', 'pkg curl\n', 0, 'no tool line in probe output'],
    ['unknown tool', 'tool pacman\n', 0, 'unknown package tool (1 line, 6 bytes); expected apt, dnf, yum or none'],
    ['a requested package missing from the output', 'tool dnf\n', 0, 'no result for package curl'],
    ['apt without a clock reading', 'tool apt\npkg curl\ndpkg ii |1\n', 0, 'no clock reading in probe output'],
    ['garbage number', 'tool apt\npkg curl\ndpkg ii |1\nnow soon\n', 0, 'expected a number, got other output (1 line, 4 bytes)'],
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

import { describe, expect, test } from 'vitest';
import { FactParseError } from '../../src/facts/fact.js';
import { osFact, parseOsInfo, parseOsReleaseLine, type OsInfo } from '../../src/facts/os.js';
import { probeOne } from './local-shell.js';

// Captured from this Debian 12 machine by running osFact.script.
const DEBIAN_12 = [
  'uid 0',
  'arch x86_64',
  'systemd 0',
  'tool apt-get',
  'tool dpkg-query',
  'osr PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"',
  'osr NAME="Debian GNU/Linux"',
  'osr VERSION_ID="12"',
  'osr VERSION="12 (bookworm)"',
  'osr VERSION_CODENAME=bookworm',
  'osr ID=debian',
  'osr HOME_URL="https://www.debian.org/"',
  '',
].join('\n');

// Amazon Linux 2023 os-release (as shipped by system-release-2023) on a systemd host with dnf (yum is dnf-3).
const AMAZON_LINUX_2023 = [
  'uid 0',
  'arch aarch64',
  'systemd 1',
  'tool dnf',
  'tool yum',
  'osr NAME="Amazon Linux"',
  'osr VERSION="2023"',
  'osr ID="amzn"',
  'osr ID_LIKE="fedora"',
  'osr VERSION_ID="2023"',
  'osr PLATFORM_ID="platform:al2023"',
  'osr PRETTY_NAME="Amazon Linux 2023.6.20241010"',
  'osr ANSI_COLOR="0;33"',
  'osr CPE_NAME="cpe:2.3:o:amazon:amazon_linux:2023"',
  'osr SUPPORT_END="2028-03-15"',
  '',
].join('\n');

// Amazon Linux 2: yum only, which halyard does not drive.
const AMAZON_LINUX_2 = [
  'uid 1000',
  'arch x86_64',
  'systemd 1',
  'tool yum',
  'osr NAME="Amazon Linux"',
  'osr VERSION="2"',
  'osr ID="amzn"',
  'osr ID_LIKE="centos rhel fedora"',
  'osr VERSION_ID="2"',
  'osr PRETTY_NAME="Amazon Linux 2"',
  '',
].join('\n');

// Ubuntu 24.04 in a container: apt, no systemd as PID 1.
const UBUNTU_2404_CONTAINER = [
  'uid 0',
  'arch x86_64',
  'systemd 0',
  'tool apt-get',
  'tool dpkg-query',
  'osr PRETTY_NAME="Ubuntu 24.04.1 LTS"',
  'osr NAME="Ubuntu"',
  'osr VERSION_ID="24.04"',
  'osr ID=ubuntu',
  'osr ID_LIKE=debian',
  '',
].join('\n');

describe('parseOsInfo', () => {
  const rows: { name: string; stdout: string; expected: OsInfo }[] = [
    {
      name: 'Debian 12 (captured)',
      stdout: DEBIAN_12,
      expected: { id: 'debian', idLike: [], versionId: '12', prettyName: 'Debian GNU/Linux 12 (bookworm)', packageManager: 'apt', managersFound: ['apt-get'], systemd: false, uid: 0, arch: 'x86_64' },
    },
    {
      name: 'Amazon Linux 2023',
      stdout: AMAZON_LINUX_2023,
      expected: { id: 'amzn', idLike: ['fedora'], versionId: '2023', prettyName: 'Amazon Linux 2023.6.20241010', packageManager: 'dnf', managersFound: ['dnf', 'yum'], systemd: true, uid: 0, arch: 'aarch64' },
    },
    {
      name: 'Amazon Linux 2 (yum only is unknown)',
      stdout: AMAZON_LINUX_2,
      expected: { id: 'amzn', idLike: ['centos', 'rhel', 'fedora'], versionId: '2', prettyName: 'Amazon Linux 2', packageManager: 'unknown', managersFound: ['yum'], systemd: true, uid: 1000, arch: 'x86_64' },
    },
    {
      name: 'Ubuntu 24.04 container',
      stdout: UBUNTU_2404_CONTAINER,
      expected: { id: 'ubuntu', idLike: ['debian'], versionId: '24.04', prettyName: 'Ubuntu 24.04.1 LTS', packageManager: 'apt', managersFound: ['apt-get'], systemd: false, uid: 0, arch: 'x86_64' },
    },
    {
      name: 'no os-release, no package tool',
      stdout: 'uid 0\narch x86_64\nsystemd 0\n',
      expected: { id: '', idLike: [], versionId: '', prettyName: '', packageManager: 'unknown', managersFound: [], systemd: false, uid: 0, arch: 'x86_64' },
    },
    {
      name: 'apt-get without dpkg-query is not apt',
      stdout: 'uid 0\narch x86_64\nsystemd 0\ntool apt-get\n',
      expected: { id: '', idLike: [], versionId: '', prettyName: '', packageManager: 'unknown', managersFound: ['apt-get'], systemd: false, uid: 0, arch: 'x86_64' },
    },
  ];
  test.each(rows)('$name', ({ stdout, expected }) => {
    expect(parseOsInfo(stdout, 0)).toEqual(expected);
  });

  test.each([
    ['failed probe', 'uid 0\n', 2, 'cannot read fact os: probe failed with exit code 2'],
    ['no uid', 'systemd 1\n', 0, 'cannot read fact os: no uid in probe output'],
    ['no systemd line', 'uid 0\n', 0, 'cannot read fact os: no systemd line in probe output'],
  ])('%s is a FactParseError', (_name, stdout, exitCode, message) => {
    expect(() => parseOsInfo(stdout, exitCode)).toThrow(FactParseError);
    expect(() => parseOsInfo(stdout, exitCode)).toThrow(message);
  });
});

describe('parseOsReleaseLine (read as data, never run)', () => {
  test.each([
    ['ID=debian', ['ID', 'debian']],
    ['ID="amzn"', ['ID', 'amzn']],
    ["NAME='Single quoted'", ['NAME', 'Single quoted']],
    ['PRETTY_NAME="A \\"quoted\\" \\$name \\\\ `x`"', ['PRETTY_NAME', 'A "quoted" $name \\ `x`']],
    ['VERSION=12\\ bookworm', ['VERSION', '12 bookworm']],
    ['EMPTY=', ['EMPTY', '']],
    ['URL=http://x/#anchor', ['URL', 'http://x/#anchor']],
    ['X="$(touch /tmp/pwned)"', ['X', '$(touch /tmp/pwned)']],
    ['  ID=padded  ', ['ID', 'padded']],
  ])('%s', (line, expected) => {
    expect(parseOsReleaseLine(line)).toEqual(expected);
  });
  test.each(['# comment', '', 'not an assignment', '1X=y'])('%j is skipped', (line) => {
    expect(parseOsReleaseLine(line)).toBeUndefined();
  });
});

test('osFact probed locally on this Debian machine', async () => {
  const info = await probeOne(osFact);
  expect(info.id).toBe('debian');
  expect(info.packageManager).toBe('apt');
  expect(info.uid).toBe(process.getuid?.());
  expect(info.systemd).toBe(false);
  expect(info.arch).toMatch(/^(x86_64|aarch64)$/);
});

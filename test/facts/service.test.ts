import { describe, expect, test } from 'vitest';
import { FactParseError } from '../../src/facts/fact.js';
import { parseServiceInfo, serviceFact, unitName, type ServiceInfo } from '../../src/facts/service.js';
import { probeOne } from './local-shell.js';

// `systemctl show -p ...` prints Key=value lines in the unit's property order, not the -p order
// (systemd 252 on Debian 12, systemd 252 on Amazon Linux 2023); empty values still print as "Key=".
describe('parseServiceInfo', () => {
  const rows: { name: string; stdout: string; expected: ServiceInfo }[] = [
    {
      name: 'running and enabled',
      stdout: 'systemd yes\nCanReload=yes\nNeedDaemonReload=no\nLoadState=loaded\nActiveState=active\nSubState=running\nUnitFileState=enabled\n',
      expected: { systemd: true, unit: 'nginx.service', loadState: 'loaded', activeState: 'active', subState: 'running', unitFileState: 'enabled', needDaemonReload: false, canReload: true },
    },
    {
      name: 'stopped, disabled, changed on disk',
      stdout: 'systemd yes\nLoadState=loaded\nActiveState=inactive\nSubState=dead\nUnitFileState=disabled\nNeedDaemonReload=yes\nCanReload=no\n',
      expected: { systemd: true, unit: 'nginx.service', loadState: 'loaded', activeState: 'inactive', subState: 'dead', unitFileState: 'disabled', needDaemonReload: true, canReload: false },
    },
    {
      name: 'not found',
      stdout: 'systemd yes\nLoadState=not-found\nActiveState=inactive\nSubState=dead\nUnitFileState=\nNeedDaemonReload=no\nCanReload=no\n',
      expected: { systemd: true, unit: 'nginx.service', loadState: 'not-found', activeState: 'inactive', subState: 'dead', unitFileState: '', needDaemonReload: false, canReload: false },
    },
    {
      name: 'masked',
      stdout: 'systemd yes\nLoadState=masked\nActiveState=inactive\nSubState=dead\nUnitFileState=masked\nNeedDaemonReload=no\nCanReload=no\n',
      expected: { systemd: true, unit: 'nginx.service', loadState: 'masked', activeState: 'inactive', subState: 'dead', unitFileState: 'masked', needDaemonReload: false, canReload: false },
    },
    {
      name: 'crash loop, older systemd without some properties',
      stdout: 'systemd yes\nLoadState=loaded\nActiveState=activating\nSubState=auto-restart\n',
      expected: { systemd: true, unit: 'nginx.service', loadState: 'loaded', activeState: 'activating', subState: 'auto-restart', unitFileState: '', needDaemonReload: false, canReload: false },
    },
    { name: 'no systemctl', stdout: 'systemd no-systemctl\n', expected: { systemd: false, reason: 'no-systemctl' } },
    { name: 'container without systemd as PID 1 (captured)', stdout: 'systemd not-booted-with-systemd\n', expected: { systemd: false, reason: 'not-booted-with-systemd' } },
  ];
  test.each(rows)('$name', ({ stdout, expected }) => {
    expect(parseServiceInfo('service:nginx.service', 'nginx.service', stdout, 0)).toEqual(expected);
  });

  test.each([
    ['systemctl show failed', 'systemd yes\n', 1, 'systemctl show failed with exit code 1'],
    ['no LoadState', 'systemd yes\nActiveState=active\n', 0, 'systemctl show printed no LoadState/ActiveState'],
    ['garbage', 'Failed to connect to bus\n', 1, 'unexpected output (1 line, 25 bytes)'],
  ])('%s is a FactParseError', (_name, stdout, exitCode, message) => {
    expect(() => parseServiceInfo('service:x.service', 'x.service', stdout, exitCode)).toThrow(FactParseError);
    expect(() => parseServiceInfo('service:x.service', 'x.service', stdout, exitCode)).toThrow(message);
  });
});

describe('serviceFact', () => {
  test.each([
    ['nginx', 'nginx.service'],
    ['nginx.service', 'nginx.service'],
    ['docker.socket', 'docker.socket'],
    ['getty@tty1', 'getty@tty1.service'],
    ['apt-daily.timer', 'apt-daily.timer'],
  ])('unitName(%s) = %s', (name, unit) => {
    expect(unitName(name)).toBe(unit);
  });

  test('script is exact', () => {
    expect(serviceFact('nginx').key).toBe('service:nginx.service');
    expect(serviceFact('nginx').script).toBe(
      [
        `if ! command -v systemctl >/dev/null 2>&1; then echo 'systemd no-systemctl'; exit 0; fi`,
        `if [ ! -d /run/systemd/system ]; then echo 'systemd not-booted-with-systemd'; exit 0; fi`,
        `echo 'systemd yes'`,
        'systemctl show --no-pager -p LoadState -p ActiveState -p SubState -p UnitFileState -p NeedDaemonReload -p CanReload -- nginx.service',
      ].join('\n'),
    );
  });

  test('probed locally (no systemd as PID 1 here) reports systemd:false cleanly', async () => {
    expect(await probeOne(serviceFact('ssh'))).toEqual({ systemd: false, reason: 'not-booted-with-systemd' });
  });
});

import { describe, expect, test } from 'vitest';
import type { ServiceInfo } from '../../src/facts/service.js';
import { serviceResource, type ServiceDesired } from '../../src/resources/service.js';
import { outcomeOf, planOf, type PlanRow } from './plan-table.js';

const unit = (extra: Partial<Extract<ServiceInfo, { systemd: true }>> = {}): { service: ServiceInfo } => ({
  service: {
    systemd: true, unit: 'nginx.service', loadState: 'loaded', activeState: 'active', subState: 'running', unitFileState: 'enabled',
    needDaemonReload: false, canReload: true, ...extra,
  },
});
const stopped = (extra: Partial<Extract<ServiceInfo, { systemd: true }>> = {}) =>
  unit({ activeState: 'inactive', subState: 'dead', unitFileState: 'disabled', ...extra });
const notFound = unit({ loadState: 'not-found', activeState: 'inactive', subState: 'dead', unitFileState: '', canReload: false });

const rows: PlanRow<ServiceDesired>[] = [
  { name: 'noop: enabled and running', desired: { name: 'nginx', enabled: true, state: 'started' }, facts: unit(), expected: { noop: 'nginx.service is enabled and active (running)' } },
  { name: 'noop: only enabled asked', desired: { name: 'nginx.service', enabled: true }, facts: unit(), expected: { noop: 'nginx.service is enabled' } },
  { name: 'noop: nothing asked', desired: { name: 'nginx' }, facts: unit(), expected: { noop: 'nginx.service is loaded' } },
  {
    name: 'enable and start',
    desired: { name: 'nginx', enabled: true, state: 'started' },
    facts: stopped(),
    expected: { scripts: ['systemctl enable -- nginx.service', 'systemctl start -- nginx.service'] },
  },
  { name: 'start only (enabled unasked)', desired: { name: 'nginx', state: 'started' }, facts: stopped(), expected: { scripts: ['systemctl start -- nginx.service'] } },
  { name: 'start a failed unit', desired: { name: 'nginx', state: 'started' }, facts: unit({ activeState: 'failed', subState: 'failed' }), expected: { scripts: ['systemctl start -- nginx.service'] } },
  { name: 'noop: activating counts as started', desired: { name: 'nginx', state: 'started' }, facts: unit({ activeState: 'activating', subState: 'start' }), expected: { noop: 'nginx.service is activating (start)' } },
  {
    name: 'stop and disable',
    desired: { name: 'nginx', enabled: false, state: 'stopped' },
    facts: unit(),
    expected: { scripts: ['systemctl disable -- nginx.service', 'systemctl stop -- nginx.service'] },
  },
  { name: 'noop: stopped and disabled', desired: { name: 'nginx', enabled: false, state: 'stopped' }, facts: stopped(), expected: { noop: 'nginx.service is disabled and inactive (dead)' } },
  { name: 'noop: failed counts as stopped', desired: { name: 'nginx', state: 'stopped' }, facts: unit({ activeState: 'failed', subState: 'failed' }), expected: { noop: 'nginx.service is failed (failed)' } },
  { name: 'noop: a static unit cannot be enabled further', desired: { name: 'systemd-journald', enabled: true }, facts: unit({ unit: 'systemd-journald.service', unitFileState: 'static' }), expected: { noop: 'systemd-journald.service is static' } },
  { name: 'noop: an enabled-runtime unit', desired: { name: 'nginx', enabled: true }, facts: unit({ unitFileState: 'enabled-runtime' }), expected: { noop: 'nginx.service is enabled-runtime' } },
  { name: 'enable a linked unit', desired: { name: 'nginx', enabled: true }, facts: unit({ unitFileState: 'linked' }), expected: { scripts: ['systemctl enable -- nginx.service'] } },
  { name: 'restarted always acts', desired: { name: 'nginx', state: 'restarted' }, facts: unit(), expected: { scripts: ['systemctl restart -- nginx.service'] } },
  { name: 'restarted starts a stopped unit', desired: { name: 'nginx', state: 'restarted' }, facts: stopped(), expected: { scripts: ['systemctl restart -- nginx.service'] } },
  { name: 'reloaded always acts', desired: { name: 'nginx', state: 'reloaded' }, facts: unit(), expected: { scripts: ['systemctl reload -- nginx.service'] } },
  { name: 'reloaded on a stopped unit starts it', desired: { name: 'nginx', state: 'reloaded' }, facts: stopped(), expected: { scripts: ['systemctl start -- nginx.service'] } },
  { name: 'reloaded without ExecReload', desired: { name: 'app', state: 'reloaded' }, facts: unit({ unit: 'app.service', canReload: false }), expected: { error: "unit app.service cannot reload (no ExecReload=); use state 'restarted'" } },
  {
    name: 'unit file changed on disk: daemon-reload before restarting',
    desired: { name: 'nginx', state: 'restarted' },
    facts: unit({ needDaemonReload: true }),
    expected: { scripts: ['systemctl daemon-reload', 'systemctl restart -- nginx.service'] },
  },
  { name: 'unit file changed, nothing else to do, daemonReload unset', desired: { name: 'nginx', state: 'started' }, facts: unit({ needDaemonReload: true }), expected: { noop: 'nginx.service is active (running)' } },
  { name: 'unit file changed, daemonReload true', desired: { name: 'nginx', state: 'started', daemonReload: true }, facts: unit({ needDaemonReload: true }), expected: { scripts: ['systemctl daemon-reload'] } },
  { name: 'daemonReload true but nothing changed on disk', desired: { name: 'nginx', state: 'started', daemonReload: true }, facts: unit(), expected: { noop: 'nginx.service is active (running)' } },
  { name: 'daemonReload false never reloads', desired: { name: 'nginx', state: 'restarted', daemonReload: false }, facts: unit({ needDaemonReload: true }), expected: { scripts: ['systemctl restart -- nginx.service'] } },
  { name: 'template instance', desired: { name: 'getty@tty1', state: 'started' }, facts: stopped({ unit: 'getty@tty1.service' }), expected: { scripts: ['systemctl start -- getty@tty1.service'] } },
  { name: 'escaped unit name is quoted', desired: { name: 'mnt-my\\x2ddisk.mount', state: 'started' }, facts: stopped(), expected: { scripts: [`systemctl start -- 'mnt-my\\x2ddisk.mount'`] } },
  { name: 'missing unit', desired: { name: 'nginx', enabled: true, state: 'started' }, facts: notFound, expected: { error: 'unit nginx.service not found' } },
  { name: 'missing unit, restart asked', desired: { name: 'nginx', state: 'restarted' }, facts: notFound, expected: { error: 'unit nginx.service not found' } },
  { name: 'missing unit, only stop/disable asked', desired: { name: 'nginx', enabled: false, state: 'stopped' }, facts: notFound, expected: { noop: 'unit nginx.service not found (nothing to stop or disable)' } },
  { name: 'masked unit, start asked', desired: { name: 'nginx', state: 'started' }, facts: unit({ loadState: 'masked', activeState: 'inactive', unitFileState: 'masked' }), expected: { error: 'unit nginx.service is masked; unmask it first' } },
  { name: 'masked unit, stop asked', desired: { name: 'nginx', state: 'stopped', enabled: false }, facts: unit({ loadState: 'masked', activeState: 'inactive', subState: 'dead', unitFileState: 'masked' }), expected: { noop: 'nginx.service is masked and inactive (dead)' } },
  { name: 'unit with a bad setting', desired: { name: 'nginx', state: 'started' }, facts: unit({ loadState: 'bad-setting' }), expected: { error: 'unit nginx.service failed to load (LoadState=bad-setting); check `systemctl status nginx.service`' } },
  { name: 'no systemd as PID 1', desired: { name: 'nginx', state: 'started' }, facts: { service: { systemd: false, reason: 'not-booted-with-systemd' } }, expected: { error: 'cannot manage nginx.service: systemd is not the init system (PID 1) on this host' } },
  { name: 'no systemctl', desired: { name: 'nginx', state: 'started' }, facts: { service: { systemd: false, reason: 'no-systemctl' } }, expected: { error: 'cannot manage nginx.service: systemctl is not installed on this host' } },
  { name: 'name that is an option', desired: { name: '--all' }, facts: unit(), expected: { error: 'invalid unit name "--all"' } },
  { name: 'name with a shell word', desired: { name: 'nginx;reboot' }, facts: unit(), expected: { error: 'invalid unit name "nginx;reboot"' } },
  { name: 'bad state', desired: { name: 'nginx', state: 'running' as 'started' }, facts: unit(), expected: { error: 'service nginx: invalid state "running"' } },
  { name: 'enabled not a boolean', desired: { name: 'nginx', enabled: 'yes' as unknown as boolean }, facts: unit(), expected: { error: 'service nginx: enabled must be true or false' } },
];

describe('serviceResource.plan', () => {
  test.each(rows)('$name', ({ desired, facts, expected }) => {
    expect(outcomeOf(serviceResource, desired, facts)).toEqual(expected);
  });

  test('changes and labels', () => {
    expect(planOf(serviceResource, { name: 'nginx', enabled: true, state: 'started' }, stopped({ needDaemonReload: true }))).toMatchObject({
      action: 'change',
      changes: ['daemon-reload (nginx.service changed on disk)', 'enable nginx.service (disabled -> enabled)', 'start nginx.service (inactive -> active)'],
      steps: [{ label: 'systemctl daemon-reload' }, { label: 'enable nginx.service' }, { label: 'start nginx.service' }],
    });
  });

  test('facts, invalidation and description', () => {
    expect(Object.values(serviceResource.facts({ name: 'nginx' }, { diff: false })).map((fact) => fact.key)).toEqual(['service:nginx.service']);
    expect(serviceResource.invalidates({ name: 'nginx' })).toEqual(['service:*', 'path:*', 'exists:*', 'status:*']);
    expect(serviceResource.describe({ name: 'nginx' })).toBe('service nginx.service');
  });
});

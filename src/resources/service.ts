import { sh } from '../core/shell.js';
import { GUARD_FACTS } from '../facts/command.js';
import { serviceFact, unitName, type ServiceInfo } from '../facts/service.js';
import { PlanError, type Plan, type ResourceType, type Step } from './types.js';

// A systemd unit's enablement and run state; 'restarted' and 'reloaded' always act (for handlers).
export interface ServiceDesired {
  /** Unit name; ".service" is added when no unit suffix is given. */
  name: string;
  enabled?: boolean;
  state?: 'started' | 'stopped' | 'restarted' | 'reloaded';
  /**
   * systemctl daemon-reload when the unit file changed on disk (NeedDaemonReload=yes): true also when nothing
   * else changes, unset only before another step of this resource, false never.
   */
  daemonReload?: boolean;
}

// Unit names systemd accepts (templates "getty@tty1.service", escapes "\x2d"), never an option.
const UNIT_NAME = /^[A-Za-z0-9:_.\\@-]{1,255}$/;

/** UnitFileStates that already mean "enabled", or that `systemctl enable` cannot change. */
const ENABLED_OK = new Set(['enabled', 'enabled-runtime', 'alias', 'static', 'indirect', 'generated', 'transient']);
/** UnitFileStates that already mean "disabled", or that `systemctl disable` cannot change. */
const DISABLED_OK = new Set(['disabled', 'static', 'indirect', 'generated', 'transient', 'masked', 'masked-runtime', 'bad', '']);
const RUNNING = new Set(['active', 'activating', 'reloading']);
const STOPPED = new Set(['inactive', 'failed']);

// The service resource kind (systemd only).
export const serviceResource: ResourceType<ServiceDesired> = {
  kind: 'service',
  describe: (desired) => `service ${unitName(desired.name)}`,
  facts: (desired) => {
    checkServiceDesired(desired);
    return { service: serviceFact(desired.name) };
  },
  // Starting a unit starts its dependencies and may create files (sockets, pid files) that guards test.
  invalidates: () => ['service:*', 'path:*', 'exists:*', GUARD_FACTS],
  plan(desired, facts): Plan {
    checkServiceDesired(desired);
    const unit = unitName(desired.name);
    const info = facts.service as ServiceInfo;
    if (!info.systemd) {
      const why = info.reason === 'no-systemctl' ? 'systemctl is not installed' : 'systemd is not the init system (PID 1)';
      throw new PlanError(`cannot manage ${unit}: ${why} on this host`);
    }
    const onlyStops = desired.enabled !== true && (desired.state === undefined || desired.state === 'stopped');
    if (info.loadState === 'not-found') {
      if (onlyStops) return { action: 'noop', reason: `unit ${unit} not found (nothing to stop or disable)` };
      throw new PlanError(`unit ${unit} not found`);
    }
    if (info.loadState === 'masked' && !onlyStops) throw new PlanError(`unit ${unit} is masked; unmask it first`);
    if (info.loadState !== 'loaded' && info.loadState !== 'masked') {
      throw new PlanError(`unit ${unit} failed to load (LoadState=${info.loadState}); check \`systemctl status ${unit}\``);
    }

    const steps: Step[] = [];
    const changes: string[] = [];
    if (desired.enabled === true && !ENABLED_OK.has(info.unitFileState)) {
      steps.push({ label: `enable ${unit}`, script: sh`systemctl enable -- ${unit}`.text });
      changes.push(`enable ${unit} (${info.unitFileState || 'no unit file state'} -> enabled)`);
    } else if (desired.enabled === false && !DISABLED_OK.has(info.unitFileState)) {
      steps.push({ label: `disable ${unit}`, script: sh`systemctl disable -- ${unit}`.text });
      changes.push(`disable ${unit} (${info.unitFileState} -> disabled)`);
    }
    switch (desired.state) {
      case 'started':
        if (!RUNNING.has(info.activeState)) {
          steps.push({ label: `start ${unit}`, script: sh`systemctl start -- ${unit}`.text });
          changes.push(`start ${unit} (${info.activeState} -> active)`);
        }
        break;
      case 'stopped':
        if (!STOPPED.has(info.activeState)) {
          steps.push({ label: `stop ${unit}`, script: sh`systemctl stop -- ${unit}`.text });
          changes.push(`stop ${unit} (${info.activeState} -> inactive)`);
        }
        break;
      case 'restarted':
        steps.push({ label: `restart ${unit}`, script: sh`systemctl restart -- ${unit}`.text });
        changes.push(`restart ${unit}`);
        break;
      case 'reloaded':
        if (STOPPED.has(info.activeState)) {
          // Reloading a stopped unit means starting it (as Ansible does); systemctl reload would fail.
          steps.push({ label: `start ${unit}`, script: sh`systemctl start -- ${unit}`.text });
          changes.push(`start ${unit} (${info.activeState}; reload requested)`);
        } else if (info.canReload) {
          steps.push({ label: `reload ${unit}`, script: sh`systemctl reload -- ${unit}`.text });
          changes.push(`reload ${unit}`);
        } else {
          throw new PlanError(`unit ${unit} cannot reload (no ExecReload=); use state 'restarted'`);
        }
        break;
      case undefined:
        break;
    }
    const reload = info.needDaemonReload && desired.daemonReload !== false && (desired.daemonReload === true || steps.length > 0);
    if (reload) {
      steps.unshift({ label: 'systemctl daemon-reload', script: sh`systemctl daemon-reload`.text });
      changes.unshift(`daemon-reload (${unit} changed on disk)`);
    }
    if (steps.length === 0) {
      const parts: string[] = [];
      if (desired.enabled !== undefined) parts.push(info.unitFileState || 'no unit file');
      if (desired.state !== undefined) parts.push(`${info.activeState}${info.subState ? ` (${info.subState})` : ''}`);
      return { action: 'noop', reason: `${unit} is ${parts.length > 0 ? parts.join(' and ') : 'loaded'}` };
    }
    return { action: 'change', changes, steps };
  },
};

function checkServiceDesired(desired: ServiceDesired): void {
  if (typeof desired.name !== 'string' || !UNIT_NAME.test(desired.name) || desired.name.startsWith('-')) {
    throw new PlanError(`invalid unit name ${JSON.stringify(desired.name)}`);
  }
  if (desired.enabled !== undefined && typeof desired.enabled !== 'boolean') {
    throw new PlanError(`service ${desired.name}: enabled must be true or false`);
  }
  if (desired.state !== undefined && !['started', 'stopped', 'restarted', 'reloaded'].includes(desired.state)) {
    throw new PlanError(`service ${desired.name}: invalid state ${JSON.stringify(desired.state)}`);
  }
}

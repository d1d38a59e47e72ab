import { sh } from '../core/shell.js';
import { FactParseError, defineFact, describeOutput, type Fact } from './fact.js';

// A systemd unit's state, or why systemd cannot be asked (systemd=false).
export type ServiceInfo =
  | { systemd: false; reason: 'no-systemctl' | 'not-booted-with-systemd' }
  | {
      systemd: true;
      unit: string;
      /** loaded, not-found, masked, bad-setting, error. */
      loadState: string;
      /** active, inactive, failed, activating, deactivating, reloading. */
      activeState: string;
      /** running, exited, dead, auto-restart, ... */
      subState: string;
      /** enabled, disabled, static, masked, indirect, generated, alias, ... ('' for a unit without a file). */
      unitFileState: string;
      /** The unit file changed on disk since systemd loaded it. */
      needDaemonReload: boolean;
      /** The unit has ExecReload= (systemctl reload works). */
      canReload: boolean;
    };

const PROPERTIES = ['LoadState', 'ActiveState', 'SubState', 'UnitFileState', 'NeedDaemonReload', 'CanReload'] as const;

// "nginx" -> "nginx.service"; names that already carry a unit suffix are kept.
export function unitName(name: string): string {
  return /\.(service|socket|timer|target|path|mount|automount|swap|slice|scope|device)$/.test(name) ? name : `${name}.service`;
}

// The fact for one systemd unit; reports systemd:false when systemctl is missing or systemd is not PID 1.
export function serviceFact(name: string): Fact<ServiceInfo> {
  const unit = unitName(name);
  const key = `service:${unit}`;
  const script = sh.lines([
    sh`if ! command -v systemctl >/dev/null 2>&1; then echo 'systemd no-systemctl'; exit 0; fi`,
    sh`if [ ! -d /run/systemd/system ]; then echo 'systemd not-booted-with-systemd'; exit 0; fi`,
    sh`echo 'systemd yes'`,
    sh`systemctl show --no-pager ${PROPERTIES.flatMap((property) => ['-p', property])} -- ${unit}`,
  ]).text;
  return defineFact(key, script, (stdout, exitCode) => parseServiceInfo(key, unit, stdout, exitCode));
}

// Pure parser for serviceFact output (`systemctl show` prints Key=value lines in its own order).
export function parseServiceInfo(key: string, unit: string, stdout: string, exitCode: number): ServiceInfo {
  const lines = stdout.split('\n').filter((line) => line !== '');
  const first = lines[0];
  if (first === 'systemd no-systemctl') return { systemd: false, reason: 'no-systemctl' };
  if (first === 'systemd not-booted-with-systemd') return { systemd: false, reason: 'not-booted-with-systemd' };
  if (first !== 'systemd yes') throw new FactParseError(key, `unexpected output (${describeOutput(stdout)})`);
  if (exitCode !== 0) throw new FactParseError(key, `systemctl show failed with exit code ${exitCode}`);
  const values = new Map<string, string>();
  for (const line of lines.slice(1)) {
    const equals = line.indexOf('=');
    if (equals > 0) values.set(line.slice(0, equals), line.slice(equals + 1));
  }
  const loadState = values.get('LoadState');
  const activeState = values.get('ActiveState');
  if (loadState === undefined || activeState === undefined) throw new FactParseError(key, 'systemctl show printed no LoadState/ActiveState');
  return {
    systemd: true,
    unit,
    loadState,
    activeState,
    subState: values.get('SubState') ?? '',
    unitFileState: values.get('UnitFileState') ?? '',
    needDaemonReload: values.get('NeedDaemonReload') === 'yes',
    canReload: values.get('CanReload') === 'yes',
  };
}

/** Directories systemd loads system units and drop-ins from (writing there changes what `systemctl show` says). */
const UNIT_DIRS = ['/etc/systemd/', '/run/systemd/', '/lib/systemd/', '/usr/lib/systemd/', '/usr/local/lib/systemd/'];

// Invalidation patterns for a path write or removal: every service fact when the path is (or holds) a unit file or drop-in.
export function serviceFactsStaleAfter(path: string): string[] {
  const touchesUnits = UNIT_DIRS.some((dir) => path.startsWith(dir) || dir.startsWith(`${path}/`));
  return touchesUnits ? ['service:*'] : [];
}

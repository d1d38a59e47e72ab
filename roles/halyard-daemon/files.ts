import { readFileSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import { isSecret, Secret, SecretText, sh, toYaml } from 'halyard';
import { checkReferencedFiles, daemonConfigSchema, looksLikeSecretName, parseDaemonConfig } from 'halyard/daemon';
import type { HalyardDaemonVars } from './vars.js';

// What the role writes on the host, as pure text from its vars: the unit, the admin wrapper, the
// environment file, the daemon file; and the plan-time checks of what the jobs will read.

// Where things go on the host, from the vars and the release: one place for tasks, unit and wrapper.
export interface HalyardDaemonLayout {
  /** The node binary the service runs. */
  node: string;
  /** The CLI entry point through the `current` link, e.g. /opt/halyard/current/bin/halyard.js. */
  entry: string;
  /** The daemon's environment file (systemd EnvironmentFile=, optional). */
  environmentFile: string;
}

// The layout for some vars and a release entry ("bin/halyard.js" in the release tree).
export function halyardDaemonLayout(v: Pick<HalyardDaemonVars, 'halyard_daemon_node' | 'halyard_daemon_node_path' | 'halyard_daemon_install_dir' | 'halyard_daemon_config_dir'>, releaseEntry: string): HalyardDaemonLayout {
  return {
    node: v.halyard_daemon_node === 'controller' ? `${v.halyard_daemon_install_dir}/bin/node` : v.halyard_daemon_node_path,
    entry: `${v.halyard_daemon_install_dir}/current/${releaseEntry}`,
    environmentFile: `${v.halyard_daemon_config_dir}/daemon.env`,
  };
}

/**
 * The systemd unit: sandboxed, writable only in the state dir, restarted on failure. It runs in the
 * shipped project (else the config dir), so the jobs read ansible.cfg and halyard.yml as `halyard`
 * run in the project reads them, not from `/`.
 */
export function halyardDaemonUnit(v: Pick<HalyardDaemonVars, 'halyard_daemon_user' | 'halyard_daemon_config_dir' | 'halyard_daemon_state_dir' | 'halyard_daemon_stop_seconds' | 'halyard_daemon_project_dir'>, layout: HalyardDaemonLayout): string {
  return `[Unit]
Description=halyard daemon: scheduled probes, drift checks and backups
Wants=network-online.target
After=network-online.target

[Service]
# notify: the daemon says it is ready once its file, lease store and port are good, so a start or
# restart (and the apply that asked for it) fails when the daemon cannot run.
Type=notify
NotifyAccess=all
User=${v.halyard_daemon_user}
Group=${v.halyard_daemon_user}
ExecStart=${layout.node} ${layout.entry} daemon -c ${v.halyard_daemon_config_dir}/daemon.yml
WorkingDirectory=${v.halyard_daemon_project_dir ? `${v.halyard_daemon_config_dir}/project` : v.halyard_daemon_config_dir}
EnvironmentFile=-${layout.environmentFile}
Environment=HOME=${v.halyard_daemon_state_dir}
Environment=NODE_ENV=production
Restart=on-failure
RestartSec=10
# 65: a config the daemon refuses (an unsafe lease store, a bad file): restarting cannot fix it.
RestartPreventExitStatus=65
KillSignal=SIGTERM
KillMode=mixed
TimeoutStopSec=${v.halyard_daemon_stop_seconds}
NoNewPrivileges=yes
ProtectSystem=strict
ProtectHome=yes
PrivateTmp=yes
PrivateDevices=yes
ProtectKernelTunables=yes
ProtectControlGroups=yes
ReadWritePaths=${v.halyard_daemon_state_dir}

[Install]
WantedBy=multi-user.target
`;
}

// The `halyard` command for admins on the host: the service's node and release; run by root it
// becomes the service (its user, HOME and environment file), so `sudo halyard daemon -c ... --run
// JOB` reads and writes exactly what the service would.
export function halyardDaemonWrapper(v: Pick<HalyardDaemonVars, 'halyard_daemon_user' | 'halyard_daemon_state_dir'>, layout: HalyardDaemonLayout): string {
  const run = sh`${layout.node} ${layout.entry} "$@"`;
  return sh`#!/bin/sh
# Written by roles/halyard-daemon: the halyard release the daemon runs, as the daemon when run by root.
if [ "$(id -u)" = 0 ]; then
  if [ -r ${layout.environmentFile} ]; then set -a; . ${layout.environmentFile}; set +a; fi
  HOME=${v.halyard_daemon_state_dir} NODE_ENV=production exec runuser -u ${v.halyard_daemon_user} -- ${run}
fi
exec ${run}
`.text;
}

// systemd's EnvironmentFile: KEY="value", with \\ \" \$ \` escaped; a secret stays a Secret (masked in output).
export function halyardDaemonEnvironment(environment: HalyardDaemonVars['halyard_daemon_environment']): SecretText {
  const escape = (text: string) => text.replace(/[\\"$`]/g, (c) => `\\${c}`);
  const parts: (string | Secret)[] = ['# Written by roles/halyard-daemon; read by systemd (EnvironmentFile=).\n'];
  for (const [name, value] of Object.entries(environment)) {
    const text = isSecret(value) ? value.reveal() : value;
    if (/[\n\r\0]/.test(text)) throw new Error(`role halyard-daemon: var halyard_daemon_environment.${name}: a value must be one line`);
    parts.push(`${name}="`, isSecret(value) ? new Secret(escape(text), value.label) : escape(text), '"\n');
  }
  return new SecretText(parts);
}

/**
 * The daemon file as written to the host: the given config with state_dir and http.port from the
 * role's vars, validated with the daemon's own schema (a bad file fails the run, not the service).
 */
export function halyardDaemonConfigText(v: Pick<HalyardDaemonVars, 'halyard_daemon_config' | 'halyard_daemon_state_dir' | 'halyard_daemon_http_port'>): string {
  rejectSecrets(v.halyard_daemon_config, 'halyard_daemon_config');
  const config = {
    ...v.halyard_daemon_config,
    state_dir: v.halyard_daemon_state_dir,
    http: { ...((v.halyard_daemon_config['http'] as Record<string, unknown> | undefined) ?? {}), port: v.halyard_daemon_http_port },
  };
  const parsed = daemonConfigSchema.safeParse(config);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`role halyard-daemon: var halyard_daemon_config${issue?.path.length ? `.${issue.path.join('.')}` : ''}: ${issue?.message ?? 'invalid'}`);
  }
  return `# Written by roles/halyard-daemon; edits are overwritten.\n${toYaml(config)}`;
}

// Secrets never go into the daemon file: AWS comes from the instance role, host secrets from the inventory.
function rejectSecrets(value: unknown, path: string): void {
  if (isSecret(value)) throw new Error(`role halyard-daemon: var ${path}: holds a secret; the daemon file must not (use the instance role and !aws_secret in the inventory)`);
  if (Array.isArray(value)) value.forEach((item, index) => rejectSecrets(item, `${path}[${index}]`));
  else if (value !== null && typeof value === 'object') {
    for (const [key, inner] of Object.entries(value as Record<string, unknown>)) {
      if (looksLikeSecretName(key) || /^aws_(secret_)?access_key/i.test(key)) {
        throw new Error(`role halyard-daemon: var ${path}.${key}: looks like a secret; the daemon file must not hold secrets (use the instance role)`);
      }
      rejectSecrets(inner, `${path}.${key}`);
    }
  }
}

// The files the jobs read that this role ships (halyard_daemon_files, the project), parsed as the
// jobs will parse them: a bad inventory or backup file fails the run naming it, not a night's backup.
export function checkShippedFiles(v: Pick<HalyardDaemonVars, 'halyard_daemon_config_dir' | 'halyard_daemon_files' | 'halyard_daemon_project_dir'>, configText: string): void {
  const dir = v.halyard_daemon_config_dir;
  const config = parseDaemonConfig(configText, `${dir}/daemon.yml`);
  const shipped = (path: string): string | undefined => {
    if (v.halyard_daemon_project_dir && path.startsWith(`${dir}/project/`)) {
      return readFileSync(resolvePath(v.halyard_daemon_project_dir, path.slice(dir.length + '/project/'.length)), 'utf8');
    }
    const content = path.startsWith(`${dir}/`) ? v.halyard_daemon_files[path.slice(dir.length + 1)] : undefined;
    return typeof content === 'string' ? content : undefined;
  };
  const bad = checkReferencedFiles(config, shipped).find((file) => file.problem !== undefined);
  if (bad) throw new Error(`role halyard-daemon: job ${bad.job} reads ${bad.file}, which ${bad.file.startsWith(`${dir}/project/`) ? 'the project' : 'halyard_daemon_files'} ships: ${bad.problem}`);
}

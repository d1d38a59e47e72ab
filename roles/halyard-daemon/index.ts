import { readFileSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import { stringify } from 'yaml';
import {
  absent,
  command,
  directory,
  file,
  group,
  halyardRelease,
  isSecret,
  packages,
  projectArchive,
  quote,
  roleVars,
  Secret,
  service,
  SecretText,
  upload,
  user,
  z,
  type HostContext,
  type ResourceInstance,
  type TaskList,
} from 'halyard';
import { checkReferencedFiles } from '../../src/daemon/check.js';
import { daemonConfigSchema, parseDaemonConfig } from '../../src/daemon/config.js';
import { looksLikeSecretName } from '../../src/inventory/secrets.js';

// The halyard-daemon role: a self-contained halyard on the host (this controller's own package and
// production dependencies, and by default this controller's node binary: no npm, no registry, no
// NodeSource on the host), a `halyard` system user, the daemon file (0640, no secrets: AWS through
// the instance role, or an optional 0600 environment file), and halyard-daemon.service (sandboxed,
// Restart=on-failure) enabled and running. A new release, node, file or unit restarts it.

export const HALYARD_DAEMON_RESTART_HANDLER = 'restart halyard-daemon';
export const HALYARD_DAEMON_UNIT = '/etc/systemd/system/halyard-daemon.service';

export const halyardDaemonVars = z.object({
  halyard_daemon_config: z
    .record(z.string(), z.unknown())
    .default({ jobs: [] })
    .describe('The daemon file as an object (see src/daemon/config.ts): jobs, sns_topic_arn, lease, ...; validated here; must hold no secret values'),
  halyard_daemon_files: z
    .record(z.string().regex(/^[A-Za-z0-9_.-]+$/), z.union([z.string(), z.custom<Secret>(isSecret)]))
    .default({})
    .describe('Extra files for the daemon beside its file (inventory, backup file, an SSH key as a !secret or !aws_secret value): name -> content, written root:halyard 0640 in halyard_daemon_config_dir'),
  halyard_daemon_environment: z
    .record(z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'must be an environment variable name (A-Z, 0-9, _)'), z.union([z.string(), z.custom<Secret>(isSecret)]))
    .default({})
    .describe('Environment of the service (e.g. AWS_REGION; AWS keys as !secret values on hosts without an instance role): written root:root 0600 to daemon.env in the config dir, read by systemd'),
  halyard_daemon_node: z
    .enum(['controller', 'system'])
    .default('controller')
    .describe('controller: ship the node binary this controller runs (Linux, same CPU architecture as the host); system: use halyard_daemon_node_path from halyard_daemon_node_packages (node >= 20)'),
  halyard_daemon_node_packages: z.array(z.string()).default(['nodejs']).describe('With halyard_daemon_node: system, the distribution packages that provide node >= 20 (e.g. nodejs20 on Amazon Linux 2023)'),
  halyard_daemon_node_path: z.string().startsWith('/').default('/usr/bin/node').describe('With halyard_daemon_node: system, the node binary those packages install'),
  halyard_daemon_project_dir: z
    .string()
    .default('')
    .describe("A project directory on the controller (relative to the working directory) whose playbooks, roles and inventories the daemon's drift jobs run: shipped as one archive, extracted to project/ in halyard_daemon_config_dir; empty: none"),
  halyard_daemon_project_paths: z
    .array(z.string().min(1))
    .default(['playbooks', 'roles', 'inventory'])
    .describe('What of halyard_daemon_project_dir is shipped (node_modules, .git and dist are always left out)'),
  halyard_daemon_install_dir: z.string().startsWith('/').default('/opt/halyard').describe('Root-owned home of the runtime: bin/node, releases/<sha>/, current -> the running release'),
  halyard_daemon_user: z.string().regex(/^[a-z_][a-z0-9_-]*$/).default('halyard').describe('System user and group the daemon runs as'),
  halyard_daemon_config_dir: z.string().startsWith('/').default('/etc/halyard').describe('Directory of the daemon file (root:halyard 0750)'),
  halyard_daemon_state_dir: z.string().startsWith('/').default('/var/lib/halyard').describe("The daemon's state (probe states, known_hosts) and the user's home; the only writable path of the service"),
  halyard_daemon_http_port: z.number().int().min(1).max(65535).default(9464).describe('Port of /healthz and /metrics on 127.0.0.1'),
  halyard_daemon_bin: z.string().startsWith('/').default('/usr/local/bin/halyard').describe('A `halyard` command for admins on the host (a wrapper running the installed release)'),
  halyard_daemon_stop_seconds: z.number().int().min(1).default(60).describe('systemd TimeoutStopSec: how long a stop waits for the running job (the daemon gets shutdown_grace_seconds of it)'),
});

export type HalyardDaemonVars = z.output<typeof halyardDaemonVars>;

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

/** The systemd unit: sandboxed, writable only in the state dir, restarted on failure. */
export function halyardDaemonUnit(v: Pick<HalyardDaemonVars, 'halyard_daemon_user' | 'halyard_daemon_config_dir' | 'halyard_daemon_state_dir' | 'halyard_daemon_stop_seconds'>, layout: HalyardDaemonLayout): string {
  return `[Unit]
Description=halyard daemon: scheduled probes, drift checks and backups
Wants=network-online.target
After=network-online.target

[Service]
Type=simple
User=${v.halyard_daemon_user}
Group=${v.halyard_daemon_user}
ExecStart=${layout.node} ${layout.entry} daemon -c ${v.halyard_daemon_config_dir}/daemon.yml
EnvironmentFile=-${layout.environmentFile}
Environment=HOME=${v.halyard_daemon_state_dir}
Environment=NODE_ENV=production
Restart=on-failure
RestartSec=10
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
  const run = `${layout.node} ${layout.entry} "$@"`;
  return `#!/bin/sh
# Written by roles/halyard-daemon: the halyard release the daemon runs, as the daemon when run by root.
if [ "$(id -u)" = 0 ]; then
  if [ -r ${quote(layout.environmentFile)} ]; then set -a; . ${quote(layout.environmentFile)}; set +a; fi
  HOME=${quote(v.halyard_daemon_state_dir)} NODE_ENV=production exec runuser -u ${quote(v.halyard_daemon_user)} -- ${run}
fi
exec ${run}
`;
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
  return `# Written by roles/halyard-daemon; edits are overwritten.\n${stringify(config)}`;
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

export function halyardDaemon(host: HostContext): TaskList {
  const v = roleVars('halyard-daemon', halyardDaemonVars, host.vars);
  const configText = halyardDaemonConfigText(v);
  checkShippedFiles(v, configText);
  const release = halyardRelease();
  const layout = halyardDaemonLayout(v, release.entry);
  const install = v.halyard_daemon_install_dir;
  const id = release.sha256.slice(0, 16);
  const tarball = `${install}/releases/halyard-${id}.tgz`;
  const account = v.halyard_daemon_user;
  const notify = { notify: HALYARD_DAEMON_RESTART_HANDLER };
  const environment = Object.keys(v.halyard_daemon_environment).length > 0 ? halyardDaemonEnvironment(v.halyard_daemon_environment) : undefined;
  return [
    v.halyard_daemon_node === 'system' ? packages({ names: v.halyard_daemon_node_packages }, { name: 'halyard-daemon: node from the distribution' }) : [],
    group({ name: account, system: true }),
    user({ name: account, group: account, system: true, home: v.halyard_daemon_state_dir, shell: '/usr/sbin/nologin', createHome: false }),
    directory({ path: v.halyard_daemon_config_dir, owner: 'root', group: account, mode: '0750' }),
    directory({ path: v.halyard_daemon_state_dir, owner: account, group: account, mode: '0750' }),
    directory({ path: install, owner: 'root', group: 'root', mode: '0755' }),
    directory({ path: `${install}/bin`, owner: 'root', group: 'root', mode: '0755' }),
    directory({ path: `${install}/releases`, owner: 'root', group: 'root', mode: '0755' }),
    v.halyard_daemon_node === 'controller' ? controllerNode(layout.node, notify) : [],
    upload({ path: tarball, src: release.file, owner: 'root', group: 'root', mode: '0644' }, { name: `halyard-daemon: release ${release.version} (${id})` }),
    // Guarded: a converged host (this release extracted and current) runs nothing.
    command(
      { command: activateReleaseScript(install, id), unless: releaseActiveCheck(install, id) },
      { name: `halyard-daemon: activate release ${id}`, ...notify },
    ),
    file({ path: v.halyard_daemon_bin, content: halyardDaemonWrapper(v, layout), owner: 'root', group: 'root', mode: '0755' }),
    v.halyard_daemon_project_dir ? projectTasks(v, notify) : [],
    environment
      ? file({ path: layout.environmentFile, content: environment, owner: 'root', group: 'root', mode: '0600', sensitive: true }, notify)
      : absent({ path: layout.environmentFile }, notify),
    file({ path: `${v.halyard_daemon_config_dir}/daemon.yml`, content: configText, owner: 'root', group: account, mode: '0640' }, notify),
    Object.entries(v.halyard_daemon_files).map(([name, content]) =>
      file({ path: `${v.halyard_daemon_config_dir}/${name}`, content, owner: 'root', group: account, mode: '0640', sensitive: isSecret(content) }, notify),
    ),
    file({ path: HALYARD_DAEMON_UNIT, content: halyardDaemonUnit(v, layout), owner: 'root', group: 'root', mode: '0644' }, notify),
    service({ name: 'halyard-daemon', enabled: true, state: 'started', daemonReload: true }),
  ];
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

// This controller's node, checked on the host before it replaces the old one (a binary for another
// CPU or libc fails here, with the loader's message, and the old node stays).
function controllerNode(path: string, notify: { notify: string }): ResourceInstance {
  const problem = controllerNodeProblem(process.platform, process.config.variables as unknown as Record<string, unknown>);
  if (problem) throw new Error(`role halyard-daemon: var halyard_daemon_node: controller ships this controller's node, but ${problem}; set halyard_daemon_node: system (node >= 20 from the host's packages)`);
  return upload({ path, src: process.execPath, owner: 'root', group: 'root', mode: '0755', validate: ['%s', '--version'] }, { name: `halyard-daemon: node ${process.version} (${process.arch})`, ...notify });
}

// Why this controller's node binary cannot run on a Linux host by itself, or undefined: another OS,
// or a distribution build that loads libnode or system libraries (Debian's nodejs package does).
export function controllerNodeProblem(platform: string, buildVariables: Record<string, unknown>): string | undefined {
  if (platform !== 'linux') return `it is built for ${platform}, not Linux`;
  const shared = Object.keys(buildVariables)
    .filter((name) => /^node_shared(_|$)/.test(name) && buildVariables[name] === true)
    .sort();
  if (shared.length > 0) {
    return `it is a distribution build that needs shared libraries beside it (${shared.join(', ')}); run the controller on an official node build (nodejs.org, NodeSource, nvm)`;
  }
  return undefined;
}

// Extract the release beside the others, switch `current` to it in one rename, then drop older releases.
export function activateReleaseScript(install: string, id: string): string {
  const releases = `${install}/releases`;
  const dir = quote(`${releases}/${id}`);
  const temp = quote(`${releases}/${id}.tmp`);
  return [
    'set -e',
    `rm -rf ${temp}`,
    `mkdir ${temp}`,
    `tar -xzf ${quote(`${releases}/halyard-${id}.tgz`)} -C ${temp} --no-same-owner`,
    `touch ${temp}/.complete`,
    `rm -rf ${dir}`,
    `mv ${temp} ${dir}`,
    `ln -sfn releases/${id} ${quote(`${install}/current.tmp`)}`,
    `mv -T ${quote(`${install}/current.tmp`)} ${quote(`${install}/current`)}`,
    `find ${quote(releases)} -mindepth 1 -maxdepth 1 ! -name ${id} ! -name halyard-${id}.tgz -exec rm -rf {} +`,
  ].join('\n');
}

// True (exit 0) when that release is extracted whole and `current` points at it: the activation's guard.
export function releaseActiveCheck(install: string, id: string): string {
  return `[ "$(readlink ${quote(`${install}/current`)})" = releases/${id} ] && [ -f ${quote(`${install}/releases/${id}/.complete`)} ]`;
}

// The project archive shipped and extracted to <config dir>/project (root:<user>, no write for the
// daemon), replacing the old tree in two renames; guarded by the archive's id in a marker file.
function projectTasks(v: HalyardDaemonVars, notify: { notify: string }): TaskList {
  const archive = projectArchive(v.halyard_daemon_project_dir, v.halyard_daemon_project_paths);
  const id = archive.sha256.slice(0, 16);
  const dir = `${v.halyard_daemon_install_dir}/project`;
  return [
    directory({ path: dir, owner: 'root', group: 'root', mode: '0755' }),
    upload({ path: `${dir}/project-${id}.tgz`, src: archive.file, owner: 'root', group: 'root', mode: '0644' }, { name: `halyard-daemon: project ${id} (${archive.files} files)` }),
    command(
      { command: activateProjectScript(v.halyard_daemon_install_dir, v.halyard_daemon_config_dir, v.halyard_daemon_user, id), unless: projectActiveCheck(v.halyard_daemon_config_dir, id) },
      { name: `halyard-daemon: activate project ${id}`, ...notify },
    ),
  ];
}

// Extract the project next to the live one, then swap it in; older archives are deleted.
export function activateProjectScript(install: string, configDir: string, account: string, id: string): string {
  const live = `${configDir}/project`;
  const archives = `${install}/project`;
  return [
    'set -e',
    `rm -rf ${quote(`${live}.tmp`)} ${quote(`${live}.old`)}`,
    `mkdir ${quote(`${live}.tmp`)}`,
    `tar -xzf ${quote(`${archives}/project-${id}.tgz`)} -C ${quote(`${live}.tmp`)} --no-same-owner`,
    `printf '%s\\n' ${id} > ${quote(`${live}.tmp/.halyard-project`)}`,
    `chown -R ${quote(`root:${account}`)} ${quote(`${live}.tmp`)}`,
    `chmod -R u=rwX,g=rX,o= ${quote(`${live}.tmp`)}`,
    `if [ -e ${quote(live)} ]; then mv ${quote(live)} ${quote(`${live}.old`)}; fi`,
    `mv ${quote(`${live}.tmp`)} ${quote(live)}`,
    `rm -rf ${quote(`${live}.old`)}`,
    `find ${quote(archives)} -mindepth 1 -maxdepth 1 ! -name project-${id}.tgz -exec rm -rf {} +`,
  ].join('\n');
}

// True (exit 0) when the live project is this archive: the activation's guard.
export function projectActiveCheck(configDir: string, id: string): string {
  return `[ "$(cat ${quote(`${configDir}/project/.halyard-project`)} 2>/dev/null)" = ${id} ]`;
}

/** For the play's handlers(): restart (after a daemon-reload) when the release, node, file or unit changed. */
export function halyardDaemonHandlers(): Record<string, ResourceInstance> {
  return { [HALYARD_DAEMON_RESTART_HANDLER]: service({ name: 'halyard-daemon', state: 'restarted', daemonReload: true }) };
}

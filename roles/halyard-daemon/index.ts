import {
  absent,
  command,
  defineRole,
  directory,
  file,
  group,
  halyardRelease,
  isSecret,
  packages,
  projectArchive,
  service,
  upload,
  user,
  type HostContext,
  type ResourceInstance,
  type TaskList,
} from 'halyard';
import { checkShippedFiles, halyardDaemonConfigText, halyardDaemonEnvironment, halyardDaemonLayout, halyardDaemonUnit, halyardDaemonWrapper } from './files.js';
import { activateProjectScript, activateReleaseScript, controllerNodeProblem, driftJobsProblem, projectActiveCheck, releaseActiveCheck } from './install.js';
import { HALYARD_DAEMON_RESTART_HANDLER, HALYARD_DAEMON_UNIT, halyardDaemonVars, type HalyardDaemonVars } from './vars.js';

export * from './files.js';
export * from './install.js';
export * from './vars.js';

// The halyard-daemon role: a self-contained halyard on the host (this controller's own package and
// production dependencies, and by default this controller's node binary: no npm, no registry, no
// NodeSource on the host), a `halyard` system user, the daemon file (0640, no secrets: AWS through
// the instance role, or an optional 0600 environment file), and halyard-daemon.service (sandboxed,
// Type=notify, Restart=on-failure) enabled and running: a start or restart the daemon refuses fails
// the run. A new release, node, file or unit restarts it (the role's handler: a restart after a
// daemon-reload). Only hosts with a `halyard_daemon_config` var get the daemon: on any other host
// the role has no tasks and no handlers.
export const halyardDaemon = defineRole({
  name: 'halyard-daemon',
  vars: halyardDaemonVars,
  become: true,
  tasks: (host, vars) => (wantsDaemon(host) ? daemonTasks(host, vars) : []),
  handlers: (host): Record<string, ResourceInstance> =>
    wantsDaemon(host) ? { [HALYARD_DAEMON_RESTART_HANDLER]: service({ name: 'halyard-daemon', state: 'restarted', daemonReload: true }) } : {},
});

// Whether the host asks for the daemon (the var present, whatever its value: a bad one fails the run).
function wantsDaemon(host: HostContext): boolean {
  return host.vars['halyard_daemon_config'] !== undefined;
}

function daemonTasks(host: HostContext, v: HalyardDaemonVars): TaskList {
  // The role moves its user's home to the state dir and gives it nologin: that would lock out the login.
  if (v.halyard_daemon_user === host.host.user || v.halyard_daemon_user === 'root') {
    throw new Error(
      `role halyard-daemon: var halyard_daemon_user: ${v.halyard_daemon_user} is ${v.halyard_daemon_user === 'root' ? 'root' : 'the user halyard logs in as'}; the daemon needs a user of its own (its home becomes ${v.halyard_daemon_state_dir}, its shell nologin)`,
    );
  }
  const configText = halyardDaemonConfigText(v);
  checkShippedFiles(v, configText);
  const driftProblem = driftJobsProblem(process.platform, (v.halyard_daemon_config['jobs'] as { name?: unknown; kind?: unknown }[] | undefined) ?? []);
  if (driftProblem) throw new Error(`role halyard-daemon: var halyard_daemon_config: ${driftProblem}`);
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

// This controller's node, checked on the host before it replaces the old one (a binary for another
// CPU or libc fails here, with the loader's message, and the old node stays).
function controllerNode(path: string, notify: { notify: string }): ResourceInstance {
  const problem = controllerNodeProblem(process.platform, process.config.variables as unknown as Record<string, unknown>);
  if (problem) throw new Error(`role halyard-daemon: var halyard_daemon_node: controller ships this controller's node, but ${problem}; set halyard_daemon_node: system (node >= 20 from the host's packages)`);
  return upload({ path, src: process.execPath, owner: 'root', group: 'root', mode: '0755', validate: ['%s', '--version'] }, { name: `halyard-daemon: node ${process.version} (${process.arch})`, ...notify });
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

import { isSecret, Secret, z } from 'halyard';

// The role's vars (typed, defaulted and documented: the README's table is generated from them).

/** The handler a new node, release, project, file or unit notifies. */
export const HALYARD_DAEMON_RESTART_HANDLER = 'restart halyard-daemon';
/** Where the role writes the service's unit. */
export const HALYARD_DAEMON_UNIT = '/etc/systemd/system/halyard-daemon.service';

// Every var of the role, validated per host by roleVars().
export const halyardDaemonVars = z.object({
  halyard_daemon_config: z
    .record(z.string(), z.unknown())
    .default({ jobs: [] })
    .describe('The daemon file as an object (see src/daemon/config.ts): jobs, sns_topic_arn, lease, ...; validated here; must hold no secret values. A host without this var gets nothing from the role'),
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

// The vars after defaults, as the role's functions take them.
export type HalyardDaemonVars = z.output<typeof halyardDaemonVars>;

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { stringify } from 'yaml';
import { command, directory, file, group, isSecret, packages, roleVars, service, user, z, type HostContext, type ResourceInstance, type TaskList } from 'halyard';
import { daemonConfigSchema } from '../../src/daemon/config.js';
import { looksLikeSecretName } from '../../src/inventory/secrets.js';

// The halyard-daemon role: the halyard package (an npm tarball shipped from the controller) on the
// host, a `halyard` system user, the daemon file (0640, no secrets: AWS through the instance role),
// and halyard-daemon.service (sandboxed, Restart=on-failure) enabled and running. A change of the
// package, the file or the unit notifies the "restart halyard-daemon" handler.

export const HALYARD_DAEMON_RESTART_HANDLER = 'restart halyard-daemon';
export const HALYARD_DAEMON_UNIT = '/etc/systemd/system/halyard-daemon.service';

export const halyardDaemonVars = z.object({
  halyard_daemon_package: z
    .string()
    .min(1)
    .default('halyard.tgz')
    .describe('Path on the controller of the halyard npm tarball (`npm run build && npm pack`); relative to the working directory; shipped with a file task, installed with `npm install -g`'),
  halyard_daemon_config: z
    .record(z.string(), z.unknown())
    .default({ jobs: [] })
    .describe('The daemon file as an object (see src/daemon/config.ts): jobs, sns_topic_arn, lease, ...; validated here; must hold no secret values'),
  halyard_daemon_files: z
    .record(z.string().regex(/^[A-Za-z0-9_.-]+$/), z.string())
    .default({})
    .describe('Extra files for the daemon beside its file (inventory, playbooks): name -> content, written root:halyard 0640 in halyard_daemon_config_dir'),
  halyard_daemon_user: z.string().regex(/^[a-z_][a-z0-9_-]*$/).default('halyard').describe('System user and group the daemon runs as'),
  halyard_daemon_config_dir: z.string().startsWith('/').default('/etc/halyard').describe('Directory of the daemon file (root:halyard 0750)'),
  halyard_daemon_state_dir: z.string().startsWith('/').default('/var/lib/halyard').describe("The daemon's state (probe states, known_hosts) and the user's home; the only writable path of the service"),
  halyard_daemon_http_port: z.number().int().min(1).max(65535).default(9464).describe('Port of /healthz and /metrics on 127.0.0.1'),
  halyard_daemon_bin: z.string().startsWith('/').default('/usr/local/bin/halyard').describe('Where `npm install -g` puts the halyard command (npm prefix /usr/local on Debian)'),
  halyard_daemon_node_packages: z.array(z.string()).default(['nodejs', 'npm']).describe('Distribution packages that provide node (>= 20) and npm'),
  halyard_daemon_stop_seconds: z.number().int().min(1).default(60).describe('systemd TimeoutStopSec: how long a stop waits for the running job (the daemon gets shutdown_grace_seconds of it)'),
});

export type HalyardDaemonVars = z.output<typeof halyardDaemonVars>;

/** The systemd unit: sandboxed, writable only in the state dir, restarted on failure. */
export function halyardDaemonUnit(v: Pick<HalyardDaemonVars, 'halyard_daemon_user' | 'halyard_daemon_bin' | 'halyard_daemon_config_dir' | 'halyard_daemon_state_dir' | 'halyard_daemon_stop_seconds'>): string {
  return `[Unit]
Description=halyard daemon: scheduled probes, drift checks and backups
Wants=network-online.target
After=network-online.target

[Service]
Type=simple
User=${v.halyard_daemon_user}
Group=${v.halyard_daemon_user}
ExecStart=${v.halyard_daemon_bin} daemon -c ${v.halyard_daemon_config_dir}/daemon.yml
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

/** The tarball's bytes and the short sha256 that names it on the host (a new build is a new file). */
export function packageArtifact(path: string): { bytes: Buffer; sha: string } {
  const absolute = isAbsolute(path) ? path : resolve(path);
  let bytes: Buffer;
  try {
    bytes = readFileSync(absolute);
  } catch (error) {
    throw new Error(`role halyard-daemon: var halyard_daemon_package: cannot read ${absolute} (${(error as NodeJS.ErrnoException).code ?? String(error)}); build it with \`npm run build && npm pack\``);
  }
  return { bytes, sha: createHash('sha256').update(bytes).digest('hex').slice(0, 16) };
}

export function halyardDaemon(host: HostContext): TaskList {
  const v = roleVars('halyard-daemon', halyardDaemonVars, host.vars);
  const configText = halyardDaemonConfigText(v);
  const artifact = packageArtifact(v.halyard_daemon_package);
  const distDir = `${v.halyard_daemon_state_dir}/dist`;
  const tarball = `${distDir}/halyard-${artifact.sha}.tgz`;
  const installed = `${distDir}/.installed-${artifact.sha}`;
  const account = v.halyard_daemon_user;
  const notify = { notify: HALYARD_DAEMON_RESTART_HANDLER };
  return [
    packages({ names: v.halyard_daemon_node_packages }, { name: 'halyard-daemon: node and npm' }),
    group({ name: account, system: true }),
    user({ name: account, group: account, system: true, home: v.halyard_daemon_state_dir, shell: '/usr/sbin/nologin', createHome: false }),
    directory({ path: v.halyard_daemon_config_dir, owner: 'root', group: account, mode: '0750' }),
    directory({ path: v.halyard_daemon_state_dir, owner: account, group: account, mode: '0750' }),
    directory({ path: distDir, owner: 'root', group: 'root', mode: '0755' }),
    file({ path: tarball, content: artifact.bytes, owner: 'root', group: 'root', mode: '0644' }, { name: `halyard-daemon: package ${artifact.sha}` }),
    // Guarded: runs once per tarball (the marker names its sha), so a converged host runs nothing.
    command(
      { command: `npm install -g --omit=dev --no-audit --no-fund ${tarball} && touch ${installed}`, creates: installed },
      { name: `halyard-daemon: npm install -g halyard (${artifact.sha})`, ...notify },
    ),
    file({ path: `${v.halyard_daemon_config_dir}/daemon.yml`, content: configText, owner: 'root', group: account, mode: '0640' }, notify),
    Object.entries(v.halyard_daemon_files).map(([name, content]) =>
      file({ path: `${v.halyard_daemon_config_dir}/${name}`, content, owner: 'root', group: account, mode: '0640' }, notify),
    ),
    file({ path: HALYARD_DAEMON_UNIT, content: halyardDaemonUnit(v), owner: 'root', group: 'root', mode: '0644' }, notify),
    service({ name: 'halyard-daemon', enabled: true, state: 'started', daemonReload: true }),
  ];
}

/** For the play's handlers(): restart (after a daemon-reload) when the package, file or unit changed. */
export function halyardDaemonHandlers(): Record<string, ResourceInstance> {
  return { [HALYARD_DAEMON_RESTART_HANDLER]: service({ name: 'halyard-daemon', state: 'restarted', daemonReload: true }) };
}

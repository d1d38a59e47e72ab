import { command, defineRole, directory, file, flushHandlers, packages, service, sh, user, z, type TaskList } from 'halyard';

// The docker role: Docker Engine and compose from the distribution (default) or Docker's apt repository,
// /etc/docker/daemon.json with log rotation, the service enabled and running, users in the docker group.

/** Handler name the role's tasks notify when the daemon's configuration changed. */
export const DOCKER_RESTART_HANDLER = 'restart docker';

/** Where Docker's apt repository key and source line go (source 'docker-repo'). */
export const DOCKER_APT_KEY = '/etc/apt/keyrings/docker.asc';
export const DOCKER_APT_SOURCE = '/etc/apt/sources.list.d/docker.list';
export const DOCKER_REPO_URL = 'https://download.docker.com/linux';

// docker_users when the host's vars do not set it: the inventory's connection user, unless that is root.
function connectionUsers(connectionUser: string | undefined): string[] {
  return connectionUser && connectionUser !== 'root' ? [connectionUser] : [];
}

// The role's vars; docker_users defaults to the inventory's connection user (unless that is root).
export function dockerVars(connectionUser?: string) {
  const users = connectionUsers(connectionUser);
  return z.object({
    docker_source: z
      .enum(['distribution', 'docker-repo'])
      .default('distribution')
      .describe(
        "Where Docker comes from: 'distribution' (Debian/Ubuntu docker.io + docker-compose, Amazon Linux 2023 docker) or " +
          "'docker-repo' (Docker's apt repository: docker-ce, docker-ce-cli, containerd.io, docker-compose-plugin; apt hosts only)",
      ),
    docker_users: z
      .array(z.string())
      .default(users)
      .describe('Users added to the docker group (other groups kept); default: the inventory connection user (none for root)'),
    docker_log_max_size: z.string().regex(/^\d+[kmg]?$/).default('10m').describe('json-file log-opts max-size: size of one container log file before rotation'),
    docker_log_max_file: z.number().int().min(1).default(3).describe('json-file log-opts max-file: rotated log files kept per container'),
    docker_daemon_extra: z
      .record(z.string(), z.unknown())
      .default({})
      .describe('Extra keys merged into /etc/docker/daemon.json (e.g. {"live-restore": true}); they win over the role\'s own'),
  });
}

// Typed vars after defaults.
export type DockerVars = z.output<ReturnType<typeof dockerVars>>;

// /etc/docker/daemon.json: the json-file log driver with rotation, plus docker_daemon_extra (sorted keys, stable bytes).
export function daemonJson(vars: Pick<DockerVars, 'docker_log_max_size' | 'docker_log_max_file' | 'docker_daemon_extra'>): string {
  const config: Record<string, unknown> = {
    'log-driver': 'json-file',
    'log-opts': { 'max-size': vars.docker_log_max_size, 'max-file': String(vars.docker_log_max_file) },
    ...vars.docker_daemon_extra,
  };
  return `${JSON.stringify(sortKeys(config), null, 2)}\n`;
}

// Packages per source: distribution packages differ between apt and dnf distributions.
export function dockerPackages(source: DockerVars['docker_source']): { apt: string[]; dnf?: string[] } {
  if (source === 'docker-repo') return { apt: ['docker-ce', 'docker-ce-cli', 'containerd.io', 'docker-compose-plugin'] };
  return { apt: ['docker.io', 'docker-compose'], dnf: ['docker'] };
}

// Prints the deb line for Docker's repository, built on the host from os-release and dpkg (debian or ubuntu, codename, arch).
const PRINT_APT_SOURCE_LINE = sh`printf 'deb [arch=%s signed-by=%s] %s/%s %s stable\\n' "$(dpkg --print-architecture)" ${DOCKER_APT_KEY} ${DOCKER_REPO_URL} "$ID" "$VERSION_CODENAME"`;

// Docker's apt repository: its key (downloaded once) and the source line (rewritten when it differs).
function dockerAptRepository(): TaskList {
  return [
    packages({ names: { apt: ['ca-certificates', 'curl'] } }),
    directory({ path: '/etc/apt/keyrings', owner: 'root', group: 'root', mode: '0755' }),
    command(
      { command: sh`. /etc/os-release && curl -fsSL ${DOCKER_REPO_URL}/"$ID"/gpg -o ${DOCKER_APT_KEY} && chmod 0644 ${DOCKER_APT_KEY}`, creates: DOCKER_APT_KEY },
      { name: `docker apt key ${DOCKER_APT_KEY}` },
    ),
    command(
      {
        command: sh`. /etc/os-release && ${PRINT_APT_SOURCE_LINE} > ${DOCKER_APT_SOURCE}`,
        unless: sh`. /etc/os-release && [ "$(cat ${DOCKER_APT_SOURCE} 2>/dev/null)" = "$(${PRINT_APT_SOURCE_LINE})" ]`,
      },
      { name: `docker apt source ${DOCKER_APT_SOURCE}` },
    ),
  ];
}

// The role: packages, daemon.json (notifies "restart docker"), the service enabled and started,
// users in group docker; its handler restarts docker, which applies a changed daemon.json.
// Vars are checked against dockerVars(); docker_users, when the host's vars do not set it, is the
// connection user of that host (a default no schema shared by every host can hold).
export const docker = defineRole({
  name: 'docker',
  vars: dockerVars(),
  become: true,
  tasks: (host, vars) => dockerTasks({ ...vars, docker_users: host.vars['docker_users'] === undefined ? connectionUsers(host.host.user) : vars.docker_users }),
  handlers: () => ({ [DOCKER_RESTART_HANDLER]: service({ name: 'docker', state: 'restarted' }) }),
});

function dockerTasks(v: DockerVars): TaskList {
  return [
    v.docker_source === 'docker-repo' && dockerAptRepository(),
    packages({ names: dockerPackages(v.docker_source) }, { name: `docker packages (${v.docker_source})` }),
    directory({ path: '/etc/docker', owner: 'root', group: 'root', mode: '0755' }),
    file({ path: '/etc/docker/daemon.json', content: daemonJson(v), owner: 'root', group: 'root', mode: '0644' }, { notify: DOCKER_RESTART_HANDLER }),
    service({ name: 'docker', enabled: true, state: 'started' }),
    [...new Set(v.docker_users)].map((name) => user({ name, groups: ['docker'] }, { name: `user ${name} in group docker` })),
    // A new daemon.json takes effect now, before anything runs containers on this daemon.
    flushHandlers(),
  ];
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b)).map(([key, inner]) => [key, sortKeys(inner)]));
  }
  return value;
}

// TEST STAND-INS for the observability stack's images, built on a machine with no image registry.
//
// These are NOT Grafana, Loki, Tempo, Mimir or the OpenTelemetry Collector. They are tiny images
// (a static busybox, `docker import`ed) that answer the same health endpoints on the same ports and
// accept (and ignore) the upstream command-line flags, so the observability-stack role can be run
// end to end here: configs mounted, data directories writable by the image's uid, compose up,
// health waits, restarts. nginx, Postgres and node-exporter are the real programs, Debian's
// packages in one image built FROM halyard-lab-base:bookworm. Users of the role get the real
// upstream images (grafana/grafana, grafana/loki, ...) by default; these are used only where a
// test passes them through the role's `images` var.
import { createHash } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { labAptCache } from './apt-cache.js';
import { BASE_IMAGE, ensureBaseImage } from './base-image.js';
import { LOW_PRIORITY_BUILD, docker, dockerChecked, ensureDockerEngine, imageExists, imageId } from './docker.js';
import { withDirLock } from './lock.js';
import { labStateDir } from './paths.js';
import { runChecked, runPipeline } from './process.js';

/** Label on every stand-in image: the service it stands in for. */
export const STANDIN_LABEL = 'halyard.test.standin';

/** Bump when the recipes below change in a way the hashed inputs do not show. */
const RECIPE_VERSION = 1;

/** The static busybox the small stand-ins are made of (Debian's busybox-static). */
export const BUSYBOX = '/bin/busybox';

// One busybox stand-in: what it serves, on which ports, as which user.
export interface BusyboxStandin {
  service: 'grafana' | 'loki' | 'tempo' | 'mimir' | 'otel-collector' | 'app';
  repository: string;
  /** The port its main endpoint listens on (the upstream default). */
  port: number;
  /** Files served on the main port, by URL path. */
  files: Record<string, string>;
  /** More ports, each with its own files. */
  extra?: { port: number; files: Record<string, string> }[];
  /** The uid (and gid) the upstream image runs as; none: root, as distroless images do. */
  user?: number;
  /** The upstream image's data directory: when mounted, the stand-in checks it can write there. */
  dataDir?: string;
}

const METRICS = (name: string) =>
  `# HELP standin_info A halyard test stand-in, not the real ${name}.\n# TYPE standin_info gauge\nstandin_info{service="${name}"} 1\n`;
const GRAFANA_HEALTH = '{"commit":"halyard-test-standin","database":"ok","version":"standin"}\n';

// The five upstream services, plus the app (a FastAPI app stand-in: /, /health, /metrics).
export const BUSYBOX_STANDINS: BusyboxStandin[] = [
  {
    service: 'grafana',
    repository: 'halyard-standin-grafana',
    port: 3000,
    user: 472,
    dataDir: '/var/lib/grafana',
    // Served at / and under /grafana/ (serve_from_sub_path, behind nginx).
    files: {
      '/index.html': 'Grafana stand-in (halyard test image)\n',
      '/api/health': GRAFANA_HEALTH,
      '/metrics': METRICS('grafana'),
      '/grafana/index.html': 'Grafana stand-in (halyard test image)\n',
      '/grafana/api/health': GRAFANA_HEALTH,
    },
  },
  {
    service: 'loki',
    repository: 'halyard-standin-loki',
    port: 3100,
    user: 10001,
    dataDir: '/loki',
    files: { '/ready': 'ready\n', '/metrics': METRICS('loki'), '/index.html': 'Loki stand-in\n' },
  },
  {
    service: 'tempo',
    repository: 'halyard-standin-tempo',
    port: 3200,
    user: 10001,
    dataDir: '/var/tempo',
    files: { '/ready': 'ready\n', '/metrics': METRICS('tempo'), '/index.html': 'Tempo stand-in\n' },
  },
  {
    service: 'mimir',
    repository: 'halyard-standin-mimir',
    port: 9009,
    dataDir: '/var/mimir',
    files: { '/ready': 'ready\n', '/metrics': METRICS('mimir'), '/index.html': 'Mimir stand-in\n' },
  },
  {
    service: 'otel-collector',
    repository: 'halyard-standin-otel-collector',
    // The health_check extension's port; the collector's own metrics on 8888, OTLP/HTTP on 4318.
    port: 13133,
    user: 10001,
    files: { '/index.html': '{"status":"Server available","upSince":"standin","uptime":"standin"}\n' },
    extra: [
      { port: 8888, files: { '/metrics': METRICS('otel-collector') } },
      { port: 4318, files: { '/index.html': 'OTLP/HTTP stand-in: accepts nothing\n' } },
    ],
  },
  {
    service: 'app',
    repository: 'halyard-standin-app',
    port: 8000,
    files: { '/index.html': 'task-tracker stand-in (halyard test image)\n', '/health': '{"status":"ok"}\n', '/metrics': METRICS('app') },
  },
];

// The stand-in's PID 1: checks the config file flags and the data directory, then serves.
const ENTRYPOINT = `#!/bin/sh
# halyard TEST STAND-IN for $STANDIN_SERVICE: not the real program. It serves the same health
# endpoints with busybox httpd and ignores the upstream flags, except that a config file named by
# -config.file=, --config= or --config must be readable (the compose file mounts it).
prev=
for arg in "$@"; do
  file=
  case "$arg" in
    -config.file=*|--config=*|-config=*) file="\${arg#*=}" ;;
  esac
  case "$prev" in
    --config|-config|-config.file) file="$arg" ;;
  esac
  if [ -n "$file" ] && [ ! -r "$file" ]; then
    echo "stand-in $STANDIN_SERVICE: config file $file is not readable by uid $(id -u)" >&2
    exit 1
  fi
  prev="$arg"
done
if [ -n "$STANDIN_DATA_DIR" ] && [ -d "$STANDIN_DATA_DIR" ]; then
  if ! touch "$STANDIN_DATA_DIR/.standin-write-test" 2>/dev/null; then
    echo "stand-in $STANDIN_SERVICE: data directory $STANDIN_DATA_DIR is not writable by uid $(id -u)" >&2
    exit 1
  fi
  rm -f "$STANDIN_DATA_DIR/.standin-write-test"
fi
pids=
for spec in $STANDIN_EXTRA; do
  httpd -f -p "\${spec%%=*}" -h "\${spec#*=}" &
  pids="$pids $!"
done
httpd -f -p "\${PORT:-$STANDIN_PORT}" -h /www &
pids="$pids $!"
echo "stand-in $STANDIN_SERVICE (uid $(id -u)) serving on \${PORT:-$STANDIN_PORT} $STANDIN_EXTRA"
# PID 1 ignores SIGTERM unless it handles it: stop the servers and leave at once.
trap 'kill $pids 2>/dev/null; exit 0' TERM INT
wait
`;

// The app stand-in's python3: the role's default app healthcheck runs
// `python3 -c "...urlopen('URL'...)"`; this fetches that URL with busybox wget instead.
const PYTHON_SHIM = `#!/bin/sh
# halyard TEST STAND-IN: not Python. Fetches the URL of a urlopen('...') call found in the arguments.
url=$(printf '%s\\n' "$*" | sed -n "s/.*urlopen('\\([^']*\\)'.*/\\1/p")
[ -n "$url" ] || { echo "python3 stand-in: no urlopen('URL') in: $*" >&2; exit 2; }
exec wget -q -O /dev/null "$url"
`;

// The files of one busybox stand-in's root file system, by path (symlinks as {link}).
type RootfsEntry = { text: string; mode: number } | { bytes: Buffer; mode: number } | { link: string } | { dir: number };

async function busyboxRootfs(standin: BusyboxStandin, busybox: Buffer, applets: string[]): Promise<Record<string, RootfsEntry>> {
  const entries: Record<string, RootfsEntry> = {
    bin: { dir: 0o755 },
    'bin/busybox': { bytes: busybox, mode: 0o755 },
    etc: { dir: 0o755 },
    'etc/passwd': {
      text: 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\nstandin:x:10001:10001::/tmp:/bin/false\ngrafana:x:472:472::/tmp:/bin/false\n',
      mode: 0o644,
    },
    'etc/group': { text: 'root:x:0:\nnogroup:x:65534:\nstandin:x:10001:\ngrafana:x:472:\n', mode: 0o644 },
    tmp: { dir: 0o1777 },
    root: { dir: 0o700 },
    entrypoint: { text: ENTRYPOINT, mode: 0o755 },
    www: { dir: 0o755 },
  };
  for (const applet of applets) if (applet !== 'busybox') entries[`bin/${applet}`] = { link: 'busybox' };
  const serve = (root: string, files: Record<string, string>) => {
    for (const [path, text] of Object.entries(files)) {
      const rel = `${root}${path}`;
      let dir = dirname(rel);
      while (dir !== '.' && dir !== '/' && !(dir in entries)) {
        entries[dir] = { dir: 0o755 };
        dir = dirname(dir);
      }
      entries[rel] = { text, mode: 0o644 };
    }
  };
  serve('www', standin.files);
  for (const extra of standin.extra ?? []) {
    entries[`www-${extra.port}`] = { dir: 0o755 };
    serve(`www-${extra.port}`, extra.files);
  }
  if (standin.service === 'app') {
    entries.usr = { dir: 0o755 };
    entries['usr/bin'] = { dir: 0o755 };
    entries['usr/bin/python3'] = { text: PYTHON_SHIM, mode: 0o755 };
  }
  return entries;
}

function importChanges(standin: BusyboxStandin): string[] {
  const extra = (standin.extra ?? []).map((item) => `${item.port}=/www-${item.port}`).join(' ');
  const ports = [standin.port, ...(standin.extra ?? []).map((item) => item.port)];
  return [
    'ENTRYPOINT ["/entrypoint"]',
    'WORKDIR /',
    'ENV PATH=/usr/bin:/bin',
    `ENV STANDIN_SERVICE=${standin.service}`,
    `ENV STANDIN_PORT=${standin.port}`,
    `ENV STANDIN_EXTRA="${extra}"`,
    `ENV STANDIN_DATA_DIR="${standin.dataDir ?? ''}"`,
    `EXPOSE ${ports.join(' ')}`,
    ...(standin.user !== undefined ? [`USER ${standin.user}:${standin.user}`] : []),
    `LABEL ${STANDIN_LABEL}=${standin.service}`,
  ];
}

function hashOf(parts: (string | Buffer)[]): string {
  const hash = createHash('sha256').update(`recipe ${RECIPE_VERSION}\0`);
  for (const part of parts) hash.update(part).update('\0');
  return hash.digest('hex').slice(0, 12);
}

// True when an ELF file has no program interpreter (statically linked).
export function isStaticElf(bytes: Buffer): boolean {
  if (bytes.length < 64 || bytes.readUInt32BE(0) !== 0x7f454c46 || bytes[4] !== 2) return false;
  const phoff = Number(bytes.readBigUInt64LE(0x20));
  const phentsize = bytes.readUInt16LE(0x36);
  const phnum = bytes.readUInt16LE(0x38);
  for (let i = 0; i < phnum; i++) if (bytes.readUInt32LE(phoff + i * phentsize) === 3 /* PT_INTERP */) return false;
  return true;
}

// Debian's busybox-static, installed when /bin/busybox is missing or dynamically linked.
async function staticBusybox(say: (message: string) => void): Promise<Buffer> {
  const read = () => readFile(BUSYBOX).catch(() => Buffer.alloc(0));
  let bytes = await read();
  if (!isStaticElf(bytes)) {
    say('installing busybox-static (apt-get)');
    await runChecked('apt-get', ['install', '-y', '-q', 'busybox-static'], { timeoutMs: 10 * 60_000, env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    bytes = await read();
    if (!isStaticElf(bytes)) throw new Error(`${BUSYBOX} is not a statically linked busybox even after apt-get install busybox-static`);
  }
  return bytes;
}

// What one image build did, for the test's timings.
export interface ImageBuild {
  image: string;
  built: boolean;
  durationMs: number;
}

async function writeRootfs(dir: string, entries: Record<string, RootfsEntry>): Promise<void> {
  for (const path of Object.keys(entries).sort()) {
    const entry = entries[path] as RootfsEntry;
    const target = join(dir, path);
    if ('dir' in entry) {
      await mkdir(target, { recursive: true });
      await chmod(target, entry.dir);
    } else if ('link' in entry) await symlink(entry.link, target);
    else {
      await writeFile(target, 'text' in entry ? entry.text : entry.bytes);
      await chmod(target, entry.mode);
    }
  }
}

async function ensureBusyboxStandin(standin: BusyboxStandin, busybox: Buffer, applets: string[], say: (message: string) => void): Promise<ImageBuild> {
  const started = Date.now();
  const entries = await busyboxRootfs(standin, busybox, applets);
  const changes = importChanges(standin);
  const parts: (string | Buffer)[] = [...changes];
  for (const path of Object.keys(entries).sort()) {
    const entry = entries[path] as RootfsEntry;
    parts.push(path, 'dir' in entry ? `dir ${entry.dir}` : 'link' in entry ? `link ${entry.link}` : 'text' in entry ? `${entry.mode} ${entry.text}` : Buffer.concat([Buffer.from(`${entry.mode} `), entry.bytes]));
  }
  const image = `${standin.repository}:${hashOf(parts)}`;
  if (await imageExists(image)) return { image, built: false, durationMs: Date.now() - started };
  say(`importing ${image}`);
  const dir = await mkdtemp(join(tmpdir(), 'halyard-standin-'));
  try {
    const rootfs = join(dir, 'rootfs');
    await mkdir(rootfs);
    await writeRootfs(rootfs, entries);
    const tarball = join(dir, 'rootfs.tar');
    await runChecked('tar', ['--numeric-owner', '--owner=0', '--group=0', '-C', rootfs, '-cf', tarball, '.'], { timeoutMs: 120_000 });
    await dockerChecked(['import', ...changes.flatMap((change) => ['--change', change]), tarball, image], { timeoutMs: 300_000 });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return { image, built: true, durationMs: Date.now() - started };
}

// The one Debian image behind the nginx, postgres and node-exporter stand-ins (shipped once).
export const DEBIAN_SERVICES_REPOSITORY = 'halyard-standin-debian-services';

// Picks the program like the three upstream images would run it, from what compose gives each:
// STANDIN_SERVICE if set; POSTGRES_PASSWORD in the environment: postgres; flags (--...): node-exporter; else nginx.
const DISPATCH = `#!/bin/bash
# halyard TEST STAND-IN: one Debian image (nginx, postgresql, prometheus-node-exporter packages)
# standing in for the nginx, postgres and prom/node-exporter images of the observability stack.
set -e
service=\${STANDIN_SERVICE:-}
if [ -z "$service" ]; then
  if [ -n "\${POSTGRES_PASSWORD:-}" ] || [ "\${1:-}" = postgres ]; then service=postgres
  elif [ "\${1#--}" != "\${1:-}" ]; then service=node-exporter
  else service=nginx
  fi
fi
case "$service" in
  postgres) exec /usr/local/bin/standin-postgres "$@" ;;
  node-exporter) exec /usr/bin/prometheus-node-exporter "$@" ;;
  nginx) if [ $# -eq 0 ]; then set -- nginx -g 'daemon off;'; fi; exec "$@" ;;
  *) echo "unknown STANDIN_SERVICE $service" >&2; exit 2 ;;
esac
`;

// What the official postgres image's entrypoint does, enough for pg_isready and a password login:
// as root, fix PGDATA's owner and drop to uid 999; on an empty PGDATA, initdb with the
// POSTGRES_USER/POSTGRES_PASSWORD/POSTGRES_DB of the environment, listen on all addresses with
// scram-sha-256 for TCP logins.
const POSTGRES_ENTRYPOINT = `#!/bin/bash
# halyard TEST STAND-IN for the official postgres image's docker-entrypoint.sh (Debian's postgresql).
set -Eeo pipefail
if [ $# -eq 0 ] || [ "\${1:0:1}" = '-' ]; then set -- postgres "$@"; fi
export PGDATA=\${PGDATA:-/var/lib/postgresql/data}
if [ "$1" = postgres ] && [ "$(id -u)" = 0 ]; then
  mkdir -p "$PGDATA" /var/run/postgresql
  chown -R postgres:postgres "$PGDATA" /var/run/postgresql
  chmod 0700 "$PGDATA"
  chmod 3777 /var/run/postgresql
  exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
fi
if [ "$1" = postgres ] && [ ! -s "$PGDATA/PG_VERSION" ]; then
  : "\${POSTGRES_PASSWORD:?POSTGRES_PASSWORD must be set (as with the official image)}"
  user=\${POSTGRES_USER:-postgres}
  db=\${POSTGRES_DB:-$user}
  initdb --username="$user" --pwfile=<(printf '%s\\n' "$POSTGRES_PASSWORD") --auth-local=trust --auth-host=scram-sha-256 -D "$PGDATA" >/dev/null
  printf "\\nlisten_addresses = '*'\\njit = off\\n" >> "$PGDATA/postgresql.conf"
  printf 'host all all all scram-sha-256\\n' >> "$PGDATA/pg_hba.conf"
  if [ "$db" != postgres ]; then
    pg_ctl -D "$PGDATA" -o "-c listen_addresses='' -c unix_socket_directories=/var/run/postgresql" -w start >/dev/null
    psql -v ON_ERROR_STOP=1 -q --username "$user" --dbname postgres -h /var/run/postgresql --set db="$db" <<<'CREATE DATABASE :"db";'
    pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
  fi
  echo "stand-in postgres: initialised $PGDATA for user $user, database $db"
fi
exec "$@"
`;

function debianContext(): Record<string, string> {
  const dockerfile = `# Generated by halyard src/lab/stack-images.ts: a TEST STAND-IN, not the official images.
FROM ${BASE_IMAGE}
ENV DEBIAN_FRONTEND=noninteractive
# postgres is uid/gid 999 as in the official image (the base gives gid 999 to systemd-journal: moved aside).
RUN set -eux; \\
    printf '#!/bin/sh\\nexit 101\\n' > /usr/sbin/policy-rc.d; chmod 0755 /usr/sbin/policy-rc.d; \\
    if getent group 999 >/dev/null; then groupmod --gid 989 "$(getent group 999 | cut -d: -f1)"; fi; \\
    if getent passwd 999 >/dev/null; then usermod --uid 989 "$(getent passwd 999 | cut -d: -f1)"; fi; \\
    groupadd --system --gid 999 postgres; \\
    useradd --system --uid 999 --gid 999 --home-dir /var/lib/postgresql --shell /bin/bash postgres; \\
    mkdir -p /etc/postgresql-common; \\
    printf 'create_main_cluster = false\\n' > /etc/postgresql-common/createcluster.conf; \\
    apt-get update -q; \\
    apt-get install -y -q --no-install-recommends -o Dpkg::Options::=--force-confold nginx postgresql prometheus-node-exporter wget; \\
    apt-get clean; rm -rf /var/lib/apt/lists/*; \\
    rm -f /etc/nginx/sites-enabled/default; \\
    ln -s "$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"/* /usr/local/bin/; \\
    ln -sf /dev/stdout /var/log/nginx/access.log; ln -sf /dev/stderr /var/log/nginx/error.log; \\
    rm -rf /usr/share/doc/* /usr/share/man/* /usr/share/info/* /usr/share/locale/*; \\
    rm -rf /usr/lib/postgresql/*/lib/llvmjit* /usr/lib/postgresql/*/lib/bitcode /usr/lib/x86_64-linux-gnu/libLLVM-* /usr/lib/x86_64-linux-gnu/libz3.so*
COPY standin-dispatch /usr/local/bin/standin-dispatch
COPY standin-postgres /usr/local/bin/standin-postgres
RUN chmod 0755 /usr/local/bin/standin-dispatch /usr/local/bin/standin-postgres
ENV PGDATA=/var/lib/postgresql/data
LABEL ${STANDIN_LABEL}=nginx,postgres,node-exporter
EXPOSE 80 443 5432 9100
ENTRYPOINT ["/usr/local/bin/standin-dispatch"]
`;
  return { Dockerfile: dockerfile, 'standin-dispatch': DISPATCH, 'standin-postgres': POSTGRES_ENTRYPOINT };
}

// The image settings `docker import` must restore after flattening (the Dockerfile's ENV, EXPOSE, LABEL, ENTRYPOINT).
const DEBIAN_SERVICES_CONFIG = [
  'ENV PGDATA=/var/lib/postgresql/data',
  `LABEL ${STANDIN_LABEL}=nginx,postgres,node-exporter`,
  'EXPOSE 80 443 5432 9100',
  'ENTRYPOINT ["/usr/local/bin/standin-dispatch"]',
];

// Rewrites an image as one layer, so files deleted by a later layer (the base's docs and locales)
// no longer ship inside the lower one.
async function flattenImage(source: string, target: string, config: readonly string[]): Promise<void> {
  const created = await dockerChecked(['create', source], { timeoutMs: 60_000 });
  const container = created.stdout.trim();
  try {
    await runPipeline(['docker', 'export', container], ['docker', 'import', ...config.flatMap((line) => ['--change', line]), '-', target], { timeoutMs: 10 * 60_000 });
  } finally {
    await docker(['rm', '-f', container]);
  }
}

async function ensureDebianServices(say: (message: string) => void, buildArgs: readonly string[]): Promise<ImageBuild> {
  const started = Date.now();
  await ensureBaseImage({ onProgress: say });
  const context = debianContext();
  const parts = [await imageId(BASE_IMAGE), ...Object.keys(context).sort().flatMap((name) => [name, context[name] ?? ''])];
  const image = `${DEBIAN_SERVICES_REPOSITORY}:${hashOf(parts)}`;
  if (await imageExists(image)) return { image, built: false, durationMs: Date.now() - started };
  say(`building ${image} (apt-get install nginx postgresql prometheus-node-exporter)`);
  const dir = await mkdtemp(join(tmpdir(), 'halyard-standin-debian-'));
  try {
    for (const [name, text] of Object.entries(context)) await writeFile(join(dir, name), text);
    // Through the package cache when there is one (http_proxy is a predefined build arg: not in the image).
    const cache = await labAptCache('auto', say);
    const proxy = cache ? ['--build-arg', `http_proxy=${cache.buildProxyUrl}`] : [];
    const layered = `${image}-layered`;
    await dockerChecked(['build', ...proxy, ...buildArgs, '-t', layered, dir], { timeoutMs: 20 * 60_000, env: { ...process.env, DOCKER_BUILDKIT: '0' } });
    await flattenImage(layered, image, DEBIAN_SERVICES_CONFIG);
    await docker(['rmi', layered]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return { image, built: true, durationMs: Date.now() - started };
}

// Everything ensureStackTestImagesDetailed did.
export interface StackTestImages {
  /** Image overrides by compose service name, for the role's `images` var. */
  images: Record<string, string>;
  builds: ImageBuild[];
}

// Builds (or finds, by content hash) every stand-in; serialised across processes by a lock.
export async function ensureStackTestImagesDetailed(options: { onProgress?: (message: string) => void; lowPriority?: boolean } = {}): Promise<StackTestImages> {
  const say = options.onProgress ?? (() => {});
  await ensureDockerEngine();
  const stateDir = labStateDir();
  await mkdir(stateDir, { recursive: true });
  return withDirLock(
    join(stateDir, 'stack-test-images.lock'),
    async () => {
      const busybox = await staticBusybox(say);
      const listed = await runChecked(BUSYBOX, ['--list'], { timeoutMs: 30_000 });
      const applets = listed.stdout.split('\n').map((name) => name.trim()).filter((name) => /^[A-Za-z0-9_.[-]+$/.test(name));
      const builds: ImageBuild[] = [];
      const images: Record<string, string> = {};
      for (const standin of BUSYBOX_STANDINS) {
        const build = await ensureBusyboxStandin(standin, busybox, applets, say);
        builds.push(build);
        images[standin.service] = build.image;
      }
      const debian = await ensureDebianServices(say, options.lowPriority ? LOW_PRIORITY_BUILD : []);
      builds.push(debian);
      for (const service of ['nginx', 'postgres', 'node-exporter']) images[service] = debian.image;
      await removeStaleStandins(new Set(builds.map((build) => build.image)));
      return { images, builds };
    },
    { onWait: (owner) => say(`waiting for another stand-in image build (${owner})`) },
  );
}

// Image overrides by service (grafana, loki, tempo, mimir, otel-collector, app, nginx, postgres,
// node-exporter) for the observability-stack role's `images` var: TEST STAND-INS, see above.
export async function ensureStackTestImages(): Promise<Record<string, string>> {
  return (await ensureStackTestImagesDetailed()).images;
}

// Best effort: drops older tags of the stand-in repositories no container uses.
async function removeStaleStandins(keep: Set<string>): Promise<void> {
  const listed = await docker(['images', '--filter', `label=${STANDIN_LABEL}`, '--format', '{{.Repository}}:{{.Tag}}']);
  for (const ref of listed.stdout.split('\n').map((line) => line.trim())) {
    if (ref && !keep.has(ref) && !ref.endsWith(':<none>')) await docker(['rmi', ref]);
  }
}

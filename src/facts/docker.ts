import { createHash } from 'node:crypto';
import { sh, type ShellScript } from '../core/shell.js';
import { composeInputsDigest, stageComposeInputs, stagedComposeOptions, type ComposeInputs } from './compose-inputs.js';
import { FactParseError, defineBatchedFact, defineFact, describeOutput, type Fact, type FactFamily } from './fact.js';

// Docker facts: the engine and compose command on a host, image IDs, a compose project's containers
// and the config hashes its current files produce, and HTTP answers of health URLs.

/** Labels docker compose (v1 and v2) puts on the containers it creates. */
export const COMPOSE_LABELS = {
  project: 'com.docker.compose.project',
  service: 'com.docker.compose.service',
  configHash: 'com.docker.compose.config-hash',
  oneoff: 'com.docker.compose.oneoff',
} as const;

// Which compose command runs a project: the v2 plugin (`docker compose`) or `docker-compose` (v1).
export type ComposeTool = 'v2' | 'v1';

// A compose command asked for by a resource: 'auto' prefers the v2 plugin and falls back to docker-compose.
export type ComposeCommandChoice = 'auto' | ComposeTool;

// The words of a compose command, for labels and messages.
export function composeWords(tool: ComposeTool): string {
  return tool === 'v2' ? 'docker compose' : 'docker-compose';
}

// The compose command as shell, for scripts.
export function composeCommand(tool: ComposeTool): ShellScript {
  return tool === 'v2' ? sh`docker compose` : sh`docker-compose`;
}

// Compose and health facts are read by snippets that see files (compose file, .env, env_files), containers and the
// network, like command guards: they live under the guards' `status:` prefix, so every change that makes guard
// facts stale (a file written, a directory, a service started, a package installed) re-probes them too.

/** Key prefix of compose project facts, and the pattern for all of them. */
export const COMPOSE_FACT_PREFIX = 'status:compose:';
export const COMPOSE_FACTS = `${COMPOSE_FACT_PREFIX}*`;
/** Key prefix of HTTP health facts. */
export const HEALTH_FACT_PREFIX = 'status:health:';

// Invalidation patterns for one project's compose and health facts.
export function projectFactPatterns(project: string): string[] {
  return [`${COMPOSE_FACT_PREFIX}${project}:*`, `${HEALTH_FACT_PREFIX}${project}:*`];
}

// Collapses a multi-line message to one short line for facts and plans.
function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim().slice(0, 300);
}

// Shell that prints a shell variable's value (a constant name such as 'o') as one line of at most 300 characters.
function oneLineShell(variable: 'o' | 'ps' | 'h' | 'r'): ShellScript {
  return sh`"$(printf '%s' "$${sh.trusted(variable)}" | tr '\\n' ' ' | cut -c1-300)"`;
}

// ---------------------------------------------------------------------------------------------
// docker:info

// Docker on a host: the CLI, whether the daemon answers, and which compose commands work.
export interface DockerInfo {
  /** `docker` is on PATH. */
  cli: boolean;
  /** `docker info` answered with this server version; undefined when the daemon did not answer. */
  serverVersion?: string;
  /** Why the daemon did not answer (docker's own message, one line). */
  daemonError?: string;
  /** `docker compose version --short` (the v2 plugin) when it works. */
  composeV2?: string;
  /** Where `docker-compose` (v1) is on PATH (/usr/bin/docker-compose from Debian 12's package); its version is not asked. */
  composeV1?: string;
}

const DOCKER_INFO_SCRIPT = sh.lines([
  sh`if command -v docker >/dev/null 2>&1; then`,
  sh`  echo 'cli 1'`,
  // timeout: a wedged daemon must not hang the probe. When info fails, `docker version` says why on stderr
  // ("Cannot connect to the Docker daemon ..."; docker info itself prints a template error there).
  sh`  t=; if command -v timeout >/dev/null 2>&1; then t='timeout 20'; fi`,
  sh`  if o=$($t docker info --format 'version {{.ServerVersion}}' 2>/dev/null); then printf '%s\\n' "$o" | sed -n 's/^version /daemon /p'`,
  sh`  else o=$($t docker version --format '{{.Server.Version}}' 2>&1 >/dev/null); printf 'daemon-error %s\\n' ${oneLineShell('o')}; fi`,
  sh`  if v=$(docker compose version --short 2>/dev/null); then printf 'compose-v2 %s\\n' "$v"; fi`,
  sh`else echo 'cli 0'; fi`,
  // v1 is a Python program: asking its version cost 0.37 s of the host's time on every probe; a broken
  // one fails the project's `config --hash` with its own message anyway (composeProjectFact).
  sh`if v=$(command -v docker-compose 2>/dev/null); then printf 'compose-v1 %s\\n' "$v"; fi`,
  sh`true`,
]).text;

// The docker fact: CLI, daemon version (or its error) and compose commands, in one probe.
export const dockerFact: Fact<DockerInfo> = defineFact('docker:info', DOCKER_INFO_SCRIPT, parseDockerInfo);

// Pure parser for the docker fact.
export function parseDockerInfo(stdout: string, exitCode: number): DockerInfo {
  if (exitCode !== 0) throw new FactParseError('docker:info', `probe failed with exit code ${exitCode}`);
  let cli: boolean | undefined;
  const info: Omit<DockerInfo, 'cli'> = {};
  for (const line of stdout.split('\n')) {
    const [tag, rest] = splitTag(line);
    if (tag === 'cli') cli = rest === '1';
    else if (tag === 'daemon' && rest !== '') info.serverVersion = rest.trim();
    else if (tag === 'daemon-error') info.daemonError = oneLine(rest) || 'docker info failed';
    else if (tag === 'compose-v2' && rest.trim() !== '') info.composeV2 = rest.trim();
    else if (tag === 'compose-v1' && rest.trim() !== '') info.composeV1 = rest.trim();
  }
  if (cli === undefined) throw new FactParseError('docker:info', `no cli line in probe output (${describeOutput(stdout)})`);
  if (cli && info.serverVersion === undefined && info.daemonError === undefined) info.daemonError = 'docker info printed no server version';
  return { cli, ...info };
}

// The compose command a resource will use, or undefined when the one it needs is not installed.
export function chooseComposeTool(info: { composeV2?: string | undefined; composeV1?: string | undefined }, wanted: ComposeCommandChoice): ComposeTool | undefined {
  if (wanted !== 'v1' && info.composeV2 !== undefined) return 'v2';
  if (wanted !== 'v2' && info.composeV1 !== undefined) return 'v1';
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// docker-image:<ref>

// An image reference on a host: its ID, not there, or unknown because docker is missing or down.
export type DockerImageState = { status: 'present'; id: string } | { status: 'absent' } | { status: 'no-docker' } | { status: 'daemon-down' };

// Every image reference of a probe in one section: one `docker image inspect` for all of them, which
// in the converged case (all present) is the only program; only when one is missing or the daemon
// does not answer is each asked alone, with `docker version` telling which (a program each: 80 ms
// of a host's time, so seven images were half a second of every no-op).
function dockerImagesProbeScript(refs: readonly string[]): string {
  return sh.lines([
    sh`if ! command -v docker >/dev/null 2>&1; then echo 'no-docker'; exit 0; fi`,
    sh`if ids=$(docker image inspect --format '{{.Id}}' ${refs} 2>/dev/null) && [ "$(printf '%s\\n' "$ids" | wc -l)" -eq ${String(refs.length)} ]; then printf '%s\\n' "$ids" | sed 's/^/id /'`,
    sh`else`,
    ...refs.map(
      (ref) =>
        // inspect fails for a missing image and for a daemon that does not answer; `docker version` tells which.
        sh`  if i=$(docker image inspect --format '{{.Id}}' ${ref} 2>/dev/null); then printf 'id %s\\n' "$i"; elif docker version --format '{{.Server.Version}}' >/dev/null 2>&1; then echo 'absent'; else echo 'daemon-down'; fi`,
    ),
    sh`fi`,
  ]).text;
}

// Each reference's state, in the order of `refs`, from the section's lines (one per reference, or `no-docker`).
function parseDockerImageStates(stdout: string, exitCode: number, refs: readonly string[]): DockerImageState[] {
  const keyOf = (index: number) => `docker-image:${refs[index] ?? '?'}`;
  if (exitCode !== 0) throw new FactParseError(keyOf(0), `probe failed with exit code ${exitCode}`);
  const lines = stdout.split('\n').filter((text) => text !== '');
  if (lines[0] === 'no-docker') return refs.map(() => ({ status: 'no-docker' }));
  if (lines.length !== refs.length) throw new FactParseError(keyOf(0), `${lines.length} answers for ${refs.length} images (${describeOutput(stdout)})`);
  return lines.map((line, index) => {
    if (line === 'absent') return { status: 'absent' };
    if (line === 'daemon-down') return { status: 'daemon-down' };
    const match = /^id (sha256:[0-9a-f]{64})$/.exec(line.trim());
    if (match) return { status: 'present', id: match[1] as string };
    throw new FactParseError(keyOf(index), `unexpected output (${describeOutput(line)})`);
  });
}

// The family of image facts: every image reference of a probe in one section.
export const dockerImageFamily: FactFamily<string, DockerImageState> = {
  name: 'halyard:docker-image',
  script: dockerImagesProbeScript,
  parse: parseDockerImageStates,
};

// The fact for the image ID a reference names on the host (`docker image inspect --format '{{.Id}}' REF`).
export function dockerImageFact(ref: string): Fact<DockerImageState> {
  return defineBatchedFact(`docker-image:${ref}`, dockerImageFamily, ref);
}

// Pure parser for one reference's probe output.
export function parseDockerImageState(key: string, stdout: string, exitCode: number): DockerImageState {
  const [state] = parseDockerImageStates(stdout, exitCode, [key.replace(/^docker-image:/, '')]);
  if (!state) throw new FactParseError(key, 'no state in probe output');
  return state;
}

// ---------------------------------------------------------------------------------------------
// status:compose:<project>:...

// One container of a compose project as `docker ps -a` shows it.
export interface ComposeContainer {
  service: string;
  name: string;
  /** The com.docker.compose.config-hash label: the hash of the service config it was created from. */
  configHash: string;
  /** created, running, paused, restarting, removing, exited, dead. */
  state: string;
  /** From the status text: healthy, unhealthy, starting; undefined without a healthcheck. */
  health?: 'healthy' | 'unhealthy' | 'starting';
  /** `docker ps` status text, e.g. "Up 5 minutes (healthy)", "Exited (1) 2 seconds ago". */
  status: string;
  /** v2, and v1 with `containerImages`: the image reference it was configured with and the image ID it runs. */
  image?: string;
  imageId?: string;
}

// A compose project on a host: the compose command found, its containers and what its current files produce.
export interface ComposeProjectState {
  /** The compose command that will run it; 'none' when the one asked for is missing (or docker is). */
  tool: ComposeTool | 'none';
  /** The project directory and compose file exist. */
  fileFound: boolean;
  /** docker or compose could not read the project (daemon down, invalid compose file): their message. */
  error?: string;
  /** Containers of the project, one-off `run` containers left out. */
  containers: ComposeContainer[];
  /** Service -> the config hash the current files produce (`config --hash '*'`). */
  expected: Record<string, string>;
  /** v2, and v1 with `containerImages`: image reference -> the image ID it names on the host now. */
  images: Record<string, string>;
}

// What a compose project fact needs: where the files are, the project name, which compose command.
export interface ComposeTarget {
  dir: string;
  project: string;
  file: string;
  command: ComposeCommandChoice;
  /** The compose file and .env as `up` will read them: the hashes come from these, not from the host's files (compose-inputs.ts). */
  inputs?: ComposeInputs;
  /**
   * Read each container's image reference and ID, and the host's ID of each reference, under v1 too
   * (v2 always reads them): a planner told which images the run loads predicts the recreates from them.
   */
  containerImages?: boolean;
}

/** `docker ps --format`: one line per container, fields separated by '|' (none of them can hold one). */
export const COMPOSE_PS_FORMAT = [
  `{{.Label "${COMPOSE_LABELS.service}"}}`,
  `{{.Label "${COMPOSE_LABELS.configHash}"}}`,
  '{{.State}}',
  '{{.Status}}',
  `{{.Label "${COMPOSE_LABELS.oneoff}"}}`,
  '{{.Names}}',
].join('|');

// The fact key of a compose project (prefix `status:compose:<project>:` so its changes can invalidate it).
export function composeFactKey(target: ComposeTarget): string {
  const inputs = target.inputs === undefined ? '' : `:inputs-${composeInputsDigest(target.inputs)}`;
  const images = target.containerImages === true ? ':images' : '';
  return `${COMPOSE_FACT_PREFIX}${target.project}:${target.dir}/${target.file}:${target.command}${inputs}${images}`;
}

// Shell that finds the compose command (per the choice) into $c and prints `tool ...`; exits the fact when none.
function composeToolLines(command: ComposeCommandChoice): ShellScript[] {
  const v2 = sh`command -v docker >/dev/null 2>&1 && docker compose version --short >/dev/null 2>&1`;
  // v1 is a Python program: asking it its version cost 0.4-0.6 s of host CPU per probe, and a
  // broken one fails the `config --hash` below with its own message anyway.
  const v1 = sh`command -v docker-compose >/dev/null 2>&1`;
  const branches: ShellScript[] = [];
  if (command !== 'v1') branches.push(sh`if ${v2}; then c='docker compose'; echo 'tool v2'`);
  if (command !== 'v2') branches.push(sh`${branches.length > 0 ? sh`elif` : sh`if`} ${v1}; then c=docker-compose; echo 'tool v1'`);
  return [...branches, sh`else echo 'tool none'; exit 0; fi`];
}

// The fact for a compose project: its containers (one `docker ps -a` call) and the hashes its files produce.
export function composeProjectFact(target: ComposeTarget): Fact<ComposeProjectState> {
  const key = composeFactKey(target);
  const { project, file } = target;
  const script = sh.lines([
    ...composeToolLines(target.command),
    // With inputs, the compose file on the host may be missing or drifted: the staged one is hashed.
    target.inputs === undefined
      ? sh`if ! cd -- ${target.dir} 2>/dev/null || [ ! -f ${file} ]; then echo 'no-file'; exit 0; fi`
      : sh`if ! cd -- ${target.dir} 2>/dev/null; then echo 'no-file'; exit 0; fi`,
    sh`ps=$(docker ps -a --filter label=${`${COMPOSE_LABELS.project}=${target.project}`} --format ${COMPOSE_PS_FORMAT} 2>&1) || { printf 'ps-error %s\\n' ${oneLineShell('ps')}; exit 0; }`,
    sh`printf '%s\\n' "$ps" | sed -n 's/^./ps &/p'`,
    // v2 recreates a container whose image changed; v1's config hash already covers the image ID,
    // so v1 reads images only when asked (an image the run loads changes that hash only once loaded).
    target.containerImages === true ? sh`if [ -n "$ps" ]; then` : sh`if [ "$c" = 'docker compose' ] && [ -n "$ps" ]; then`,
    sh`  ci=$(printf '%s\\n' "$ps" | cut -d'|' -f6 | xargs docker inspect --format '{{.Name}}|{{.Config.Image}}|{{.Image}}' 2>/dev/null)`,
    sh`  printf '%s\\n' "$ci" | sed -n 's/^\\/*\\(.\\)/cimg \\1/p'`,
    // One inspect for every reference when all are present (refs hold no blanks; set -f: no globbing);
    // else each alone, leaving out the missing ones.
    sh`  set -f; set -- $(printf '%s\\n' "$ci" | cut -d'|' -f2 | sort -u); set +f`,
    sh`  if [ $# -gt 0 ] && ids=$(docker image inspect --format '{{.Id}}' "$@" 2>/dev/null) && [ "$(printf '%s\\n' "$ids" | wc -l)" -eq $# ]; then printf '%s\\n' "$ids" | { for r in "$@"; do IFS= read -r i; printf 'img %s|%s\\n' "$r" "$i"; done; }`,
    sh`  else for r in "$@"; do if i=$(docker image inspect --format '{{.Id}}' "$r" 2>/dev/null); then printf 'img %s|%s\\n' "$r" "$i"; fi; done; fi`,
    sh`fi`,
    ...(target.inputs === undefined ? [] : stageComposeInputs(target.inputs)),
    sh`h=$($c -p ${project} ${target.inputs === undefined ? sh`-f ${file}` : stagedComposeOptions(target.dir, target.inputs)} config --hash '*' 2>&1) || { printf 'hash-error %s\\n' ${oneLineShell('h')}; exit 0; }`,
    sh`printf '%s\\n' "$h" | sed -n 's/^./hash &/p'`,
  ]).text;
  return defineFact(key, script, (stdout, exitCode) => parseComposeProjectState(key, stdout, exitCode));
}

// Pure parser for composeProjectFact; warning lines compose mixes into its output are ignored.
export function parseComposeProjectState(key: string, stdout: string, exitCode: number): ComposeProjectState {
  if (exitCode !== 0) throw new FactParseError(key, `probe failed with exit code ${exitCode}`);
  const state: ComposeProjectState = { tool: 'none', fileFound: true, containers: [], expected: {}, images: {} };
  let sawTool = false;
  const byName = new Map<string, ComposeContainer>();
  const configured: { name: string; image: string; imageId: string }[] = [];
  for (const line of stdout.split('\n')) {
    const [tag, rest] = splitTag(line);
    if (tag === 'tool') {
      if (rest !== 'v2' && rest !== 'v1' && rest !== 'none') throw new FactParseError(key, `unknown compose tool (${describeOutput(rest)}); expected v2, v1 or none`);
      state.tool = rest;
      sawTool = true;
    } else if (tag === 'no-file') {
      state.fileFound = false;
    } else if (tag === 'ps-error' || tag === 'hash-error') {
      state.error = `${tag === 'ps-error' ? 'docker ps' : 'compose config'} failed: ${oneLine(rest) || 'no message'}`;
    } else if (tag === 'ps') {
      const [service = '', configHash = '', containerState = '', status = '', oneoff = '', name = ''] = rest.split('|');
      if (oneoff === 'True' || service === '') continue;
      const container: ComposeContainer = { service, name, configHash, state: containerState, status };
      const health = healthOf(status);
      if (health) container.health = health;
      byName.set(name, container);
      state.containers.push(container);
    } else if (tag === 'cimg') {
      const [name = '', image = '', imageId = ''] = rest.split('|');
      configured.push({ name, image, imageId });
    } else if (tag === 'img') {
      const [image = '', id = ''] = rest.split('|');
      if (image && id) state.images[image] = id;
    } else if (tag === 'hash') {
      const match = /^(\S+) ([0-9a-f]{64})$/.exec(rest.trim());
      if (match) state.expected[match[1] as string] = match[2] as string;
    }
  }
  if (!sawTool) throw new FactParseError(key, `no tool line in probe output (${describeOutput(stdout)})`);
  for (const entry of configured) {
    const container = byName.get(entry.name);
    if (container && entry.image) {
      container.image = entry.image;
      container.imageId = entry.imageId;
    }
  }
  return state;
}

function healthOf(status: string): ComposeContainer['health'] {
  if (status.includes('(healthy)')) return 'healthy';
  if (status.includes('(unhealthy)')) return 'unhealthy';
  if (status.includes('(health: starting)')) return 'starting';
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// status:health:<project>:...

// One HTTP check of a service, from the host.
export interface HealthCheck {
  service: string;
  url: string;
}

// One URL's answer: the HTTP status (0 when there was none) and curl's error message when it failed.
export interface HealthAnswer {
  service: string;
  url: string;
  status: number;
  error?: string;
}

/** curl with a 3 s cap per request; stdout ends with the 3-digit status ("000" when nothing answered). */
export function curlCommand(url: string): ShellScript {
  return sh`curl -sS -o /dev/null -m 3 -w '%{http_code}' ${url}`;
}

// The health fact key of a project's checks: `status:health:<project>:<digest of the checks>`.
export function healthFactKey(project: string, checks: readonly HealthCheck[]): string {
  const digest = createHash('sha256').update(JSON.stringify(checks.map((check) => [check.service, check.url]))).digest('hex').slice(0, 12);
  return `${HEALTH_FACT_PREFIX}${project}:${digest}`;
}

// The fact for a project's health URLs: each one curled once from the host.
export function httpHealthFact(project: string, checks: readonly HealthCheck[]): Fact<HealthAnswer[]> {
  const key = healthFactKey(project, checks);
  // The checks run at once (the answer lines carry their index, each one write): a stack's six
  // URLs took 0.2 s one after another, and a service that does not answer costs its 3 s once.
  const lines = checks.map((check, index) => sh`{ r=$(${curlCommand(check.url)} 2>&1); printf 'check %s %s\\n' ${index} ${oneLineShell('r')}; } &`);
  const script = sh.lines([...lines, sh`wait`, sh`true`]).text;
  return defineFact(key, script, (stdout, exitCode) => parseHealthAnswers(key, checks, stdout, exitCode));
}

// Pure parser for httpHealthFact.
export function parseHealthAnswers(key: string, checks: readonly HealthCheck[], stdout: string, exitCode: number): HealthAnswer[] {
  if (exitCode !== 0) throw new FactParseError(key, `probe failed with exit code ${exitCode}`);
  const results = new Map<number, string>();
  for (const line of stdout.split('\n')) {
    const match = /^check (\d+) ?(.*)$/.exec(line);
    if (match) results.set(Number(match[1]), match[2] as string);
  }
  return checks.map((check, index) => {
    const text = results.get(index);
    if (text === undefined) throw new FactParseError(key, `no answer line for ${check.service} (${check.url})`);
    return { service: check.service, url: check.url, ...parseCurlOutput(text) };
  });
}

// Reads `curl -sS -w '%{http_code}'` output (stderr merged in): the trailing status and any error before it.
export function parseCurlOutput(text: string): { status: number; error?: string } {
  const trimmed = text.trim();
  const match = /^(.*?)\s*(\d{3})$/s.exec(trimmed);
  const status = match ? Number(match[2]) : 0;
  const error = oneLine(match ? (match[1] as string) : trimmed);
  if (status === 0 || error !== '') return { status, error: error || 'no answer' };
  return { status };
}

// 2xx and 3xx count as healthy.
export function healthyStatus(status: number): boolean {
  return status >= 200 && status < 400;
}

function splitTag(line: string): [string, string] {
  const space = line.indexOf(' ');
  return space < 0 ? [line, ''] : [line.slice(0, space), line.slice(space + 1)];
}

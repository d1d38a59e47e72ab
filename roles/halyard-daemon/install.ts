import { sh } from 'halyard';

// The shell the role runs on the host to switch releases and projects, and its guards; and whether
// this controller's node can be shipped at all. Pure, tested as exact strings and under a real sh.

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

// Why the daemon's drift jobs could not load their playbooks on the host, or undefined: they bundle
// them with esbuild, whose native binary in the shipped release is this controller's platform's.
export function driftJobsProblem(platform: string, jobs: readonly { name?: unknown; kind?: unknown }[]): string | undefined {
  const drift = jobs.filter((job) => job.kind === 'drift').map((job) => String(job.name));
  if (drift.length === 0 || platform === 'linux') return undefined;
  return `drift job ${drift.join(', ')} bundles playbooks with esbuild, and the release ships this controller's esbuild binary, built for ${platform}, not Linux; run the role from a Linux controller of the host's CPU architecture`;
}

// Extract the release beside the others, switch `current` to it in one rename, then drop older releases.
export function activateReleaseScript(install: string, id: string): string {
  const releases = `${install}/releases`;
  const dir = `${releases}/${id}`;
  const temp = `${releases}/${id}.tmp`;
  return sh.lines([
    sh`set -e`,
    sh`rm -rf ${temp}`,
    sh`mkdir ${temp}`,
    sh`tar -xzf ${`${releases}/halyard-${id}.tgz`} -C ${temp} --no-same-owner`,
    sh`touch ${temp}/.complete`,
    sh`rm -rf ${dir}`,
    sh`mv ${temp} ${dir}`,
    sh`ln -sfn releases/${id} ${`${install}/current.tmp`}`,
    sh`mv -T ${`${install}/current.tmp`} ${`${install}/current`}`,
    sh`find ${releases} -mindepth 1 -maxdepth 1 ! -name ${id} ! -name halyard-${id}.tgz -exec rm -rf {} +`,
  ]).text;
}

// True (exit 0) when that release is extracted whole and `current` points at it: the activation's guard.
export function releaseActiveCheck(install: string, id: string): string {
  return sh`[ "$(readlink ${`${install}/current`})" = releases/${id} ] && [ -f ${`${install}/releases/${id}/.complete`} ]`.text;
}

// Extract the project next to the live one, then swap it in; older archives are deleted.
export function activateProjectScript(install: string, configDir: string, account: string, id: string): string {
  const live = `${configDir}/project`;
  const [temp, old] = [`${live}.tmp`, `${live}.old`];
  const archives = `${install}/project`;
  return sh.lines([
    sh`set -e`,
    sh`rm -rf ${temp} ${old}`,
    sh`mkdir ${temp}`,
    sh`tar -xzf ${`${archives}/project-${id}.tgz`} -C ${temp} --no-same-owner`,
    sh`printf '%s\\n' ${id} > ${`${temp}/.halyard-project`}`,
    sh`chown -R ${`root:${account}`} ${temp}`,
    sh`chmod -R u=rwX,g=rX,o= ${temp}`,
    sh`if [ -e ${live} ]; then mv ${live} ${old}; fi`,
    sh`mv ${temp} ${live}`,
    sh`rm -rf ${old}`,
    sh`find ${archives} -mindepth 1 -maxdepth 1 ! -name project-${id}.tgz -exec rm -rf {} +`,
  ]).text;
}

// True (exit 0) when the live project is this archive: the activation's guard.
export function projectActiveCheck(configDir: string, id: string): string {
  return sh`[ "$(cat ${`${configDir}/project/.halyard-project`} 2>/dev/null)" = ${id} ]`.text;
}

import { quote } from 'halyard';

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

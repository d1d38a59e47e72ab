import { readFile } from 'node:fs/promises';
import { LAB_LABEL, containerLabel, docker, dockerChecked, publishedSshPort } from './docker.js';
import { VARIANT_LABEL, readFleet, waitUntilReady, writeFleetFiles } from './fleet.js';
import { HOSTKEYS_SCRIPT } from './host-image.js';
import { readHostKeys } from './host-keys.js';
import { closeLabConnection, execOverSsh, forgetLabRoute, rememberLabRoutes } from './host-shell.js';
import type { RunResult } from './process.js';
import { waitForSshBanner } from './wait.js';

// Runs a script inside a lab host as root (or `user`), for tests that set up or inspect a host
// behind halyard's back (drift, assertions): over the host's kept SSH connection when this process
// started or read its fleet (a `docker exec` cost the machine 220-265 ms of CPU, a command on the
// kept connection 35-44 ms), else, or when sshd does not let it in, through `docker exec CONTAINER sh -c`.
export async function labExec(
  container: string,
  script: string,
  options: { user?: string; timeoutMs?: number; input?: string } = {},
): Promise<RunResult> {
  const overSsh = await execOverSsh(container, script, options);
  if (overSsh) return overSsh;
  const args = ['exec', ...(options.input === undefined ? [] : ['-i']), ...(options.user ? ['-u', options.user] : [])];
  args.push(container, 'sh', '-c', script);
  return docker(args, { timeoutMs: options.timeoutMs ?? 120_000, input: options.input });
}

// Stops a lab host so it is unreachable (connections to its old port are refused).
export async function labStop(container: string): Promise<void> {
  forgetLabRoute(container);
  await dockerChecked(['stop', '-t', '10', container], { timeoutMs: 60_000 });
}

// Starts a stopped lab host and waits until sshd answers. Docker picks a NEW port on start,
// so this returns it and rewrites the fleet's inventory.yml/known_hosts/fleet.json to match.
export async function labStart(container: string, options: { timeoutMs?: number } = {}): Promise<{ port: number }> {
  await dockerChecked(['start', container], { timeoutMs: 60_000 });
  const port = await publishedSshPort(container);
  const systemd = (await containerLabel(container, VARIANT_LABEL)) === 'systemd';
  await waitUntilReady(container, port, systemd, options.timeoutMs ?? (systemd ? 180_000 : 60_000));
  const fleetName = await containerLabel(container, LAB_LABEL);
  const fleet = fleetName ? await readFleet(fleetName) : undefined;
  const host = fleet?.hosts.find((h) => h.container === container);
  if (fleet && host && host.port !== port) {
    const oldTarget = `[${host.address}]:${host.port} `;
    const newTarget = `[${host.address}]:${port} `;
    host.port = port;
    const knownHosts = await readFile(fleet.knownHostsFile, 'utf8').catch(() => '');
    const moved = knownHosts
      .split('\n')
      .map((line) => (line.startsWith(oldTarget) ? newTarget + line.slice(oldTarget.length) : line))
      .join('\n');
    await writeFleetFiles(fleet, moved);
  }
  // The route readFleet recorded named the old port; rememberLabRoutes replaces it with the new one.
  if (fleet) rememberLabRoutes(fleet);
  else forgetLabRoute(container);
  return { port };
}

// Replaces a host's SSH host keys and restarts sshd (for changed-host-key tests). The fleet's
// known_hosts is deliberately NOT updated. Returns the new keys (`type base64`).
export async function regenerateHostKeys(container: string, options: { timeoutMs?: number } = {}): Promise<string[]> {
  const systemd = (await containerLabel(container, VARIANT_LABEL)) === 'systemd';
  // Plain hosts run sshd as PID 1: SIGHUP makes it re-exec and load the new keys; wait until its
  // listening sockets are new ones, so no connection reaches the old process afterwards.
  const script = systemd
    ? `set -e; rm -f /etc/ssh/ssh_host_*; ${HOSTKEYS_SCRIPT}; systemctl restart ssh.service`
    : `set -e
rm -f /etc/ssh/ssh_host_*
${HOSTKEYS_SCRIPT}
before=$(ls -l /proc/1/fd | grep -o 'socket:\\[[0-9]*\\]' | sort | tr '\\n' ' ')
kill -HUP 1
i=0
while [ $i -lt 200 ]; do
  after=$(ls -l /proc/1/fd 2>/dev/null | grep -o 'socket:\\[[0-9]*\\]' | sort | tr '\\n' ' ' || true)
  if [ -n "$after" ] && [ "$after" != "$before" ]; then exit 0; fi
  i=$((i + 1)); sleep 0.05
done
echo "sshd did not restart after SIGHUP" >&2; exit 1`;
  await dockerChecked(['exec', container, 'sh', '-c', script], { timeoutMs: options.timeoutMs ?? 60_000 });
  closeLabConnection(container);
  await waitForSshBanner(await publishedSshPort(container), { timeoutMs: options.timeoutMs ?? 60_000 });
  return readHostKeys(container);
}

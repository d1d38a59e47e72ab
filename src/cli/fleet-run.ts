import { stringify } from 'yaml';
import { UsageError } from '../core/errors.js';
import type { Redactor } from '../core/secret.js';
import { redactorForHosts } from '../engine/prepare-run.js';
import { forksFrom, wholeSeconds } from './flag-values.js';
import { renderArgv } from '../core/shell.js';
import { runAdHoc, type AdHocHostResult } from '../engine/adhoc.js';
import { FactsCache } from '../engine/facts-cache.js';
import { gatherFacts } from '../engine/facts-run.js';
import { probeTimeoutMs } from '../engine/run.js';
import { connectTargetOf, hostLink } from '../engine/ssh-link.js';
import { fetchHostSecrets } from '../engine/resolve-secrets.js';
import { loadInventory, parseExtraVars, selectHosts, type Host } from '../inventory/index.js';
import { parseSlice, sliceHosts, sliceLabel } from '../inventory/slice.js';
import { SshPool } from '../ssh/index.js';
import { runSettings } from './ansible-settings.js';
import type { FleetFlags } from './fleet-commands.js';
import { stdoutText } from './output/terminal.js';
import { sshOptionsFrom } from './ssh-flags.js';
import { askBecomePassword, vaultKeyring } from './vault-flags.js';

// The hosts a pattern names in the inventories the flags (or halyard.yml, ansible.cfg) give, and a
// redactor knowing every secret their vars hold.
async function targetHosts(pattern: string, flags: FleetFlags): Promise<{ hosts: Host[]; redactor: Redactor; forks: number; lockWaitSeconds: number }> {
  const slice = flags.slice === undefined ? undefined : parseSlice(flags.slice);
  const settings = runSettings(flags.inventory, undefined, flags);
  if (flags.askBecomePass) settings.connectionDefaults.becomePassword = await askBecomePassword();
  for (const warning of settings.warnings) process.stderr.write(`halyard: warning: ${warning}\n`);
  const vault = await vaultKeyring(flags, settings.ansible);
  const inventory = await loadInventory(settings.inventory, {
    connectionDefaults: settings.connectionDefaults,
    vault,
    extraVars: parseExtraVars(flags.extraVars, { vault }),
    playDir: process.cwd(),
    ...(flags.limit ? { limit: flags.limit } : {}),
  });
  const selected = selectHosts(inventory, pattern);
  if (selected.length === 0) throw new UsageError(`"${pattern}" matches no host in ${settings.inventory.join(', ')}${flags.limit ? ` (with --limit ${flags.limit})` : ''}`);
  // As apply's: a slice may hold none of the selected hosts, which is no mistake.
  const hosts = sliceHosts(selected, slice);
  if (slice && hosts.length === 0) process.stderr.write(`halyard: ${sliceLabel(slice)}: none of the ${selected.length} selected hosts falls in this slice; nothing to do\n`);
  // A sudo password given as `!aws_secret`: fetched once, before anything connects (and masked).
  await fetchHostSecrets(hosts, 'connection');
  const redactor = redactorForHosts(inventory.hosts);
  const forks = forksFrom(flags.forks, settings.forks);
  const lockWaitSeconds = wholeSeconds(flags.lockTimeout, '--lock-timeout');
  return { hosts, redactor, forks, lockWaitSeconds };
}

// `halyard facts [PATTERN]`: each host's facts as YAML (or one JSON document); false when a host failed.
export async function factsCommand(pattern: string, flags: FleetFlags): Promise<boolean> {
  const { hosts, redactor, forks, lockWaitSeconds } = await targetHosts(pattern, flags);
  const pool = new SshPool(sshOptionsFrom(flags));
  let report;
  try {
    report = await gatherFacts(hosts, {
      forks,
      lockWaitSeconds,
      probeTimeoutMs: probeTimeoutMs(pool.options.commandTimeoutMs),
      stepTimeoutMs: pool.options.commandTimeoutMs,
      redactor,
      connect: (host) => hostLink(pool, host),
      cache: new FactsCache(),
    });
  } finally {
    await pool.closeAll();
  }
  if (flags.json) {
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return report.ok;
  }
  for (const [name, result] of Object.entries(report.hosts)) {
    if (result.facts) stdoutText.write(`${name}:\n${stringify(result.facts, { indent: 2, lineWidth: 0 }).replace(/^/gm, '  ').trimEnd()}\n`);
    else stdoutText.write(`${name} | ${result.unreachable ? 'UNREACHABLE' : 'FAILED'}: ${result.error ?? 'no facts'}\n`);
  }
  return report.ok;
}

// `halyard exec PATTERN -- CMD...`: one line of header and the output per host as each finishes
// (or one JSON document); false when any host failed, was unreachable or exited non-zero.
export async function execCommand(pattern: string, words: string[], flags: FleetFlags): Promise<boolean> {
  if (words.length === 0 || words.every((word) => word.trim() === '')) throw new UsageError('exec needs a command after --');
  // One word is a command line for the remote shell (as `ansible -a` and ssh take it); several are
  // an argv, each word quoted, so `-- rm -f "my file"` removes exactly that file.
  const script = words.length === 1 ? (words[0] as string) : renderArgv(words);
  const { hosts, redactor, forks, lockWaitSeconds } = await targetHosts(pattern, flags);
  const pool = new SshPool(sshOptionsFrom(flags));
  const show = (name: string, result: AdHocHostResult) => {
    if (flags.json) return;
    if (result.exitCode === undefined) {
      stdoutText.write(`${name} | ${result.unreachable ? 'UNREACHABLE' : 'FAILED'}: ${result.error ?? 'not run'}\n`);
      return;
    }
    const output = result.output.replace(/\n?$/, result.output === '' ? '' : '\n');
    stdoutText.write(`${name} | ${result.exitCode === 0 ? 'OK' : 'FAILED'} | rc=${result.exitCode} >>\n${output}`);
  };
  let result;
  try {
    result = await runAdHoc(hosts, script, {
      forks,
      lockWaitSeconds,
      timeoutMs: pool.options.commandTimeoutMs,
      redactor,
      session: (host) => pool.session(connectTargetOf(host)),
      onHost: show,
    });
  } finally {
    await pool.closeAll();
  }
  if (flags.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  return result.ok;
}

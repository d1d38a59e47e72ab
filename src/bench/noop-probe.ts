// The first request halyard sends a host for a playbook (host locks, then one probe of every
// fact), built by the engine's own builder: the bench sends the same text over OpenSSH.
import { randomBytes } from 'node:crypto';
import { firstRequest } from '../engine/host-run.js';
import { newLockOwner, parseLockOutcome } from '../engine/lock.js';
import { preparePlaybookRun } from '../engine/prepare-run.js';
import type { Fact } from '../facts/fact.js';
import { parseProbeOutput } from '../facts/probe-script.js';

// The script, the facts it probes and its nonce (to read a host's answer back).
export interface NoopProbe {
  script: string;
  facts: Fact<unknown>[];
  nonce: string;
}

// Builds the first request for the playbook's first host (or `hostName`) in that inventory, as
// `halyard apply` would send it. Refused for playbooks whose tasks read host facts: their probe
// differs per host, and the engine builds it only once the host's facts are in.
export async function noopProbe(playbookPath: string, inventoryPath: string, hostName?: string): Promise<NoopProbe> {
  const run = await preparePlaybookRun(playbookPath, inventoryPath);
  const host = hostName === undefined ? run.hosts[0] : run.hosts.find((candidate) => candidate.name === hostName);
  if (!host) throw new Error(`${inventoryPath}: no host ${hostName ?? ''} that ${playbookPath} targets`);
  const source = run.workFor(host);
  if (!source.initial) throw new Error(`${playbookPath}: its tasks read host facts, so its probe is built per host after the first request; pick a playbook whose tasks do not`);
  const context = { diff: false, mask: (text: string) => run.redactor.redact(text) };
  const taskFacts = source.initial.tasks.flatMap((task) => Object.values(task.type.facts(task.desired, context)));
  const nonce = randomBytes(8).toString('hex');
  // The lock waits 0 s, as `halyard apply` does without --lock-timeout.
  const { facts, script } = firstRequest(source.customFacts, taskFacts, nonce, { lockOwner: newLockOwner(), lockWaitSeconds: 0 });
  return { script, facts, nonce };
}

// Reads one host's answer to the probe: the lock taken and every fact parsed, or why not.
export function checkNoopAnswer(probe: NoopProbe, stdout: string): string | undefined {
  const { outcome, rest } = parseLockOutcome(stdout, probe.nonce);
  if (!outcome.locked) return `lock not taken (${outcome.reason})`;
  try {
    const values = parseProbeOutput(rest, probe.facts, probe.nonce);
    return values.size === probe.facts.length ? undefined : `${values.size} of ${probe.facts.length} facts`;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

import { createHash } from 'node:crypto';
import { UsageError } from '../core/errors.js';

// `--slice INDEX/COUNT`: one of COUNT parallel runs (a Kubernetes Indexed Job's pods, a CI matrix's
// jobs) takes the selected hosts whose name hashes to INDEX. A host's slice depends on its name and
// COUNT alone, not on inventory order or on the other hosts, so:
// - every slice computes its share with no coordination, and the slices are disjoint and cover the
//   selection exactly, even if the slices read an inventory (an EC2 one) at slightly different times:
//   a host present in every read is in exactly one slice;
// - adding or removing a host never moves another host to another slice;
// - --limit, play patterns and `facts`/`exec` patterns compose with it in any order.
// The price is balance: slices differ by a few hosts (binomially, about √(hosts/COUNT)) where
// sorted names dealt round robin would differ by one, but then one host added moves every name
// after it and two slices reading different inventories would run a host twice or never.
// INDEX is 0-based, as Kubernetes' JOB_COMPLETION_INDEX and GitHub Actions' strategy.job-index.

// One slice of a run's hosts: `index` from 0 to `count - 1`.
export interface HostSlice {
  index: number;
  count: number;
}

// Parses `--slice INDEX/COUNT`; a usage error (exit 64) naming the value and the fix otherwise.
export function parseSlice(text: string, flag = '--slice'): HostSlice {
  const match = /^(\d+)\/(\d+)$/.exec(text.trim());
  const index = Number(match?.[1]);
  const count = Number(match?.[2]);
  if (!match || !Number.isSafeInteger(index) || !Number.isSafeInteger(count)) {
    throw new UsageError(`${flag} must be INDEX/COUNT, the 0-based slice and how many there are (e.g. ${flag} 0/3, or "$JOB_COMPLETION_INDEX/3" in a Kubernetes Indexed Job), got "${text}"`);
  }
  if (count < 1) throw new UsageError(`${flag} ${text.trim()}: COUNT must be at least 1`);
  if (index >= count) {
    throw new UsageError(
      `${flag} ${text.trim()}: INDEX runs from 0 to ${count - 1} (0-based, as Kubernetes' JOB_COMPLETION_INDEX and GitHub's strategy.job-index; from a 1-based counter such as GitLab's CI_NODE_INDEX pass "$((CI_NODE_INDEX - 1))/${count}")`,
    );
  }
  return { index, count };
}

// The slice a host name belongs to among `count`: the first 4 bytes of the SHA-256 of its UTF-8
// name, big-endian, modulo count (in a shell: `$(( 0x$(printf %s NAME | sha256sum | cut -c1-8) % COUNT ))`).
export function sliceOfName(name: string, count: number): number {
  return createHash('sha256').update(name, 'utf8').digest().readUInt32BE(0) % count;
}

// Whether a host name falls in a slice.
export function inSlice(name: string, slice: HostSlice): boolean {
  return sliceOfName(name, slice.count) === slice.index;
}

// The hosts of a slice, in their given order (all of them without a slice).
export function sliceHosts<T extends { name: string }>(hosts: readonly T[], slice: HostSlice | undefined): T[] {
  return slice === undefined ? [...hosts] : hosts.filter((host) => inSlice(host.name, slice));
}

// "slice 0/3", as recaps and messages name one.
export function sliceLabel(slice: HostSlice): string {
  return `slice ${slice.index}/${slice.count}`;
}

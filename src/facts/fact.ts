// A fact is a shell probe plus a pure parser (pyinfra's split): probes batch into one script.
export interface Fact<T> {
  /** Stable identity: two resources asking for the same key share one probe. */
  readonly key: string;
  /** POSIX sh that prints the fact on stdout. Build it with sh`...`, which quotes every value. */
  readonly script: string;
  /** Turns the probe's stdout and exit status into typed data; throws FactParseError on nonsense. */
  parse(stdout: string, exitCode: number): T;
  /**
   * Set when the fact belongs to a family the probe serves in one section (every path: one `stat`
   * and one `sha256sum` for all of them); `script` and `parse` then probe this fact alone.
   */
  readonly batch?: FactBatch<unknown, T>;
}

// Facts of one kind probed together: one script section for many items, and a parser that reads
// each item's value back out of it. A host with twelve files then runs two programs, not thirty.
export interface FactFamily<Item, T> {
  /** Facts whose families have the same name share one section (the first fact's family writes it). */
  readonly name: string;
  /** POSIX sh probing every item (built with sh`...`, which quotes every value). */
  script(items: readonly Item[]): string;
  /** Each item's value, in the order of `items`; throws FactParseError naming an item's key on nonsense. */
  parse(stdout: string, exitCode: number, items: readonly Item[]): T[];
}

// Where a batched fact sits in its family: the family and this fact's item.
export interface FactBatch<Item, T> {
  readonly family: FactFamily<Item, T>;
  readonly item: Item;
}

// A probe printed something its parser cannot read: a bug or an unexpected host.
export class FactParseError extends Error {
  constructor(key: string, detail: string) {
    super(`cannot read fact ${key}: ${detail}`);
    this.name = 'FactParseError';
  }
}

// The shape of probe output for error messages: sizes, never the bytes (they may hold a file's
// content or a secret the guard printed).
export function describeOutput(stdout: string): string {
  const lines = stdout === '' ? 0 : stdout.replace(/\n$/, '').split('\n').length;
  return `${lines} line${lines === 1 ? '' : 's'}, ${Buffer.byteLength(stdout)} bytes`;
}

// Builds a fact with its key, script and parser in one place.
export function defineFact<T>(key: string, script: string, parse: (stdout: string, exitCode: number) => T): Fact<T> {
  return { key, script, parse };
}

// Builds a fact of a family: alone it probes with the family's script for its one item; in a
// probe with others of its family it shares their section.
export function defineBatchedFact<Item, T>(key: string, family: FactFamily<Item, T>, item: Item): Fact<T> {
  let script: string | undefined;
  return {
    key,
    // Built on first use: in a batch the family's section is sent instead.
    get script() {
      script ??= family.script([item]);
      return script;
    },
    parse: (stdout, exitCode) => {
      const values = family.parse(stdout, exitCode, [item]);
      if (values.length !== 1) throw new FactParseError(key, `the ${family.name} family returned ${values.length} values for one fact`);
      return values[0] as T;
    },
    batch: { family: family as FactFamily<unknown, T>, item },
  };
}

import { isShellScript, renderArgv, sh, type ShellScript } from '../core/shell.js';
import { commandStatusFact, existsFact, preludeLines, type GuardOptions } from '../facts/command.js';
import type { Fact } from '../facts/fact.js';
import { checkAbsolutePath } from './ownership.js';
import { PlanError, type Plan, type ResourceType } from './types.js';

// A command to run, guarded like Ansible's creates/removes and Chef's not_if/only_if; no guard means it always runs.
export interface CommandDesired {
  /** A shell snippet, run as written by sh: shell text, or sh`...` with its values quoted (give exactly one of command and argv). */
  command?: string | ShellScript;
  /** Words of one command, each quoted (give exactly one of command and argv). */
  argv?: string[];
  /** Skip when this path exists. */
  creates?: string;
  /** Skip unless this path exists. */
  removes?: string;
  /** Skip when this shell snippet (text or sh`...`) succeeds (probed with the facts; output discarded). */
  unless?: string | ShellScript;
  /** Skip unless this shell snippet (text or sh`...`) succeeds. */
  onlyIf?: string | ShellScript;
  /** Directory to run in (the guard snippets run there too). */
  chdir?: string;
  /** Environment for the command and the guard snippets. */
  env?: Record<string, string>;
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const LABEL_MAX = 80;

// The command resource kind: effects are unknown, so every fact is stale after it runs.
export const commandResource: ResourceType<CommandDesired> = {
  kind: 'command',
  describe: (desired) => `command ${commandText(desired)}`,
  facts: (desired) => {
    checkCommandDesired(desired);
    const facts: Record<string, Fact<unknown>> = {};
    const options = guardOptions(desired);
    if (desired.creates !== undefined) facts.creates = existsFact(desired.creates);
    if (desired.removes !== undefined) facts.removes = existsFact(desired.removes);
    if (desired.unless !== undefined) facts.unless = commandStatusFact(desired.unless, options);
    if (desired.onlyIf !== undefined) facts.onlyIf = commandStatusFact(desired.onlyIf, options);
    return facts;
  },
  invalidates: () => ['*'],
  plan(desired, facts, context): Plan {
    checkCommandDesired(desired);
    if (desired.creates !== undefined && facts.creates === true) return { action: 'noop', reason: `${desired.creates} exists (creates)` };
    if (desired.removes !== undefined && facts.removes === false) return { action: 'noop', reason: `${desired.removes} does not exist (removes)` };
    if (desired.unless !== undefined && facts.unless === 0) return { action: 'noop', reason: 'unless command succeeded' };
    if (desired.onlyIf !== undefined && facts.onlyIf !== 0) return { action: 'noop', reason: `onlyIf command failed (exit ${String(facts.onlyIf)})` };
    for (const [guard, value] of [['creates', facts.creates], ['removes', facts.removes], ['unless', facts.unless], ['onlyIf', facts.onlyIf]] as const) {
      if (desired[guard] !== undefined && value === undefined) throw new PlanError(`no fact for the ${guard} guard`);
    }
    const body = desired.argv !== undefined ? commandLine(desired.argv) : snippetScript(desired.command as string | ShellScript);
    const script = sh.lines([...preludeLines(guardOptions(desired)), body]).text;
    const shown = label(desired, context.mask ?? ((text) => text));
    return { action: 'change', changes: [`run ${shown}`], steps: [{ label: `run ${shown}`, script }] };
  },
};

// Renders argv with the command word always quoted, so "if", "!" or "A=b" are run as commands, not shell syntax.
export function renderCommandArgv(argv: readonly string[]): string {
  return commandLine(argv).text;
}

function commandLine(argv: readonly string[]): ShellScript {
  const [first, ...rest] = argv;
  if (first === undefined) throw new PlanError('command argv must not be empty');
  return rest.length > 0 ? sh`${commandWord(first)} ${rest}` : sh`${commandWord(first)}`;
}

/** Reserved words, quoted: quote() leaves plain words bare, and a bare reserved word is syntax, not a command. */
const QUOTED_RESERVED_WORDS: ReadonlyMap<string, ShellScript> = new Map(
  ['if', 'then', 'else', 'elif', 'fi', 'case', 'esac', 'for', 'while', 'until', 'do', 'done', 'in', 'function', 'select'].map((word) => [word, sh.trusted(`'${word}'`)]),
);

// The command word: quoted as any word, and a reserved word quoted even though its letters need no quoting.
function commandWord(word: string): ShellScript | string {
  return QUOTED_RESERVED_WORDS.get(word) ?? word;
}

// A user's shell snippet is shell code by design: text is taken as written, sh`...` as built.
function snippetScript(snippet: string | ShellScript): ShellScript {
  return isShellScript(snippet) ? snippet : sh.trusted(snippet);
}

function guardOptions(desired: CommandDesired): GuardOptions {
  return {
    ...(desired.chdir !== undefined ? { chdir: desired.chdir } : {}),
    ...(desired.env !== undefined ? { env: desired.env } : {}),
  };
}

function commandText(desired: CommandDesired): string {
  return desired.argv !== undefined ? renderArgv(desired.argv) : String(desired.command ?? '');
}

// The text of a shell snippet given as text or as sh`...`; undefined for anything else.
function snippetText(snippet: unknown): string | undefined {
  if (typeof snippet === 'string') return snippet;
  return isShellScript(snippet) ? snippet.text : undefined;
}

// The first line of the command, shortened for progress output: masked first, since a secret cut
// in two is no longer found by the masker.
function label(desired: CommandDesired, mask: (text: string) => string): string {
  const text = mask(commandText(desired));
  const firstLine = text.split('\n')[0] ?? '';
  const more = firstLine !== text ? ' …' : '';
  return firstLine.length > LABEL_MAX ? `${firstLine.slice(0, LABEL_MAX - 1)}…` : `${firstLine}${more}`;
}

function checkCommandDesired(desired: CommandDesired): void {
  const hasCommand = desired.command !== undefined;
  const hasArgv = desired.argv !== undefined;
  if (hasCommand === hasArgv) throw new PlanError('command: give exactly one of command and argv');
  if (hasCommand && !snippetText(desired.command)?.trim()) throw new PlanError('command: command must be non-empty shell text (a string or sh`...`)');
  if (hasArgv) {
    if (!Array.isArray(desired.argv) || desired.argv.length === 0) throw new PlanError('command: argv must be a non-empty list');
    for (const word of desired.argv) {
      if (typeof word !== 'string' || word.includes('\0')) throw new PlanError(`command: argv words must be strings without NUL bytes`);
    }
    if (desired.argv[0] === '') throw new PlanError('command: argv[0] must not be empty');
  }
  for (const snippet of [desired.command, desired.unless, desired.onlyIf]) {
    if (snippet !== undefined && snippetText(snippet)?.includes('\0')) throw new PlanError('command: shell snippets must not contain NUL bytes');
  }
  for (const guard of ['unless', 'onlyIf'] as const) {
    const snippet = desired[guard];
    if (snippet !== undefined && !snippetText(snippet)?.trim()) throw new PlanError(`command: ${guard} must be a non-empty shell snippet`);
  }
  if (desired.creates !== undefined) checkAbsolutePath(desired.creates, 'command creates');
  if (desired.removes !== undefined) checkAbsolutePath(desired.removes, 'command removes');
  if (desired.chdir !== undefined) checkAbsolutePath(desired.chdir, 'command chdir');
  for (const [name, value] of Object.entries(desired.env ?? {})) {
    if (!ENV_NAME.test(name)) throw new PlanError(`command: invalid environment variable name ${JSON.stringify(name)}`);
    if (typeof value !== 'string' || value.includes('\0')) throw new PlanError(`command: environment value of ${name} must be a string without NUL bytes`);
  }
}

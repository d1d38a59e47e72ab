import { UsageError } from '../core/errors.js';

// Which tasks `--tags` and `--skip-tags` keep, as Ansible decides it (playbook/taggable.py,
// evaluate_tags): a task's tags are its own, its role's and its play's; a task without any counts
// as `untagged`; `always` runs unless skipped by name (or by `all` with `always` among the skipped),
// `never` only when asked for by name; `all` and `tagged` select as their names say.
export interface TagSelection {
  only: ReadonlySet<string>;
  skip: ReadonlySet<string>;
}

// Every task runs: Ansible's default of --tags all and no --skip-tags.
export const ALL_TAGS: TagSelection = { only: new Set(['all']), skip: new Set() };

// The selection from the command line's comma-separated, repeatable flags.
export function tagSelection(only: readonly string[] | undefined, skip: readonly string[] | undefined): TagSelection {
  const split = (values: readonly string[] | undefined, flag: string) => {
    const names = (values ?? []).flatMap((value) => value.split(',')).map((name) => name.trim());
    if (names.some((name) => name === '')) throw new UsageError(`${flag}: an empty tag name`);
    return new Set(names);
  };
  const onlyTags = split(only, '--tags');
  return { only: onlyTags.size === 0 ? new Set(['all']) : onlyTags, skip: split(skip, '--skip-tags') };
}

// Whether a task with these tags runs under the selection.
export function taskSelected(taskTags: readonly string[], selection: TagSelection): boolean {
  const tags = new Set(taskTags.length === 0 ? ['untagged'] : taskTags);
  const untagged = tags.size === 1 && tags.has('untagged');
  const { only, skip } = selection;
  let run: boolean;
  if (tags.has('always')) run = true;
  else if (only.has('all') && !tags.has('never')) run = true;
  else if ([...tags].some((tag) => only.has(tag))) run = true;
  else run = only.has('tagged') && !untagged && !tags.has('never');
  if (!run || skip.size === 0) return run;
  if (skip.has('all')) return tags.has('always') && !skip.has('always');
  if ([...tags].some((tag) => skip.has(tag))) return false;
  return !(skip.has('tagged') && !untagged);
}

import { Argument, type Command, type Option } from 'commander';

// `halyard completion bash|zsh`: a shell completion script generated from this very program's
// commands, options and arguments when it is asked for, so it never lists a flag that is gone.
export function registerCompletionCommand(program: Command): void {
  program
    .command('completion')
    .description('print a shell completion script (bash: source <(halyard completion bash); zsh: see README)')
    .addArgument(new Argument('<shell>', 'bash or zsh').choices(['bash', 'zsh']))
    .action((shell: 'bash' | 'zsh') => {
      const spec = completionSpec(program);
      process.stdout.write(shell === 'bash' ? bashCompletion(spec) : zshCompletion(spec));
    });
}

// What a value (of an option or an argument) completes to.
export type CompletionValue = { kind: 'file' } | { kind: 'dir' } | { kind: 'choice'; choices: string[] } | { kind: 'text' };

// One option as the completion scripts need it.
export interface CompletionOption {
  /** `-i` and `--inventory`, as given. */
  names: string[];
  description: string;
  /** What follows the option, when it takes a value. */
  value?: CompletionValue & { name: string };
  /** Given more than once (`-i a -i b`, `-vv`). */
  repeatable: boolean;
}

// One positional argument.
export interface CompletionArgument {
  name: string;
  required: boolean;
  variadic: boolean;
  value: CompletionValue;
}

// A command, its options, arguments and subcommands: the tree both scripts are written from.
export interface CompletionCommand {
  /** Names from the program down, the program itself excluded (`['inventory', 'list']`). */
  path: string[];
  name: string;
  aliases: string[];
  description: string;
  options: CompletionOption[];
  args: CompletionArgument[];
  commands: CompletionCommand[];
}

// The program's tree as commander's help sees it (hidden commands and options left out, the
// help option and help command included).
export function completionSpec(command: Command, path: string[] = []): CompletionCommand {
  const help = command.createHelp();
  const subcommands = help.visibleCommands(command);
  const siblings = subcommands.map((sub) => sub.name()).filter((name) => name !== 'help');
  return {
    path,
    name: command.name(),
    aliases: command.aliases(),
    description: firstLine(command.description()),
    options: help.visibleOptions(command).map(optionSpec),
    args: command.registeredArguments.map((argument) => ({
      name: argument.name(),
      required: argument.required,
      variadic: argument.variadic,
      value: valueOf(argument.name(), argument.argChoices),
    })),
    commands: subcommands.map((sub) => {
      const spec = completionSpec(sub, [...path, sub.name()]);
      // `halyard help COMMAND`: its argument is one of the other commands at this level.
      if (sub.name() === 'help' && spec.args.length > 0) spec.args = spec.args.map((arg) => ({ ...arg, value: { kind: 'choice', choices: siblings } }));
      return spec;
    }),
  };
}

function optionSpec(option: Option): CompletionOption {
  const placeholder = /[<[]([^>\]]+?)(?:\.\.\.)?[>\]]/.exec(option.flags)?.[1];
  return {
    names: [option.short, option.long].filter((name): name is string => name !== undefined),
    description: firstLine(option.description),
    ...(option.required || option.optional ? { value: { name: placeholder ?? 'value', ...valueOf(placeholder ?? '', option.argChoices) } } : {}),
    // A parser (collect, increase) or a variadic value is how this CLI takes an option more than once.
    repeatable: option.parseArg !== undefined || option.variadic,
  };
}

// Files for <file>, <path>, <files...>, <playbook>; directories for <dir>; choices where commander has them.
function valueOf(name: string, choices: readonly string[] | undefined): CompletionValue {
  if (choices && choices.length > 0) return { kind: 'choice', choices: [...choices] };
  if (/dir/i.test(name)) return { kind: 'dir' };
  if (/file|path|playbook/i.test(name)) return { kind: 'file' };
  return { kind: 'text' };
}

function firstLine(text: string): string {
  return text.split('\n')[0]?.trim() ?? '';
}

function walk(spec: CompletionCommand): CompletionCommand[] {
  return [spec, ...spec.commands.flatMap(walk)];
}

// bash: one function holding each command's words, and one that walks COMP_WORDS to the command
// being typed. Needs bash 4 (mapfile), no bash-completion package.
export function bashCompletion(spec: CompletionCommand): string {
  const program = spec.name;
  const fn = `_${identifier(program)}`;
  const words = (list: string[]) => bashQuote(list.join(' '));
  const specCases: string[] = [];
  const choiceCases: string[] = [];
  for (const command of walk(spec)) {
    const key = command.path.join(' ');
    const valueOptions = command.options.filter((option) => option.value);
    const names = (kind: CompletionValue['kind']) => valueOptions.filter((option) => option.value?.kind === kind).flatMap((option) => option.names);
    const args = command.args.map((arg, index) => (arg.variadic && index === command.args.length - 1 ? `${arg.value.kind}...` : arg.value.kind));
    const aliases = command.commands.flatMap((sub) => sub.aliases.map((alias) => `${alias}=${sub.name}`));
    specCases.push(
      `    ${bashQuote(key)})\n` +
        `      subs=${words(command.commands.flatMap((sub) => [sub.name, ...sub.aliases]))} aliases=${words(aliases)}\n` +
        `      opts=${words(command.options.flatMap((option) => option.names))}\n` +
        `      value_opts=${words(valueOptions.flatMap((option) => option.names))} file_opts=${words(names('file'))} dir_opts=${words(names('dir'))}\n` +
        `      args=${words(args)} ;;`,
    );
    for (const option of valueOptions) {
      if (option.value?.kind !== 'choice') continue;
      choiceCases.push(`    ${option.names.map((name) => bashQuote(`${key}|${name}`)).join('|')}) echo ${words(option.value.choices)} ;;`);
    }
    for (const [index, arg] of command.args.entries()) {
      if (arg.value.kind === 'choice') choiceCases.push(`    ${bashQuote(`${key}|#${index}`)}) echo ${words(arg.value.choices)} ;;`);
    }
  }
  return `# bash completion for ${program}, generated by \`${program} completion bash\` from its own commands and options.
# Load it in this shell: source <(${program} completion bash)
# For every shell:       ${program} completion bash > /etc/bash_completion.d/${program}

# Sets the words of one command ("" is ${program} itself, else "inventory list"): its subcommands,
# options, the options taking a value and which of those take files or directories, and its
# positional arguments (file, dir, choice or text; "..." for a variadic last one).
${fn}_spec() {
  subs='' aliases='' opts='' value_opts='' file_opts='' dir_opts='' args=''
  case "$1" in
${specCases.join('\n')}
  esac
}

# The choices of an option ("apply|--opt") or a positional argument ("completion|#0").
${fn}_choices() {
  case "$1" in
${choiceCases.length > 0 ? choiceCases.join('\n') : "    '') ;;"}
  esac
}

# Fills COMPREPLY with the words of $1 (a list) starting with the word being completed.
${fn}_words() {
  mapfile -t COMPREPLY < <(compgen -W "$1" -- "$cur")
}

# Fills COMPREPLY with files (-f) or directories (-d), quoted as file names.
${fn}_paths() {
  compopt -o filenames 2>/dev/null
  mapfile -t COMPREPLY < <(compgen "$1" -- "$cur")
}

# Completes what follows the option $1.
${fn}_value() {
  if [[ " $file_opts " == *" $1 "* ]]; then ${fn}_paths -f
  elif [[ " $dir_opts " == *" $1 "* ]]; then ${fn}_paths -d
  else ${fn}_words "$(${fn}_choices "$path|$1")"
  fi
}

${fn}() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" path='' word pending='' npos=0 i pair kind
  local -a kinds
  local subs aliases opts value_opts file_opts dir_opts args
  COMPREPLY=()
  ${fn}_spec ''
  # Walks the words before the one being completed: subcommands deepen the path, an option
  # taking a value skips its value (also after "="), other words are positional arguments.
  for ((i = 1; i < COMP_CWORD; i++)); do
    word="\${COMP_WORDS[i]}"
    if [[ -n "$pending" ]]; then
      [[ "$word" == = ]] || pending=''
      continue
    fi
    case "$word" in
      --) ;;
      -*) [[ " $value_opts " == *" $word "* ]] && pending="$word" ;;
      *)
        for pair in $aliases; do [[ "$word" == "\${pair%%=*}" ]] && word="\${pair#*=}"; done
        if (( npos == 0 )) && [[ " $subs " == *" $word "* ]]; then
          path="\${path:+$path }$word"
          ${fn}_spec "$path"
        else
          npos=$((npos + 1))
        fi
        ;;
    esac
  done
  if [[ -n "$pending" ]]; then
    [[ "$cur" == = ]] && cur=''
    ${fn}_value "$pending"
    return 0
  fi
  if [[ "$cur" == -* ]]; then
    ${fn}_words "$opts"
    return 0
  fi
  if [[ -n "$subs" ]] && (( npos == 0 )); then
    ${fn}_words "$subs"
    return 0
  fi
  # The positional argument being typed: its kind, or the variadic last one's.
  read -r -a kinds <<< "$args"
  kind="\${kinds[npos]:-}"
  if [[ -z "$kind" && "\${kinds[\${#kinds[@]}-1]:-}" == *... ]]; then kind="\${kinds[\${#kinds[@]}-1]}"; npos=$((\${#kinds[@]} - 1)); fi
  case "\${kind%...}" in
    file) ${fn}_paths -f ;;
    dir) ${fn}_paths -d ;;
    choice) ${fn}_words "$(${fn}_choices "$path|#$npos")" ;;
  esac
  return 0
}

complete -F ${fn} ${program}
`;
}

// zsh: one function per command, each an _arguments spec (options with their descriptions,
// values completed as files, directories or choices), subcommands through _describe.
export function zshCompletion(spec: CompletionCommand): string {
  const program = spec.name;
  const functions = walk(spec).map((command) => zshFunction(program, command));
  return `#compdef ${program}
# zsh completion for ${program}, generated by \`${program} completion zsh\` from its own commands and options.
# Load it in this shell: source <(${program} completion zsh)   (after compinit)
# For every shell:       ${program} completion zsh > "\${fpath[1]}/_${program}"   (then start a new shell)

${functions.join('\n\n')}

if [[ "\${funcstack[1]}" == "_${identifier(program)}" ]]; then
  _${identifier(program)} "$@"
else
  compdef _${identifier(program)} ${program}
fi
`;
}

function zshFunction(program: string, command: CompletionCommand): string {
  const name = zshName(program, command.path);
  const specs = command.options.map(zshOption);
  if (command.commands.length > 0) {
    const entries = command.commands.flatMap((sub) => [sub.name, ...sub.aliases].map((word) => zshQuote(`${word.replace(/:/g, '\\:')}:${sub.description}`)));
    const cases = command.commands.map((sub) => `        ${[sub.name, ...sub.aliases].map(zshQuote).join('|')}) ${zshName(program, sub.path)} ;;`);
    return `${name}() {
  local curcontext="$curcontext" state line ret=1
  local -a subcommands
  _arguments -C -s -S \\
${[...specs, zshQuote(': :->command'), zshQuote('*:: :->arguments')].map((line) => `    ${line}`).join(' \\\n')} && ret=0
  case $state in
    command)
      subcommands=(
${entries.map((entry) => `        ${entry}`).join('\n')}
      )
      _describe -t commands ${zshQuote(`${[program, ...command.path].join(' ')} command`)} subcommands && ret=0
      ;;
    arguments)
      curcontext="\${curcontext%:*:*}:${[program, ...command.path].join('-')}-$line[1]:"
      case $line[1] in
${cases.join('\n')}
      esac
      ;;
  esac
  return ret
}`;
  }
  const args = command.args.map((arg) => {
    const action = zshAction(arg.value);
    const message = zshMessage(arg.name);
    if (arg.variadic) return zshQuote(`*:${message}:${action}`);
    return zshQuote(`${arg.required ? ':' : '::'}${message}:${action}`);
  });
  const lines = [...specs, ...args];
  return `${name}() {
  _arguments -s -S${lines.length > 0 ? ` \\\n${lines.map((line) => `    ${line}`).join(' \\\n')}` : ''}
}`;
}

// One _arguments spec: `'(-i --inventory)'{-i+,--inventory=}'[desc]:path:_files'`, or with `*`
// instead of the exclusion list for an option given more than once.
function zshOption(option: CompletionOption): string {
  const description = `[${option.description.replace(/\\/g, '\\\\').replace(/\[/g, '\\[').replace(/\]/g, '\\]')}]`;
  const value = option.value ? `:${zshMessage(option.value.name)}:${zshAction(option.value)}` : '';
  const forms = option.names.map((name) => (option.value ? `${name}${name.startsWith('--') ? '=' : '+'}` : name));
  const head = option.repeatable ? `'*'` : option.names.length > 1 ? zshQuote(`(${option.names.join(' ')})`) : '';
  const names = forms.length > 1 ? `{${forms.join(',')}}` : forms[0]!;
  return `${head}${names}${zshQuote(`${description}${value}`)}`;
}

// A value's name as _arguments shows it: ':' escaped, '%' doubled (messages are prompt-expanded).
function zshMessage(name: string): string {
  return name.replace(/:/g, '\\:').replace(/%/g, '%%');
}

function zshAction(value: CompletionValue): string {
  switch (value.kind) {
    case 'file':
      return '_files';
    case 'dir':
      return '_files -/';
    case 'choice':
      return `(${value.choices.map((choice) => choice.replace(/[\\()\s:]/g, '\\$&')).join(' ')})`;
    default:
      return ' ';
  }
}

function zshName(program: string, path: string[]): string {
  return `_${[program, ...path].map(identifier).join('__')}`;
}

function identifier(word: string): string {
  return word.replace(/[^A-Za-z0-9_]/g, '_');
}

// Single quotes for both shells: 'it'\''s'.
function bashQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

const zshQuote = bashQuote;

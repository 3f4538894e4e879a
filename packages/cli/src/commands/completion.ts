import { type Command, GLOBAL_OPTIONS, type Invocation, noMore, type OptionsConfig } from '../command.js';
import { EXIT_OK, UsageError } from '../errors.js';

const HELP = `Usage: etcdkit completion bash|zsh

Print a shell completion script for etcdkit: command names, and the options of each command.
Load it from your shell's start-up file:

  bash (~/.bashrc):  source <(etcdkit completion bash)
  zsh (~/.zshrc):    source <(etcdkit completion zsh)

zsh uses the bash script through bashcompinit. After \`--\` (the command \`lock\` runs) and
for --cacert, --cert and --key, file names are completed.`;

/** Every flag spelling of some options, `--name` and `-x`. */
function flagsOf(options: OptionsConfig): string[] {
  return Object.entries(options).flatMap(([name, o]) => [`--${name}`, ...(o.short ? [`-${o.short}`] : [])]);
}

/** The flags that take a value: the word after them is no command name. */
function valueFlagsOf(options: OptionsConfig): string[] {
  return flagsOf(
    Object.fromEntries(Object.entries(options).filter(([, o]) => o.type === 'string')) as OptionsConfig,
  );
}

/** The bash script; the words are etcdkit's own flag and command names, safe to embed as they are. */
export function bashCompletion(commands: readonly Command[]): string {
  const global = [...flagsOf(GLOBAL_OPTIONS), '--version'];
  const valueFlags = new Set([
    ...valueFlagsOf(GLOBAL_OPTIONS),
    ...commands.flatMap((c) => valueFlagsOf(c.options)),
  ]);
  const cases = commands.map((c) => `    ${c.name}) opts="${flagsOf(c.options).join(' ')}" ;;`).join('\n');
  return `# etcdkit completion for bash: source <(etcdkit completion bash)
_etcdkit() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="\${COMP_WORDS[COMP_CWORD-1]}"
  local value_flags=" ${[...valueFlags].join(' ')} "
  local cmd="" i word
  for ((i = 1; i < COMP_CWORD; i++)); do
    word="\${COMP_WORDS[i]}"
    # After --: the words of the command that lock runs; let the shell complete them.
    [[ "$word" == "--" ]] && return 0
    [[ "$word" == -* ]] && continue
    [[ "$value_flags" == *" \${COMP_WORDS[i-1]} "* ]] && continue
    cmd="$word"
    break
  done
  case "$prev" in
    --cacert | --cert | --key)
      COMPREPLY=($(compgen -f -- "$cur"))
      return 0
      ;;
  esac
  # Any other value (an endpoint, a time, a name): nothing to offer.
  [[ "$value_flags" == *" $prev "* ]] && return 0
  if [[ -z "$cmd" ]]; then
    if [[ "$cur" == -* ]]; then
      COMPREPLY=($(compgen -W "${global.join(' ')}" -- "$cur"))
    else
      COMPREPLY=($(compgen -W "${commands.map((c) => c.name).join(' ')}" -- "$cur"))
    fi
    return 0
  fi
  local opts=""
  case "$cmd" in
${cases}
  esac
  [[ "$cur" == -* ]] && COMPREPLY=($(compgen -W "$opts ${global.filter((g) => g !== '--version').join(' ')}" -- "$cur"))
  return 0
}
complete -o bashdefault -o default -F _etcdkit etcdkit`;
}

/** zsh runs the bash script through its bash-completion emulation. */
export function zshCompletion(commands: readonly Command[]): string {
  return `# etcdkit completion for zsh: source <(etcdkit completion zsh)
autoload -U +X compinit && compinit
autoload -U +X bashcompinit && bashcompinit
${bashCompletion(commands)}`;
}

async function run(inv: Invocation): Promise<number> {
  if (inv.rest) throw new UsageError('completion takes no command after --', 'completion');
  noMore(inv, 1);
  const shell = inv.positionals[0];
  if (shell !== 'bash' && shell !== 'zsh')
    throw new UsageError(
      `completion needs the shell: bash or zsh${shell === undefined ? '' : `, got ${JSON.stringify(shell)}`}`,
      'completion',
    );
  // Loaded here, not at the top: main imports this module for its command list.
  const { COMMANDS } = await import('../main.js');
  inv.out.line(shell === 'bash' ? bashCompletion(COMMANDS) : zshCompletion(COMMANDS));
  return EXIT_OK;
}

export const completion: Command = {
  name: 'completion',
  summary: 'print a bash or zsh completion script: source <(etcdkit completion bash)',
  help: HELP,
  options: {},
  run,
};

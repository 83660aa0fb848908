# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_eka_run_global_optspecs
    string join \n store= state= v/verbose q/quiet h/help V/version
end

function __fish_eka_run_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_eka_run_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_eka_run_using_subcommand
    set -l cmd (__fish_eka_run_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c eka-run -n "__fish_eka_run_needs_command" -l store -d 'Directory that appears at /nix/store [default: $XDG_DATA_HOME/eka-run/nix/store]' -r -F
complete -c eka-run -n "__fish_eka_run_needs_command" -l state -d 'Directory that appears at /nix/var/nix, Nix\'s state [default: var/nix beside the store\'s parent]' -r -F
complete -c eka-run -n "__fish_eka_run_needs_command" -s v -l verbose -d 'More logging on stderr (repeat for more); the EKA_RUN_LOG variable takes tracing filters'
complete -c eka-run -n "__fish_eka_run_needs_command" -s q -l quiet -d 'Only errors on stderr'
complete -c eka-run -n "__fish_eka_run_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c eka-run -n "__fish_eka_run_needs_command" -s V -l version -d 'Print version'
complete -c eka-run -n "__fish_eka_run_needs_command" -a "eval" -d 'Evaluate an atom with atom-nix in a sandbox that sees nothing but the atom'
complete -c eka-run -n "__fish_eka_run_needs_command" -a "build" -d 'Build an atom\'s derivation in the user\'s store and print its output paths'
complete -c eka-run -n "__fish_eka_run_needs_command" -a "run" -d 'Build an atom\'s derivation, then run its main program'
complete -c eka-run -n "__fish_eka_run_needs_command" -a "plan" -d 'Say what `build` would build, without building'
complete -c eka-run -n "__fish_eka_run_needs_command" -a "sandbox" -d 'Run a program in the evaluation sandbox instead of nix-instantiate'
complete -c eka-run -n "__fish_eka_run_needs_command" -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c eka-run -n "__fish_eka_run_using_subcommand eval" -l config -d 'The atom\'s configuration, a JSON object passed to atom-nix as `config`; normalised to canonical JSON (RFC 8785), which is also what atom-nix gets' -r
complete -c eka-run -n "__fish_eka_run_using_subcommand eval" -l with -d 'Choose CANDIDATE for the atom\'s `[provide]` option NAME (e.g. `--with cc=clang`); atom-nix sees it as `config.variant.NAME`, the name of the chosen dependency [default: the option\'s first candidate]; repeatable' -r
complete -c eka-run -n "__fish_eka_run_using_subcommand eval" -l enable -d 'Turn on the atom\'s `[support]` option NAME: `config.variant.NAME` is `true` for a toggle, the list of flags for a list [default: the toggle\'s default in atom.toml; a list is off]; repeatable' -r
complete -c eka-run -n "__fish_eka_run_using_subcommand eval" -l disable -d 'Turn off the atom\'s `[support]` option NAME: `config.variant.NAME` is `false` for a toggle, `[]` for a list; repeatable' -r
complete -c eka-run -n "__fish_eka_run_using_subcommand eval" -l system -d 'The system to evaluate for, passed as `config.system` [default: the configuration\'s `system`, else this machine\'s, e.g. x86_64-linux]' -r
complete -c eka-run -n "__fish_eka_run_using_subcommand eval" -l store -d 'Directory that appears at /nix/store [default: $XDG_DATA_HOME/eka-run/nix/store]' -r -F
complete -c eka-run -n "__fish_eka_run_using_subcommand eval" -l state -d 'Directory that appears at /nix/var/nix, Nix\'s state [default: var/nix beside the store\'s parent]' -r -F
complete -c eka-run -n "__fish_eka_run_using_subcommand eval" -l atom-nix -d 'Use this atom-nix directory (holding compose.nix) instead of the one built into eka-run' -r -F
complete -c eka-run -n "__fish_eka_run_using_subcommand eval" -l nix-instantiate -d 'The nix-instantiate to run [default: the one on PATH]' -r -F
complete -c eka-run -n "__fish_eka_run_using_subcommand eval" -l memory -d 'The most memory (address space) the evaluator may use: bytes, with an optional K, M, G or T suffix (powers of 1024), or `unlimited`' -r
complete -c eka-run -n "__fish_eka_run_using_subcommand eval" -l cpu-time -d 'The most CPU time the evaluator may use, in seconds, or `unlimited`' -r
complete -c eka-run -n "__fish_eka_run_using_subcommand eval" -l no-cache -d 'Evaluate even when the evaluation cache ($XDG_CACHE_HOME/atom/eval) has the result, and do not store it; build, run and plan: also look for no plan record'
complete -c eka-run -n "__fish_eka_run_using_subcommand eval" -l show-trace -d 'Show Nix\'s detailed trace on evaluation errors'
complete -c eka-run -n "__fish_eka_run_using_subcommand eval" -l json -d 'Print the result as JSON instead of as a Nix value'
complete -c eka-run -n "__fish_eka_run_using_subcommand eval" -l best-effort -d 'Run with what the kernel offers when user namespaces or Landlock are missing, warning about what is not enforced, instead of failing'
complete -c eka-run -n "__fish_eka_run_using_subcommand eval" -s v -l verbose -d 'More logging on stderr (repeat for more); the EKA_RUN_LOG variable takes tracing filters'
complete -c eka-run -n "__fish_eka_run_using_subcommand eval" -s q -l quiet -d 'Only errors on stderr'
complete -c eka-run -n "__fish_eka_run_using_subcommand eval" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c eka-run -n "__fish_eka_run_using_subcommand build" -l config -d 'The atom\'s configuration, a JSON object passed to atom-nix as `config`; normalised to canonical JSON (RFC 8785), which is also what atom-nix gets' -r
complete -c eka-run -n "__fish_eka_run_using_subcommand build" -l with -d 'Choose CANDIDATE for the atom\'s `[provide]` option NAME (e.g. `--with cc=clang`); atom-nix sees it as `config.variant.NAME`, the name of the chosen dependency [default: the option\'s first candidate]; repeatable' -r
complete -c eka-run -n "__fish_eka_run_using_subcommand build" -l enable -d 'Turn on the atom\'s `[support]` option NAME: `config.variant.NAME` is `true` for a toggle, the list of flags for a list [default: the toggle\'s default in atom.toml; a list is off]; repeatable' -r
complete -c eka-run -n "__fish_eka_run_using_subcommand build" -l disable -d 'Turn off the atom\'s `[support]` option NAME: `config.variant.NAME` is `false` for a toggle, `[]` for a list; repeatable' -r
complete -c eka-run -n "__fish_eka_run_using_subcommand build" -l system -d 'The system to evaluate for, passed as `config.system` [default: the configuration\'s `system`, else this machine\'s, e.g. x86_64-linux]' -r
complete -c eka-run -n "__fish_eka_run_using_subcommand build" -l out-link -d 'Also make PATH a symlink to the default output (Nix names further outputs PATH-2, ...), registered in the user\'s store as a garbage collector root; it resolves where the store is /nix/store (in eka-run\'s run mode)' -r -F
complete -c eka-run -n "__fish_eka_run_using_subcommand build" -l to -d 'After the build, copy the outputs and their closure into the Nix binary cache directory CACHE (created if missing) with `nix copy`, signed with --secret-key-file, and write the plan record of the evaluation beside them (CACHE/atom-plan/<identity>.plan, docs/plan-record.md), signed with the same key: a machine that trusts the key and has the cache among its substituters then runs the atom without evaluating it. With --matrix: for every entry built' -r -F
complete -c eka-run -n "__fish_eka_run_using_subcommand build" -l secret-key-file -d 'With --to: the binary cache\'s secret key, in the format `nix-store --generate-binary-cache-key` writes (`<name>:<base64>`)' -r -F
complete -c eka-run -n "__fish_eka_run_using_subcommand build" -l nix-store -d 'The nix-store to realise with [default: the one on PATH]' -r -F
complete -c eka-run -n "__fish_eka_run_using_subcommand build" -l store -d 'Directory that appears at /nix/store [default: $XDG_DATA_HOME/eka-run/nix/store]' -r -F
complete -c eka-run -n "__fish_eka_run_using_subcommand build" -l state -d 'Directory that appears at /nix/var/nix, Nix\'s state [default: var/nix beside the store\'s parent]' -r -F
complete -c eka-run -n "__fish_eka_run_using_subcommand build" -l atom-nix -d 'Use this atom-nix directory (holding compose.nix) instead of the one built into eka-run' -r -F
complete -c eka-run -n "__fish_eka_run_using_subcommand build" -l nix-instantiate -d 'The nix-instantiate to run [default: the one on PATH]' -r -F
complete -c eka-run -n "__fish_eka_run_using_subcommand build" -l memory -d 'The most memory (address space) the evaluator may use: bytes, with an optional K, M, G or T suffix (powers of 1024), or `unlimited`' -r
complete -c eka-run -n "__fish_eka_run_using_subcommand build" -l cpu-time -d 'The most CPU time the evaluator may use, in seconds, or `unlimited`' -r
complete -c eka-run -n "__fish_eka_run_using_subcommand build" -l no-cache -d 'Evaluate even when the evaluation cache ($XDG_CACHE_HOME/atom/eval) has the result, and do not store it; build, run and plan: also look for no plan record'
complete -c eka-run -n "__fish_eka_run_using_subcommand build" -l show-trace -d 'Show Nix\'s detailed trace on evaluation errors'
complete -c eka-run -n "__fish_eka_run_using_subcommand build" -l matrix -d 'Build every entry of the atom\'s static build matrix (the list `git atom show --matrix` prints: every `build:host:target` triple of its `[platform]` times every combination of its variants) that this machine or Nix\'s `builders` can build, and skip the others, saying why. One line per entry (`built`, `skipped` or `failed`, the entry as `show --matrix` prints it, then the output paths or why), then a summary. A triple\'s build system is the derivation\'s `config.system`; a cross entry also gets `config.platform = {build, host, target}`. Exit status: 0 every entry built or skipped, 1 an entry failed, 125 eka-run itself failed'
complete -c eka-run -n "__fish_eka_run_using_subcommand build" -l json -d 'With --matrix: print one JSON object instead of lines, `{"include": [...], "built", "skipped", "failed"}` (docs/json.md)'
complete -c eka-run -n "__fish_eka_run_using_subcommand build" -l best-effort -d 'Run with what the kernel offers when user namespaces or Landlock are missing, warning about what is not enforced, instead of failing'
complete -c eka-run -n "__fish_eka_run_using_subcommand build" -s v -l verbose -d 'More logging on stderr (repeat for more); the EKA_RUN_LOG variable takes tracing filters'
complete -c eka-run -n "__fish_eka_run_using_subcommand build" -s q -l quiet -d 'Only errors on stderr'
complete -c eka-run -n "__fish_eka_run_using_subcommand build" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c eka-run -n "__fish_eka_run_using_subcommand run" -l config -d 'The atom\'s configuration, a JSON object passed to atom-nix as `config`; normalised to canonical JSON (RFC 8785), which is also what atom-nix gets' -r
complete -c eka-run -n "__fish_eka_run_using_subcommand run" -l with -d 'Choose CANDIDATE for the atom\'s `[provide]` option NAME (e.g. `--with cc=clang`); atom-nix sees it as `config.variant.NAME`, the name of the chosen dependency [default: the option\'s first candidate]; repeatable' -r
complete -c eka-run -n "__fish_eka_run_using_subcommand run" -l enable -d 'Turn on the atom\'s `[support]` option NAME: `config.variant.NAME` is `true` for a toggle, the list of flags for a list [default: the toggle\'s default in atom.toml; a list is off]; repeatable' -r
complete -c eka-run -n "__fish_eka_run_using_subcommand run" -l disable -d 'Turn off the atom\'s `[support]` option NAME: `config.variant.NAME` is `false` for a toggle, `[]` for a list; repeatable' -r
complete -c eka-run -n "__fish_eka_run_using_subcommand run" -l system -d 'The system to evaluate for, passed as `config.system` [default: the configuration\'s `system`, else this machine\'s, e.g. x86_64-linux]' -r
complete -c eka-run -n "__fish_eka_run_using_subcommand run" -l nix-store -d 'The nix-store to realise with [default: the one on PATH]' -r -F
complete -c eka-run -n "__fish_eka_run_using_subcommand run" -l store -d 'Directory that appears at /nix/store [default: $XDG_DATA_HOME/eka-run/nix/store]' -r -F
complete -c eka-run -n "__fish_eka_run_using_subcommand run" -l state -d 'Directory that appears at /nix/var/nix, Nix\'s state [default: var/nix beside the store\'s parent]' -r -F
complete -c eka-run -n "__fish_eka_run_using_subcommand run" -l atom-nix -d 'Use this atom-nix directory (holding compose.nix) instead of the one built into eka-run' -r -F
complete -c eka-run -n "__fish_eka_run_using_subcommand run" -l nix-instantiate -d 'The nix-instantiate to run [default: the one on PATH]' -r -F
complete -c eka-run -n "__fish_eka_run_using_subcommand run" -l memory -d 'The most memory (address space) the evaluator may use: bytes, with an optional K, M, G or T suffix (powers of 1024), or `unlimited`' -r
complete -c eka-run -n "__fish_eka_run_using_subcommand run" -l cpu-time -d 'The most CPU time the evaluator may use, in seconds, or `unlimited`' -r
complete -c eka-run -n "__fish_eka_run_using_subcommand run" -l no-cache -d 'Evaluate even when the evaluation cache ($XDG_CACHE_HOME/atom/eval) has the result, and do not store it; build, run and plan: also look for no plan record'
complete -c eka-run -n "__fish_eka_run_using_subcommand run" -l show-trace -d 'Show Nix\'s detailed trace on evaluation errors'
complete -c eka-run -n "__fish_eka_run_using_subcommand run" -l best-effort -d 'Run with what the kernel offers when user namespaces or Landlock are missing, warning about what is not enforced, instead of failing'
complete -c eka-run -n "__fish_eka_run_using_subcommand run" -s v -l verbose -d 'More logging on stderr (repeat for more); the EKA_RUN_LOG variable takes tracing filters'
complete -c eka-run -n "__fish_eka_run_using_subcommand run" -s q -l quiet -d 'Only errors on stderr'
complete -c eka-run -n "__fish_eka_run_using_subcommand run" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c eka-run -n "__fish_eka_run_using_subcommand plan" -l config -d 'The atom\'s configuration, a JSON object passed to atom-nix as `config`; normalised to canonical JSON (RFC 8785), which is also what atom-nix gets' -r
complete -c eka-run -n "__fish_eka_run_using_subcommand plan" -l with -d 'Choose CANDIDATE for the atom\'s `[provide]` option NAME (e.g. `--with cc=clang`); atom-nix sees it as `config.variant.NAME`, the name of the chosen dependency [default: the option\'s first candidate]; repeatable' -r
complete -c eka-run -n "__fish_eka_run_using_subcommand plan" -l enable -d 'Turn on the atom\'s `[support]` option NAME: `config.variant.NAME` is `true` for a toggle, the list of flags for a list [default: the toggle\'s default in atom.toml; a list is off]; repeatable' -r
complete -c eka-run -n "__fish_eka_run_using_subcommand plan" -l disable -d 'Turn off the atom\'s `[support]` option NAME: `config.variant.NAME` is `false` for a toggle, `[]` for a list; repeatable' -r
complete -c eka-run -n "__fish_eka_run_using_subcommand plan" -l system -d 'The system to evaluate for, passed as `config.system` [default: the configuration\'s `system`, else this machine\'s, e.g. x86_64-linux]' -r
complete -c eka-run -n "__fish_eka_run_using_subcommand plan" -l store -d 'Directory that appears at /nix/store [default: $XDG_DATA_HOME/eka-run/nix/store]' -r -F
complete -c eka-run -n "__fish_eka_run_using_subcommand plan" -l state -d 'Directory that appears at /nix/var/nix, Nix\'s state [default: var/nix beside the store\'s parent]' -r -F
complete -c eka-run -n "__fish_eka_run_using_subcommand plan" -l atom-nix -d 'Use this atom-nix directory (holding compose.nix) instead of the one built into eka-run' -r -F
complete -c eka-run -n "__fish_eka_run_using_subcommand plan" -l nix-instantiate -d 'The nix-instantiate to run [default: the one on PATH]' -r -F
complete -c eka-run -n "__fish_eka_run_using_subcommand plan" -l memory -d 'The most memory (address space) the evaluator may use: bytes, with an optional K, M, G or T suffix (powers of 1024), or `unlimited`' -r
complete -c eka-run -n "__fish_eka_run_using_subcommand plan" -l cpu-time -d 'The most CPU time the evaluator may use, in seconds, or `unlimited`' -r
complete -c eka-run -n "__fish_eka_run_using_subcommand plan" -l no-cache -d 'Evaluate even when the evaluation cache ($XDG_CACHE_HOME/atom/eval) has the result, and do not store it; build, run and plan: also look for no plan record'
complete -c eka-run -n "__fish_eka_run_using_subcommand plan" -l show-trace -d 'Show Nix\'s detailed trace on evaluation errors'
complete -c eka-run -n "__fish_eka_run_using_subcommand plan" -l json -d 'Print one canonical JSON object (RFC 8785) instead of `name value` lines'
complete -c eka-run -n "__fish_eka_run_using_subcommand plan" -l best-effort -d 'Run with what the kernel offers when user namespaces or Landlock are missing, warning about what is not enforced, instead of failing'
complete -c eka-run -n "__fish_eka_run_using_subcommand plan" -s v -l verbose -d 'More logging on stderr (repeat for more); the EKA_RUN_LOG variable takes tracing filters'
complete -c eka-run -n "__fish_eka_run_using_subcommand plan" -s q -l quiet -d 'Only errors on stderr'
complete -c eka-run -n "__fish_eka_run_using_subcommand plan" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c eka-run -n "__fish_eka_run_using_subcommand sandbox" -l store -d 'Directory that appears at /nix/store [default: $XDG_DATA_HOME/eka-run/nix/store]' -r -F
complete -c eka-run -n "__fish_eka_run_using_subcommand sandbox" -l state -d 'Directory that appears at /nix/var/nix, Nix\'s state [default: var/nix beside the store\'s parent]' -r -F
complete -c eka-run -n "__fish_eka_run_using_subcommand sandbox" -l atom-nix -d 'Use this atom-nix directory (holding compose.nix) instead of the one built into eka-run' -r -F
complete -c eka-run -n "__fish_eka_run_using_subcommand sandbox" -l nix-instantiate -d 'The nix-instantiate to run [default: the one on PATH]' -r -F
complete -c eka-run -n "__fish_eka_run_using_subcommand sandbox" -l memory -d 'The most memory (address space) the evaluator may use: bytes, with an optional K, M, G or T suffix (powers of 1024), or `unlimited`' -r
complete -c eka-run -n "__fish_eka_run_using_subcommand sandbox" -l cpu-time -d 'The most CPU time the evaluator may use, in seconds, or `unlimited`' -r
complete -c eka-run -n "__fish_eka_run_using_subcommand sandbox" -l best-effort -d 'Run with what the kernel offers when user namespaces or Landlock are missing, warning about what is not enforced, instead of failing'
complete -c eka-run -n "__fish_eka_run_using_subcommand sandbox" -s v -l verbose -d 'More logging on stderr (repeat for more); the EKA_RUN_LOG variable takes tracing filters'
complete -c eka-run -n "__fish_eka_run_using_subcommand sandbox" -s q -l quiet -d 'Only errors on stderr'
complete -c eka-run -n "__fish_eka_run_using_subcommand sandbox" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c eka-run -n "__fish_eka_run_using_subcommand help; and not __fish_seen_subcommand_from eval build run plan sandbox help" -f -a "eval" -d 'Evaluate an atom with atom-nix in a sandbox that sees nothing but the atom'
complete -c eka-run -n "__fish_eka_run_using_subcommand help; and not __fish_seen_subcommand_from eval build run plan sandbox help" -f -a "build" -d 'Build an atom\'s derivation in the user\'s store and print its output paths'
complete -c eka-run -n "__fish_eka_run_using_subcommand help; and not __fish_seen_subcommand_from eval build run plan sandbox help" -f -a "run" -d 'Build an atom\'s derivation, then run its main program'
complete -c eka-run -n "__fish_eka_run_using_subcommand help; and not __fish_seen_subcommand_from eval build run plan sandbox help" -f -a "plan" -d 'Say what `build` would build, without building'
complete -c eka-run -n "__fish_eka_run_using_subcommand help; and not __fish_seen_subcommand_from eval build run plan sandbox help" -f -a "sandbox" -d 'Run a program in the evaluation sandbox instead of nix-instantiate'
complete -c eka-run -n "__fish_eka_run_using_subcommand help; and not __fish_seen_subcommand_from eval build run plan sandbox help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'

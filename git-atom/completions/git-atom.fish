# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_git_atom_global_optspecs
    string join \n v/verbose q/quiet h/help V/version
end

function __fish_git_atom_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_git_atom_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_git_atom_using_subcommand
    set -l cmd (__fish_git_atom_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c git-atom -n "__fish_git_atom_needs_command" -s v -l verbose -d 'More diagnostics on stderr (repeat for more); `ATOM_LOG` sets a filter too'
complete -c git-atom -n "__fish_git_atom_needs_command" -s q -l quiet -d 'Quiet: only errors on stderr, and no report of what was done on stdout (publish, fetch, update); what a command exists to print (ls, show, tree, verify, --json) is still printed'
complete -c git-atom -n "__fish_git_atom_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c git-atom -n "__fish_git_atom_needs_command" -s V -l version -d 'Print version'
complete -c git-atom -n "__fish_git_atom_needs_command" -f -a "publish" -d 'Publish the atoms of a committed revision, locally and to a remote'
complete -c git-atom -n "__fish_git_atom_needs_command" -f -a "ls" -d 'List atoms and their versions, locally or on a remote'
complete -c git-atom -n "__fish_git_atom_needs_command" -f -a "verify" -d 'Verify published atoms against their source'
complete -c git-atom -n "__fish_git_atom_needs_command" -f -a "add" -d 'Add atom dependencies to the atom\'s manifest and lock them'
complete -c git-atom -n "__fish_git_atom_needs_command" -f -a "remove" -d 'Remove dependencies from the atom\'s manifest and lock'
complete -c git-atom -n "__fish_git_atom_needs_command" -f -a "resolve" -d 'Bring the atom\'s lock in line with its manifest'
complete -c git-atom -n "__fish_git_atom_needs_command" -f -a "show" -d 'Show everything static about an atom, without Nix'
complete -c git-atom -n "__fish_git_atom_needs_command" -f -a "tree" -d 'Show the dependency closure an atom\'s lock pins, as a tree'
complete -c git-atom -n "__fish_git_atom_needs_command" -f -a "hook" -d 'Install and run git hooks that guard atom refs'
complete -c git-atom -n "__fish_git_atom_needs_command" -f -a "sign" -d 'Sign published atoms with your git signing key'
complete -c git-atom -n "__fish_git_atom_needs_command" -f -a "fetch" -d 'Fetch a remote\'s atoms into this repository'
complete -c git-atom -n "__fish_git_atom_needs_command" -f -a "update" -d 'Move an atom clone to the newest version its requirement matches'
complete -c git-atom -n "__fish_git_atom_using_subcommand publish" -l rev -d 'The committed revision to publish from' -r
complete -c git-atom -n "__fish_git_atom_using_subcommand publish" -l remote -d 'Repository to publish to: a remote name, path, URL or address with aliases (`gh:org/repo`); default: the remote `git push` would use' -r
complete -c git-atom -n "__fish_git_atom_using_subcommand publish" -l all -d 'Publish every atom of the revision, wherever this is run'
complete -c git-atom -n "__fish_git_atom_using_subcommand publish" -l local -d 'Publish only in the local repository, even if a remote is configured'
complete -c git-atom -n "__fish_git_atom_using_subcommand publish" -l push-source -d 'Also push the source branch in the same atomic push, so the source commit is on the remote'
complete -c git-atom -n "__fish_git_atom_using_subcommand publish" -l sign -d 'Also sign each atom with your git signing key (as `git atom sign` does) and push the signatures in the same atomic push as the atoms'
complete -c git-atom -n "__fish_git_atom_using_subcommand publish" -l allow-confusable -d 'Publish a label that looks like one already published, locally or on the remote (a case variant such as `Strings` beside `strings`, or a Unicode look-alike), which is refused otherwise'
complete -c git-atom -n "__fish_git_atom_using_subcommand publish" -s n -l dry-run -d 'Check everything and show what would happen; no commit or ref is written anywhere'
complete -c git-atom -n "__fish_git_atom_using_subcommand publish" -l json -d 'Print the result as JSON on stdout'
complete -c git-atom -n "__fish_git_atom_using_subcommand publish" -s v -l verbose -d 'More diagnostics on stderr (repeat for more); `ATOM_LOG` sets a filter too'
complete -c git-atom -n "__fish_git_atom_using_subcommand publish" -s q -l quiet -d 'Quiet: only errors on stderr, and no report of what was done on stdout (publish, fetch, update); what a command exists to print (ls, show, tree, verify, --json) is still printed'
complete -c git-atom -n "__fish_git_atom_using_subcommand publish" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c git-atom -n "__fish_git_atom_using_subcommand publish" -s V -l version -d 'Print version'
complete -c git-atom -n "__fish_git_atom_using_subcommand ls" -l json -d 'Print the listing as JSON on stdout'
complete -c git-atom -n "__fish_git_atom_using_subcommand ls" -s v -l verbose -d 'More diagnostics on stderr (repeat for more); `ATOM_LOG` sets a filter too'
complete -c git-atom -n "__fish_git_atom_using_subcommand ls" -s q -l quiet -d 'Quiet: only errors on stderr, and no report of what was done on stdout (publish, fetch, update); what a command exists to print (ls, show, tree, verify, --json) is still printed'
complete -c git-atom -n "__fish_git_atom_using_subcommand ls" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c git-atom -n "__fish_git_atom_using_subcommand ls" -s V -l version -d 'Print version'
complete -c git-atom -n "__fish_git_atom_using_subcommand verify" -l remote -d 'Fetch missing objects from this remote (a configured name or a URL)' -r
complete -c git-atom -n "__fish_git_atom_using_subcommand verify" -l ancestry -d 'Require the ancestry level: fetch the source\'s history (commits only) when it is not here; an atom whose ancestry cannot be checked is unverifiable'
complete -c git-atom -n "__fish_git_atom_using_subcommand verify" -l signed -d 'Require a valid signature by a key git trusts (`git atom sign`; checked as `git verify-tag` does, with `gpg.ssh.allowedSignersFile` or the GnuPG keyring); also on when `atom.requireSignature` is true'
complete -c git-atom -n "__fish_git_atom_using_subcommand verify" -l locked -d 'Verify every atom the atom.lock of the atom here pins (the atom whose directory holds the current directory): each fetched from its URL (or a mirror), one listing and one fetch per repository, whose ref must name the locked commit, whose root must be the locked root and whose tree must be the locked tree, then checked at every level; an atom of this repository (a path entry) must have the locked tree in the working tree'
complete -c git-atom -n "__fish_git_atom_using_subcommand verify" -l json -d 'Print the verdicts as JSON on stdout'
complete -c git-atom -n "__fish_git_atom_using_subcommand verify" -s v -l verbose -d 'More diagnostics on stderr (repeat for more); `ATOM_LOG` sets a filter too'
complete -c git-atom -n "__fish_git_atom_using_subcommand verify" -s q -l quiet -d 'Quiet: only errors on stderr, and no report of what was done on stdout (publish, fetch, update); what a command exists to print (ls, show, tree, verify, --json) is still printed'
complete -c git-atom -n "__fish_git_atom_using_subcommand verify" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c git-atom -n "__fish_git_atom_using_subcommand verify" -s V -l version -d 'Print version'
complete -c git-atom -n "__fish_git_atom_using_subcommand add" -l path -d 'Add the atom in DIR, another atom of this repository, as a path dependency' -r -F
complete -c git-atom -n "__fish_git_atom_using_subcommand add" -l name -d 'The dependency\'s name (`from.<NAME>`; default: the label); only with one URI or --path' -r
complete -c git-atom -n "__fish_git_atom_using_subcommand add" -l atom -d 'The atom directory to edit (default: the atom whose directory holds the current directory)' -r -F
complete -c git-atom -n "__fish_git_atom_using_subcommand add" -l replace -d 'Replace a dependency the manifest already declares under the same name (without it, adding a name that is taken fails and nothing is written)'
complete -c git-atom -n "__fish_git_atom_using_subcommand add" -s v -l verbose -d 'More diagnostics on stderr (repeat for more); `ATOM_LOG` sets a filter too'
complete -c git-atom -n "__fish_git_atom_using_subcommand add" -s q -l quiet -d 'Quiet: only errors on stderr, and no report of what was done on stdout (publish, fetch, update); what a command exists to print (ls, show, tree, verify, --json) is still printed'
complete -c git-atom -n "__fish_git_atom_using_subcommand add" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c git-atom -n "__fish_git_atom_using_subcommand add" -s V -l version -d 'Print version'
complete -c git-atom -n "__fish_git_atom_using_subcommand remove" -l atom -d 'The atom directory to edit (default: the atom whose directory holds the current directory)' -r -F
complete -c git-atom -n "__fish_git_atom_using_subcommand remove" -s v -l verbose -d 'More diagnostics on stderr (repeat for more); `ATOM_LOG` sets a filter too'
complete -c git-atom -n "__fish_git_atom_using_subcommand remove" -s q -l quiet -d 'Quiet: only errors on stderr, and no report of what was done on stdout (publish, fetch, update); what a command exists to print (ls, show, tree, verify, --json) is still printed'
complete -c git-atom -n "__fish_git_atom_using_subcommand remove" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c git-atom -n "__fish_git_atom_using_subcommand remove" -s V -l version -d 'Print version'
complete -c git-atom -n "__fish_git_atom_using_subcommand resolve" -l atom -d 'The atom directory (default: the atom whose directory holds the current directory)' -r -F
complete -c git-atom -n "__fish_git_atom_using_subcommand resolve" -l update -d 'Move dependencies to their newest matching versions, and resolve pins and sources again (refs, downloads): all, or only the NAMEs given. A NAME is any of the lock: a dependency, pin or source of the atom (a dependency moves with what it alone brings), or a transitive atom by its label or the name its dependent requires it by (it alone moves, as far as every requirement on it allows), or a dependency\'s pin or source; everything else keeps its locked version' -r
complete -c git-atom -n "__fish_git_atom_using_subcommand resolve" -l locked -d 'Change nothing; fail if the lock is not current (for CI; needs no network)'
complete -c git-atom -n "__fish_git_atom_using_subcommand resolve" -l offline -d 'Use no network: resolve from the atoms earlier resolutions fetched into the atom index'
complete -c git-atom -n "__fish_git_atom_using_subcommand resolve" -s v -l verbose -d 'More diagnostics on stderr (repeat for more); `ATOM_LOG` sets a filter too'
complete -c git-atom -n "__fish_git_atom_using_subcommand resolve" -s q -l quiet -d 'Quiet: only errors on stderr, and no report of what was done on stdout (publish, fetch, update); what a command exists to print (ls, show, tree, verify, --json) is still printed'
complete -c git-atom -n "__fish_git_atom_using_subcommand resolve" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c git-atom -n "__fish_git_atom_using_subcommand resolve" -s V -l version -d 'Print version'
complete -c git-atom -n "__fish_git_atom_using_subcommand show" -l json -d 'Print as JSON on stdout'
complete -c git-atom -n "__fish_git_atom_using_subcommand show" -l matrix -d 'Show the atom\'s static build matrix instead: every `build:host:target` triple of `[platform]` times every combination of its `[provide]` and `[support]` variants, one line each (the triple, then the `eka-run` options that select the variant; `any` when the atom declares no `[platform]`); with --json, `{"include": [...]}`, which a CI system takes as its job matrix (GitHub Actions: `strategy.matrix`)'
complete -c git-atom -n "__fish_git_atom_using_subcommand show" -s v -l verbose -d 'More diagnostics on stderr (repeat for more); `ATOM_LOG` sets a filter too'
complete -c git-atom -n "__fish_git_atom_using_subcommand show" -s q -l quiet -d 'Quiet: only errors on stderr, and no report of what was done on stdout (publish, fetch, update); what a command exists to print (ls, show, tree, verify, --json) is still printed'
complete -c git-atom -n "__fish_git_atom_using_subcommand show" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c git-atom -n "__fish_git_atom_using_subcommand show" -s V -l version -d 'Print version'
complete -c git-atom -n "__fish_git_atom_using_subcommand tree" -l depth -d 'Show N levels of dependencies at most (0: the atom alone; with --invert, N levels of requirers)' -r
complete -c git-atom -n "__fish_git_atom_using_subcommand tree" -s i -l invert -d 'Every path from the atom to NAME, with the requirement each requirer states: NAME is an atom\'s label, the name a requirer gives it, or a pin or source' -r
complete -c git-atom -n "__fish_git_atom_using_subcommand tree" -l format -d '`text`: a tree; `dot`: a Graphviz graph (pins and sources shaped apart, edges labelled with their requirements)' -r -f -a "text\t'A tree, one line per atom, pin or source'
dot\t'Graphviz DOT'"
complete -c git-atom -n "__fish_git_atom_using_subcommand tree" -s d -l duplicates -d 'The atoms locked in more than one major version, each with every path to it (as `cargo tree -d`)'
complete -c git-atom -n "__fish_git_atom_using_subcommand tree" -l json -d 'Print as JSON on stdout: the graph as nodes and edges'
complete -c git-atom -n "__fish_git_atom_using_subcommand tree" -s v -l verbose -d 'More diagnostics on stderr (repeat for more); `ATOM_LOG` sets a filter too'
complete -c git-atom -n "__fish_git_atom_using_subcommand tree" -s q -l quiet -d 'Quiet: only errors on stderr, and no report of what was done on stdout (publish, fetch, update); what a command exists to print (ls, show, tree, verify, --json) is still printed'
complete -c git-atom -n "__fish_git_atom_using_subcommand tree" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c git-atom -n "__fish_git_atom_using_subcommand tree" -s V -l version -d 'Print version'
complete -c git-atom -n "__fish_git_atom_using_subcommand hook; and not __fish_seen_subcommand_from install pre-push pre-receive" -s v -l verbose -d 'More diagnostics on stderr (repeat for more); `ATOM_LOG` sets a filter too'
complete -c git-atom -n "__fish_git_atom_using_subcommand hook; and not __fish_seen_subcommand_from install pre-push pre-receive" -s q -l quiet -d 'Quiet: only errors on stderr, and no report of what was done on stdout (publish, fetch, update); what a command exists to print (ls, show, tree, verify, --json) is still printed'
complete -c git-atom -n "__fish_git_atom_using_subcommand hook; and not __fish_seen_subcommand_from install pre-push pre-receive" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c git-atom -n "__fish_git_atom_using_subcommand hook; and not __fish_seen_subcommand_from install pre-push pre-receive" -s V -l version -d 'Print version'
complete -c git-atom -n "__fish_git_atom_using_subcommand hook; and not __fish_seen_subcommand_from install pre-push pre-receive" -f -a "install" -d 'Install the pre-push hook (or, with --server, the pre-receive hook) in this repository'
complete -c git-atom -n "__fish_git_atom_using_subcommand hook; and not __fish_seen_subcommand_from install pre-push pre-receive" -f -a "pre-push" -d 'Run as git\'s pre-push hook (reads the refs being pushed on stdin)'
complete -c git-atom -n "__fish_git_atom_using_subcommand hook; and not __fish_seen_subcommand_from install pre-push pre-receive" -f -a "pre-receive"
complete -c git-atom -n "__fish_git_atom_using_subcommand hook; and __fish_seen_subcommand_from install" -l server -d 'Install the pre-receive hook of a repository others push to'
complete -c git-atom -n "__fish_git_atom_using_subcommand hook; and __fish_seen_subcommand_from install" -l force -d 'Replace an existing hook that git atom did not install'
complete -c git-atom -n "__fish_git_atom_using_subcommand hook; and __fish_seen_subcommand_from install" -s v -l verbose -d 'More diagnostics on stderr (repeat for more); `ATOM_LOG` sets a filter too'
complete -c git-atom -n "__fish_git_atom_using_subcommand hook; and __fish_seen_subcommand_from install" -s q -l quiet -d 'Quiet: only errors on stderr, and no report of what was done on stdout (publish, fetch, update); what a command exists to print (ls, show, tree, verify, --json) is still printed'
complete -c git-atom -n "__fish_git_atom_using_subcommand hook; and __fish_seen_subcommand_from install" -s h -l help -d 'Print help'
complete -c git-atom -n "__fish_git_atom_using_subcommand hook; and __fish_seen_subcommand_from install" -s V -l version -d 'Print version'
complete -c git-atom -n "__fish_git_atom_using_subcommand hook; and __fish_seen_subcommand_from pre-push" -s v -l verbose -d 'More diagnostics on stderr (repeat for more); `ATOM_LOG` sets a filter too'
complete -c git-atom -n "__fish_git_atom_using_subcommand hook; and __fish_seen_subcommand_from pre-push" -s q -l quiet -d 'Quiet: only errors on stderr, and no report of what was done on stdout (publish, fetch, update); what a command exists to print (ls, show, tree, verify, --json) is still printed'
complete -c git-atom -n "__fish_git_atom_using_subcommand hook; and __fish_seen_subcommand_from pre-push" -s h -l help -d 'Print help'
complete -c git-atom -n "__fish_git_atom_using_subcommand hook; and __fish_seen_subcommand_from pre-push" -s V -l version -d 'Print version'
complete -c git-atom -n "__fish_git_atom_using_subcommand hook; and __fish_seen_subcommand_from pre-receive" -s v -l verbose -d 'More diagnostics on stderr (repeat for more); `ATOM_LOG` sets a filter too'
complete -c git-atom -n "__fish_git_atom_using_subcommand hook; and __fish_seen_subcommand_from pre-receive" -s q -l quiet -d 'Quiet: only errors on stderr, and no report of what was done on stdout (publish, fetch, update); what a command exists to print (ls, show, tree, verify, --json) is still printed'
complete -c git-atom -n "__fish_git_atom_using_subcommand hook; and __fish_seen_subcommand_from pre-receive" -s h -l help -d 'Print help'
complete -c git-atom -n "__fish_git_atom_using_subcommand hook; and __fish_seen_subcommand_from pre-receive" -s V -l version -d 'Print version'
complete -c git-atom -n "__fish_git_atom_using_subcommand sign" -l remote -d 'Also push the signatures to this repository: a remote name, path, URL or address with aliases (`gh:org/repo`)' -r
complete -c git-atom -n "__fish_git_atom_using_subcommand sign" -l revoke -d 'Publish a revocation of this ssh key (a public or private key file, or `key::<public key>`) instead of signing atoms' -r
complete -c git-atom -n "__fish_git_atom_using_subcommand sign" -s v -l verbose -d 'More diagnostics on stderr (repeat for more); `ATOM_LOG` sets a filter too'
complete -c git-atom -n "__fish_git_atom_using_subcommand sign" -s q -l quiet -d 'Quiet: only errors on stderr, and no report of what was done on stdout (publish, fetch, update); what a command exists to print (ls, show, tree, verify, --json) is still printed'
complete -c git-atom -n "__fish_git_atom_using_subcommand sign" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c git-atom -n "__fish_git_atom_using_subcommand sign" -s V -l version -d 'Print version'
complete -c git-atom -n "__fish_git_atom_using_subcommand fetch" -l json -d 'Print the result as JSON on stdout'
complete -c git-atom -n "__fish_git_atom_using_subcommand fetch" -s v -l verbose -d 'More diagnostics on stderr (repeat for more); `ATOM_LOG` sets a filter too'
complete -c git-atom -n "__fish_git_atom_using_subcommand fetch" -s q -l quiet -d 'Quiet: only errors on stderr, and no report of what was done on stdout (publish, fetch, update); what a command exists to print (ls, show, tree, verify, --json) is still printed'
complete -c git-atom -n "__fish_git_atom_using_subcommand fetch" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c git-atom -n "__fish_git_atom_using_subcommand fetch" -s V -l version -d 'Print version'
complete -c git-atom -n "__fish_git_atom_using_subcommand update" -s v -l verbose -d 'More diagnostics on stderr (repeat for more); `ATOM_LOG` sets a filter too'
complete -c git-atom -n "__fish_git_atom_using_subcommand update" -s q -l quiet -d 'Quiet: only errors on stderr, and no report of what was done on stdout (publish, fetch, update); what a command exists to print (ls, show, tree, verify, --json) is still printed'
complete -c git-atom -n "__fish_git_atom_using_subcommand update" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c git-atom -n "__fish_git_atom_using_subcommand update" -s V -l version -d 'Print version'

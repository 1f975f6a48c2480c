# SPDX-License-Identifier: MIT
# bash completion for lbx: commands, their options, and box names (the
# boxes of this user, from $XDG_DATA_HOME/lbx/boxes).

_lbx_boxes()
{
	local d=${XDG_DATA_HOME:-$HOME/.local/share}/lbx/boxes
	[ -d "$d" ] && (cd "$d" && ls -1 2>/dev/null)
}

_lbx()
{
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
	local cmds="up enter exec down status ls logs rm net build doctor allow device"
	local cmd= i opts= names=1

	for ((i = 1; i < COMP_CWORD; i++)); do
		case ${COMP_WORDS[i]} in
		--) [ -n "$cmd" ] && return 0 ;; # the command in the box: no completion of ours
		-*) ;;
		*) [ -z "$cmd" ] && cmd=${COMP_WORDS[i]} ;;
		esac
	done
	if [ -z "$cmd" ]; then
		COMPREPLY=($(compgen -W "$cmds --help --version" -- "$cur"))
		return 0
	fi
	case $prev in
	--engine) COMPREPLY=($(compgen -W "auto vm qemu light libvirt" -- "$cur")); return 0 ;;
	--connect) return 0 ;;
	-w|--workdir|--vsock-uds|--agent-socket) COMPREPLY=($(compgen -f -- "$cur")); return 0 ;;
	-e|--env) return 0 ;;
	esac
	case $cmd in
	up) opts="--engine --connect --light --json --help" ;;
	enter) opts="-w --workdir --root --help" ;;
	exec) opts="-t --tty --root -w --workdir -e --env --vsock-uds --agent-socket --help" ;;
	status|net) opts="--json --help" ;;
	ls) opts="--json --help"; names=0 ;;
	logs) opts="-f --follow --help" ;;
	down|rm|build) opts="--help" ;;
	doctor) opts="--json --quiet --help"; names=0 ;;
	allow) opts="--show --json --help" ;;
	device) opts="ls attach detach --json --help" ;;
	*) return 0 ;;
	esac
	if [[ $cur == -* ]] || [ "$names" = 0 ]; then
		COMPREPLY=($(compgen -W "$opts" -- "$cur"))
	else
		COMPREPLY=($(compgen -W "$(_lbx_boxes) $opts" -- "$cur"))
	fi
}
complete -F _lbx lbx

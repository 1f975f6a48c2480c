#!/bin/sh
# The man page documents exactly the options --help lists.
#   test-manpage.sh LBX_SSH_PROXY MANPAGE
set -u
proxy=$1 man=$2
n=0 fail=0
check() {
	n=$((n + 1))
	if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fail=1; fi
}
help_opts=$("$proxy" --help | grep -oE -- '--[a-z][a-z-]+' | sort -u)
# In roff the dashes are escaped: \-\-listen.
man_opts=$(grep -oE '^\.BR \\-[a-zA-Z] ", " \\-\\-[a-z][a-z\\-]*' "$man" |
	sed 's/.* //; s/\\-/-/g' | sort -u)
[ -n "$help_opts" ]
check $? "--help lists options"
for o in $help_opts; do
	echo "$man_opts" | grep -qx -- "$o"
	check $? "man page documents $o"
done
for o in $man_opts; do
	echo "$help_opts" | grep -qx -- "$o"
	check $? "--help lists $o from the man page"
done
"$proxy" --version | grep -q '^lbx-ssh-proxy '
check $? "--version names the program"
"$proxy" --no-such-option >/dev/null 2>&1
[ $? = 2 ]
check $? "an unknown option is a usage error (exit 2)"
echo "1..$n"
exit $fail

#!/bin/sh
# The man page documents exactly the options --help lists.
#   test-manpage.sh PROGRAM MANPAGE
set -u
prog=$1 man=$2 name=$(basename "$1")
n=0 fail=0
check() {
	n=$((n + 1))
	if [ "$1" = 0 ]; then echo "ok $n - $name: $2"; else echo "not ok $n - $name: $2"; fail=1; fi
}
help_opts=$("$prog" --help | grep -oE -- '--[a-z][a-z-]+' | sort -u)
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
"$prog" --version | grep -q "^$name "
check $? "--version names the program"
"$prog" --no-such-option >/dev/null 2>&1
[ $? = 2 ]
check $? "an unknown option is a usage error (exit 2)"
echo "1..$n"
exit $fail

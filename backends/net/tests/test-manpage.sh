#!/bin/sh
# docs/lbx-netd.1 and `lbx-netd --help` list the same options.
#   test-manpage.sh LBX_NETD MANPAGE
set -u
netd=$1 man=$2
n=0 fail=0
check() {
	n=$((n + 1))
	if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fail=1; fi
}
# "-s, --socket PATH" in --help; ".BR \-s ", " \-\-socket ..." in roff.
help=$("$netd" --help | sed -n 's/^ *\(-[a-zA-Z]\), \(--[a-z-]*\).*/\1 \2/p' | sort)
man=$(sed -n 's/^\.BR \\-\([a-zA-Z]\) ", " \\-\\-\([a-z\\-]*\).*/-\1 --\2/p' "$man" |
	sed 's/\\-/-/g' | sort)
[ -n "$help" ]
check $? "--help lists options"
[ "$help" = "$man" ]
check $? "the man page documents exactly those options, with the same short forms"
[ "$help" = "$man" ] || { echo "# --help:"; echo "$help" | sed 's/^/#   /'; echo "# man:"; echo "$man" | sed 's/^/#   /'; }
"$netd" --version | grep -q '^lbx-netd .*libslirp'
check $? "--version names the program and libslirp"
"$netd" --no-such-option >/dev/null 2>&1
[ $? = 2 ]
check $? "an unknown option is a usage error (exit 2)"
"$netd" --socket /nonexistent/x >/dev/null 2>&1
[ $? = 2 ]
check $? "a missing --policy is a usage error (exit 2)"
"$netd" --policy /nonexistent/p.json >/dev/null 2>&1
[ $? = 2 ]
check $? "neither --socket nor --stream is a usage error (exit 2)"
"$netd" --socket /nonexistent/x --stream /nonexistent/y --policy /nonexistent/p.json >/dev/null 2>&1
[ $? = 2 ]
check $? "both --socket and --stream is a usage error (exit 2)"
echo "1..$n"
exit $fail

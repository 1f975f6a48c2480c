#!/bin/sh
# SPDX-License-Identifier: MIT
# The /dev/fuse tests must not hide a broken server as a skip: run
# test-fsd-fuse and test-fsd-tools.sh against a stand-in lbx-fsd that
# fails at once: each must fail (exit non-zero, a "not ok" line), never
# skip. Skips itself only where
# the machine cannot mount FUSE (the tests under check would skip there).
#   test-fsd-honest.sh TEST_FSD_FUSE TEST_FSD_TOOLS_SH
set -u
fuse_test=$1 tools_test=$2
. "$(dirname "$0")/tap.sh"
need_fuse_and

base=$(mktemp -d /tmp/lbx-fsd-honest.XXXXXX)
trap 'rm -rf "$base"' EXIT
printf '#!/bin/sh\necho "lbx-fsd: broken on purpose" >&2\nexit 1\n' >"$base/dies"
chmod +x "$base/dies"

fake=dies
"$fuse_test" "$base/$fake" >"$base/out" 2>&1
rc=$?
[ $rc != 0 ] && grep -q '^not ok' "$base/out" && ! grep -q SKIP "$base/out" &&
	ok "test-fsd-fuse fails (exit $rc) when lbx-fsd $fake" ||
	nok "test-fsd-fuse fails when lbx-fsd $fake (exit $rc: $(head -c 300 "$base/out"))"
sh "$tools_test" "$base/$fake" >"$base/out" 2>&1
rc=$?
[ $rc != 0 ] && grep -q '^not ok' "$base/out" && ! grep -q SKIP "$base/out" &&
	ok "test-fsd-tools.sh fails (exit $rc) when lbx-fsd $fake" ||
	nok "test-fsd-tools.sh fails when lbx-fsd $fake (exit $rc: $(head -c 300 "$base/out"))"
echo "1..$n"
[ $failed = 0 ]

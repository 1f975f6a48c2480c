/* SPDX-License-Identifier: MIT */
/* Destination patterns: wildcards, user@host, [host]:port. */
#include <errno.h>
#include <string.h>

#include "pattern.h"
#include "tap.h"

static void test_glob(void)
{
	ok(sshp_glob("*", "", false) && sshp_glob("*", "anything", false), "* matches all");
	ok(sshp_glob("git", "git", false) && !sshp_glob("git", "gitx", false), "literal");
	ok(sshp_glob("*.example.org", "a.b.example.org", true), "suffix wildcard");
	ok(!sshp_glob("*.example.org", "example.org", true), "suffix needs the dot");
	ok(sshp_glob("h?st", "host", false) && !sshp_glob("h?st", "hst", false), "? is one char");
	ok(sshp_glob("GitHub.COM", "github.com", true) && !sshp_glob("Git", "git", false),
	   "case folding only when asked");
	ok(sshp_glob("a*b*c", "aXbYbZc", false) && !sshp_glob("a*b*c", "aXbYbZ", false),
	   "backtracking over several stars");
	ok(!sshp_glob("*a*a*a*a*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false),
	   "pathological pattern fails (and quickly)");
}

static void test_parse(void)
{
	struct sshp_dest d;

	ok(!sshp_dest_parse("git@github.com", &d) && !strcmp(d.user, "git") &&
	       !strcmp(d.host, "github.com") && d.port == 0,
	   "user@host");
	ok(!sshp_dest_parse("*@*.example.org", &d) && !strcmp(d.user, "*") &&
	       !sshp_dest_host_is_literal(&d),
	   "wildcards in both parts");
	ok(!sshp_dest_parse("root@[10.0.0.1]:2222", &d) && !strcmp(d.host, "10.0.0.1") &&
	       d.port == 2222,
	   "user@[host]:port");
	ok(!sshp_dest_parse("example.org", &d) && !strcmp(d.user, "*"), "bare host: any user");
	ok(sshp_dest_parse("", &d) == -EINVAL, "empty");
	ok(sshp_dest_parse("@host", &d) == -EINVAL, "empty user");
	ok(sshp_dest_parse("user@", &d) == -EINVAL, "empty host");
	ok(sshp_dest_parse("a b@host", &d) == -EINVAL, "spaces");
	ok(sshp_dest_parse("u@[host]:0", &d) == -EINVAL, "port 0");
	ok(sshp_dest_parse("u@[host]:70000", &d) == -EINVAL, "port too large");
	ok(sshp_dest_parse("u@[host]", &d) == -EINVAL, "brackets without port");
	ok(sshp_dest_parse("u@ho]st", &d) == -EINVAL, "stray bracket");
}

static void test_match(void)
{
	struct sshp_dest d;

	ok(!sshp_dest_parse("git@github.com", &d), "parse");
	ok(sshp_dest_match_user(&d, "git") && !sshp_dest_match_user(&d, "root"), "user part");
	ok(sshp_dest_match_host(&d, "GitHub.com", 22) &&
	       sshp_dest_match_host(&d, "github.com", 2222),
	   "no port in the pattern: any port");
	ok(!sshp_dest_match_host(&d, "gitlab.com", 22), "other host");
	ok(!sshp_dest_parse("git@[github.com]:443", &d), "parse with port");
	ok(sshp_dest_match_host(&d, "github.com", 443) &&
	       !sshp_dest_match_host(&d, "github.com", 22),
	   "a port in the pattern must match");
}

int main(void)
{
	test_glob();
	test_parse();
	test_match();
	return tap_done();
}

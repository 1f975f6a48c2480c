/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: known_hosts parsing and destination matching. The
 * first byte picks a destination pattern, the rest is the file; the host
 * key looked for is a fixed ed25519 key (its base64 starts "AAAAC3Nza").
 */
#include <stdlib.h>
#include <string.h>

#include "known_hosts.h"

static const char *const patterns[] = {
	"git@github.com", "*@*",	"*@*.example.org", "root@[127.0.0.1]:2222",
	"a?c@h*st",	  "github.com", "x@[h]:22",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t key[] = "\0\0\0\x0bssh-ed25519\0\0\0\x20"
				     "0123456789abcdef0123456789abcdef";
	struct sshp_dest d;
	char name[512];
	const char *text;

	if (size < 1)
		return 0;
	if (sshp_dest_parse(patterns[data[0] % (sizeof(patterns) / sizeof(patterns[0]))], &d))
		abort();
	text = (const char *)data + 1;
	name[0] = '\0';
	if (sshp_kh_match(text, size - 1, key, sizeof(key) - 1, &d, name, sizeof(name)) && !name[0])
		abort(); /* a match always names what matched */
	(void)sshp_kh_first_name(text, size - 1, key, sizeof(key) - 1, name, sizeof(name));
	if (strlen(name) >= sizeof(name))
		abort();
	return 0;
}

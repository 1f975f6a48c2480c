/* SPDX-License-Identifier: MIT */
/* libFuzzer target: the ssh policy parser (and common/json under it). */
#include <stdlib.h>
#include <string.h>

#include "policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sshp_policy p;
	char err[512];

	if (sshp_policy_parse((const char *)data, size, "fuzz.json", &p, err, sizeof(err))) {
		/* Every rejection explains itself, naming the file. */
		if (strncmp(err, "fuzz.json", 9) != 0)
			abort();
		return 0;
	}
	for (size_t i = 0; i < p.nkeys; i++) {
		const struct sshp_key_rule *r = &p.keys[i];

		if (r->comment ? !r->comment[0] : !sshp_fp_valid(r->fp))
			abort();
		for (size_t j = 0; j < r->ndests; j++)
			if (!r->dests[j].user[0] || !r->dests[j].host[0])
				abort();
		if (sshp_policy_find(&p, r->fp, NULL) == NULL && !r->comment)
			abort();
	}
	sshp_policy_free(&p);
	return 0;
}

/* SPDX-License-Identifier: MIT */
/* libFuzzer target for box definitions (lbx/config.c over common/json). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct box_config c;
	char err[512];
	int rc;

	lbx_log_set_level(LBX_LOG_ERROR);
	rc = box_config_parse(&c, "fuzz.json", (const char *)data, size, "/p", err, sizeof(err));
	if (rc == 0) {
		if (c.cpus < 1 || c.cpus > 64 || c.memory_mib < 128 || c.nmounts > BOX_MAX_MOUNTS ||
		    c.nenv > BOX_MAX_ENV || c.workdir[0] != '/')
			abort();
		for (unsigned i = 0; i < c.nenv; i++)
			if (!strchr(c.env[i], '='))
				abort();
	} else if (!err[0] || strchr(err, '\n')) {
		abort(); /* every rejection is one line that says why */
	}
	box_config_free(&c);
	return 0;
}

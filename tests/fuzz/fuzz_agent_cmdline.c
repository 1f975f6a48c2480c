/* SPDX-License-Identifier: MIT */
/* libFuzzer target for the guest agent's kernel command line parser. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cmdline.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct agent_config cfg;
	char err[256];
	int rc = agent_cmdline_parse((const char *)data, size, &cfg, err, sizeof(err));

	if (rc == 0) {
		if (cfg.argc < 0 || cfg.argc > AGENT_MAX_ARGS || cfg.argv[cfg.argc])
			abort();
		if (cfg.envc < 0 || cfg.envc > AGENT_MAX_ENV || cfg.env[cfg.envc])
			abort();
		for (int i = 0; i < cfg.envc; i++)
			if (!strchr(cfg.env[i], '='))
				abort();
		if (strlen(cfg.hostname) > AGENT_HOSTNAME_MAX)
			abort();
	} else if (err[0] == '\0') {
		abort(); /* every rejection says why */
	}
	agent_config_free(&cfg);
	return 0;
}

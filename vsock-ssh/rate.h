/* SPDX-License-Identifier: MIT */
/*
 * Per-key signature rate limit ("rate": "10/min" in the box policy): a
 * token bucket holding up to N signatures that refills at N per period,
 * so a burst of N is allowed and the long-run rate never exceeds N/period.
 * Time is passed in (milliseconds, monotonic) so tests need no clock.
 */
#ifndef SSHP_RATE_H
#define SSHP_RATE_H

#include <stdbool.h>
#include <stdint.h>

#include "compiler.h"

struct sshp_rate {
	uint32_t count; /* 0: unlimited */
	uint64_t period_ms;
};

struct sshp_bucket {
	double tokens;
	uint64_t last_ms;
	bool started;
};

/*
 * Parse "N/s", "N/sec", "N/min", "N/h" or "N/hour" with 1 <= N <= 1000000.
 * -EINVAL otherwise.
 */
LBX_MUST_CHECK int sshp_rate_parse(const char *s, struct sshp_rate *rate);
/* Would a signature be allowed now? Does not consume. */
bool sshp_rate_peek(const struct sshp_rate *rate, struct sshp_bucket *b, uint64_t now_ms);
/* Consume one signature if allowed; false if over the limit. */
bool sshp_rate_take(const struct sshp_rate *rate, struct sshp_bucket *b, uint64_t now_ms);

#endif

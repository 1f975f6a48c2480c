/* SPDX-License-Identifier: MIT */
#include "rate.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const struct {
	const char *unit;
	uint64_t ms;
} units[] = {
	{ "s", 1000 }, { "sec", 1000 }, { "min", 60000 }, { "h", 3600000 }, { "hour", 3600000 },
};

int sshp_rate_parse(const char *s, struct sshp_rate *rate)
{
	char *end;
	unsigned long n;

	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	n = strtoul(s, &end, 10);
	if (errno || n < 1 || n > 1000000 || *end != '/')
		return -EINVAL;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (!strcmp(end + 1, units[i].unit)) {
			rate->count = (uint32_t)n;
			rate->period_ms = units[i].ms;
			return 0;
		}
	}
	return -EINVAL;
}

static void refill(const struct sshp_rate *rate, struct sshp_bucket *b, uint64_t now_ms)
{
	if (!b->started) {
		b->started = true;
		b->tokens = rate->count;
		b->last_ms = now_ms;
		return;
	}
	if (now_ms > b->last_ms) {
		b->tokens += (double)(now_ms - b->last_ms) * rate->count / (double)rate->period_ms;
		if (b->tokens > rate->count)
			b->tokens = rate->count;
		b->last_ms = now_ms;
	}
}

bool sshp_rate_peek(const struct sshp_rate *rate, struct sshp_bucket *b, uint64_t now_ms)
{
	if (rate->count == 0)
		return true;
	refill(rate, b, now_ms);
	return b->tokens >= 1.0;
}

bool sshp_rate_take(const struct sshp_rate *rate, struct sshp_bucket *b, uint64_t now_ms)
{
	if (!sshp_rate_peek(rate, b, now_ms))
		return false;
	if (rate->count)
		b->tokens -= 1.0;
	return true;
}

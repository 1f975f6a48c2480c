/* SPDX-License-Identifier: MIT */
/* The per-key rate limiter (token bucket) and its "N/unit" syntax. */
#include <errno.h>

#include "rate.h"
#include "tap.h"

static void test_parse(void)
{
	struct sshp_rate r;

	ok(!sshp_rate_parse("10/min", &r) && r.count == 10 && r.period_ms == 60000, "10/min");
	ok(!sshp_rate_parse("1/s", &r) && r.count == 1 && r.period_ms == 1000, "1/s");
	ok(!sshp_rate_parse("5/hour", &r) && r.period_ms == 3600000, "5/hour");
	ok(sshp_rate_parse("0/min", &r) == -EINVAL, "zero");
	ok(sshp_rate_parse("-1/min", &r) == -EINVAL, "negative");
	ok(sshp_rate_parse("10/day", &r) == -EINVAL, "unknown unit");
	ok(sshp_rate_parse("10", &r) == -EINVAL, "no unit");
	ok(sshp_rate_parse("10/min ", &r) == -EINVAL, "trailing space");
	ok(sshp_rate_parse("99999999999999999999/s", &r) == -EINVAL, "overflow");
}

static void test_bucket(void)
{
	struct sshp_rate r = { .count = 3, .period_ms = 60000 }, none = { 0 };
	struct sshp_bucket b = { 0 };
	int allowed = 0;

	for (int i = 0; i < 5; i++)
		allowed += sshp_rate_take(&r, &b, 1000);
	is_int(allowed, 3, "a burst of 3 within 3/min, then refused");
	ok(!sshp_rate_peek(&r, &b, 1000 + 19999), "not yet refilled after 19.999 s");
	ok(sshp_rate_peek(&r, &b, 1000 + 20000), "one refilled after 20 s");
	ok(sshp_rate_peek(&r, &b, 1000 + 20000), "peeking does not consume");
	ok(sshp_rate_take(&r, &b, 1000 + 20000) && !sshp_rate_take(&r, &b, 1000 + 20000),
	   "exactly one taken");
	allowed = 0;
	for (int i = 0; i < 5; i++)
		allowed += sshp_rate_take(&r, &b, 10000000);
	is_int(allowed, 3, "refill is capped at the burst size");
	allowed = 0;
	for (int i = 0; i < 1000; i++)
		allowed += sshp_rate_take(&none, &b, 0);
	is_int(allowed, 1000, "no rate: unlimited");
}

int main(void)
{
	test_parse();
	test_bucket();
	return tap_done();
}

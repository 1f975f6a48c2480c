/* SPDX-License-Identifier: MIT */
/* The one millisecond clock every lbx process measures intervals with. */
#ifndef LBX_CLOCK_H
#define LBX_CLOCK_H

#include <stdint.h>

/* CLOCK_MONOTONIC in milliseconds: for timeouts, rates and elapsed times, never dates. */
uint64_t lbx_now_ms(void);

#endif

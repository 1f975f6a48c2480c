/* SPDX-License-Identifier: MIT */
/* Small compiler helpers shared by every lbx component. */
#ifndef LBX_COMPILER_H
#define LBX_COMPILER_H

#include <stddef.h>

/* A result that must be looked at: parsers of hostile input return these. */
#define LBX_MUST_CHECK __attribute__((warn_unused_result))
#define LBX_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#define LBX_UNUSED __attribute__((unused))

#define LBX_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define LBX_MIN(a, b) ((a) < (b) ? (a) : (b))
#define LBX_MAX(a, b) ((a) > (b) ? (a) : (b))
/* A macro's value as a string literal. */
#define LBX_STR_(x) #x
#define LBX_STR(x) LBX_STR_(x)

#endif

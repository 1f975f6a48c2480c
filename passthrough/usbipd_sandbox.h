/* SPDX-License-Identifier: MIT */
#ifndef LBX_USBIPD_SANDBOX_H
#define LBX_USBIPD_SANDBOX_H

#include <stdbool.h>

/* Restrict lbx-usbipd to what serving needs (sandbox.c). 0 or -errno. */
int usbipd_sandbox_apply(bool host_device);

#endif

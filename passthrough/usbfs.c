/* SPDX-License-Identifier: MIT */
/* placeholder, replaced below */
#include <errno.h>
#include <stdio.h>

#include "usbdev.h"

int usbd_usbfs_open(struct usbd *d, const char *path, struct lbx_loop *loop, char *err,
		    size_t errsz)
{
	snprintf(err, errsz, "%s: host devices are not supported yet", path);
	return -ENOSYS;
}

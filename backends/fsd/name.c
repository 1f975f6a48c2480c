/* SPDX-License-Identifier: MIT */
/*
 * Names in requests. The kernel sends one path component, NUL-terminated
 * (fuse.h: LOOKUP, MKNOD, ... carry "name"). Anything that is not exactly
 * one ordinary component is refused before it reaches a system call:
 * empty (EINVAL), longer than NAME_MAX (ENAMETOOLONG), containing '/'
 * (EINVAL), "." or ".." (EINVAL: the kernel resolves those itself and
 * never sends them without FUSE_EXPORT_SUPPORT, which we do not offer).
 */
#include <errno.h>
#include <limits.h>
#include <string.h>

#include "fsd_priv.h"

int fsd_read_name(struct fsd_req *req, const char **name)
{
	size_t n;
	int err = lbx_read_cstr(&req->args, NAME_MAX, name, &n);

	if (err)
		return fsd_refuse(req, err == -EMSGSIZE ? -ENAMETOOLONG : -EINVAL);
	if (n == 0 || memchr(*name, '/', n))
		return fsd_refuse(req, -EINVAL);
	if (!strcmp(*name, ".") || !strcmp(*name, ".."))
		return fsd_refuse(req, -EINVAL);
	return 0;
}

/* Arguments must be used up exactly: trailing bytes mean a forged length. */
int fsd_args_end(struct fsd_req *req)
{
	return lbx_read_end(&req->args) ? fsd_refuse(req, -EINVAL) : 0;
}

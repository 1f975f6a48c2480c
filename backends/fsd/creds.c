/* SPDX-License-Identifier: MIT */
/*
 * With identity mapping and a server running as root, new objects must
 * belong to the caller, and setgid directories must pass on their group
 * as the kernel decides. The server switches its file system ids for the
 * one call that creates (setfsuid/setfsgid act on the calling thread
 * only), so the host kernel does the owning. As an ordinary user the
 * server owns what it creates; nothing to switch.
 */
#include <sys/fsuid.h>

#include "fsd_priv.h"

void fsd_creds_enter(struct fsd_req *req, struct fsd_creds *c)
{
	c->switched = false;
	if (req->fsd->opt.ownership != FSD_OWNERSHIP_IDENTITY || req->fsd->euid != 0)
		return;
	if (req->uid == 0 && req->gid == 0)
		return;
	setfsgid(req->gid);
	setfsuid(req->uid);
	c->switched = true;
}

void fsd_creds_leave(struct fsd_creds *c)
{
	if (!c->switched)
		return;
	setfsuid(0);
	setfsgid(0);
}

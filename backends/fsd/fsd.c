/* SPDX-License-Identifier: MIT */
/* Creating and tearing down the FUSE core (fsd.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsd_priv.h"
#include "log.h"

void fsd_options_default(struct fsd_options *opt)
{
	memset(opt, 0, sizeof(*opt));
	opt->ownership = FSD_OWNERSHIP_IDENTITY;
	opt->entry_timeout_ms = 1000;
	opt->attr_timeout_ms = 1000;
	opt->keep_cache = true;
	opt->max_write = FSD_MAX_WRITE_DEFAULT;
}

static int open_dirs(struct fsd *fsd, const char *shared_dir)
{
	fsd->root_fd = open(shared_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fsd->root_fd < 0) {
		lbx_err("cannot open the shared directory %s: %s", shared_dir, strerror(errno));
		return -errno;
	}
	fsd->proc_fd = open("/proc/self/fd", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fsd->proc_fd < 0) {
		lbx_err("cannot open /proc/self/fd (is /proc mounted?): %s", strerror(errno));
		return -errno;
	}
	return 0;
}

/*
 * The default inode fd budget: the open file limit less a reserve for
 * open files, the transport and the fds every process has. A quarter of
 * the limit and at least 256.
 */
static uint32_t default_inode_fds(void)
{
	struct rlimit r;
	rlim_t reserve;

	if (getrlimit(RLIMIT_NOFILE, &r) < 0)
		return 256;
	if (r.rlim_cur == RLIM_INFINITY || r.rlim_cur > UINT32_MAX)
		r.rlim_cur = UINT32_MAX;
	reserve = LBX_MAX(r.rlim_cur / 4, (rlim_t)256);
	return r.rlim_cur > reserve + 64 ? (uint32_t)(r.rlim_cur - reserve) : 64;
}

int fsd_new(const char *shared_dir, const struct fsd_options *opt, struct fsd **out)
{
	struct fsd *fsd = calloc(1, sizeof(*fsd));
	int err;

	if (!fsd)
		return -ENOMEM;
	fsd->opt = *opt;
	if (fsd->opt.max_write < 4096)
		fsd->opt.max_write = 4096;
	if (!fsd->opt.max_inode_fds)
		fsd->opt.max_inode_fds = default_inode_fds();
	fsd->root_fd = fsd->proc_fd = -1;
	fsd->euid = geteuid();
	fsd->egid = getegid();
	err = open_dirs(fsd, shared_dir);
	if (!err)
		err = fsd_inodes_init(fsd);
	if (!err)
		err = fsd_files_init(fsd);
	if (!err)
		err = fsd_protect_init(fsd, opt->protect, opt->nprotect);
	if (!err)
		err = fsd_quota_init(fsd);
	fsd->opt.protect = NULL; /* the caller's; fsd->protect has the copy */
	fsd->opt.nprotect = 0;
	if (err) {
		fsd_free(fsd);
		return err;
	}
	*out = fsd;
	return 0;
}

void fsd_notified(struct fsd *fsd)
{
	atomic_store(&fsd->notified, true);
	if (!fsd->opt.notified_timeout_ms)
		return;
	fsd->opt.entry_timeout_ms = fsd->opt.notified_timeout_ms;
	fsd->opt.attr_timeout_ms = fsd->opt.notified_timeout_ms;
}

void fsd_free(struct fsd *fsd)
{
	if (!fsd)
		return;
	fsd_watch_stop(fsd);
	if (fsd->files.max)
		fsd_files_free(fsd);
	if (fsd->inodes.max)
		fsd_inodes_free(fsd);
	fsd_protect_free(fsd);
	fsd_quota_free(fsd);
	if (fsd->root_fd >= 0)
		close(fsd->root_fd);
	if (fsd->proc_fd >= 0)
		close(fsd->proc_fd);
	free(fsd);
}

size_t fsd_max_request(const struct fsd *fsd)
{
	size_t write = 40 + sizeof(struct fuse_write_in) + fsd->opt.max_write;

	return LBX_MAX(write, (size_t)40 + FSD_MAX_ARGS);
}

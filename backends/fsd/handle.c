/* SPDX-License-Identifier: MIT */
/*
 * Open files and directories, known to the guest by file handle (fh). A
 * handle names one fd this server opened; using a file handle where a
 * directory handle belongs, or the reverse, finds nothing (EBADF).
 */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "fsd_priv.h"

#define FSD_MAX_FILES (1u << 20)

int fsd_files_init(struct fsd *fsd)
{
	pthread_mutex_init(&fsd->hlock, NULL);
	return fsd_idtable_init(&fsd->files, 1, FSD_MAX_FILES);
}

static void file_free(struct fsd *fsd, struct fsd_file *f)
{
	close(f->fd);
	fsd_inode_put(fsd, f->inode);
	pthread_mutex_destroy(&f->lock);
	free(f->dbuf);
	free(f);
}

void fsd_files_free(struct fsd *fsd)
{
	for (uint32_t i = 0; i < fsd->files.cap; i++) {
		struct fsd_file *f = fsd_idtable_at(&fsd->files, i);

		if (f)
			file_free(fsd, f);
	}
	fsd_idtable_free(&fsd->files);
	pthread_mutex_destroy(&fsd->hlock);
}

/* Takes over fd and one ref on ino (both released with the handle, or on failure). */
int fsd_file_add(struct fsd *fsd, int fd, struct fsd_inode *ino, bool dir, uint64_t *fh)
{
	struct fsd_file *f = calloc(1, sizeof(*f));
	int err;

	if (!f) {
		close(fd);
		fsd_inode_put(fsd, ino);
		return -ENOMEM;
	}
	f->fd = fd;
	f->inode = ino;
	f->dir = dir;
	f->refs = 1;
	pthread_mutex_init(&f->lock, NULL);
	pthread_mutex_lock(&fsd->hlock);
	err = fsd_idtable_add(&fsd->files, f, fh);
	pthread_mutex_unlock(&fsd->hlock);
	if (err)
		file_free(fsd, f);
	return err;
}

struct fsd_file *fsd_file_get(struct fsd *fsd, uint64_t fh, bool dir)
{
	struct fsd_file *f;

	pthread_mutex_lock(&fsd->hlock);
	f = fsd_idtable_find(&fsd->files, fh);
	if (f && f->dir == dir)
		f->refs++;
	else
		f = NULL;
	pthread_mutex_unlock(&fsd->hlock);
	return f;
}

void fsd_file_put(struct fsd *fsd, struct fsd_file *f)
{
	bool last;

	pthread_mutex_lock(&fsd->hlock);
	last = --f->refs == 0;
	pthread_mutex_unlock(&fsd->hlock);
	if (last)
		file_free(fsd, f);
}

/* RELEASE/RELEASEDIR: the id dies now; the fd closes when the last user is done. */
int fsd_file_release(struct fsd *fsd, uint64_t fh, bool dir)
{
	struct fsd_file *f;

	pthread_mutex_lock(&fsd->hlock);
	f = fsd_idtable_find(&fsd->files, fh);
	if (f && f->dir == dir)
		fsd_idtable_remove(&fsd->files, fh);
	else
		f = NULL;
	pthread_mutex_unlock(&fsd->hlock);
	if (!f)
		return -EBADF;
	fsd_file_put(fsd, f);
	return 0;
}

void fsd_file_changed(struct fsd_file *f)
{
	struct stat st;

	if (fstat(f->fd, &st) == 0)
		fsd_inode_seen(f->inode, &st);
}

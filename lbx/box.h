/* SPDX-License-Identifier: MIT */
/*
 * A box's places on the host (ARCHITECTURE.md "Files and state"):
 *
 *   runtime  $XDG_RUNTIME_DIR/lbx/NAME/   lock, state.json, sockets
 *   data     $XDG_DATA_HOME/lbx/boxes/NAME/  box.json (what `up` used),
 *            console.log, supervisor.log, last-exit
 *
 * A box is running exactly while its supervisor holds the runtime lock.
 */
#ifndef LBX_BOX_H
#define LBX_BOX_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct box_paths {
	char name[64];
	char runtime[PATH_MAX];
	char data[PATH_MAX];
};

int box_paths_init(struct box_paths *p, const char *name);
/* dir/file into buf; -ENAMETOOLONG if it does not fit. */
int box_path(const char *dir, const char *file, char *buf, size_t sz);
/* The supervisor's pid if the box is running, else 0. */
pid_t box_running(const struct box_paths *p);
/* mkdir -p with mode for the last component. */
int box_mkdirs(const char *path, mode_t mode);
/* Write a small file atomically (tmp + rename). */
int box_write_file(const char *path, const char *text);
/* Read a small file into buf (NUL-terminated); bytes or -errno. */
ssize_t box_read_file(const char *path, char *buf, size_t sz);
/*
 * Remove a directory tree without following symbolic links (or crossing
 * into other file systems); 0 if it is gone (or never was), -1 with errno.
 */
int box_remove_tree(const char *path);
/* $XDG_DATA_HOME/lbx/boxes (for lbx ls). */
int box_data_root(char *buf, size_t sz);
/* $XDG_CONFIG_HOME/lbx/boxes/NAME.json */
int box_config_path(const char *name, char *buf, size_t sz);

#endif

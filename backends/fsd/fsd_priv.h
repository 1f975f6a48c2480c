/* SPDX-License-Identifier: MIT */
/* lbx-fsd internals shared by the per-opcode files. Not for transports. */
#ifndef LBX_FSD_PRIV_H
#define LBX_FSD_PRIV_H

#include <linux/fuse.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "fsd.h"
#include "idtable.h"
#include "override_stat.h"
#include "reader.h"
#include "writer.h"

/* Largest argument block other than WRITE payload: SETXATTR's 64 KiB value plus a name. */
#define FSD_MAX_ARGS (65536 + 4096)
/* Largest directory or xattr listing reply we build. */
#define FSD_MAX_LIST (128 * 1024)
#define FSD_XATTR_MAX 65536
/* The ownership xattrs (common/override_stat.h): on files and dirs, and by name in a dir. */
#define FSD_OVERRIDE_XATTR LBX_OVERRIDE_XATTR
#define FSD_NAMES_XATTR LBX_OVERRIDE_NAMES_XATTR

/* A link in the table's list of idle inode fds (inode.c); next NULL: on no list. */
struct fsd_link {
	struct fsd_link *prev, *next;
};

/*
 * A host object the guest knows by node id. The fd is O_PATH, never
 * followed; -1 while evicted (inode.c). Everything but dev, ino, type and
 * nodeid is guarded by the table lock.
 */
struct fsd_inode {
	int fd;
	dev_t dev;
	ino_t ino;
	mode_t type;	 /* S_IFMT bits; an inode never changes type */
	uint64_t nlookup; /* the guest's references (LOOKUP replies minus FORGETs) */
	unsigned refs;	 /* in-flight users and open handles: the fd stays while > 0 */
	uint64_t nodeid;
	struct fsd_inode *hnext; /* (dev, ino) hash chain */
	/* Where to reopen it: the name it last had in parent. NULL: nowhere (root, unlinked). */
	struct fsd_inode *parent; /* holds a kids count on it */
	char *name;
	unsigned kids;	     /* inodes whose parent this is: keep the struct, not the fd */
	struct fsd_link lru; /* on the idle list: refs 0, an fd and a path */
	int wd;		     /* inotify watch of a directory (watch.c), 0: none; table lock */
	/* change time (ns) in the last attributes the guest got (watch.c tells ours apart) */
	atomic_uint_fast64_t seen;
	atomic_bool seen_host; /* that change time came from a watch event: the host's */
};

/* An open file or directory the guest knows by file handle. */
struct fsd_file {
	int fd;
	struct fsd_inode *inode; /* holds a ref */
	bool dir;
	unsigned refs; /* guarded by the handle table lock */
	pthread_mutex_t lock; /* directory stream state below */
	uint8_t *dbuf;	      /* getdents64 buffer */
	size_t dlen, dpos;
	int64_t doff; /* stream offset of the entry at dpos */
};

/* A --protect path, split into components (protect.c). */
struct fsd_protect_path {
	char *text;
	char **comp;
	unsigned n;
};

/* An object a --protect path held at start (protect.c). */
struct fsd_devino {
	dev_t dev;
	ino_t ino;
	uint8_t where; /* under a protected path, or one of its parents */
};

struct fsd {
	struct fsd_options opt;
	int root_fd; /* O_PATH of the shared directory */
	int proc_fd; /* /proc/self/fd, to reopen O_PATH fds */
	uid_t euid;
	gid_t egid;
	atomic_bool initialized;
	uint32_t proto_minor;
	/*
	 * Host edits reach the guest (fsd_notified): directory listings may be
	 * cached by the guest (FOPEN_CACHE_DIR); a host change in a directory
	 * drops its cached listing (watch.c), the guest's own the guest does.
	 */
	atomic_bool notified;

	pthread_mutex_t ilock; /* inodes: table, hash, nlookup, refs, paths, idle list */
	struct fsd_idtable inodes;
	struct fsd_inode **hash;
	size_t nbuckets;
	struct fsd_inode *root;
	struct fsd_link idle; /* idle inode fds, least recently used first */
	uint32_t inode_fds;   /* inode fds open, the root's aside */

	pthread_mutex_t olock; /* directory records of names (ownership.c) */

	pthread_mutex_t hlock; /* handles */
	struct fsd_idtable files;

	atomic_uint_fast64_t n_requests, n_errors, n_refused;

	/* --protect (protect.c): paths, their depth, what they held at start */
	struct fsd_protect_path *protect;
	unsigned nprotect, protect_depth;
	struct fsd_devino *protect_known; /* sorted by (dev, ino) */
	size_t nprotect_known;
	atomic_uint_fast64_t n_protected;
	atomic_int_fast64_t protect_logged; /* monotonic second of the last log line, + 1 */

	struct fsd_watch *watch; /* host edits (watch.c); set before serving */

	/* --quota-bytes (quota.c): bytes the tree's files use, guarded by qlock */
	pthread_mutex_t qlock;
	bool qlock_init;
	uint64_t quota_used;
};

/* One request in flight. */
struct fsd_req {
	struct fsd *fsd;
	uint32_t opcode;
	uint64_t unique, nodeid;
	uint32_t uid, gid, pid;
	struct lbx_reader args;		/* private copy of the arguments */
	const struct iovec *payload;	/* WRITE data, in place */
	unsigned npayload;
	size_t payload_off, payload_len; /* where in payload the data starts, how much */
	const struct iovec *reply;	/* the transport's reply buffers */
	unsigned nreply;
	size_t reply_cap;
	struct lbx_writer out;		/* reply arguments after fuse_out_header */
	size_t direct_len;		/* bytes written straight into reply after the header */
};

/* Handlers return 0 (reply = out), -errno (error reply) or FSD_NO_REPLY. */
#define FSD_NO_REPLY 1
typedef int (*fsd_op_fn)(struct fsd_req *req);

/* request.c */
size_t fsd_iov_slice(const struct iovec *iov, unsigned n, size_t off, size_t len,
		     struct iovec *out, unsigned max, unsigned *cnt);
int fsd_refuse(struct fsd_req *req, int err);

/* open.c: guest open flags to host flags; FOPEN_* for replies; FSYNC/FSYNCDIR. */
int fsd_open_flags(const struct fsd *fsd, uint32_t guest, int *flags);
uint32_t fsd_fopen_flags(const struct fsd *fsd);
int fsd_sync_file(struct fsd_req *req, bool dir);

/* protect.c: --protect paths, read-only to the guest */
int fsd_protect_init(struct fsd *fsd, const char *const *paths, unsigned n);
void fsd_protect_free(struct fsd *fsd);
/* Before dispatch of a modifying request (or OPEN): 0, or -EROFS (logged, rate-limited). */
int fsd_protect_check(struct fsd_req *req);
/* Was what st describes at or under a protected path at start (another name of it)? */
bool fsd_protect_stat(const struct fsd *fsd, const struct stat *st);

/* quota.c: --quota-bytes. begin..end measure one call that may grow a file to end bytes. */
struct fsd_quota_op {
	bool on; /* holding qlock, between begin and end */
	uint64_t before;
};
int fsd_quota_init(struct fsd *fsd);
void fsd_quota_free(struct fsd *fsd);
uint64_t fsd_quota_use(const struct stat *st);
/* 0 (then call fsd_quota_end), -ENOSPC if growing to end would pass the quota, -errno. */
int fsd_quota_begin(struct fsd *fsd, int fd, uint64_t end, struct fsd_quota_op *q);
void fsd_quota_end(struct fsd *fsd, int fd, struct fsd_quota_op *q);
/* A name of what st describes (stat before) is gone: its use, if it was the last link. */
void fsd_quota_removed(struct fsd *fsd, const struct stat *st);
uint64_t fsd_quota_left(struct fsd *fsd);

/* name.c: one path component from the request, checked. */
int fsd_read_name(struct fsd_req *req, const char **name);
int fsd_args_end(struct fsd_req *req);

/* inode.c */
int fsd_inodes_init(struct fsd *fsd);
void fsd_inodes_free(struct fsd *fsd);
void fsd_inode_put(struct fsd *fsd, struct fsd_inode *ino);
/*
 * The node a request names, with a usable fd (reopened if it was
 * evicted) that stays valid until fsd_inode_put. An unknown id is ESTALE,
 * refused; an inode that cannot be reopened as itself is ESTALE.
 */
int fsd_node_get(struct fsd_req *req, uint64_t nodeid, struct fsd_inode **out);
int fsd_parent_get(struct fsd_req *req, uint64_t nodeid, struct fsd_inode **out);
/* Where ino was last found: its directory, pinned with an fd, and the name; -ENOENT if nowhere. */
int fsd_inode_where(struct fsd *fsd, struct fsd_inode *ino, struct fsd_inode **dir, char *name,
		    size_t size);
/* Take over fd (O_PATH), found as name in parent: find or add its inode, count one lookup. */
int fsd_inode_learn(struct fsd *fsd, struct fsd_inode *parent, const char *name, int fd,
		    const struct stat *st, struct fsd_inode **out);
/*
 * A lookup of name in parent found (fstatat, not followed) what st describes,
 * and the table holds it (with an fd, or evicted where no xattr needs one):
 * count the lookup and record the name, opening nothing. 1 with *out
 * pinned; 0 when it must be opened as usual.
 */
int fsd_inode_relookup(struct fsd *fsd, struct fsd_inode *parent, const char *name,
		       const struct stat *st, struct fsd_inode **out);
/* A rename through us moved what st describes from (odir, oname) to (ndir, nname). */
void fsd_inode_moved(struct fsd *fsd, const struct stat *st, struct fsd_inode *odir,
		     const char *oname, struct fsd_inode *ndir, const char *nname);
/* What st describes lost its name (dir, name): UNLINK, RMDIR, renamed over. */
void fsd_inode_unlinked(struct fsd *fsd, const struct stat *st, struct fsd_inode *dir,
			const char *name);
/*
 * err is EMFILE or ENFILE (out of fds although within the budget: open
 * files use the rest)? Then close some idle inode fds: try once more.
 */
bool fsd_out_of_fds(struct fsd *fsd, int err);
void fsd_inode_forget(struct fsd *fsd, uint64_t nodeid, uint64_t n);
void fsd_inode_forget_all(struct fsd *fsd);
int fsd_inode_open(struct fsd *fsd, const struct fsd_inode *ino, int flags);
void fsd_proc_path(const struct fsd_inode *ino, char *buf, size_t size);

/* Pin a node by id (no request): 0 and *out with an fd, or -ESTALE. */
int fsd_inode_pin(struct fsd *fsd, uint64_t nodeid, struct fsd_inode **out);
/* Is what st describes the inode the table records at (dir, name)? */
bool fsd_inode_known_at(struct fsd *fsd, struct fsd_inode *dir, const char *name,
			const struct stat *st);
/* The node id of what st describes if the guest's attributes of it are older (then marked seen). */
uint64_t fsd_inode_stale(struct fsd *fsd, const struct stat *st);
/* The node id of what st describes, 0 if the table has none. */
uint64_t fsd_inode_node(struct fsd *fsd, const struct stat *st);
/* The node id the table records at (dir, name), whatever is there now; 0: none. */
uint64_t fsd_inode_child(struct fsd *fsd, const struct fsd_inode *dir, const char *name);
/* The guest got attributes with st's change time. */
void fsd_inode_seen(struct fsd_inode *ino, const struct stat *st);
/* Every node id (for a full invalidation); *ids is malloc'd. */
int fsd_inode_ids(struct fsd *fsd, uint64_t **ids, size_t *n);

/* watch.c: host edits as FUSE notifications through the transport's sink (fsd.h) */
void fsd_watch_dir(struct fsd *fsd, struct fsd_inode *ino);
void fsd_watch_forget(struct fsd *fsd, struct fsd_inode *ino);

/* handle.c */
int fsd_files_init(struct fsd *fsd);
void fsd_files_free(struct fsd *fsd);
int fsd_file_add(struct fsd *fsd, int fd, struct fsd_inode *ino, bool dir, uint64_t *fh);
struct fsd_file *fsd_file_get(struct fsd *fsd, uint64_t fh, bool dir);
void fsd_file_put(struct fsd *fsd, struct fsd_file *f);
/* A change the guest made through f: its new change time is the guest's (watch.c). */
void fsd_file_changed(struct fsd_file *f);
int fsd_file_release(struct fsd *fsd, uint64_t fh, bool dir);

/* attr.c */
int fsd_stat(struct fsd *fsd, struct fsd_inode *ino, struct stat *st);
int fsd_write_attr(struct lbx_writer *w, const struct stat *st);
int fsd_write_entry(struct fsd_req *req, struct fsd_inode *ino, const struct stat *st);
int fsd_write_attr_out(struct fsd_req *req, const struct stat *st);
/* What a creating call asked for (mode with type bits, device number). */
struct fsd_made {
	mode_t mode;
	dev_t rdev;
};
int fsd_entry_reply(struct fsd_req *req, struct fsd_inode *parent, const char *name,
		    const struct fsd_made *mk);
int fsd_learn_fd(struct fsd_req *req, struct fsd_inode *parent, const char *name, int fd,
		 struct fsd_inode **out, struct stat *st);
int fsd_open_beneath(struct fsd *fsd, int dirfd, const char *name);
void fsd_split_timeout(uint32_t ms, uint64_t *sec, uint32_t *nsec);

/* ownership.c: --ownership xattr, records in common/override_stat.h */
#define fsd_override lbx_override
void fsd_owner_apply(struct fsd *fsd, struct fsd_inode *ino, struct stat *st);
int fsd_owner_store(struct fsd *fsd, struct fsd_inode *ino, const struct fsd_override *ov);
int fsd_owner_init_new(struct fsd_req *req, struct fsd_inode *parent, struct fsd_inode *ino,
		       mode_t mode, dev_t rdev);
/* Keep the records of symlinks, FIFOs and sockets (kept by name) in step with their names. */
void fsd_owner_renamed(struct fsd *fsd, struct fsd_inode *from, const char *oldname,
		       const struct stat *src, struct fsd_inode *to, const char *newname,
		       const struct stat *dst, uint32_t flags);
void fsd_owner_unlinked(struct fsd *fsd, struct fsd_inode *dir, const char *name,
			const struct stat *st);
int fsd_owner_linked(struct fsd *fsd, struct fsd_inode *old, struct fsd_inode *dir,
		     const char *name);
mode_t fsd_host_mode(const struct fsd *fsd, mode_t type, mode_t mode);

/* creds.c: create as the caller when the server may (identity mapping, root). */
struct fsd_creds {
	bool switched;
};
void fsd_creds_enter(struct fsd_req *req, struct fsd_creds *c);
void fsd_creds_leave(struct fsd_creds *c);

/* readdir.c (OPENDIR...) and the per-opcode handlers */
int fsd_op_init(struct fsd_req *req);
int fsd_op_destroy(struct fsd_req *req);
int fsd_op_lookup(struct fsd_req *req);
int fsd_op_forget(struct fsd_req *req);
int fsd_op_batch_forget(struct fsd_req *req);
int fsd_op_getattr(struct fsd_req *req);
int fsd_op_setattr(struct fsd_req *req);
int fsd_op_readlink(struct fsd_req *req);
int fsd_op_symlink(struct fsd_req *req);
int fsd_op_mknod(struct fsd_req *req);
int fsd_op_mkdir(struct fsd_req *req);
int fsd_op_unlink(struct fsd_req *req);
int fsd_op_rmdir(struct fsd_req *req);
int fsd_op_rename(struct fsd_req *req);
int fsd_op_rename2(struct fsd_req *req);
int fsd_op_link(struct fsd_req *req);
int fsd_op_open(struct fsd_req *req);
int fsd_op_create(struct fsd_req *req);
int fsd_op_read(struct fsd_req *req);
int fsd_op_write(struct fsd_req *req);
int fsd_op_flush(struct fsd_req *req);
int fsd_op_release(struct fsd_req *req);
int fsd_op_fsync(struct fsd_req *req);
int fsd_op_opendir(struct fsd_req *req);
int fsd_op_readdir(struct fsd_req *req);
int fsd_op_readdirplus(struct fsd_req *req);
int fsd_op_releasedir(struct fsd_req *req);
int fsd_op_fsyncdir(struct fsd_req *req);
int fsd_op_statfs(struct fsd_req *req);
int fsd_op_access(struct fsd_req *req);
int fsd_op_lseek(struct fsd_req *req);
int fsd_op_fallocate(struct fsd_req *req);
int fsd_op_copy_file_range(struct fsd_req *req);
int fsd_op_getxattr(struct fsd_req *req);
int fsd_op_setxattr(struct fsd_req *req);
int fsd_op_listxattr(struct fsd_req *req);
int fsd_op_removexattr(struct fsd_req *req);
int fsd_op_interrupt(struct fsd_req *req);

#endif

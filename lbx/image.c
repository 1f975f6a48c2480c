/* SPDX-License-Identifier: MIT */
#include "image.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "assets.h"
#include "doctor.h"
#include "log.h"

#define CONTAINERFILE_MAX (1 << 20)

struct build {
	const struct box_config *c;
	const struct box_paths *p;
	char root[PATH_MAX + 16], tmp[PATH_MAX + 16], old[PATH_MAX + 16];
	char ref[512]; /* the podman image, for debian and containerfile */
	char *err;
	size_t errsz;
	struct timespec t0;
};

static void progress(const struct build *b, const char *fmt, ...) LBX_PRINTF(2, 3);
static void progress(const struct build *b, const char *fmt, ...)
{
	struct timespec now;
	va_list ap;

	clock_gettime(CLOCK_MONOTONIC, &now);
	fprintf(stderr, "lbx: box %s: [%3lds] ", b->c->name, (long)(now.tv_sec - b->t0.tv_sec));
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static int failed(struct build *b, int rc, const char *fmt, ...) LBX_PRINTF(3, 4);
static int failed(struct build *b, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(b->err, b->errsz, fmt, ap);
	va_end(ap);
	return rc;
}

void image_box_home(char *buf, size_t sz)
{
	struct passwd *pw = getpwuid(getuid());

	snprintf(buf, sz, "%s", getuid() == 0 ? "/root" : (pw ? pw->pw_dir : "/home/user"));
}

/*
 * Start argv (no shell) with stdin from in_fd and stdout to out_fd (-1:
 * /dev/null and our stderr), in cwd if given. pid or -errno.
 */
static pid_t start(char *const argv[], int in_fd, int out_fd, const char *cwd)
{
	pid_t pid = fork();

	if (pid < 0)
		return -errno;
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDONLY);

		if (devnull < 0 || dup2(in_fd >= 0 ? in_fd : devnull, 0) < 0 ||
		    dup2(out_fd >= 0 ? out_fd : 2, 1) < 0 || (cwd && chdir(cwd) < 0))
			_exit(127);
		execvp(argv[0], argv);
		fprintf(stderr, "lbx: cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	return pid;
}

/* Exit status of pid, 128+N for signal N, or -errno. */
static int finish(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int run(char *const argv[], int in_fd, const char *cwd)
{
	pid_t pid = start(argv, in_fd, -1, cwd);

	return pid < 0 ? pid : finish(pid);
}

/* Run argv and keep the last line of its stdout (at most sz - 1 bytes of it). */
static int run_last_line(char *const argv[], char *line, size_t sz)
{
	char buf[8192];
	size_t n = 0;
	ssize_t got;
	int fds[2], rc;
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC) < 0)
		return -errno;
	pid = start(argv, -1, fds[1], NULL);
	close(fds[1]);
	/* Keep the tail: the last line is what we want. */
	while ((got = read(fds[0], buf + n, sizeof(buf) - 1 - n)) > 0 || (got < 0 && errno == EINTR)) {
		n += got > 0 ? (size_t)got : 0;
		if (n == sizeof(buf) - 1) {
			memmove(buf, buf + n / 2, n - n / 2);
			n -= n / 2;
		}
	}
	close(fds[0]);
	rc = pid < 0 ? pid : finish(pid);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		n--;
	buf[n] = '\0';
	const char *last = strrchr(buf, '\n');
	snprintf(line, sz, "%s", last ? last + 1 : buf);
	return rc;
}

/*
 * For an ordinary user, tar and lbx-own-tree run in podman's user
 * namespace, where the image's owners exist (subordinate ids) and the user
 * is root; root runs them as they are.
 */
static const char *const unshare[] = { "podman", "unshare" };

static void with_unshare(const char **argv, size_t *n)
{
	if (getuid() != 0)
		for (size_t i = 0; i < LBX_ARRAY_SIZE(unshare); i++)
			argv[(*n)++] = unshare[i];
}

/*
 * The Debian base image, built into the cache once (images/debian-base.sh);
 * for a box with "gpu", the base with Mesa's virgl driver (debian-gpu.sh).
 */
static int debian_base(struct build *b)
{
	char script[PATH_MAX];
	int rc;

	if (lbx_asset(b->c->gpu && !strcmp(b->c->image, "debian") ? ASSET_DEBIAN_GPU
								  : ASSET_DEBIAN_BASE,
		      script, sizeof(script), b->err, b->errsz) < 0)
		return -ENOENT;
	progress(b, "the Debian base image (mmdebstrap the first time: a minute or two; cached "
		    "after)");
	char *argv[] = { "sh", script, NULL };
	rc = run_last_line(argv, b->ref, sizeof(b->ref));
	if (rc != 0 || (strncmp(b->ref, "localhost/lbx-debian:", 21) &&
			strncmp(b->ref, "localhost/lbx-debian-gpu:", 25)))
		return failed(b, -EIO, "the Debian base image could not be built (%s exited with "
				       "status %d; see the lines above)", script, rc);
	return 0;
}

/* Does the Containerfile build on lbx's Debian base? Then that must exist first. */
static int containerfile_wants_base(struct build *b, bool *wants)
{
	char *text = malloc(CONTAINERFILE_MAX + 1);
	ssize_t n;
	int fd;

	if (!text)
		return -ENOMEM;
	fd = open(b->c->containerfile, O_RDONLY | O_CLOEXEC);
	n = fd < 0 ? -1 : read(fd, text, CONTAINERFILE_MAX + 1);
	if (n < 0 || n > CONTAINERFILE_MAX) {
		int e = n < 0 ? errno : EFBIG;

		if (fd >= 0)
			close(fd);
		free(text);
		return failed(b, -e, "cannot read the Containerfile %s (image.containerfile in %s): "
				     "%s", b->c->containerfile, b->c->file, strerror(e));
	}
	close(fd);
	text[n] = '\0';
	/* A plain search: the file goes to podman, which is its parser. */
	*wants = strstr(text, "lbx-debian") != NULL;
	free(text);
	return 0;
}

/* The id of a local image ("" if there is none). */
static void image_id(const char *ref, char *id, size_t sz)
{
	char *argv[] = { IMAGE_PODMAN, "image", "inspect", "--format", "{{.Id}}", (char *)ref, NULL };
	int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC), saved = dup(2);

	/* "no such image" is the expected answer the first time: keep it off the terminal. */
	if (devnull >= 0 && saved >= 0)
		dup2(devnull, 2);
	if (run_last_line(argv, id, sz) != 0 || strspn(id, "0123456789abcdef") != strlen(id))
		id[0] = '\0';
	if (devnull >= 0 && saved >= 0)
		dup2(saved, 2);
	if (saved >= 0)
		close(saved);
	if (devnull >= 0)
		close(devnull);
}

/* podman rmi [--force] IMAGE, its output kept off the terminal: 0 or -EIO. */
static int remove_image(const char *image, bool force)
{
	char *argv[] = { IMAGE_PODMAN, "rmi", force ? "--force" : (char *)image,
			 force ? (char *)image : NULL, NULL };
	int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
	pid_t pid = start(argv, -1, devnull, NULL);

	if (devnull >= 0)
		close(devnull);
	return pid > 0 && finish(pid) == 0 ? 0 : -EIO;
}

int image_remove_box_image(const char *name)
{
	char ref[256], id[128];

	snprintf(ref, sizeof(ref), "localhost/lbx-box:%s", name);
	image_id(ref, id, sizeof(id));
	return id[0] ? remove_image(ref, true) : 0;
}

static int containerfile_build(struct build *b)
{
	char old_id[128], new_id[128];
	bool wants = false;
	int rc = containerfile_wants_base(b, &wants);

	if (rc == 0 && wants)
		rc = debian_base(b);
	if (rc < 0)
		return rc;
	snprintf(b->ref, sizeof(b->ref), "localhost/lbx-box:%s", b->c->name);
	progress(b, "podman build -f %s (context %s) -> %s", b->c->containerfile,
		 b->c->build_context, b->ref);
	/*
	 * The Containerfile comes from the project, which the box can write:
	 * its RUN steps get no network at all, or they would reach what the
	 * box's policy denies (the host's services, its LAN) with podman's
	 * network: rootless podman build even runs them in the host's network
	 * namespace. FROM images are pulled by podman itself, outside RUN.
	 */
	char *argv[] = { IMAGE_PODMAN, "build", IMAGE_PODMAN_ULIMITS, "--network", "none", "-t",
			 b->ref, "-f", b->c->containerfile, b->c->build_context, NULL };
	image_id(b->ref, old_id, sizeof(old_id));
	rc = run(argv, -1, NULL);
	if (rc != 0)
		return failed(b, -EIO, "podman build of %s failed (status %d; see its output "
				       "above)", b->c->containerfile, rc);
	/* The image this build replaced is nobody's now: do not let them pile up. */
	image_id(b->ref, new_id, sizeof(new_id));
	if (old_id[0] && strcmp(old_id, new_id))
		remove_image(old_id, false); /* podman refuses one still in use */
	return 0;
}

/* podman create + export, unpacked into b->tmp by tar (numeric owners kept). */
static int export_image(struct build *b)
{
	char cid[128];
	const char *tar[12];
	size_t n = 0;
	int fds[2], rc, rc_tar;
	pid_t exp, untar;

	progress(b, "unpacking %s into %s", b->ref, b->tmp);
	char *create[] = { IMAGE_PODMAN, "create", b->ref, "true", NULL };
	rc = run_last_line(create, cid, sizeof(cid));
	if (rc != 0 || strspn(cid, "0123456789abcdef") != strlen(cid) || !cid[0])
		return failed(b, -EIO, "podman create %s failed (status %d)", b->ref, rc);
	with_unshare(tar, &n);
	tar[n++] = "tar";
	tar[n++] = "--numeric-owner";
	tar[n++] = "-xpf";
	tar[n++] = "-";
	tar[n++] = "-C";
	tar[n++] = b->tmp;
	tar[n] = NULL;
	char *exportv[] = { IMAGE_PODMAN, "export", cid, NULL };
	if (pipe2(fds, O_CLOEXEC) < 0)
		return failed(b, -errno, "pipe: %s", strerror(errno));
	exp = start(exportv, -1, fds[1], NULL);
	close(fds[1]);
	untar = start((char *const *)tar, fds[0], -1, NULL);
	close(fds[0]);
	rc = exp < 0 ? exp : finish(exp);
	rc_tar = untar < 0 ? untar : finish(untar);
	char *rm[] = { IMAGE_PODMAN, "rm", "--force", cid, NULL };
	int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
	pid_t rmpid = start(rm, -1, devnull, NULL);
	if (devnull >= 0)
		close(devnull);
	if (rmpid > 0)
		finish(rmpid);
	if (rc != 0 || rc_tar != 0)
		return failed(b, -EIO, "cannot unpack %s: podman export status %d, tar status %d",
			      b->ref, rc, rc_tar);
	return 0;
}

static int own_tree(struct build *b)
{
	char exe[PATH_MAX];
	const char *argv[10];
	size_t n = 0;
	int rc;

	if (lbx_asset(ASSET_OWN_TREE, exe, sizeof(exe), b->err, b->errsz) < 0)
		return -ENOENT;
	/* The owner on disk is root: either we are, or, in podman's user namespace, root is us. */
	with_unshare(argv, &n);
	argv[n++] = exe;
	argv[n++] = b->tmp;
	argv[n++] = "0";
	argv[n++] = "0";
	argv[n] = NULL;
	progress(b, "ownership into user.containers.override_stat (the host user owns the files)");
	rc = run((char *const *)argv, -1, NULL);
	if (rc != 0)
		return failed(b, -EIO, "lbx-own-tree %s failed (status %d)", b->tmp, rc);
	return 0;
}

static int unpack_busybox(struct build *b)
{
	char image[PATH_MAX];
	int fd, rc;

	if (lbx_asset(ASSET_BUSYBOX_IMAGE, image, sizeof(image), b->err, b->errsz) < 0)
		return -ENOENT;
	fd = open(image, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return failed(b, -errno, "cannot open %s: %s", image, strerror(errno));
	char *argv[] = { "cpio", "-idm", "--quiet", "--no-absolute-filenames", NULL };
	rc = run(argv, fd, b->tmp);
	close(fd);
	if (rc != 0)
		return failed(b, -EIO, "cannot unpack %s (cpio status %d)", image, rc);
	return 0;
}

/* Mount points every box has, whatever the image brought. */
static int add_mount_points(struct build *b)
{
	static const struct {
		const char *dir;
		mode_t mode;
	} dirs[] = { { "proc", 0555 }, { "sys", 0555 }, { "dev", 0755 }, { "run", 0755 },
		     { "tmp", 01777 }, { "root", 0700 }, { "home", 0755 }, { "mnt", 0755 },
		     { "etc", 0755 }, { "bin", 0755 } };
	char d[PATH_MAX + 32];

	for (size_t i = 0; i < LBX_ARRAY_SIZE(dirs); i++) {
		box_path(b->tmp, dirs[i].dir, d, sizeof(d));
		if (mkdir(d, dirs[i].mode) < 0 && errno != EEXIST)
			return failed(b, -errno, "mkdir %s: %s", d, strerror(errno));
	}
	return 0;
}

/* The box user's home moves from the old tree into the new one. */
static int carry_home(struct build *b)
{
	char home[PATH_MAX], from[2 * PATH_MAX], to[2 * PATH_MAX];
	struct stat st;

	image_box_home(home, sizeof(home));
	snprintf(from, sizeof(from), "%s%s", b->root, home);
	snprintf(to, sizeof(to), "%s%s", b->tmp, home);
	if (lstat(from, &st) < 0 || !S_ISDIR(st.st_mode))
		return 0;
	if (box_remove_tree(to) < 0)
		return failed(b, -errno, "cannot remove the image's %s: %s", to, strerror(errno));
	char *slash = strrchr(to, '/');
	*slash = '\0';
	int rc = box_mkdirs(to, 0755);
	*slash = '/';
	if (rc < 0 || rename(from, to) < 0)
		return failed(b, rc < 0 ? rc : -errno, "cannot move the box's home %s into the new "
						       "tree: %s",
			      home, strerror(rc < 0 ? -rc : errno));
	progress(b, "kept the box's home %s", home);
	return 0;
}

static int swap_in(struct build *b)
{
	char file[PATH_MAX + 32], line[600];
	bool had_old = access(b->root, F_OK) == 0;

	if (had_old && carry_home(b) < 0)
		return -EIO;
	if (had_old && rename(b->root, b->old) < 0)
		return failed(b, -errno, "cannot move %s aside: %s", b->root, strerror(errno));
	if (rename(b->tmp, b->root) < 0)
		return failed(b, -errno, "cannot put %s in place: %s", b->root, strerror(errno));
	if (had_old && box_remove_tree(b->old) < 0)
		lbx_warn("box %s: cannot remove the old tree %s: %s", b->c->name, b->old,
			 strerror(errno));
	box_path(b->p->data, "image.txt", file, sizeof(file));
	snprintf(line, sizeof(line), "%s %s\n", b->c->image, b->ref[0] ? b->ref : "busybox.cpio");
	box_write_file(file, line);
	return 0;
}

int image_make_root(const struct box_config *c, const struct box_paths *p, bool rebuild,
		    char *err, size_t errsz)
{
	struct build b = { .c = c, .p = p, .err = err, .errsz = errsz };
	bool need_tree;
	int rc;

	err[0] = '\0';
	clock_gettime(CLOCK_MONOTONIC, &b.t0);
	box_path(p->data, "root", b.root, sizeof(b.root));
	box_path(p->data, "root.new", b.tmp, sizeof(b.tmp));
	box_path(p->data, "root.old", b.old, sizeof(b.old));
	need_tree = rebuild || access(b.root, F_OK) < 0;
	/* Rootless podman and mmdebstrap need subordinate ids: one line with the fix. */
	if (((need_tree && strcmp(c->image, "busybox")) || c->engine == ENGINE_LIGHT) &&
	    !doctor_has_subids(err, errsz))
		return -EPERM;
	/* Engine light's network is a tap the agent makes: the user must open /dev/net/tun. */
	if (c->engine == ENGINE_LIGHT && !c->net_none && !doctor_tun_usable(err, errsz)) {
		size_t n = strlen(err);

		snprintf(err + n, errsz - n,
			 "; or set \"network\": {\"mode\": \"none\"} in %s for a box without "
			 "network",
			 c->file && c->file[0] ? c->file : "lbx.json");
		return -EACCES;
	}
	/* The first up of a VM box builds the kernel into the user's cache, on the terminal. */
	if (!rebuild && c->engine != ENGINE_LIGHT && lbx_asset_ensure_kernel(err, errsz) < 0)
		return -ENOENT;
	if (!need_tree)
		return 0;
	if (box_mkdirs(p->data, 0700) < 0 || box_remove_tree(b.tmp) < 0 ||
	    box_remove_tree(b.old) < 0 || mkdir(b.tmp, 0755) < 0)
		return failed(&b, -EIO, "cannot prepare %s: %s", b.tmp, strerror(errno));
	progress(&b, "making its root tree from the %s image", c->image);
	if (!strcmp(c->image, "busybox")) {
		rc = unpack_busybox(&b);
		if (rc == 0)
			rc = add_mount_points(&b);
	} else {
		rc = !strcmp(c->image, "debian") ? debian_base(&b) : containerfile_build(&b);
		if (rc == 0)
			rc = export_image(&b);
		if (rc == 0)
			rc = add_mount_points(&b);
		if (rc == 0)
			rc = own_tree(&b);
	}
	if (rc == 0)
		rc = swap_in(&b);
	if (rc < 0) {
		box_remove_tree(b.tmp);
		return rc;
	}
	progress(&b, "root tree ready: %s", b.root);
	return 0;
}

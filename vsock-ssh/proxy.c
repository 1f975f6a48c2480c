/* SPDX-License-Identifier: MIT */
#include "proxy.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "json.h"
#include "known_hosts.h"
#include "log.h"
#include "unixsock.h"
#include "clock.h"

uint64_t sshp_now_ms(void)
{
	return lbx_now_ms();
}

static bool same_file(const struct sshp_kh_file *f, const struct stat *st)
{
	return f->loaded && f->dev == st->st_dev && f->ino == st->st_ino &&
	       f->size == st->st_size && f->mtime.tv_sec == st->st_mtim.tv_sec &&
	       f->mtime.tv_nsec == st->st_mtim.tv_nsec;
}

/* Reread a known_hosts file if it changed since last time; a missing file is empty. */
static void refresh_kh(struct sshp_kh_file *f)
{
	struct stat st;
	char *text = NULL;
	size_t len = 0;
	int err;

	if (stat(f->path, &st) < 0) {
		free(f->text);
		f->text = NULL;
		f->len = 0;
		f->loaded = false;
		return;
	}
	if (same_file(f, &st))
		return;
	err = sshp_kh_read_file(f->path, &text, &len);
	if (err) {
		lbx_warn("%s: cannot read: %s", f->path, strerror(-err));
		return;
	}
	free(f->text);
	*f = (struct sshp_kh_file){ .path = f->path,
				    .text = text,
				    .len = len,
				    .dev = st.st_dev,
				    .ino = st.st_ino,
				    .size = st.st_size,
				    .mtime = st.st_mtim,
				    .loaded = true };
}

const struct sshp_kh_text *sshp_proxy_known_hosts(struct sshp_proxy *px, size_t *n)
{
	size_t o = 0;

	for (size_t i = 0; i < px->opt.nknown_hosts; i++) {
		refresh_kh(&px->kh[i]);
		if (px->kh[i].text)
			px->kh_text[o++] = (struct sshp_kh_text){ px->kh[i].text, px->kh[i].len };
	}
	*n = o;
	return px->kh_text;
}

struct sshp_bucket *sshp_proxy_bucket(struct sshp_proxy *px, const char *fp)
{
	for (size_t i = 0; i < px->nbuckets; i++)
		if (!strcmp(px->buckets[i].fp, fp))
			return &px->buckets[i].bucket;
	if (px->nbuckets == SSHP_BUCKETS_MAX)
		return NULL;
	memset(&px->buckets[px->nbuckets], 0, sizeof(px->buckets[0]));
	memcpy(px->buckets[px->nbuckets].fp, fp, SSHP_FP_LEN);
	return &px->buckets[px->nbuckets++].bucket;
}

bool sshp_proxy_window_open(struct sshp_proxy *px, const char *fp, const char *purpose)
{
	uint64_t now = sshp_now_ms();

	for (size_t i = 0; i < SSHP_WINDOWS_MAX; i++) {
		const struct sshp_window *w = &px->windows[i];

		if (w->until_ms > now && !strcmp(w->fp, fp) && !strcmp(w->purpose, purpose))
			return true;
	}
	return false;
}

/* Reuse an expired slot, else the one closest to expiry. */
void sshp_proxy_window_add(struct sshp_proxy *px, const char *fp, const char *purpose)
{
	struct sshp_window *slot = &px->windows[0];

	if (px->opt.confirm_window_s == 0)
		return;
	for (size_t i = 1; i < SSHP_WINDOWS_MAX; i++)
		if (px->windows[i].until_ms < slot->until_ms)
			slot = &px->windows[i];
	snprintf(slot->fp, sizeof(slot->fp), "%s", fp);
	snprintf(slot->purpose, sizeof(slot->purpose), "%s", purpose);
	slot->until_ms = sshp_now_ms() + (uint64_t)px->opt.confirm_window_s * 1000;
}

static void on_accept(struct lbx_loop *loop, int fd, uint32_t events, void *data)
{
	struct sshp_proxy *px = data;

	for (;;) {
		int cfd = lbx_loop_accept(loop, fd, SOCK_NONBLOCK | SOCK_CLOEXEC, "ssh proxy");

		if (cfd == -EINTR || cfd == -ECONNABORTED)
			continue;
		if (cfd < 0) {
			/* EMFILE and the like pause the listener (lbx_loop_accept). */
			if (cfd != -EAGAIN && !lbx_loop_paused(loop, fd))
				lbx_warn("accept: %s", strerror(-cfd));
			return;
		}
		if (px->nconns >= px->opt.max_conns) {
			/* One line per episode: a flood of clients must not flood the log. */
			if (!px->refusing)
				lbx_warn(
				    "box %s: %u connections open, the cap (--max-connections); "
				    "refusing more until one closes",
				    px->audit.box[0] ? px->audit.box : "(unnamed)", px->nconns);
			px->refusing = true;
			px->refused++;
			close(cfd);
			continue;
		}
		if (px->refusing)
			lbx_info("serving new connections again (%llu refused)",
				 (unsigned long long)px->refused);
		px->refusing = false;
		sshp_conn_start(px, cfd);
	}
}

static void on_signal(struct lbx_loop *loop, int signo, void *data)
{
	lbx_info("signal %d: stopping", signo);
	lbx_loop_stop(loop, 0);
}

static int load_policy(struct sshp_proxy *px)
{
	char msg[LBX_JSON_ERROR_MAX];

	if (sshp_policy_load(px->opt.policy_path, &px->policy, msg, sizeof(msg))) {
		lbx_err("%s", msg);
		return -EINVAL;
	}
	return 0;
}

static void on_idle_tick(struct lbx_loop *loop, int fd, uint32_t events, void *data)
{
	sshp_conn_close_idle(data, sshp_now_ms());
}

/* Idle clients are looked for four times per timeout, between 0.25 and 5 s apart. */
static int add_idle_timer(struct sshp_proxy *px)
{
	uint64_t ms = (uint64_t)px->opt.idle_timeout_s * 1000 / 4;
	int fd;

	if (px->opt.idle_timeout_s == 0)
		return 0;
	ms = ms < 250 ? 250 : ms > 5000 ? 5000 : ms;
	fd = lbx_loop_add_timer(px->loop, ms, true, on_idle_tick, px);
	return fd < 0 ? fd : 0;
}

static int setup_loop(struct sshp_proxy *px)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
	int err;

	px->loop = lbx_loop_new();
	if (!px->loop)
		return -ENOMEM;
	err = add_idle_timer(px);
	if (!err)
		err = lbx_loop_add(px->loop, px->listen_fd, EPOLLIN, on_accept, px);
	if (!err) {
		int sfd = lbx_loop_add_signals(px->loop, sigs, 3, on_signal, px);

		err = sfd < 0 ? sfd : 0;
	}
	return err;
}

int sshp_proxy_init(struct sshp_proxy *px, const struct sshp_options *opt)
{
	int err;

	memset(px, 0, sizeof(*px));
	px->opt = *opt;
	px->listen_fd = -1;
	for (size_t i = 0; i < opt->nknown_hosts; i++)
		px->kh[i].path = opt->known_hosts[i];
	signal(SIGPIPE, SIG_IGN);
	err = load_policy(px);
	if (err)
		return err;
	err = sshp_audit_open(&px->audit, opt->audit_path, opt->box);
	if (err) {
		lbx_err("%s: cannot open audit log: %s", opt->audit_path, strerror(-err));
		return err;
	}
	/* Only the user may talk to the agent, as with ssh-agent's socket. */
	px->listen_fd = lbx_unix_listen(opt->listen_path, 64, LBX_UNIX_NONBLOCK);
	if (px->listen_fd < 0) {
		err = px->listen_fd;
		lbx_err("%s: cannot listen: %s", opt->listen_path, strerror(-err));
		return err;
	}
	err = setup_loop(px);
	if (err)
		lbx_err("event loop: %s", strerror(-err));
	return err;
}

int sshp_proxy_run(struct sshp_proxy *px)
{
	lbx_info("listening on %s, upstream %s, %zu key rule(s)", px->opt.listen_path,
		 px->opt.upstream_path, px->policy.nkeys);
	return lbx_loop_run(px->loop);
}

void sshp_proxy_fini(struct sshp_proxy *px)
{
	sshp_conn_close_all(px);
	if (px->listen_fd >= 0) {
		close(px->listen_fd);
		unlink(px->opt.listen_path);
	}
	lbx_loop_free(px->loop);
	for (size_t i = 0; i < SSHP_KH_FILES_MAX; i++)
		free(px->kh[i].text);
	sshp_policy_free(&px->policy);
	sshp_audit_close(&px->audit);
}

/* SPDX-License-Identifier: MIT */
/*
 * lbx-ssh-proxy's shared state: the listening socket, the policy, and
 * what outlives one connection (per-key rate buckets, confirmation
 * windows, the known_hosts cache). Connections are in conn.c.
 */
#ifndef SSHP_PROXY_H
#define SSHP_PROXY_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "audit.h"
#include "decide.h"
#include "evloop.h"
#include "fingerprint.h"
#include "policy.h"
#include "rate.h"

#define SSHP_KH_FILES_MAX 8
#define SSHP_WINDOWS_MAX  64
#define SSHP_BUCKETS_MAX  256

struct sshp_kh_file {
	const char *path;
	char *text;
	size_t len;
	/* What the cached text was read from; reread when any changes. */
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
	bool loaded;
};

struct sshp_window {
	char fp[SSHP_FP_LEN];
	char purpose[4 * SSHP_NAME_MAX];
	uint64_t until_ms;
};

struct sshp_key_bucket {
	char fp[SSHP_FP_LEN];
	struct sshp_bucket bucket;
};

struct sshp_options {
	const char *listen_path;
	const char *upstream_path;
	const char *policy_path;
	const char *box;
	const char *audit_path;
	const char *askpass;
	const char *known_hosts[SSHP_KH_FILES_MAX];
	size_t nknown_hosts;
	unsigned confirm_window_s;
	unsigned confirm_timeout_s;
	unsigned max_conns;	 /* clients served at once; more are refused */
	unsigned idle_timeout_s; /* a client idle this long is closed; 0: never */
};

struct sshp_conn;

struct sshp_proxy {
	struct sshp_options opt;
	struct sshp_conn *conns; /* every open connection, for shutdown */
	struct lbx_loop *loop;
	struct sshp_policy policy;
	struct sshp_audit audit;
	int listen_fd;
	unsigned next_conn;
	unsigned nconns;
	bool refusing;	  /* at the cap, and said so once */
	uint64_t refused; /* clients refused at the cap, ever */
	struct sshp_kh_file kh[SSHP_KH_FILES_MAX];
	struct sshp_kh_text kh_text[SSHP_KH_FILES_MAX];
	struct sshp_window windows[SSHP_WINDOWS_MAX];
	struct sshp_key_bucket buckets[SSHP_BUCKETS_MAX];
	size_t nbuckets;
};

/* Load the policy, open the audit log, bind the socket. Logs its errors. */
LBX_MUST_CHECK int sshp_proxy_init(struct sshp_proxy *px, const struct sshp_options *opt);
int sshp_proxy_run(struct sshp_proxy *px);
void sshp_proxy_fini(struct sshp_proxy *px);

uint64_t sshp_now_ms(void);
/* known_hosts contents, reread if a file changed; *n entries. */
const struct sshp_kh_text *sshp_proxy_known_hosts(struct sshp_proxy *px, size_t *n);
/* The rate bucket of a key (NULL if the table is full: deny). */
struct sshp_bucket *sshp_proxy_bucket(struct sshp_proxy *px, const char *fp);
bool sshp_proxy_window_open(struct sshp_proxy *px, const char *fp, const char *purpose);
void sshp_proxy_window_add(struct sshp_proxy *px, const char *fp, const char *purpose);

/* conn.c: serve one accepted client. */
void sshp_conn_start(struct sshp_proxy *px, int client_fd);
void sshp_conn_close_all(struct sshp_proxy *px);
/* Close every client idle (nothing in flight) for idle_timeout_s or more. */
void sshp_conn_close_idle(struct sshp_proxy *px, uint64_t now_ms);

#endif

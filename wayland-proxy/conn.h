/* SPDX-License-Identifier: MIT */
/*
 * One Wayland client crossing the proxy pair: the same code runs in both
 * halves, in opposite roles.
 *
 *   guest (lbx-wayland-guest)   Wayland side: the client in the box
 *                               link side: the stream to the host
 *   host  (lbx-wayland-proxy)   Wayland side: the real compositor
 *                               link side: the stream from the guest
 *
 * Every message is parsed against the generated tables in both halves; the
 * host also applies the policy. Whatever breaks the protocol (an unknown
 * object, interface or opcode, a bad size, a missing or undeclared fd, a
 * reused id, a pool over the budget) ends this connection, never the
 * process. Back-pressure is per connection: when one side's queue is full
 * the other side of this connection is no longer read.
 */
#ifndef WLP_CONN_H
#define WLP_CONN_H

#include <stdbool.h>
#include <stdint.h>

#include "compiler.h"
#include "evloop.h"
#include "policy.h"

enum wlp_role { WLP_GUEST, WLP_HOST };

struct wlp_conn;

struct wlp_conn_ops {
	/* The connection ended (why: NULL on a clean close); free it after return. */
	void (*closed)(struct wlp_conn *c, const char *why, void *ctx);
	/* host: one refused global, bind or selection read. */
	void (*audit)(void *ctx, const char *event, const char *iface, const char *detail);
	/*
	 * host: ask the user whether data may cross (what: "the box reads the
	 * host's clipboard"); answer later with wlp_conn_answer(c, token, yes).
	 * Returns a handle for ask_cancel, or NULL if no prompt can be shown
	 * (a no).
	 */
	void *(*ask)(void *ctx, struct wlp_conn *c, const char *what, uint32_t token);
	void (*ask_cancel)(void *ctx, void *handle);
};

struct wlp_conn_counters {
	uint64_t link_in, link_out; /* bytes over the link */
	uint64_t commits;
	uint64_t gpu_bytes, gpu_copies; /* host: read back from lbx-gpud for GPU buffers */
	uint64_t feedbacks;		/* host: dmabuf feedback objects answered */
};

struct wlp_frames;

/*
 * Takes both fds (non-blocking sockets). policy: host only (NULL in the
 * guest). NULL on allocation failure (both fds closed).
 */
struct wlp_conn *wlp_conn_new(struct lbx_loop *loop, enum wlp_role role, int wl_fd, int link_fd,
			      const struct wlp_policy *policy, const struct wlp_conn_ops *ops,
			      void *ctx);
void wlp_conn_free(struct wlp_conn *c);
void wlp_conn_answer(struct wlp_conn *c, uint32_t token, bool allowed);
const struct wlp_conn_counters *wlp_conn_counters(const struct wlp_conn *c);
/*
 * host: box windows drawn on the GPU come through lbx-gpud's frames socket
 * (conn_dmabuf.c): the box is offered zwp_linux_dmabuf_v1. Call right after
 * wlp_conn_new; frames outlives the connection.
 */
LBX_MUST_CHECK int wlp_conn_set_frames(struct wlp_conn *c, struct wlp_frames *frames);

/*
 * For the fuzzers and unit tests: feed bytes as if read from the link
 * (or from the Wayland side, fds given). <0 when the connection must end
 * (why in wlp_conn_error).
 */
LBX_MUST_CHECK int wlp_conn_feed_link(struct wlp_conn *c, const uint8_t *buf, size_t len);
LBX_MUST_CHECK int wlp_conn_feed_wl(struct wlp_conn *c, const uint8_t *buf, size_t len,
				    const int *fds, unsigned nfds);
const char *wlp_conn_error(const struct wlp_conn *c);

#endif

/* SPDX-License-Identifier: MIT */
/*
 * lbx-vsockd: a vhost-user-vsock device (virtio 1.2 §5.10) whose host side
 * is unix sockets, following Firecracker's convention (docs/vsock.md):
 *
 *   host -> guest   connect to UDS_PATH, send "CONNECT <port>\n", read
 *                   "OK <host port>\n", then the stream is the connection
 *                   to the guest's <port>
 *   guest -> host   a guest connect() to CID 2 port P is a connect to the
 *                   unix socket UDS_PATH_P; refused (RST) if nothing listens
 *
 * Flow control is the spec's credit scheme (§5.10.6.3): we never send the
 * guest more than it has room for, and we advertise a fixed receive buffer
 * per connection that we never exceed. Every per-connection buffer is
 * bounded; when one is full the side that fills it is no longer polled.
 */
#ifndef LBX_VSOCKD_H
#define LBX_VSOCKD_H

#include <stdbool.h>
#include <stdint.h>

#include "bytequeue.h"
#include "evloop.h"
#include "vhost_user_backend.h"
#include "virtq.h"
#include "vsock_pkt.h"

#define VSOCKD_BUF_ALLOC (256 * 1024) /* what we tell the guest we can buffer */
#define VSOCKD_TO_GUEST (64 * 1024)   /* host bytes staged for the guest */
#define VSOCKD_MAX_CONNS 1024
/*
 * Slots only host-initiated connections (lbx exec, lbx down) may take: the
 * guest can open at most VSOCKD_MAX_CONNS - VSOCKD_HOST_RESERVE, so a box
 * that hoards idle connections cannot lock the host out of its agent.
 */
#define VSOCKD_HOST_RESERVE    64
#define VSOCKD_REFUSE_LOG_SECS 10	   /* at most one "refused" line per this */
#define VSOCKD_MAX_RESETS 64	      /* RSTs for unknown connections, pending */
#define VSOCKD_HANDSHAKE_MAX 32	      /* "CONNECT 4294967295\n" fits */

enum vsockd_queue { VSOCKD_RX = 0, VSOCKD_TX = 1, VSOCKD_EVENT = 2 };

enum conn_state {
	CONN_HANDSHAKE,	 /* host client connected, reading "CONNECT <port>\n" */
	CONN_CONNECTING, /* REQUEST sent to the guest, waiting for RESPONSE */
	CONN_OPEN,
	CONN_CLOSING,	 /* RST queued; freed once it is sent */
};

/* Control packets a connection owes the guest, sent before data. */
#define CTRL_REQUEST 0x01u
#define CTRL_RESPONSE 0x02u
#define CTRL_CREDIT_UPDATE 0x04u
#define CTRL_CREDIT_REQUEST 0x08u
#define CTRL_SHUTDOWN 0x10u
#define CTRL_RST 0x20u

struct vsockd;

struct vsock_conn {
	struct vsockd *d;
	enum conn_state state;
	uint32_t local_port; /* the host side's port number */
	uint32_t peer_port;  /* the guest's port */
	int fd;		     /* the unix socket; -1 once closed */
	uint32_t fd_events;
	unsigned ctrl;	     /* CTRL_* owed */
	struct lbx_bq to_host;	/* guest data not yet written to fd */
	struct lbx_bq to_guest; /* fd data not yet sent to the guest */
	char handshake[VSOCKD_HANDSHAKE_MAX];
	unsigned handshake_len;
	/* Credit (§5.10.6.3): counters are free-running u32. */
	uint32_t fwd_cnt;	   /* guest bytes we wrote to fd */
	uint32_t reported_fwd_cnt; /* fwd_cnt as last told to the guest */
	uint32_t tx_cnt;	   /* bytes we sent to the guest */
	uint32_t peer_buf_alloc, peer_fwd_cnt;
	bool peer_credit_known;
	bool credit_requested;	/* CREDIT_REQUEST sent, no credit news since */
	uint32_t peer_shutdown; /* VSOCK_SHUTDOWN_* the guest announced */
	bool host_eof;		/* fd reached EOF: owe the guest SHUTDOWN(SEND) */
	bool shutdown_sent;
	bool fd_write_shut;	/* we did shutdown(fd, SHUT_WR) */
	bool close_after_flush; /* the guest closed: flush to_host, then RST */
};

struct vsock_reset {
	uint32_t src_port, dst_port; /* as the RST goes to the guest */
};

struct vsockd {
	struct lbx_loop *loop;
	struct lbx_vu_dev *dev;
	uint64_t guest_cid;
	char *uds_path;
	int listen_fd;
	struct vsock_conn *conns[VSOCKD_MAX_CONNS];
	unsigned nconns;
	unsigned rr; /* round-robin start for fairness between connections */
	uint32_t next_local_port;
	struct vsock_reset resets[VSOCKD_MAX_RESETS];
	unsigned nresets;
	struct lbx_virtq_chain *chain; /* scratch, large */
	/* Counted for the device-model test. */
	uint64_t bad_pkts; /* malformed or unusable buffers from the guest */
	uint64_t guest_refused;	 /* guest REQUESTs refused for want of a slot */
	uint64_t refused_logged; /* guest_refused when we last said so */
	int64_t refuse_log_at;	 /* monotonic seconds of that line, 0: never */
};

struct vsockd *vsockd_new(struct lbx_loop *loop, uint64_t guest_cid, const char *uds_path);
void vsockd_free(struct vsockd *d);
struct lbx_vu_dev *vsockd_vu(struct vsockd *d);

/* rx.c / tx.c */
void vsockd_rx_run(struct vsockd *d);
void vsockd_tx_run(struct vsockd *d, struct lbx_virtq *q);
/* One tx chain from the guest (exposed for the fuzz target). */
void vsockd_tx_chain(struct vsockd *d, const struct lbx_virtq_chain *ch);

/* conn.c */
struct vsock_conn *vsockd_conn_new(struct vsockd *d, int fd, enum conn_state state,
				   uint32_t local_port, uint32_t peer_port);
struct vsock_conn *vsockd_conn_find(struct vsockd *d, uint32_t local_port, uint32_t peer_port);
void vsockd_conn_free(struct vsock_conn *c);
void vsockd_conn_close_fd(struct vsock_conn *c);
/* Stop this connection: close the fd, owe the guest an RST. */
void vsockd_conn_reset(struct vsock_conn *c);
void vsockd_conn_update_interest(struct vsock_conn *c);
/* Bytes the guest can still take from us. */
uint32_t vsockd_conn_peer_credit(const struct vsock_conn *c);
/* Guest data arrived or the guest shut down: push it on to the host socket. */
void vsockd_conn_host_progress(struct vsock_conn *c);
void vsockd_queue_reset(struct vsockd *d, uint32_t src_port, uint32_t dst_port);
void vsockd_close_all(struct vsockd *d);

/* host.c */
int vsockd_listen(struct vsockd *d);
/* Connect to UDS_PATH_<port> for a guest's REQUEST; fd or -errno. */
int vsockd_connect_host(struct vsockd *d, uint32_t port);
uint32_t vsockd_alloc_local_port(struct vsockd *d);

#endif

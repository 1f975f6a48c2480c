/* SPDX-License-Identifier: MIT */
/*
 * The frames lbx-netd answers the guest with itself, built from the parsed
 * frame it answers (never from its raw bytes):
 *
 *   a TCP reset for a denied connection, so the guest's connect() fails at
 *   once with ECONNREFUSED instead of timing out (RFC 9293 §3.10.7.1: to a
 *   segment without ACK, <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>; with
 *   ACK, <SEQ=SEG.ACK><CTL=RST>). ICMP unreachable would do too, but the
 *   reset works the same on IPv4 and IPv6 and needs no quoting.
 *
 *   a DNS NXDOMAIN (RFC 1035 §4.1.1 RCODE 3) from slirp's resolver
 *   address, for a query the `allowlist` mode does not pass on.
 */
#ifndef LBX_NET_REPLY_H
#define LBX_NET_REPLY_H

#include "compiler.h"
#include "dns.h"
#include "frame.h"
#include "writer.h"

LBX_MUST_CHECK int net_reply_tcp_reset(const struct net_frame *fr, struct lbx_writer *w);
LBX_MUST_CHECK int net_reply_dns_nxdomain(const struct net_frame *fr, const struct net_dns_msg *q,
					  struct lbx_writer *w);

#endif

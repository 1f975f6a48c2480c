/* SPDX-License-Identifier: MIT */
/*
 * SSH agent protocol constants: RFC 9987 (formerly draft-miller-ssh-agent),
 * "Protocol Messages" and the IANA message-number registry, plus OpenSSH's
 * PROTOCOL.agent extensions. Every message is
 *
 *   uint32 length (of what follows)   byte type   byte[length - 1] contents
 */
#ifndef SSHP_AGENT_PROTO_H
#define SSHP_AGENT_PROTO_H

/* Replies (agent to client). */
#define SSH_AGENT_FAILURE	     5
#define SSH_AGENT_SUCCESS	     6
#define SSH_AGENT_IDENTITIES_ANSWER  12
#define SSH_AGENT_SIGN_RESPONSE	     14
#define SSH_AGENT_EXTENSION_FAILURE  28
#define SSH_AGENT_EXTENSION_RESPONSE 29

/* Requests (client to agent). */
#define SSH_AGENTC_REQUEST_IDENTITIES		 11
#define SSH_AGENTC_SIGN_REQUEST			 13
#define SSH_AGENTC_ADD_IDENTITY			 17
#define SSH_AGENTC_REMOVE_IDENTITY		 18
#define SSH_AGENTC_REMOVE_ALL_IDENTITIES	 19
#define SSH_AGENTC_ADD_SMARTCARD_KEY		 20
#define SSH_AGENTC_REMOVE_SMARTCARD_KEY		 21
#define SSH_AGENTC_LOCK				 22
#define SSH_AGENTC_UNLOCK			 23
#define SSH_AGENTC_ADD_ID_CONSTRAINED		 25
#define SSH_AGENTC_ADD_SMARTCARD_KEY_CONSTRAINED 26
#define SSH_AGENTC_EXTENSION			 27

/* SSH protocol 1 requests: RFC 9987 reserves them; no agent should serve them. */
#define SSH1_AGENTC_REQUEST_RSA_IDENTITIES    1
#define SSH1_AGENTC_RSA_CHALLENGE	      3
#define SSH1_AGENTC_ADD_RSA_IDENTITY	      7
#define SSH1_AGENTC_REMOVE_RSA_IDENTITY	      8
#define SSH1_AGENTC_REMOVE_ALL_RSA_IDENTITIES 9
#define SSH1_AGENTC_ADD_RSA_ID_CONSTRAINED    24

/* The largest message either side may send (ssh-agent uses the same). */
#define SSHP_MSG_MAX (256u * 1024u)

#define SSHP_EXT_SESSION_BIND "session-bind@openssh.com"

/* RFC 4252 section 7, and OpenSSH PROTOCOL "publickey-hostbound". */
#define SSH2_MSG_USERAUTH_REQUEST 50
#define SSHP_METHOD_PUBLICKEY	  "publickey"
#define SSHP_METHOD_HOSTBOUND	  "publickey-hostbound-v00@openssh.com"

/* OpenSSH PROTOCOL.sshsig: the signed blob starts with this, unprefixed. */
#define SSHP_SSHSIG_MAGIC "SSHSIG"

/* Bounds we put on fields; generous for every real key and session. */
#define SSHP_KEYBLOB_MAX 16384
#define SSHP_SID_MAX	 128
#define SSHP_NAME_MAX	 256
#define SSHP_BINDS_MAX	 16

#endif

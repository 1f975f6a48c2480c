/* SPDX-License-Identifier: MIT */
/* The agent message decoder and encoder (RFC 9987 message formats). */
#include <errno.h>
#include <string.h>

#include "agent_msg.h"
#include "tap.h"

static const uint8_t key_blob[] = "\x00\x00\x00\x0bssh-ed25519\x00\x00\x00\x20"
				  "0123456789abcdef0123456789abcdef";
static const uint8_t data_blob[] = "some data to sign";

static size_t build_sign(uint8_t *buf, size_t cap, uint32_t flags)
{
	struct lbx_writer w;
	struct sshp_blob k = { key_blob, sizeof(key_blob) - 1 };
	struct sshp_blob d = { data_blob, sizeof(data_blob) - 1 };

	lbx_writer_init_fixed(&w, buf, cap);
	if (sshp_msg_write_sign_request(&w, &k, &d, flags))
		return 0;
	return lbx_writer_len(&w);
}

static void test_sign_request(void)
{
	uint8_t buf[256];
	size_t n = build_sign(buf, sizeof(buf), 4);
	struct sshp_request req;
	int fails = 0;

	ok(n > 4, "sign request encodes");
	is_int(sshp_msg_decode_request(buf + 4, n - 4, &req), 0, "sign request decodes");
	ok(req.kind == SSHP_REQ_SIGN && req.flags == 4, "kind and flags");
	ok(req.key.n == sizeof(key_blob) - 1 && !memcmp(req.key.p, key_blob, req.key.n),
	   "key blob points at the key");
	ok(req.data.n == sizeof(data_blob) - 1 && !memcmp(req.data.p, data_blob, req.data.n),
	   "data blob points at the data");
	/* Every truncation is malformed, never a crash or a partial success. */
	for (size_t cut = 1; cut < n - 4; cut++)
		fails += sshp_msg_decode_request(buf + 4, cut, &req) != 0;
	is_int(fails, (int)(n - 5), "every truncated sign request is rejected");
	buf[n] = 0;
	ok(sshp_msg_decode_request(buf + 4, n - 3, &req) == -EBADMSG,
	   "a trailing byte is rejected");
}

static void test_simple_requests(void)
{
	static const uint8_t ids[] = { 11 }, ids_trailing[] = { 11, 0 };
	struct sshp_request req;

	is_int(sshp_msg_decode_request(ids, 1, &req), 0, "REQUEST_IDENTITIES decodes");
	ok(req.kind == SSHP_REQ_IDENTITIES, "as identities");
	ok(sshp_msg_decode_request(ids_trailing, 2, &req) == -EBADMSG,
	   "REQUEST_IDENTITIES with contents is rejected");
	ok(sshp_msg_decode_request(ids, 0, &req) != 0, "an empty message is rejected");
}

static void test_refused_kinds(void)
{
	static const uint8_t admin[] = { 17, 18, 19, 20, 21, 22, 23, 25, 26 };
	static const uint8_t ssh1[] = { 1, 3, 7, 8, 9, 24 };
	static const uint8_t unknown[] = { 0, 2, 4, 5, 6, 12, 14, 99, 255 };
	struct sshp_request req;
	int good = 0;

	for (size_t i = 0; i < sizeof(admin); i++)
		good += sshp_msg_decode_request(&admin[i], 1, &req) == 0 &&
			req.kind == SSHP_REQ_KEY_ADMIN;
	is_int(good, sizeof(admin), "add/remove/smartcard/lock/unlock are key administration");
	good = 0;
	for (size_t i = 0; i < sizeof(ssh1); i++)
		good +=
		    sshp_msg_decode_request(&ssh1[i], 1, &req) == 0 && req.kind == SSHP_REQ_SSH1;
	is_int(good, sizeof(ssh1), "SSH-1 requests are recognised as such");
	good = 0;
	for (size_t i = 0; i < sizeof(unknown); i++)
		good += sshp_msg_decode_request(&unknown[i], 1, &req) == 0 &&
			req.kind == SSHP_REQ_UNKNOWN;
	is_int(good, sizeof(unknown), "replies and unassigned numbers are unknown requests");
}

static size_t build_bind(uint8_t *buf, size_t cap, uint8_t fwd, bool with_fwd)
{
	struct lbx_writer w;
	int err;

	lbx_writer_init_fixed(&w, buf, cap);
	err = lbx_write_u8(&w, 27);
	err = err ?: lbx_write_blob(&w, LBX_LEN_U32BE, "session-bind@openssh.com", 24);
	err = err ?: lbx_write_blob(&w, LBX_LEN_U32BE, key_blob, sizeof(key_blob) - 1);
	err = err ?: lbx_write_blob(&w, LBX_LEN_U32BE, "SID-32-bytes-SID-32-bytes-SID-32", 32);
	err = err ?: lbx_write_blob(&w, LBX_LEN_U32BE, "sig", 3);
	if (with_fwd)
		err = err ?: lbx_write_u8(&w, fwd);
	return err ? 0 : lbx_writer_len(&w);
}

static void test_extensions(void)
{
	uint8_t buf[256];
	size_t n = build_bind(buf, sizeof(buf), 1, true);
	struct sshp_request req;
	static const uint8_t query[] = { 27, 0, 0, 0, 5, 'q', 'u', 'e', 'r', 'y' };
	static const uint8_t nul_name[] = { 27, 0, 0, 0, 3, 'a', 0, 'b' };

	is_int(sshp_msg_decode_request(buf, n, &req), 0, "session-bind decodes");
	ok(req.kind == SSHP_REQ_SESSION_BIND && req.bind.forwarding && req.bind.sid.n == 32 &&
	       req.bind.sig.n == 3 && req.bind.hostkey.n == sizeof(key_blob) - 1,
	   "session-bind fields");
	n = build_bind(buf, sizeof(buf), 2, true);
	ok(sshp_msg_decode_request(buf, n, &req) == -EBADMSG, "is_forwarding must be 0 or 1");
	n = build_bind(buf, sizeof(buf), 0, false);
	ok(sshp_msg_decode_request(buf, n, &req) != 0, "a session-bind without is_forwarding");
	is_int(sshp_msg_decode_request(query, sizeof(query), &req), 0, "query decodes");
	ok(req.kind == SSHP_REQ_EXTENSION && !strcmp(req.ext_name, "query"),
	   "other extensions are classified by name");
	ok(sshp_msg_decode_request(nul_name, sizeof(nul_name), &req) == -EBADMSG,
	   "an extension name with a NUL is malformed");
}

struct seen {
	int n;
	size_t comment_len[4];
};

static int collect(void *ctx, const struct sshp_blob *key, const struct sshp_blob *comment)
{
	struct seen *s = ctx;

	if (s->n < 4)
		s->comment_len[s->n] = comment->n;
	s->n++;
	return 0;
}

static void test_identities(void)
{
	struct sshp_blob k = { key_blob, sizeof(key_blob) - 1 }, c1 = { (const uint8_t *)"one", 3 },
			 c2 = { (const uint8_t *)"", 0 };
	struct sshp_ids_builder b;
	struct lbx_writer w;
	struct seen s = { 0 };
	uint8_t buf[512];
	static const uint8_t failure[] = { 5 }, wrong[] = { 14, 0, 0, 0, 0 };
	size_t n;

	lbx_writer_init_fixed(&w, buf, sizeof(buf));
	ok(!sshp_msg_ids_begin(&b, &w) && !sshp_msg_ids_add(&b, &k, &c1) &&
	       !sshp_msg_ids_add(&b, &k, &c2) && !sshp_msg_ids_finish(&b),
	   "identities answer builds");
	n = lbx_writer_len(&w);
	is_int(sshp_msg_decode_identities(buf + 4, n - 4, collect, &s), 0, "and decodes");
	ok(s.n == 2 && s.comment_len[0] == 3 && s.comment_len[1] == 0, "both keys seen");
	buf[8] = 3; /* claim three keys */
	s.n = 0;
	ok(sshp_msg_decode_identities(buf + 4, n - 4, collect, &s) == -ENODATA,
	   "a key count larger than the keys present is rejected");
	is_int(sshp_msg_decode_identities(failure, 1, collect, &s), 1, "FAILURE is reported as 1");
	ok(sshp_msg_decode_identities(wrong, sizeof(wrong), collect, &s) == -EBADMSG,
	   "another reply type is malformed");
}

static void test_replies(void)
{
	static const uint8_t sig_ok[] = { 14, 0, 0, 0, 2, 'x', 'y' };
	static const uint8_t sig_trailing[] = { 14, 0, 0, 0, 1, 'x', 'y' };
	static const uint8_t success[] = { 6 }, failure[] = { 5 };
	struct lbx_writer w;
	uint8_t buf[8];

	is_int(sshp_msg_check_reply(13, sig_ok, sizeof(sig_ok)), 0, "SIGN_RESPONSE accepted");
	ok(sshp_msg_check_reply(13, sig_trailing, sizeof(sig_trailing)) != 0,
	   "SIGN_RESPONSE with trailing bytes rejected");
	ok(sshp_msg_check_reply(13, success, 1) != 0, "SUCCESS does not answer a sign request");
	is_int(sshp_msg_check_reply(13, failure, 1), 0, "FAILURE answers anything");
	is_int(sshp_msg_check_reply(27, success, 1), 0, "SUCCESS answers an extension");
	lbx_writer_init_fixed(&w, buf, sizeof(buf));
	ok(!sshp_msg_write_status(&w, 5) && lbx_writer_len(&w) == 5 &&
	       !memcmp(buf, "\0\0\0\1\5", 5),
	   "FAILURE is encoded as length 1, type 5");
}

int main(void)
{
	test_sign_request();
	test_simple_requests();
	test_refused_kinds();
	test_extensions();
	test_identities();
	test_replies();
	return tap_done();
}

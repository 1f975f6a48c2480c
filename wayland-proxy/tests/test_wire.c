/* SPDX-License-Identifier: MIT */
/* The wire decoder, the generated tables and the policy's JSON. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "json.h"
#include "policy_json.h"
#include "tap.h"
#include "wire.h"

extern const struct wlp_iface wlp_iface_wl_registry, wlp_iface_wl_shm, wlp_iface_xdg_toplevel;

static void test_header(void)
{
	struct wlp_header h;
	uint8_t m[12] = { 1, 0, 0, 0, 0, 0, 12, 0 };

	is_int(wlp_header(m, 12, &h), 0, "a 12-byte message");
	ok(h.id == 1 && h.size == 12 && h.opcode == 0, "its id, size and opcode");
	is_int(wlp_header(m, 11, &h), -EAGAIN, "a partial message waits");
	m[6] = 10;
	is_int(wlp_header(m, 12, &h), -EBADMSG, "a size not a multiple of 4 is refused");
	m[6] = 4;
	is_int(wlp_header(m, 12, &h), -EBADMSG, "a size below the header is refused");
	m[6] = 0;
	m[7] = 0x20; /* 8192 */
	is_int(wlp_header(m, 12, &h), -EBADMSG, "a size above 4096 is refused");
}

static void test_decode(void)
{
	const struct wlp_msg *bind = &wlp_iface_wl_registry.req[0];
	struct wlp_val v[WLP_MAX_ARGS];
	unsigned nfds;
	/* bind(name 5, "wl_shm", version 1, id 4) */
	uint8_t body[] = { 5,	0,   0, 0, 7, 0, 0, 0, 'w', 'l', '_', 's',
			   'h', 'm', 0, 0, 1, 0, 0, 0, 4,   0,	 0,   0 };

	ok(strcmp(bind->name, "bind") == 0, "wl_registry request 0 is bind");
	is_int(wlp_decode(bind, body, sizeof(body), v, &nfds), 0, "bind decodes");
	ok(v[0].u == 5 && strcmp(v[1].str, "wl_shm") == 0 && v[1].version == 1 && v[1].u == 4,
	   "its name, interface, version and id");
	is_int(wlp_decode(bind, body, sizeof(body) - 4, v, &nfds), -EBADMSG, "truncated: refused");
	uint8_t longer[sizeof(body) + 4] = { 0 };
	memcpy(longer, body, sizeof(body));
	is_int(wlp_decode(bind, longer, sizeof(longer), v, &nfds), -EBADMSG,
	       "trailing bytes: refused");
	body[14] = 'x'; /* the NUL of "wl_shm" is gone */
	is_int(wlp_decode(bind, body, sizeof(body), v, &nfds), -EBADMSG,
	       "a string without its NUL: refused");
	body[14] = 0;
	body[20] = 0; /* new_id 0 */
	is_int(wlp_decode(bind, body, sizeof(body), v, &nfds), -EBADMSG, "a new_id of 0: refused");

	const struct wlp_msg *pool = &wlp_iface_wl_shm.req[0];
	uint8_t cp[] = { 9, 0, 0, 0, 0, 16, 0, 0 };
	is_int(wlp_decode(pool, cp, sizeof(cp), v, &nfds), 0, "create_pool decodes");
	is_int(nfds, 1, "and carries one fd");

	const struct wlp_msg *title = &wlp_iface_xdg_toplevel.req[2];
	uint8_t nul[] = { 0, 0, 0, 0 };
	ok(strcmp(title->name, "set_title") == 0, "xdg_toplevel request 2 is set_title");
	is_int(wlp_decode(title, nul, sizeof(nul), v, &nfds), -EBADMSG,
	       "a null string where none is allowed: refused");
}

static void test_encode(void)
{
	const struct wlp_msg *bind = &wlp_iface_wl_registry.req[0];
	struct wlp_val v[WLP_MAX_ARGS] = { { .u = 3 },
					   { .u = 9, .version = 2, .str = "abc", .len = 3 } };
	uint8_t buf[64];
	struct lbx_writer w;
	struct wlp_header h;
	unsigned nfds;

	lbx_writer_init_fixed(&w, buf, sizeof(buf));
	is_int(wlp_encode(&w, 2, 0, bind, v), 0, "bind encodes");
	is_int(wlp_header(buf, lbx_writer_len(&w), &h), 0, "with a header that parses");
	is_int(h.size, lbx_writer_len(&w), "whose size is the message's");
	struct wlp_val back[WLP_MAX_ARGS];
	ok(wlp_decode(bind, buf + 8, h.size - 8, back, &nfds) == 0 && back[0].u == 3 &&
	       strcmp(back[1].str, "abc") == 0 && back[1].version == 2 && back[1].u == 9,
	   "and decodes to what was encoded");
}

static void test_tables(void)
{
	ok(wlp_iface_find("wl_compositor", 13) != NULL, "wl_compositor is in the tables");
	ok(wlp_iface_find("xdg_wm_base", 11) != NULL, "xdg_wm_base is in the tables");
	ok(wlp_iface_find("wl_compositorx", 13) != NULL, "a name is looked up by its length");
	ok(wlp_iface_find("zwlr_screencopy_manager_v1", 26) == NULL, "screencopy is not");
	ok(wlp_iface_find("zwp_virtual_keyboard_manager_v1", 31) == NULL,
	   "virtual keyboards are not");
	ok(wlp_iface_find("weston_screenshooter", 20) == NULL, "weston_* globals are not");
}

static int policy_error(const char *json, char *msg, size_t n)
{
	struct lbx_json_doc doc;
	struct lbx_json_val root;
	struct wlp_policy p;
	int rc;

	wlp_policy_default(&p);
	if (lbx_json_parse(&doc, "box.json", json, strlen(json)) < 0) {
		snprintf(msg, n, "%s", lbx_json_error(&doc));
		lbx_json_doc_free(&doc);
		return -1;
	}
	lbx_json_root(&doc, "wayland", &root);
	rc = wlp_policy_from_json(&root, &p);
	snprintf(msg, n, "%s", lbx_json_error(&doc));
	lbx_json_doc_free(&doc);
	return rc;
}

static void test_policy(void)
{
	struct wlp_policy p;
	char msg[512];

	wlp_policy_default(&p);
	ok(wlp_policy_global(&p, "wl_compositor", 4) == 4, "wl_compositor is allowed by default");
	uint32_t v = wlp_policy_global(&p, "xdg_wm_base", 99);
	ok(v >= 1 && v <= 6, "xdg_wm_base is capped (at %u)", v);
	is_int(wlp_policy_global(&p, "zwp_linux_dmabuf_v1", 4), 0,
	       "dmabuf is hidden (no GPU path)");
	is_int(wlp_policy_global(&p, "wl_shell", 1), 0, "wl_shell is hidden by default");
	ok(p.to_host == WLP_CLIP_ALLOW && p.from_host == WLP_CLIP_ASK,
	   "the box may offer its selection and reads the host's only on ask");

	is_int(policy_error("{\"globals\": {\"wl_compositor\": 3}}", msg, sizeof(msg)), 0,
	       "an allowlist with a cap parses");
	ok(policy_error("{\"globals\": {\"zwlr_screencopy_manager_v1\": 3}}", msg, sizeof(msg)) <
		   0 &&
	       strstr(msg, "wayland.globals.zwlr_screencopy_manager_v1"),
	   "a privileged global is refused, naming the key: %s", msg);
	ok(policy_error("{\"clipboard\": {\"to_host\": \"maybe\"}}", msg, sizeof(msg)) < 0 &&
	       strstr(msg, "wayland.clipboard.to_host"),
	   "a bad clipboard mode names the key: %s", msg);
	ok(policy_error("{\"colour\": 1}", msg, sizeof(msg)) < 0 && strstr(msg, "wayland.colour"),
	   "an unknown key is named: %s", msg);
	ok(policy_error("{\"globals\": {\"zwp_linux_dmabuf_v1\": 4}}", msg, sizeof(msg)) < 0,
	   "dmabuf cannot be allowed yet: %s", msg);
}

int main(void)
{
	test_header();
	test_decode();
	test_encode();
	test_tables();
	test_policy();
	return tap_done();
}

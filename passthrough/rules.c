/* SPDX-License-Identifier: MIT */
/* The USB device policy (rules.h). */
#include "rules.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

static const char *const rule_keys[] = { "id", "serial", "interfaces", "allow_dfu", "name", NULL };

/* One hex field of exactly width digits, or "*": 0 or -1. */
static int hex_or_any(const char *s, size_t n, size_t width, int *out)
{
	int v = 0;

	if (n == 1 && s[0] == '*') {
		*out = USB_ANY;
		return 0;
	}
	if (n != width)
		return -1;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		int d = c >= '0' && c <= '9'   ? c - '0'
			: c >= 'a' && c <= 'f' ? c - 'a' + 10
			: c >= 'A' && c <= 'F' ? c - 'A' + 10
					       : -1;

		if (d < 0)
			return -1;
		v = v * 16 + d;
	}
	*out = v;
	return 0;
}

/* s split at ':' into exactly nparts hex fields of width digits (or "*"). */
static int split_hex(const char *s, unsigned nparts, size_t width, int *out)
{
	for (unsigned i = 0; i < nparts; i++) {
		const char *end = strchr(s, ':');
		size_t n = end ? (size_t)(end - s) : strlen(s);

		if ((i + 1 < nparts) != (end != NULL) || hex_or_any(s, n, width, &out[i]) < 0)
			return -1;
		s = end ? end + 1 : s + n;
	}
	return 0;
}

static bool printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < ' ' || *s == 0x7f)
			return false;
	return true;
}

static int parse_ifs(const struct lbx_json_val *v, struct usb_rule *r)
{
	struct lbx_json_iter it;
	struct lbx_json_val e;
	size_t n;
	int err = lbx_json_array(v, &n);

	if (err)
		return err;
	if (n == 0 || n > USB_RULE_IFS_MAX)
		return lbx_json_fail(v, "expected 1 to %d interface patterns", USB_RULE_IFS_MAX);
	lbx_json_iter_init(&it, v);
	while (lbx_json_iter_next(&it, &e)) {
		struct usb_if_pattern *p = &r->ifs[r->nifs++];
		int parts[3];
		const char *s;

		err = lbx_json_string(&e, &s);
		if (err)
			return err;
		if (split_hex(s, 3, 2, parts) < 0)
			return lbx_json_fail(&e, "expected class:subclass:protocol, each two hex "
						 "digits or *, as \"ff:*:*\"");
		*p = (struct usb_if_pattern){ parts[0], parts[1], parts[2] };
	}
	return 0;
}

static int parse_rule(const struct lbx_json_val *v, unsigned idx, struct usb_rule *r)
{
	struct lbx_json_val m;
	const char *s;
	int ids[2], err = lbx_json_object(v, rule_keys);

	if (err)
		return err;
	snprintf(r->name, sizeof(r->name), "usb[%u]", idx);
	err = lbx_json_require(v, "id", &m);
	err = err ?: lbx_json_string(&m, &s);
	if (err)
		return err;
	if (split_hex(s, 2, 4, ids) < 0)
		return lbx_json_fail(&m, "expected VVVV:PPPP in hex (lsusb's ID), either half may "
					 "be *");
	r->vendor = ids[0];
	r->product = ids[1];
	if (lbx_json_member(v, "serial", &m) == 0) {
		err = lbx_json_string(&m, &s);
		if (err)
			return err;
		if (!*s || strlen(s) >= sizeof(r->serial) || !printable(s))
			return lbx_json_fail(&m,
					     "expected the device's serial number (1 to %zu "
					     "printable characters)",
					     sizeof(r->serial) - 1);
		snprintf(r->serial, sizeof(r->serial), "%s", s);
		r->has_serial = true;
	}
	if (lbx_json_member(v, "interfaces", &m) == 0 && (err = parse_ifs(&m, r)))
		return err;
	if (lbx_json_member(v, "allow_dfu", &m) == 0 && (err = lbx_json_bool(&m, &r->allow_dfu)))
		return err;
	if (lbx_json_member(v, "name", &m) == 0) {
		err = lbx_json_string(&m, &s);
		if (err)
			return err;
		if (!*s || strlen(s) >= sizeof(r->name) || !printable(s))
			return lbx_json_fail(&m, "expected a name of 1 to %zu printable characters",
					     sizeof(r->name) - 1);
		snprintf(r->name, sizeof(r->name), "%s", s);
	}
	return 0;
}

int usb_rules_parse(const char *text, size_t len, const char *file, struct usb_rules *rules,
		    char *err, size_t errsz)
{
	struct lbx_json_doc doc;
	struct lbx_json_val root, e;
	struct lbx_json_iter it;
	size_t n;
	int rc;

	memset(rules, 0, sizeof(*rules));
	rc = lbx_json_parse(&doc, file, text, len);
	if (rc == 0) {
		lbx_json_root(&doc, "devices.usb", &root);
		rc = lbx_json_array(&root, &n);
		if (rc == 0 && n > USB_RULES_MAX)
			rc = lbx_json_fail(&root, "more than %d rules", USB_RULES_MAX);
		lbx_json_iter_init(&it, &root);
		while (rc == 0 && lbx_json_iter_next(&it, &e)) {
			rc = parse_rule(&e, rules->n, &rules->rule[rules->n]);
			rules->n++;
		}
	}
	if (rc < 0)
		snprintf(err, errsz, "%s",
			 lbx_json_error(&doc)[0] ? lbx_json_error(&doc) : "out of memory");
	lbx_json_doc_free(&doc);
	return rc;
}

static bool field(int pattern, unsigned v)
{
	return pattern == USB_ANY || (unsigned)pattern == v;
}

static bool if_allowed(const struct usb_rule *r, uint8_t cls, uint8_t sub, uint8_t proto)
{
	for (unsigned i = 0; i < r->nifs; i++)
		if (field(r->ifs[i].cls, cls) && field(r->ifs[i].subclass, sub) &&
		    field(r->ifs[i].protocol, proto))
			return true;
	return false;
}

static bool rule_matches(const struct usb_rule *r, const struct usb_ident *d)
{
	if (!field(r->vendor, d->vendor) || !field(r->product, d->product))
		return false;
	if (r->has_serial && strcmp(r->serial, d->serial))
		return false;
	for (unsigned i = 0; r->nifs && i < d->nifs; i++)
		if (!if_allowed(r, d->ifs[i].cls, d->ifs[i].subclass, d->ifs[i].protocol))
			return false;
	return true;
}

int usb_rules_match(const struct usb_rules *rules, const struct usb_ident *dev)
{
	for (unsigned i = 0; i < rules->n; i++)
		if (rule_matches(&rules->rule[i], dev))
			return (int)i;
	return -1;
}

void usb_ident_format(const struct usb_ident *d, char *buf, size_t sz)
{
	int n = snprintf(buf, sz, "%04x:%04x", d->vendor, d->product);

	if (d->serial[0] && n >= 0 && (size_t)n < sz)
		n += snprintf(buf + n, sz - (size_t)n, " serial %s", d->serial);
	for (unsigned i = 0; i < d->nifs && n >= 0 && (size_t)n < sz; i++)
		n +=
		    snprintf(buf + n, sz - (size_t)n, "%s%02x:%02x:%02x", i ? " " : ", interfaces ",
			     d->ifs[i].cls, d->ifs[i].subclass, d->ifs[i].protocol);
}

/* USB DFU 1.1 §3: class-specific requests to the DFU interface. */
#define DFU_DETACH 0
#define DFU_DNLOAD 1

bool usb_dfu_request(const uint8_t setup[8], const struct usb_ident *dev)
{
	uint8_t type = setup[0], req = setup[1];
	unsigned ifnum = setup[4];

	/* Class request (bits 6..5 = 1) to an interface (bits 4..0 = 1). */
	if ((type & 0x60) != 0x20 || (type & 0x1f) != 1)
		return false;
	if (req != DFU_DETACH && req != DFU_DNLOAD)
		return false;
	return ifnum < dev->nifs && dev->ifs[ifnum].cls == 0xfe && dev->ifs[ifnum].subclass == 1;
}

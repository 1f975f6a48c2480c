/* SPDX-License-Identifier: MIT */
/* The USB device policy (rules.h): parsing and first-match. */
#include <string.h>

#include "rules.h"
#include "tap.h"

static int parse(const char *json, struct usb_rules *r, char *err, size_t errsz)
{
	return usb_rules_parse(json, strlen(json), "box.json", r, err, errsz);
}

static struct usb_ident probe(const char *serial)
{
	struct usb_ident d = { .vendor = 0x0483, .product = 0x3748, .nifs = 1 };

	snprintf(d.serial, sizeof(d.serial), "%s", serial);
	d.ifs[0].cls = 0xff;
	return d;
}

static void test_match(void)
{
	static struct usb_rules r;
	char err[512];
	struct usb_ident d = probe("ABC");

	ok(parse("[{\"id\": \"0483:3748\", \"serial\": \"XYZ\"},"
		 " {\"id\": \"0483:*\", \"interfaces\": [\"ff:*:*\"], \"name\": \"st\"},"
		 " {\"id\": \"*:*\", \"allow_dfu\": true}]",
		 &r, err, sizeof(err)) == 0,
	   "three rules parse: %s", err);
	is_int(r.n, 3, "all three");
	is_int(usb_rules_match(&r, &d), 1, "a probe with another serial matches the second rule");
	ok(!strcmp(r.rule[1].name, "st") && !strcmp(r.rule[0].name, "usb[0]"),
	   "rules are named by \"name\" or their position");
	d = probe("XYZ");
	is_int(usb_rules_match(&r, &d), 0, "the serial the first rule names matches it first");
	d = probe("ABC");
	d.ifs[1].cls = 0x0a;
	d.nifs = 2;
	is_int(usb_rules_match(&r, &d), 2,
	       "an interface outside the second rule's list falls through to the third");
	ok(r.rule[2].allow_dfu && !r.rule[1].allow_dfu, "allow_dfu is per rule");
	ok(parse("[{\"id\": \"1209:0001\"}]", &r, err, sizeof(err)) == 0, "one rule parses");
	is_int(usb_rules_match(&r, &d), -1, "an unmatched device is refused");
	ok(parse("[]", &r, err, sizeof(err)) == 0 && usb_rules_match(&r, &d) == -1,
	   "no rules: every device is refused");
}

static void test_errors(void)
{
	static struct usb_rules r;
	char err[512];

	ok(parse("[{\"id\": \"483:3748\"}]", &r, err, sizeof(err)) < 0 &&
	       strstr(err, "devices.usb[0].id"),
	   "a short id is an error naming the key: %s", err);
	ok(parse("[{\"id\": \"0483:3748\", \"interfaces\": [\"ff:*\"]}]", &r, err, sizeof(err)) <
		   0 &&
	       strstr(err, "interfaces[0]"),
	   "a two-part interface pattern is refused: %s", err);
	ok(parse("[{\"id\": \"0483:3748\", \"vid\": 1}]", &r, err, sizeof(err)) < 0 &&
	       strstr(err, "vid"),
	   "an unknown key is refused: %s", err);
	ok(parse("[{\"id\": \"0483:3748\", \"serial\": \"a\\u0001\"}]", &r, err, sizeof(err)) < 0,
	   "a serial with a control character is refused");
	ok(parse("{\"id\": \"0483:3748\"}", &r, err, sizeof(err)) < 0, "an object is not a list");
}

static void test_format_and_dfu(void)
{
	struct usb_ident d = probe("S1");
	uint8_t detach[8] = { 0x21, 0x00, 0xff, 0, 1, 0, 0, 0 };
	char buf[128];

	usb_ident_format(&d, buf, sizeof(buf));
	ok(!strcmp(buf, "0483:3748 serial S1, interfaces ff:00:00"), "the device in messages: %s",
	   buf);
	ok(!usb_dfu_request(detach, &d), "a class request to a non-DFU interface is not DFU");
	d.ifs[1].cls = 0xfe;
	d.ifs[1].subclass = 0x01;
	d.nifs = 2;
	ok(usb_dfu_request(detach, &d), "DFU_DETACH to the DFU interface is");
	detach[1] = 1;
	ok(usb_dfu_request(detach, &d), "so is DFU_DNLOAD");
	detach[1] = 3;
	ok(!usb_dfu_request(detach, &d), "DFU_GETSTATUS is not");
	detach[1] = 0;
	detach[0] = 0x40;
	ok(!usb_dfu_request(detach, &d), "nor a vendor request");
}

int main(void)
{
	test_match();
	test_errors();
	test_format_and_dfu();
	return tap_done();
}

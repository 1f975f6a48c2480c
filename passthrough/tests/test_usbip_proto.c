/* SPDX-License-Identifier: MIT */
/* The USB/IP codec (usbip_proto.h) against usbip_protocol.rst's layouts. */
#include <errno.h>
#include <string.h>

#include "tap.h"
#include "usbip_proto.h"

static void test_op_header(void)
{
	static const uint8_t devlist[] = { 0x01, 0x11, 0x80, 0x05, 0, 0, 0, 0 };
	static const uint8_t old[] = { 0x01, 0x06, 0x80, 0x05, 0, 0, 0, 0 };
	uint8_t imp[40] = { 0x01, 0x11, 0x80, 0x03, 0, 0, 0, 0, '1', '-', '1' };
	struct lbx_reader r;
	char busid[USBIP_BUSID_LEN];
	uint16_t code = 0;

	lbx_reader_init(&r, devlist, sizeof(devlist));
	is_int(usbip_op_request_read(&r, &code, busid), 0, "OP_REQ_DEVLIST decodes");
	is_int(code, USBIP_OP_REQ_DEVLIST, "as a device list request");
	lbx_reader_init(&r, old, sizeof(old));
	is_int(usbip_op_request_read(&r, &code, busid), -EBADMSG, "another version is refused");
	lbx_reader_init(&r, imp, 39);
	is_int(usbip_op_request_read(&r, &code, busid), -ENODATA, "a partial import waits");
	is_int(lbx_reader_pos(&r), 0, "and consumes nothing");
	lbx_reader_init(&r, imp, 40);
	is_int(usbip_op_request_read(&r, &code, busid), 0, "OP_REQ_IMPORT decodes");
	ok(code == USBIP_OP_REQ_IMPORT && !strcmp(busid, "1-1"), "with its busid");
	memset(imp + 8, 'x', 32);
	lbx_reader_init(&r, imp, 40);
	is_int(usbip_op_request_read(&r, &code, busid), -EBADMSG,
	       "a busid without its NUL is refused");
	imp[3] = 0x07;
	lbx_reader_init(&r, imp, 40);
	is_int(usbip_op_request_read(&r, &code, busid), -EBADMSG, "an unknown op code is refused");
}

static struct usbip_device sample(void)
{
	struct usbip_device d = { .busnum = 1,
				  .devnum = 2,
				  .speed = USBIP_SPEED_FULL,
				  .vendor = 0x0483,
				  .product = 0x3748,
				  .bcd_device = 0x0100,
				  .config_value = 1,
				  .nconfigs = 1,
				  .ninterfaces = 2 };

	strcpy(d.path, "/sys/devices/x/1-1");
	strcpy(d.busid, "1-1");
	d.ifs[0] = (struct usbip_interface){ 0xff, 0, 0 };
	d.ifs[1] = (struct usbip_interface){ 0x0a, 0, 0 };
	return d;
}

static void test_import_reply(void)
{
	struct usbip_device d = sample(), back;
	struct lbx_writer w;
	struct lbx_reader r;
	bool okay = false;
	const uint8_t *p;

	lbx_writer_init_dynamic(&w, 4096);
	is_int(usbip_rep_import_write(&w, &d), 0, "OP_REP_IMPORT encodes");
	is_int(lbx_writer_len(&w), USBIP_OP_HDR_LEN + USBIP_DEVICE_LEN, "0x140 bytes (8 + 0x138)");
	p = lbx_writer_data(&w);
	ok(p[2] == 0x00 && p[3] == 0x03 && p[7] == 0, "reply code 0x0003, status 0");
	ok(p[8 + 0x12e] == 0x37 && p[8 + 0x12f] == 0x48, "idProduct big-endian at 0x136");
	is_int(p[8 + 0x137], 2, "bNumInterfaces last, at 0x13F");
	lbx_reader_init(&r, p, lbx_writer_len(&w) - 1);
	is_int(usbip_rep_import_read(&r, &okay, &back), -ENODATA, "a partial reply waits");
	lbx_reader_init(&r, p, lbx_writer_len(&w));
	is_int(usbip_rep_import_read(&r, &okay, &back), 0, "the reply decodes");
	ok(okay && back.vendor == 0x0483 && back.product == 0x3748 && back.devnum == 2 &&
	       !strcmp(back.busid, "1-1"),
	   "to the same device");
	lbx_writer_reset(&w);
	is_int(usbip_rep_import_write(&w, NULL), 0, "a refusal encodes");
	is_int(lbx_writer_len(&w), 8, "as the header alone");
	lbx_reader_init(&r, lbx_writer_data(&w), lbx_writer_len(&w));
	ok(usbip_rep_import_read(&r, &okay, &back) == 0 && !okay, "and decodes as refused");
	lbx_writer_free(&w);
}

static void test_devlist(void)
{
	struct usbip_device d[2] = { sample(), sample() }, back[1];
	struct lbx_writer w;
	struct lbx_reader r;
	unsigned n = 0;

	lbx_writer_init_dynamic(&w, 4096);
	is_int(usbip_rep_devlist_write(&w, d, 2), 0, "OP_REP_DEVLIST encodes");
	is_int(lbx_writer_len(&w), 12 + 2 * (USBIP_DEVICE_LEN + 2 * 4),
	       "12 + n * (0x138 + 4 per interface)");
	lbx_reader_init(&r, lbx_writer_data(&w), lbx_writer_len(&w));
	is_int(usbip_rep_devlist_read(&r, back, 1, &n), -EMSGSIZE,
	       "more devices than the reader takes is refused");
	lbx_writer_free(&w);
}

static void test_submit(void)
{
	/* usbip_protocol.rst's example: CmdIntrOUT, with its 64 bytes. */
	static const uint8_t cmd_hdr[48] = {
		0,
		0,
		0,
		1,
		0,
		0,
		0x0d,
		0x06,
		0,
		1,
		0,
		0x0f,
		0,
		0,
		0,
		0,
		0,
		0,
		0,
		1,
		0,
		0,
		0,
		0,
		0,
		0,
		0,
		0x40,
		0xff,
		0xff,
		0xff,
		0xff,
		0,
		0,
		0,
		0,
		0,
		0,
		0,
		4,
		/* interval */ 0,
		0,
		0,
		0,
		0,
		0,
		0,
		0,
	};
	uint8_t buf[48 + 64];
	struct usbip_hdr h;
	struct lbx_reader r;
	const uint8_t *data;
	size_t n;

	memcpy(buf, cmd_hdr, 48);
	memset(buf + 48, 0xab, 64);
	lbx_reader_init(&r, buf, 48 + 63);
	is_int(usbip_cmd_read(&r, &h, &data, &n), -ENODATA, "a submit without all its data waits");
	lbx_reader_init(&r, buf, sizeof(buf));
	is_int(usbip_cmd_read(&r, &h, &data, &n), 0, "the spec's CmdIntrOUT decodes");
	ok(h.command == USBIP_CMD_SUBMIT && h.seqnum == 0xd06 && h.devid == 0x1000f &&
	       h.direction == USBIP_DIR_OUT && h.ep == 1 && h.u.submit.length == 64 &&
	       h.u.submit.interval == 4,
	   "with its fields");
	ok(n == 64 && data[0] == 0xab, "and its 64 OUT bytes");
	is_int(lbx_reader_left(&r), 0, "all consumed");

	buf[15] = 1; /* IN: no data follows */
	lbx_reader_init(&r, buf, 48);
	ok(usbip_cmd_read(&r, &h, &data, &n) == 0 && n == 0, "an IN submit carries no data");
	buf[15] = 2;
	lbx_reader_init(&r, buf, 48);
	is_int(usbip_cmd_read(&r, &h, &data, &n), -EBADMSG, "direction 2 is refused");
	buf[15] = 0;
	buf[19] = 16;
	lbx_reader_init(&r, buf, sizeof(buf));
	is_int(usbip_cmd_read(&r, &h, &data, &n), -EBADMSG, "endpoint 16 is refused");
	buf[19] = 1;
	buf[0x20 + 3] = 4; /* number_of_packets 0xffffff04 */
	lbx_reader_init(&r, buf, sizeof(buf));
	is_int(usbip_cmd_read(&r, &h, &data, &n), -EOPNOTSUPP, "isochronous is refused");
	memset(buf + 0x20, 0, 4); /* vhci sends 0 for "not isochronous" */
	lbx_reader_init(&r, buf, sizeof(buf));
	is_int(usbip_cmd_read(&r, &h, &data, &n), 0, "number_of_packets 0 is not isochronous");
	buf[0x18] = 0x10; /* length 0x10000040 */
	lbx_reader_init(&r, buf, sizeof(buf));
	is_int(usbip_cmd_read(&r, &h, &data, &n), -EMSGSIZE, "a 256 MiB transfer is refused");
	buf[0x18] = 0;
	buf[3] = 3;
	lbx_reader_init(&r, buf, sizeof(buf));
	is_int(usbip_cmd_read(&r, &h, &data, &n), -EBADMSG, "a RET_SUBMIT is not a command");
	buf[3] = 9;
	lbx_reader_init(&r, buf, sizeof(buf));
	is_int(usbip_cmd_read(&r, &h, &data, &n), -EBADMSG, "command 9 is refused");
}

static int dir_in(void *ctx, uint32_t seq)
{
	return seq == 7 ? USBIP_DIR_IN : seq == 8 ? USBIP_DIR_OUT : -1;
}

static void test_replies(void)
{
	struct lbx_writer w;
	struct lbx_reader r;
	struct usbip_hdr h;
	const uint8_t *data;
	size_t n;
	const uint8_t *p;

	lbx_writer_init_dynamic(&w, 4096);
	is_int(usbip_ret_submit_write(&w, 7, 0, 3, "abc", 3), 0, "RET_SUBMIT with IN data encodes");
	is_int(lbx_writer_len(&w), 51, "48 + 3 bytes");
	p = lbx_writer_data(&w);
	ok(p[3] == 3 && p[7] == 7 && p[8] == 0 && p[0x1b] == 3, "command 3, seqnum, actual_length");
	lbx_reader_init(&r, p, lbx_writer_len(&w));
	ok(usbip_ret_read(&r, dir_in, NULL, &h, &data, &n) == 0 && n == 3 &&
	       !memcmp(data, "abc", 3),
	   "and decodes with its data");
	lbx_writer_reset(&w);
	is_int(usbip_ret_submit_write(&w, 9, 0, 0, NULL, 0), 0, "a reply to an unknown seqnum");
	lbx_reader_init(&r, lbx_writer_data(&w), lbx_writer_len(&w));
	is_int(usbip_ret_read(&r, dir_in, NULL, &h, &data, &n), -EBADMSG, "is refused by a client");
	lbx_writer_reset(&w);
	is_int(usbip_ret_unlink_write(&w, 12, -ECONNRESET), 0, "RET_UNLINK encodes");
	lbx_reader_init(&r, lbx_writer_data(&w), lbx_writer_len(&w));
	ok(usbip_ret_read(&r, dir_in, NULL, &h, &data, &n) == 0 && h.command == USBIP_RET_UNLINK &&
	       h.seqnum == 12 && h.u.ret_unlink.status == -ECONNRESET && n == 0,
	   "and decodes with status -ECONNRESET");
	lbx_writer_reset(&w);
	is_int(usbip_cmd_unlink_write(&w, 13, 0x10002, 12), 0, "CMD_UNLINK encodes");
	lbx_reader_init(&r, lbx_writer_data(&w), lbx_writer_len(&w));
	ok(usbip_cmd_read(&r, &h, &data, &n) == 0 && h.command == USBIP_CMD_UNLINK &&
	       h.u.unlink.seqnum == 12 && h.devid == 0x10002,
	   "and decodes with unlink_seqnum");
	lbx_writer_free(&w);
}

int main(void)
{
	test_op_header();
	test_import_reply();
	test_devlist();
	test_submit();
	test_replies();
	return tap_done();
}

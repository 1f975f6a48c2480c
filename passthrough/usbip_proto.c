/* SPDX-License-Identifier: MIT */
/* The USB/IP wire format (usbip_proto.h; usbip_protocol.rst). */
#include "usbip_proto.h"

#include <errno.h>
#include <string.h>

static int check(int rc, const struct lbx_reader *r)
{
	return rc < 0 ? rc : lbx_reader_error(r);
}

int usbip_op_hdr_read(struct lbx_reader *r, struct usbip_op_hdr *h)
{
	int rc = 0;

	if (lbx_reader_left(r) < USBIP_OP_HDR_LEN)
		return lbx_reader_error(r) ?: -ENODATA;
	rc |= lbx_read_u16be(r, &h->version);
	rc |= lbx_read_u16be(r, &h->code);
	rc |= lbx_read_u32be(r, &h->status);
	if (rc)
		return lbx_reader_error(r);
	return h->version == USBIP_VERSION ? 0 : -EBADMSG;
}

int usbip_op_hdr_write(struct lbx_writer *w, uint16_t code, uint32_t status)
{
	int rc = 0;

	rc |= lbx_write_u16be(w, USBIP_VERSION);
	rc |= lbx_write_u16be(w, code);
	rc |= lbx_write_u32be(w, status);
	return rc ? lbx_writer_error(w) : 0;
}

/* A fixed-width string field: NUL-terminated inside its width, the rest ignored. */
static int read_fixed_str(struct lbx_reader *r, size_t width, char *dst)
{
	const uint8_t *p;
	int rc = lbx_read_bytes(r, width, &p);

	if (rc < 0)
		return rc;
	if (!memchr(p, '\0', width))
		return -EBADMSG;
	memcpy(dst, p, width);
	return 0;
}

static int write_fixed_str(struct lbx_writer *w, size_t width, const char *s)
{
	size_t n = strnlen(s, width);

	if (n >= width)
		return -EMSGSIZE;
	if (lbx_write_bytes(w, s, n) < 0 || lbx_write_zeros(w, width - n) < 0)
		return lbx_writer_error(w);
	return 0;
}

int usbip_op_request_read(struct lbx_reader *r, uint16_t *code, char busid[USBIP_BUSID_LEN])
{
	struct lbx_reader peek = *r;
	struct usbip_op_hdr h;
	int rc = usbip_op_hdr_read(&peek, &h);

	if (rc < 0)
		return rc;
	if (h.code == USBIP_OP_REQ_IMPORT) {
		if (lbx_reader_left(&peek) < USBIP_BUSID_LEN)
			return -ENODATA;
		rc = read_fixed_str(&peek, USBIP_BUSID_LEN, busid);
		if (rc < 0)
			return rc;
	} else if (h.code == USBIP_OP_REQ_DEVLIST) {
		busid[0] = '\0';
	} else {
		return -EBADMSG;
	}
	*code = h.code;
	*r = peek;
	return 0;
}

int usbip_req_import_write(struct lbx_writer *w, const char *busid)
{
	int rc = usbip_op_hdr_write(w, USBIP_OP_REQ_IMPORT, 0);

	return rc ?: write_fixed_str(w, USBIP_BUSID_LEN, busid);
}

int usbip_req_devlist_write(struct lbx_writer *w)
{
	return usbip_op_hdr_write(w, USBIP_OP_REQ_DEVLIST, 0);
}

int usbip_device_write(struct lbx_writer *w, const struct usbip_device *d, bool with_interfaces)
{
	int rc = 0;

	if (d->ninterfaces > USBIP_MAX_INTERFACES)
		return -EINVAL;
	rc = write_fixed_str(w, USBIP_PATH_LEN, d->path);
	rc = rc ?: write_fixed_str(w, USBIP_BUSID_LEN, d->busid);
	if (rc)
		return rc;
	rc |= lbx_write_u32be(w, d->busnum);
	rc |= lbx_write_u32be(w, d->devnum);
	rc |= lbx_write_u32be(w, d->speed);
	rc |= lbx_write_u16be(w, d->vendor);
	rc |= lbx_write_u16be(w, d->product);
	rc |= lbx_write_u16be(w, d->bcd_device);
	rc |= lbx_write_u8(w, d->dev_class);
	rc |= lbx_write_u8(w, d->dev_subclass);
	rc |= lbx_write_u8(w, d->dev_protocol);
	rc |= lbx_write_u8(w, d->config_value);
	rc |= lbx_write_u8(w, d->nconfigs);
	rc |= lbx_write_u8(w, d->ninterfaces);
	for (unsigned i = 0; with_interfaces && i < d->ninterfaces; i++) {
		rc |= lbx_write_u8(w, d->ifs[i].cls);
		rc |= lbx_write_u8(w, d->ifs[i].subclass);
		rc |= lbx_write_u8(w, d->ifs[i].protocol);
		rc |= lbx_write_u8(w, 0);
	}
	return rc ? lbx_writer_error(w) : 0;
}

int usbip_device_read(struct lbx_reader *r, struct usbip_device *d, bool with_interfaces)
{
	int rc = 0;

	memset(d, 0, sizeof(*d));
	rc = read_fixed_str(r, USBIP_PATH_LEN, d->path);
	rc = rc ?: read_fixed_str(r, USBIP_BUSID_LEN, d->busid);
	if (rc)
		return check(rc, r);
	rc |= lbx_read_u32be(r, &d->busnum);
	rc |= lbx_read_u32be(r, &d->devnum);
	rc |= lbx_read_u32be(r, &d->speed);
	rc |= lbx_read_u16be(r, &d->vendor);
	rc |= lbx_read_u16be(r, &d->product);
	rc |= lbx_read_u16be(r, &d->bcd_device);
	rc |= lbx_read_u8(r, &d->dev_class);
	rc |= lbx_read_u8(r, &d->dev_subclass);
	rc |= lbx_read_u8(r, &d->dev_protocol);
	rc |= lbx_read_u8(r, &d->config_value);
	rc |= lbx_read_u8(r, &d->nconfigs);
	rc |= lbx_read_u8(r, &d->ninterfaces);
	if (rc)
		return lbx_reader_error(r);
	if (!with_interfaces)
		return 0;
	if (d->ninterfaces > USBIP_MAX_INTERFACES)
		return -EMSGSIZE;
	for (unsigned i = 0; i < d->ninterfaces; i++) {
		rc |= lbx_read_u8(r, &d->ifs[i].cls);
		rc |= lbx_read_u8(r, &d->ifs[i].subclass);
		rc |= lbx_read_u8(r, &d->ifs[i].protocol);
		rc |= lbx_read_skip(r, 1);
	}
	return rc ? lbx_reader_error(r) : 0;
}

int usbip_rep_import_write(struct lbx_writer *w, const struct usbip_device *d)
{
	int rc = usbip_op_hdr_write(w, USBIP_OP_REP_IMPORT, d ? 0 : 1);

	return rc ?: (d ? usbip_device_write(w, d, false) : 0);
}

int usbip_rep_import_read(struct lbx_reader *r, bool *ok, struct usbip_device *d)
{
	struct lbx_reader peek = *r;
	struct usbip_op_hdr h;
	int rc = usbip_op_hdr_read(&peek, &h);

	if (rc < 0)
		return rc;
	if (h.code != USBIP_OP_REP_IMPORT)
		return -EBADMSG;
	if (h.status == 0) {
		if (lbx_reader_left(&peek) < USBIP_DEVICE_LEN)
			return -ENODATA;
		rc = usbip_device_read(&peek, d, false);
		if (rc < 0)
			return rc;
	}
	*ok = h.status == 0;
	*r = peek;
	return 0;
}

int usbip_rep_devlist_write(struct lbx_writer *w, const struct usbip_device *devs, unsigned n)
{
	int rc = usbip_op_hdr_write(w, USBIP_OP_REP_DEVLIST, 0);

	if (rc == 0 && lbx_write_u32be(w, n) < 0)
		rc = lbx_writer_error(w);
	for (unsigned i = 0; rc == 0 && i < n; i++)
		rc = usbip_device_write(w, &devs[i], true);
	return rc;
}

int usbip_rep_devlist_read(struct lbx_reader *r, struct usbip_device *devs, unsigned max,
			   unsigned *n)
{
	struct lbx_reader peek = *r;
	struct usbip_op_hdr h;
	uint32_t count;
	int rc = usbip_op_hdr_read(&peek, &h);

	if (rc < 0)
		return rc;
	if (h.code != USBIP_OP_REP_DEVLIST || h.status != 0)
		return -EBADMSG;
	if (lbx_read_u32be(&peek, &count) < 0)
		return lbx_reader_error(&peek);
	if (count > max)
		return -EMSGSIZE;
	for (uint32_t i = 0; i < count; i++) {
		rc = usbip_device_read(&peek, &devs[i], true);
		if (rc < 0)
			return rc;
	}
	*n = count;
	*r = peek;
	return 0;
}

/* --- URB traffic --- */

const char *usbip_command_name(uint32_t command)
{
	static const char *const names[] = { "?", "CMD_SUBMIT", "CMD_UNLINK", "RET_SUBMIT",
					     "RET_UNLINK" };

	return command < LBX_ARRAY_SIZE(names) ? names[command] : "?";
}

static int read_submit(struct lbx_reader *r, struct usbip_hdr *h)
{
	uint32_t sf, iv;
	int rc = 0;

	rc |= lbx_read_u32be(r, &h->u.submit.transfer_flags);
	rc |= lbx_read_u32be(r, &h->u.submit.length);
	rc |= lbx_read_u32be(r, &sf);
	rc |= lbx_read_u32be(r, &h->u.submit.npackets);
	rc |= lbx_read_u32be(r, &iv);
	rc |= lbx_read_copy(r, h->u.submit.setup, 8);
	if (rc)
		return lbx_reader_error(r);
	h->u.submit.start_frame = (int32_t)sf;
	h->u.submit.interval = (int32_t)iv;
	if (h->u.submit.length > USBIP_MAX_TRANSFER)
		return -EMSGSIZE;
	if (h->u.submit.npackets != 0 && h->u.submit.npackets != USBIP_NOT_ISO)
		return -EOPNOTSUPP;
	return 0;
}

static int read_ret_submit(struct lbx_reader *r, struct usbip_hdr *h)
{
	uint32_t st, sf, ec;
	int rc = 0;

	rc |= lbx_read_u32be(r, &st);
	rc |= lbx_read_u32be(r, &h->u.ret_submit.actual_length);
	rc |= lbx_read_u32be(r, &sf);
	rc |= lbx_read_u32be(r, &h->u.ret_submit.npackets);
	rc |= lbx_read_u32be(r, &ec);
	rc |= lbx_read_skip(r, 8);
	if (rc)
		return lbx_reader_error(r);
	h->u.ret_submit.status = (int32_t)st;
	h->u.ret_submit.start_frame = (int32_t)sf;
	h->u.ret_submit.error_count = (int32_t)ec;
	if (h->u.ret_submit.actual_length > USBIP_MAX_TRANSFER)
		return -EMSGSIZE;
	return 0;
}

/* CMD_UNLINK's unlink_seqnum and RET_UNLINK's status share the offset; 24 padding bytes follow. */
static int read_unlink(struct lbx_reader *r, struct usbip_hdr *h)
{
	uint32_t v;

	if (lbx_read_u32be(r, &v) < 0 || lbx_read_skip(r, 24) < 0)
		return lbx_reader_error(r);
	if (h->command == USBIP_CMD_UNLINK)
		h->u.unlink.seqnum = v;
	else
		h->u.ret_unlink.status = (int32_t)v;
	return 0;
}

int usbip_hdr_read(struct lbx_reader *r, struct usbip_hdr *h)
{
	struct lbx_reader peek = *r;
	int rc = 0;

	if (lbx_reader_left(r) < USBIP_HDR_LEN)
		return lbx_reader_error(r) ?: -ENODATA;
	memset(h, 0, sizeof(*h));
	rc |= lbx_read_u32be(&peek, &h->command);
	rc |= lbx_read_u32be(&peek, &h->seqnum);
	rc |= lbx_read_u32be(&peek, &h->devid);
	rc |= lbx_read_u32be(&peek, &h->direction);
	rc |= lbx_read_u32be(&peek, &h->ep);
	if (rc)
		return lbx_reader_error(&peek);
	if (h->direction > USBIP_DIR_IN || h->ep > 15)
		return -EBADMSG;
	switch (h->command) {
	case USBIP_CMD_SUBMIT: rc = read_submit(&peek, h); break;
	case USBIP_RET_SUBMIT: rc = read_ret_submit(&peek, h); break;
	case USBIP_CMD_UNLINK:
	case USBIP_RET_UNLINK: rc = read_unlink(&peek, h); break;
	default: return -EBADMSG;
	}
	if (rc < 0)
		return rc;
	*r = peek;
	return 0;
}

int usbip_hdr_write(struct lbx_writer *w, const struct usbip_hdr *h)
{
	int rc = 0;

	rc |= lbx_write_u32be(w, h->command);
	rc |= lbx_write_u32be(w, h->seqnum);
	rc |= lbx_write_u32be(w, h->devid);
	rc |= lbx_write_u32be(w, h->direction);
	rc |= lbx_write_u32be(w, h->ep);
	switch (h->command) {
	case USBIP_CMD_SUBMIT:
		rc |= lbx_write_u32be(w, h->u.submit.transfer_flags);
		rc |= lbx_write_u32be(w, h->u.submit.length);
		rc |= lbx_write_u32be(w, (uint32_t)h->u.submit.start_frame);
		rc |= lbx_write_u32be(w, h->u.submit.npackets);
		rc |= lbx_write_u32be(w, (uint32_t)h->u.submit.interval);
		rc |= lbx_write_bytes(w, h->u.submit.setup, 8);
		break;
	case USBIP_RET_SUBMIT:
		rc |= lbx_write_u32be(w, (uint32_t)h->u.ret_submit.status);
		rc |= lbx_write_u32be(w, h->u.ret_submit.actual_length);
		rc |= lbx_write_u32be(w, (uint32_t)h->u.ret_submit.start_frame);
		rc |= lbx_write_u32be(w, h->u.ret_submit.npackets);
		rc |= lbx_write_u32be(w, (uint32_t)h->u.ret_submit.error_count);
		rc |= lbx_write_zeros(w, 8);
		break;
	case USBIP_CMD_UNLINK:
		rc |= lbx_write_u32be(w, h->u.unlink.seqnum);
		rc |= lbx_write_zeros(w, 24);
		break;
	case USBIP_RET_UNLINK:
		rc |= lbx_write_u32be(w, (uint32_t)h->u.ret_unlink.status);
		rc |= lbx_write_zeros(w, 24);
		break;
	default: return -EINVAL;
	}
	return rc ? lbx_writer_error(w) : 0;
}

size_t usbip_cmd_payload_len(const struct usbip_hdr *h)
{
	if (h->command == USBIP_CMD_SUBMIT && h->direction == USBIP_DIR_OUT)
		return h->u.submit.length;
	return 0;
}

int usbip_cmd_read(struct lbx_reader *r, struct usbip_hdr *h, const uint8_t **data, size_t *n)
{
	struct lbx_reader peek = *r;
	int rc = usbip_hdr_read(&peek, h);
	size_t len;

	if (rc < 0)
		return rc;
	if (h->command != USBIP_CMD_SUBMIT && h->command != USBIP_CMD_UNLINK)
		return -EBADMSG;
	len = usbip_cmd_payload_len(h);
	if (lbx_reader_left(&peek) < len)
		return -ENODATA;
	*data = NULL;
	if (len && lbx_read_bytes(&peek, len, data) < 0)
		return lbx_reader_error(&peek);
	*n = len;
	*r = peek;
	return 0;
}

int usbip_ret_read(struct lbx_reader *r, int (*dir_of)(void *ctx, uint32_t seqnum), void *ctx,
		   struct usbip_hdr *h, const uint8_t **data, size_t *n)
{
	struct lbx_reader peek = *r;
	int rc = usbip_hdr_read(&peek, h);
	size_t len = 0;

	if (rc < 0)
		return rc;
	if (h->command != USBIP_RET_SUBMIT && h->command != USBIP_RET_UNLINK)
		return -EBADMSG;
	if (h->command == USBIP_RET_SUBMIT) {
		int dir = dir_of(ctx, h->seqnum);

		if (dir < 0)
			return -EBADMSG;
		if (dir == USBIP_DIR_IN)
			len = h->u.ret_submit.actual_length;
	}
	if (lbx_reader_left(&peek) < len)
		return -ENODATA;
	*data = NULL;
	if (len && lbx_read_bytes(&peek, len, data) < 0)
		return lbx_reader_error(&peek);
	*n = len;
	*r = peek;
	return 0;
}

int usbip_ret_submit_write(struct lbx_writer *w, uint32_t seqnum, int32_t status, uint32_t actual,
			   const void *in_data, size_t in_len)
{
	struct usbip_hdr h = { .command = USBIP_RET_SUBMIT, .seqnum = seqnum };
	int rc;

	h.u.ret_submit.status = status;
	h.u.ret_submit.actual_length = actual;
	/* The spec's "not isochronous"; vhci clamps any count above the submit's to 0. */
	h.u.ret_submit.npackets = USBIP_NOT_ISO;
	rc = usbip_hdr_write(w, &h);
	if (rc == 0 && in_len && lbx_write_bytes(w, in_data, in_len) < 0)
		rc = lbx_writer_error(w);
	return rc;
}

int usbip_ret_unlink_write(struct lbx_writer *w, uint32_t seqnum, int32_t status)
{
	struct usbip_hdr h = { .command = USBIP_RET_UNLINK, .seqnum = seqnum };

	h.u.ret_unlink.status = status;
	return usbip_hdr_write(w, &h);
}

int usbip_cmd_submit_write(struct lbx_writer *w, const struct usbip_hdr *h, const void *out_data,
			   size_t out_len)
{
	int rc = usbip_hdr_write(w, h);

	if (rc == 0 && out_len && lbx_write_bytes(w, out_data, out_len) < 0)
		rc = lbx_writer_error(w);
	return rc;
}

int usbip_cmd_unlink_write(struct lbx_writer *w, uint32_t seqnum, uint32_t devid,
			   uint32_t unlink_seqnum)
{
	struct usbip_hdr h = { .command = USBIP_CMD_UNLINK, .seqnum = seqnum, .devid = devid };

	h.u.unlink.seqnum = unlink_seqnum;
	return usbip_hdr_write(w, &h);
}

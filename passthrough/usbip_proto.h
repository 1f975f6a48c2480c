/* SPDX-License-Identifier: MIT */
/*
 * The USB/IP wire format (the kernel's Documentation/usb/usbip_protocol.rst,
 * version 1.1.1): the operation messages a connection starts with
 * (OP_REQ_DEVLIST, OP_REQ_IMPORT and their replies) and the 48-byte URB
 * headers that follow an import (CMD_SUBMIT, CMD_UNLINK, RET_SUBMIT,
 * RET_UNLINK). Every field is big-endian.
 *
 * Both directions are decoded through common/reader.h and encoded through
 * common/writer.h: lbx-usbipd reads what a guest's vhci-hcd sends, the
 * guest agent and the tests read what lbx-usbipd sends. A decoder either
 * returns a whole, checked message or an error (negative errno):
 *   -ENODATA   not all of it has arrived yet (read more, try again)
 *   -EBADMSG   not a message of this protocol (wrong code, version, field)
 *   -EMSGSIZE  a length beyond USBIP_MAX_TRANSFER
 *   -EOPNOTSUPP isochronous transfers (refused, see usbip_hdr_read)
 */
#ifndef LBX_USBIP_PROTO_H
#define LBX_USBIP_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "compiler.h"
#include "reader.h"
#include "writer.h"

#define USBIP_VERSION 0x0111

/* Operation codes (usbip_protocol.rst "Message Format"). */
#define USBIP_OP_REQ_DEVLIST 0x8005
#define USBIP_OP_REP_DEVLIST 0x0005
#define USBIP_OP_REQ_IMPORT  0x8003
#define USBIP_OP_REP_IMPORT  0x0003

/* URB commands (usbip_header_basic.command). */
#define USBIP_CMD_SUBMIT 1
#define USBIP_CMD_UNLINK 2
#define USBIP_RET_SUBMIT 3
#define USBIP_RET_UNLINK 4

#define USBIP_DIR_OUT 0
#define USBIP_DIR_IN  1

#define USBIP_OP_HDR_LEN     8
#define USBIP_HDR_LEN	     48
#define USBIP_BUSID_LEN	     32
#define USBIP_PATH_LEN	     256
#define USBIP_DEVICE_LEN     0x138 /* an exported device, without its interfaces */
#define USBIP_MAX_INTERFACES 32
/* The largest transfer lbx-usbipd takes (usbfs's own default limit is 16 MiB). */
#define USBIP_MAX_TRANSFER (1u << 20)
/* number_of_packets of a transfer that is not isochronous: vhci sends 0, the spec 0xffffffff. */
#define USBIP_NOT_ISO 0xffffffffu

/* USB speeds as usbip carries them (enum usb_device_speed). */
enum usbip_speed {
	USBIP_SPEED_LOW = 1,
	USBIP_SPEED_FULL = 2,
	USBIP_SPEED_HIGH = 3,
	USBIP_SPEED_SUPER = 5,
};

struct usbip_op_hdr {
	uint16_t version;
	uint16_t code;
	uint32_t status;
};

struct usbip_interface {
	uint8_t cls, subclass, protocol;
};

/* One exported device (OP_REP_DEVLIST entry, OP_REP_IMPORT body). */
struct usbip_device {
	char path[USBIP_PATH_LEN];
	char busid[USBIP_BUSID_LEN];
	uint32_t busnum, devnum, speed;
	uint16_t vendor, product, bcd_device;
	uint8_t dev_class, dev_subclass, dev_protocol;
	uint8_t config_value, nconfigs, ninterfaces;
	struct usbip_interface ifs[USBIP_MAX_INTERFACES];
};

struct usbip_hdr {
	uint32_t command;
	uint32_t seqnum;
	uint32_t devid; /* (busnum << 16) | devnum from the client, 0 from the server */
	uint32_t direction;
	uint32_t ep;
	union {
		struct {
			uint32_t transfer_flags;
			uint32_t length; /* transfer_buffer_length */
			int32_t start_frame;
			uint32_t npackets;
			int32_t interval;
			uint8_t setup[8];
		} submit;
		struct {
			int32_t status;
			uint32_t actual_length;
			int32_t start_frame;
			uint32_t npackets;
			int32_t error_count;
		} ret_submit;
		struct {
			uint32_t seqnum;
		} unlink;
		struct {
			int32_t status;
		} ret_unlink;
	} u;
};

/* --- operations --- */

/* An 8-byte operation header; -EBADMSG for a version other than 1.1.1. */
LBX_MUST_CHECK int usbip_op_hdr_read(struct lbx_reader *r, struct usbip_op_hdr *h);
LBX_MUST_CHECK int usbip_op_hdr_write(struct lbx_writer *w, uint16_t code, uint32_t status);

/*
 * A client's whole request (header and body): OP_REQ_DEVLIST or
 * OP_REQ_IMPORT, whose busid (NUL-terminated within its 32 bytes) goes to
 * busid. *code says which.
 */
LBX_MUST_CHECK int usbip_op_request_read(struct lbx_reader *r, uint16_t *code,
					 char busid[USBIP_BUSID_LEN]);
LBX_MUST_CHECK int usbip_req_import_write(struct lbx_writer *w, const char *busid);
LBX_MUST_CHECK int usbip_req_devlist_write(struct lbx_writer *w);

/* The device as OP_REP_IMPORT (no interfaces) or a DEVLIST entry (with them). */
LBX_MUST_CHECK int usbip_device_write(struct lbx_writer *w, const struct usbip_device *d,
				      bool with_interfaces);
LBX_MUST_CHECK int usbip_device_read(struct lbx_reader *r, struct usbip_device *d,
				     bool with_interfaces);

/* OP_REP_IMPORT: status 0 and the device, or status 1 alone (refused). */
LBX_MUST_CHECK int usbip_rep_import_write(struct lbx_writer *w, const struct usbip_device *d);
/* Reads a whole OP_REP_IMPORT; *ok false (and d untouched) when the server refused. */
LBX_MUST_CHECK int usbip_rep_import_read(struct lbx_reader *r, bool *ok, struct usbip_device *d);
LBX_MUST_CHECK int usbip_rep_devlist_write(struct lbx_writer *w, const struct usbip_device *devs,
					   unsigned n);
/* Reads a whole OP_REP_DEVLIST into devs (at most max; more is -EMSGSIZE). */
LBX_MUST_CHECK int usbip_rep_devlist_read(struct lbx_reader *r, struct usbip_device *devs,
					  unsigned max, unsigned *n);

/* --- URB traffic --- */

/*
 * A 48-byte header, checked: a known command, direction 0 or 1, endpoint
 * 0..15, a CMD_SUBMIT length within USBIP_MAX_TRANSFER. An isochronous
 * CMD_SUBMIT (number_of_packets neither 0 nor 0xffffffff) is -EOPNOTSUPP:
 * lbx-usbipd refuses it (and says so) rather than parse its descriptors.
 */
LBX_MUST_CHECK int usbip_hdr_read(struct lbx_reader *r, struct usbip_hdr *h);
LBX_MUST_CHECK int usbip_hdr_write(struct lbx_writer *w, const struct usbip_hdr *h);

/* How many bytes follow a client's header h on the wire (the OUT data of a submit). */
size_t usbip_cmd_payload_len(const struct usbip_hdr *h);

/*
 * One whole client message: header and its OUT data (*data points into
 * the reader's buffer, *n its length). -ENODATA until all of it is there;
 * nothing is consumed then.
 */
LBX_MUST_CHECK int usbip_cmd_read(struct lbx_reader *r, struct usbip_hdr *h, const uint8_t **data,
				  size_t *n);
/*
 * The same for one server message (RET_SUBMIT with its IN data, or
 * RET_UNLINK). A reply does not say its direction, so dir_of(ctx, seqnum)
 * gives that of the submit it answers (USBIP_DIR_IN/OUT, or -1 for a
 * seqnum the client never sent: -EBADMSG).
 */
LBX_MUST_CHECK int usbip_ret_read(struct lbx_reader *r, int (*dir_of)(void *ctx, uint32_t seqnum),
				  void *ctx, struct usbip_hdr *h, const uint8_t **data, size_t *n);

/* RET_SUBMIT for seqnum with IN data (NULL/0 for OUT) and RET_UNLINK. */
LBX_MUST_CHECK int usbip_ret_submit_write(struct lbx_writer *w, uint32_t seqnum, int32_t status,
					  uint32_t actual, const void *in_data, size_t in_len);
LBX_MUST_CHECK int usbip_ret_unlink_write(struct lbx_writer *w, uint32_t seqnum, int32_t status);

/* A client's CMD_SUBMIT (tests, benchmarks) and CMD_UNLINK. */
LBX_MUST_CHECK int usbip_cmd_submit_write(struct lbx_writer *w, const struct usbip_hdr *h,
					  const void *out_data, size_t out_len);
LBX_MUST_CHECK int usbip_cmd_unlink_write(struct lbx_writer *w, uint32_t seqnum, uint32_t devid,
					  uint32_t unlink_seqnum);

const char *usbip_command_name(uint32_t command);

#endif

/* SPDX-License-Identifier: MIT */
#include "wire.h"

#include <errno.h>
#include <string.h>

#include "reader.h"

int wlp_header(const uint8_t *buf, size_t len, struct wlp_header *h)
{
	struct lbx_reader r;
	uint32_t word;

	if (len < WLP_HEADER)
		return -EAGAIN;
	lbx_reader_init(&r, buf, WLP_HEADER);
	if (lbx_read_u32le(&r, &h->id) < 0 || lbx_read_u32le(&r, &word) < 0)
		return -EBADMSG;
	h->size = word >> 16;
	h->opcode = word & 0xffff;
	if (h->size < WLP_HEADER || h->size % 4 || h->size > WLP_MSG_MAX)
		return -EBADMSG;
	return len < h->size ? -EAGAIN : 0;
}

static size_t pad4(size_t n)
{
	return (n + 3) & ~(size_t)3;
}

/* A string: u32 length with its NUL (0: null), the bytes, padding. */
static int read_string(struct lbx_reader *r, bool nullable, const char **s, size_t *n)
{
	const uint8_t *p;
	uint32_t len;

	if (lbx_read_u32le(r, &len) < 0)
		return -EBADMSG;
	if (len == 0) {
		*s = NULL;
		*n = 0;
		return nullable ? 0 : -EBADMSG;
	}
	if (len > WLP_MSG_MAX || lbx_read_bytes(r, pad4(len), &p) < 0)
		return -EBADMSG;
	if (p[len - 1] != 0 || memchr(p, 0, len - 1))
		return -EBADMSG;
	*s = (const char *)p;
	*n = len - 1;
	return 0;
}

static int decode_arg(struct lbx_reader *r, const struct wlp_arg *a, struct wlp_val *v,
		      unsigned *nfds)
{
	uint32_t len;

	switch (a->type) {
	case 'i':
	case 'u':
	case 'f': return lbx_read_u32le(r, &v->u) < 0 ? -EBADMSG : 0;
	case 'o':
		if (lbx_read_u32le(r, &v->u) < 0)
			return -EBADMSG;
		return v->u == 0 && !a->nullable ? -EBADMSG : 0;
	case 'n':
		if (!a->iface) {
			if (read_string(r, false, &v->str, &v->len) < 0 ||
			    lbx_read_u32le(r, &v->version) < 0)
				return -EBADMSG;
		}
		if (lbx_read_u32le(r, &v->u) < 0)
			return -EBADMSG;
		return v->u == 0 ? -EBADMSG : 0;
	case 's': return read_string(r, a->nullable, &v->str, &v->len);
	case 'a':
		if (lbx_read_u32le(r, &len) < 0 || len > WLP_MSG_MAX ||
		    lbx_read_bytes(r, pad4(len), &v->p) < 0)
			return -EBADMSG;
		v->len = len;
		return 0;
	case 'h': (*nfds)++; return 0;
	}
	return -EBADMSG;
}

int wlp_decode(const struct wlp_msg *m, const uint8_t *body, size_t len, struct wlp_val *vals,
	       unsigned *nfds)
{
	struct lbx_reader r;

	*nfds = 0;
	if (m->nargs > WLP_MAX_ARGS)
		return -EBADMSG;
	lbx_reader_init(&r, body, len);
	for (unsigned i = 0; i < m->nargs; i++) {
		memset(&vals[i], 0, sizeof(vals[i]));
		if (decode_arg(&r, &m->args[i], &vals[i], nfds) < 0)
			return -EBADMSG;
	}
	return lbx_read_end(&r) < 0 ? -EBADMSG : 0;
}

static int write_string(struct lbx_writer *w, const char *s, size_t n)
{
	if (!s)
		return lbx_write_u32le(w, 0);
	if (lbx_write_u32le(w, (uint32_t)n + 1) < 0 || lbx_write_bytes(w, s, n) < 0)
		return -ENOSPC;
	return lbx_write_zeros(w, pad4(n + 1) - n);
}

int wlp_encode(struct lbx_writer *w, uint32_t id, uint16_t opcode, const struct wlp_msg *m,
	       const struct wlp_val *vals)
{
	size_t start = lbx_writer_len(w), off;
	int rc = 0;

	if (lbx_write_u32le(w, id) < 0 || lbx_write_reserve(w, 4, &off) < 0)
		return -ENOSPC;
	for (unsigned i = 0; i < m->nargs && rc == 0; i++) {
		const struct wlp_val *v = &vals[i];

		switch (m->args[i].type) {
		case 'n':
			if (!m->args[i].iface && (write_string(w, v->str, v->len) < 0 ||
						  lbx_write_u32le(w, v->version) < 0))
				rc = -ENOSPC;
			/* fallthrough */
		case 'i':
		case 'u':
		case 'f':
		case 'o':
			if (rc == 0)
				rc = lbx_write_u32le(w, v->u);
			break;
		case 's': rc = write_string(w, v->str, v->len); break;
		case 'a':
			if (lbx_write_u32le(w, (uint32_t)v->len) < 0 ||
			    lbx_write_bytes(w, v->p, v->len) < 0 ||
			    lbx_write_zeros(w, pad4(v->len) - v->len) < 0)
				rc = -ENOSPC;
			break;
		case 'h': break;
		}
	}
	size_t size = lbx_writer_len(w) - start;
	if (rc < 0 || lbx_writer_error(w) < 0 || size > WLP_MSG_MAX)
		return -EMSGSIZE;
	return lbx_write_patch_u32le(w, off, (uint32_t)size << 16 | opcode);
}

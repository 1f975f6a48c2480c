/* SPDX-License-Identifier: MIT */
#include "exec_proto.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

int exec_frame_next(const uint8_t *buf, size_t len, uint8_t *type, struct lbx_reader *payload,
		    size_t *used)
{
	struct lbx_reader r, frame;
	uint32_t flen;

	lbx_reader_init(&r, buf, len);
	if (lbx_read_u32le(&r, &flen))
		return 0;
	if (flen == 0 || flen > EXEC_FRAME_MAX)
		return -EBADMSG;
	if (lbx_read_sub(&r, flen, &frame))
		return 0;
	if (lbx_read_u8(&frame, type))
		return -EBADMSG;
	*payload = frame;
	*used = 4 + (size_t)flen;
	return 1;
}

/* A string as a fresh C string; embedded NULs are refused. */
static int read_str(struct lbx_reader *r, char **out)
{
	const uint8_t *p;
	size_t n;
	int err = lbx_read_blob(r, LBX_LEN_U32LE, EXEC_MAX_STRING, &p, &n);

	if (err)
		return err;
	if (memchr(p, 0, n))
		return -EBADMSG;
	*out = strndup((const char *)p, n);
	return *out ? 0 : -ENOMEM;
}

static int read_strv(struct lbx_reader *r, uint32_t max, uint32_t *count, char ***out)
{
	uint32_t n;
	char **v;
	int err = lbx_read_u32le(r, &n);

	if (err)
		return err;
	/* Each string takes at least 4 bytes: refuse counts the frame cannot hold. */
	if (n > max || n > lbx_reader_left(r) / 4)
		return -EBADMSG;
	v = calloc((size_t)n + 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (uint32_t i = 0; i < n; i++) {
		err = read_str(r, &v[i]);
		if (err) {
			for (uint32_t j = 0; j < i; j++)
				free(v[j]);
			free(v);
			return err;
		}
	}
	*count = n;
	*out = v;
	return 0;
}

void exec_request_free(struct exec_request *req)
{
	for (uint32_t i = 0; req->argv && i < req->argc; i++)
		free(req->argv[i]);
	for (uint32_t i = 0; req->env && i < req->envc; i++)
		free(req->env[i]);
	free(req->argv);
	free(req->env);
	free((char *)req->cwd);
	memset(req, 0, sizeof(*req));
}

int exec_request_decode(struct lbx_reader *r, struct exec_request *req)
{
	char *cwd = NULL;
	int err;

	memset(req, 0, sizeof(*req));
	if ((err = lbx_read_u32le(r, &req->version)) || (err = lbx_read_u32le(r, &req->flags)) ||
	    (err = lbx_read_u16le(r, &req->rows)) || (err = lbx_read_u16le(r, &req->cols)))
		return err;
	if (req->version != EXEC_PROTO_VERSION || (req->flags & ~EXEC_F_ALL))
		return -EPROTO;
	err = read_str(r, &cwd);
	if (err)
		return err;
	req->cwd = cwd;
	err = read_strv(r, EXEC_MAX_ARGS, &req->argc, &req->argv);
	if (!err)
		err = read_strv(r, EXEC_MAX_ENV, &req->envc, &req->env);
	if (!err && req->argc == 0)
		err = -EBADMSG;
	for (uint32_t i = 0; !err && i < req->envc; i++)
		if (req->env[i][0] == '=' || !strchr(req->env[i], '='))
			err = -EBADMSG;
	if (!err)
		err = lbx_read_end(r);
	if (err)
		exec_request_free(req);
	return err;
}

static int write_str(struct lbx_writer *w, const char *s)
{
	return lbx_write_blob(w, LBX_LEN_U32LE, s, strlen(s));
}

static int write_strv(struct lbx_writer *w, char *const *v)
{
	uint32_t n = 0;
	int err;

	while (v && v[n])
		n++;
	err = lbx_write_u32le(w, n);
	for (uint32_t i = 0; !err && i < n; i++)
		err = write_str(w, v[i]);
	return err;
}

/* Start a frame: reserve its length; finish_frame patches it. */
static int begin_frame(struct lbx_writer *w, uint8_t type, size_t *off)
{
	int err = lbx_write_reserve(w, 4, off);

	return err ? err : lbx_write_u8(w, type);
}

static int finish_frame(struct lbx_writer *w, size_t off)
{
	size_t len;

	if (lbx_writer_error(w))
		return lbx_writer_error(w);
	len = lbx_writer_len(w) - off - 4;
	if (len > EXEC_FRAME_MAX)
		return -EMSGSIZE;
	return lbx_write_patch_u32le(w, off, (uint32_t)len);
}

int exec_request_encode(struct lbx_writer *w, uint32_t flags, uint16_t rows, uint16_t cols,
			const char *cwd, char *const *argv, char *const *env)
{
	size_t off;
	int err = begin_frame(w, EXEC_MSG_EXEC, &off);

	if (!err)
		err = lbx_write_u32le(w, EXEC_PROTO_VERSION);
	if (!err)
		err = lbx_write_u32le(w, flags);
	if (!err)
		err = lbx_write_u16le(w, rows);
	if (!err)
		err = lbx_write_u16le(w, cols);
	if (!err)
		err = write_str(w, cwd ? cwd : "");
	if (!err)
		err = write_strv(w, argv);
	if (!err)
		err = write_strv(w, env);
	return err ? err : finish_frame(w, off);
}

int exec_frame_write(struct lbx_writer *w, uint8_t type, const void *p, size_t n)
{
	if (n + 1 > EXEC_FRAME_MAX)
		return -EMSGSIZE;
	if (lbx_write_u32le(w, (uint32_t)(n + 1)) || lbx_write_u8(w, type) ||
	    lbx_write_bytes(w, p, n))
		return lbx_writer_error(w);
	return 0;
}

int exec_write_u16_pair(struct lbx_writer *w, uint8_t type, uint16_t a, uint16_t b)
{
	uint8_t p[4] = { (uint8_t)a, (uint8_t)(a >> 8), (uint8_t)b, (uint8_t)(b >> 8) };

	return exec_frame_write(w, type, p, sizeof(p));
}

int exec_write_u32(struct lbx_writer *w, uint8_t type, uint32_t v)
{
	uint8_t p[4];

	lbx_put_u32le(p, v);
	return exec_frame_write(w, type, p, sizeof(p));
}

int exec_write_exited(struct lbx_writer *w, uint8_t kind, uint32_t value)
{
	uint8_t p[5] = { kind };

	lbx_put_u32le(p + 1, value);
	return exec_frame_write(w, EXEC_MSG_EXITED, p, sizeof(p));
}

int exec_write_error(struct lbx_writer *w, const char *msg)
{
	size_t off;
	int err = begin_frame(w, EXEC_MSG_ERROR, &off);

	if (!err)
		err = write_str(w, msg);
	return err ? err : finish_frame(w, off);
}

int exec_decode_resize(struct lbx_reader *r, uint16_t *rows, uint16_t *cols)
{
	int err = lbx_read_u16le(r, rows);

	if (!err)
		err = lbx_read_u16le(r, cols);
	return err ? err : lbx_read_end(r);
}

int exec_decode_signal(struct lbx_reader *r, uint32_t *signo)
{
	int err = lbx_read_u32le(r, signo);

	return err ? err : lbx_read_end(r);
}

int exec_decode_started(struct lbx_reader *r, uint32_t *pid)
{
	int err = lbx_read_u32le(r, pid);

	return err ? err : lbx_read_end(r);
}

int exec_decode_exited(struct lbx_reader *r, uint8_t *kind, uint32_t *value)
{
	int err = lbx_read_u8(r, kind);

	if (!err)
		err = lbx_read_u32le(r, value);
	if (!err && *kind != EXEC_EXIT_CODE && *kind != EXEC_EXIT_SIGNAL)
		err = -EBADMSG;
	return err ? err : lbx_read_end(r);
}

int exec_decode_error(struct lbx_reader *r, char *dst, size_t dstsz)
{
	int err = lbx_read_string(r, LBX_LEN_U32LE, dst, dstsz);

	return err ? err : lbx_read_end(r);
}

bool exec_proto_signal_allowed(uint32_t signo)
{
	switch (signo) {
	case SIGHUP:
	case SIGINT:
	case SIGQUIT:
	case SIGKILL:
	case SIGUSR1:
	case SIGUSR2:
	case SIGTERM:
	case SIGCONT:
	case SIGSTOP:
	case SIGTSTP:
	case SIGWINCH:
		return true;
	default:
		return false;
	}
}

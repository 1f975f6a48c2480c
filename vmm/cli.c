/* SPDX-License-Identifier: MIT */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compiler.h"
#include "layout.h" /* the architecture's: x86/ or arm64/ */

#define MAX_MEM_MIB (1024ULL * 1024) /* 1 TiB */

static const char usage[] =
	"usage: lbx-vmm --kernel FILE [--initrd FILE] [--cmdline TEXT] [--mem MIB]\n"
	"               [--cpus N] [--console PATH|stdio] [--rng] [--virtio-console]\n"
	"               [--vhost-user fs|vsock|net|blk|gpu,SOCKET[,tag=TAG]]...\n"
	"               [--boot auto|linux64|pvh] [--dump-boot-info FILE] [--no-seccomp]\n"
	"\n"
	"Boot a Linux kernel (vmlinux ELF or bzImage) in a KVM microVM.\n"
	"\n"
	"  --kernel FILE          vmlinux (PVH note used when present) or bzImage\n"
	"  --initrd FILE          initramfs, loaded high in RAM\n"
	"  --cmdline TEXT         kernel command line (devices are appended)\n"
	"  --mem MIB              guest RAM in MiB (default 256, at least 16)\n"
	"  --cpus N               vCPUs, 1 to 64 (default 1)\n"
	"  --console PATH|stdio   where COM1 and virtio-console output go (default stdio)\n"
	"  --rng                  add a virtio-rng device\n"
	"  --virtio-console       add a virtio-console device (hvc0)\n"
	"  --vhost-user TYPE,SOCKET[,tag=TAG]\n"
	"                         add a vhost-user device served on unix socket SOCKET\n"
	"  --boot auto|linux64|pvh  entry protocol (default auto: PVH if the ELF has it)\n"
	"  --dump-boot-info FILE  write what the boot loader placed in guest memory\n"
	"  --no-seccomp           do not install syscall filters (debugging only)\n"
	"  -h, --help             show this help\n"
	"  -V, --version          show the version\n";

const char *vmm_cli_usage(void)
{
	return usage;
}

static int bad(char *err, size_t errsz, const char *fmt, ...) LBX_PRINTF(3, 4);
static int bad(char *err, size_t errsz, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errsz, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int parse_u64(const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!*s || *s == '-')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v < lo || v > hi)
		return -EINVAL;
	*out = v;
	return 0;
}

static const char *const vhost_names[] = { "fs", "vsock", "net", "blk", "gpu" };

const char *vmm_vhost_type_name(enum vmm_vhost_type t)
{
	return vhost_names[t];
}

/* TYPE,SOCKET[,tag=TAG]; a tag only for fs, and fs needs one. */
static int parse_vhost(char *arg, struct vmm_config *c, char *err, size_t errsz)
{
	struct vmm_vhost_spec *v = &c->vhost[c->nvhost];
	char *type = strtok(arg, ","), *sock = strtok(NULL, ","), *opt;
	size_t i;

	if (c->nvhost == VMM_MAX_VHOST)
		return bad(err, errsz, "--vhost-user: at most %d devices", VMM_MAX_VHOST);
	for (i = 0; type && i < LBX_ARRAY_SIZE(vhost_names); i++)
		if (!strcmp(type, vhost_names[i]))
			break;
	if (!type || i == LBX_ARRAY_SIZE(vhost_names))
		return bad(err, errsz, "--vhost-user: type must be fs, vsock, net, blk or gpu");
	if (!sock || !*sock)
		return bad(err, errsz, "--vhost-user %s: missing socket path", type);
	memset(v, 0, sizeof(*v));
	v->type = (enum vmm_vhost_type)i;
	v->socket = sock;
	while ((opt = strtok(NULL, ","))) {
		if (strncmp(opt, "tag=", 4) || v->type != VMM_VHOST_FS)
			return bad(err, errsz, "--vhost-user %s: unknown option '%s'", type, opt);
		if (!opt[4] || strlen(opt + 4) > VMM_TAG_MAX)
			return bad(err, errsz, "--vhost-user fs: tag must be 1 to %d bytes",
				   VMM_TAG_MAX);
		strcpy(v->tag, opt + 4);
	}
	if (v->type == VMM_VHOST_FS && !v->tag[0])
		return bad(err, errsz, "--vhost-user fs,%s: needs tag=TAG", sock);
	c->nvhost++;
	return 0;
}

static int parse_boot(const char *s, struct vmm_config *c, char *err, size_t errsz)
{
	if (!strcmp(s, "auto"))
		c->protocol = VMM_BOOT_AUTO;
	else if (!strcmp(s, "linux64"))
		c->protocol = VMM_BOOT_LINUX64;
	else if (!strcmp(s, "pvh"))
		c->protocol = VMM_BOOT_PVH;
	else
		return bad(err, errsz, "--boot: expected auto, linux64 or pvh, got '%s'", s);
	return 0;
}

enum { OPT_RNG = 256, OPT_VCONSOLE, OPT_VHOST, OPT_BOOT, OPT_DUMP, OPT_NO_SECCOMP };

static const struct option options[] = {
	{ "kernel", required_argument, NULL, 'k' },
	{ "initrd", required_argument, NULL, 'i' },
	{ "cmdline", required_argument, NULL, 'c' },
	{ "mem", required_argument, NULL, 'm' },
	{ "cpus", required_argument, NULL, 'n' },
	{ "console", required_argument, NULL, 'o' },
	{ "rng", no_argument, NULL, OPT_RNG },
	{ "virtio-console", no_argument, NULL, OPT_VCONSOLE },
	{ "vhost-user", required_argument, NULL, OPT_VHOST },
	{ "boot", required_argument, NULL, OPT_BOOT },
	{ "dump-boot-info", required_argument, NULL, OPT_DUMP },
	{ "no-seccomp", no_argument, NULL, OPT_NO_SECCOMP },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

static int parse_one(int opt, char *arg, struct vmm_config *c, char *err, size_t errsz)
{
	uint64_t v;

	switch (opt) {
	case 'k': c->kernel = arg; return 0;
	case 'i': c->initrd = arg; return 0;
	case 'c': c->cmdline = arg; return 0;
	case 'o': c->console = arg; return 0;
	case 'm':
		if (parse_u64(arg, LBX_MIN_MEM_MIB, MAX_MEM_MIB, &v))
			return bad(err, errsz, "--mem: expected MiB from %d to %llu, got '%s'",
				   LBX_MIN_MEM_MIB, (unsigned long long)MAX_MEM_MIB, arg);
		c->mem_mib = v;
		return 0;
	case 'n':
		if (parse_u64(arg, 1, LBX_MAX_CPUS, &v))
			return bad(err, errsz, "--cpus: expected 1 to %d, got '%s'", LBX_MAX_CPUS,
				   arg);
		c->cpus = (unsigned)v;
		return 0;
	case OPT_RNG: c->rng = true; return 0;
	case OPT_VCONSOLE: c->virtio_console = true; return 0;
	case OPT_VHOST: return parse_vhost(arg, c, err, errsz);
	case OPT_BOOT: return parse_boot(arg, c, err, errsz);
	case OPT_DUMP: c->dump_boot_info = arg; return 0;
	case OPT_NO_SECCOMP: c->seccomp = false; return 0;
	default: return bad(err, errsz, "unknown option (see --help)");
	}
}

int vmm_cli_parse(int argc, char **argv, struct vmm_config *c, char *err, size_t errsz)
{
	int opt, rc;

	memset(c, 0, sizeof(*c));
	c->mem_mib = 256;
	c->cpus = 1;
	c->console = "stdio";
	c->cmdline = "";
	c->seccomp = true;
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":hV", options, NULL)) != -1) {
		if (opt == 'h' || opt == 'V') {
			fputs(opt == 'h' ? usage : "lbx-vmm " LBX_VERSION "\n", stdout);
			return 1;
		}
		if (opt == ':')
			return bad(err, errsz, "%s needs an argument", argv[optind - 1]);
		if (opt == '?')
			return bad(err, errsz, "unknown option '%s' (see --help)", argv[optind - 1]);
		rc = parse_one(opt, optarg, c, err, errsz);
		if (rc)
			return rc;
	}
	if (optind < argc)
		return bad(err, errsz, "unexpected argument '%s' (see --help)", argv[optind]);
	if (!c->kernel)
		return bad(err, errsz, "--kernel is required (see --help)");
	return 0;
}

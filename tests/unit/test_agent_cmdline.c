/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <string.h>

#include "cmdline.h"
#include "tap.h"

static int parse(const char *s, struct agent_config *cfg, char *err)
{
	return agent_cmdline_parse(s, strlen(s), cfg, err, 256);
}

int main(void)
{
	struct agent_config cfg;
	char err[256];
	int rc;

	rc = parse("console=ttyS0 reboot=k lbx.hostname=web-1 lbx.argv=/bin/sh lbx.argv=-c "
		   "lbx.argv=echo%20hi%3b%20exit%203 quiet\n",
		   &cfg, err);
	is_int(rc, 0, "typical command line parses");
	ok(!strcmp(cfg.hostname, "web-1"), "hostname");
	is_int(cfg.argc, 3, "three arguments");
	ok(cfg.argc == 3 && !strcmp(cfg.argv[2], "echo hi; exit 3"), "percent escapes decoded");
	ok(cfg.argv[cfg.argc] == NULL, "argv is NULL-terminated");
	ok(!cfg.tty && !cfg.cwd, "defaults");
	agent_config_free(&cfg);

	rc = parse("lbx.argv=\"a b\" \"lbx.env=X=1 2\" lbx.cwd=/tmp lbx.tty=1", &cfg, err);
	ok(rc == 0 && cfg.argc == 1 && !strcmp(cfg.argv[0], "a b"), "quoted value keeps spaces");
	ok(cfg.envc == 1 && !strcmp(cfg.env[0], "X=1 2"), "fully quoted parameter");
	ok(cfg.cwd && !strcmp(cfg.cwd, "/tmp") && cfg.tty, "cwd and tty");
	agent_config_free(&cfg);

	rc = parse("root=/dev/vda", &cfg, err);
	ok(rc == 0 && cfg.argc == 0 && !strcmp(cfg.hostname, "lbx"), "no lbx parameters");
	agent_config_free(&cfg);

	is_int(parse("lbx.argv=%zz", &cfg, err), -EINVAL, "bad escape rejected");
	ok(strstr(err, "lbx.argv") != NULL, "error names the parameter: %s", err);
	agent_config_free(&cfg);
	is_int(parse("lbx.argv=a%00b", &cfg, err), -EINVAL, "escaped NUL rejected");
	agent_config_free(&cfg);
	is_int(parse("lbx.argv=%4", &cfg, err), -EINVAL, "truncated escape rejected");
	agent_config_free(&cfg);
	is_int(parse("lbx.hostname=a/b", &cfg, err), -EINVAL, "bad hostname rejected");
	agent_config_free(&cfg);
	is_int(parse("lbx.bogus=1", &cfg, err), -EINVAL, "unknown lbx parameter rejected");
	ok(strstr(err, "lbx.bogus") != NULL, "error names it: %s", err);
	agent_config_free(&cfg);
	is_int(parse("lbx.env=novalue", &cfg, err), -EINVAL, "env without = rejected");
	agent_config_free(&cfg);
	is_int(parse("lbx.tty", &cfg, err), -EINVAL, "parameter without value rejected");
	agent_config_free(&cfg);

	rc = parse("lbx.serve=1024 lbx.uid=1000 lbx.gid=100 lbx.user=dev lbx.home=/home/dev lbx.root=0",
		   &cfg, err);
	ok(rc == 0 && cfg.serve.kind == LBX_EP_VSOCK && cfg.serve.port == 1024 && cfg.uid == 1000 && cfg.gid == 100,
	   "service port and box user ids");
	ok(!strcmp(cfg.user, "dev") && !strcmp(cfg.home, "/home/dev") && !cfg.allow_root,
	   "user name, home, root sessions denied");
	agent_config_free(&cfg);
	rc = parse("", &cfg, err);
	ok(rc == 0 && cfg.allow_root && !strcmp(cfg.user, "root") && cfg.serve.kind == LBX_EP_NONE,
	   "defaults: root allowed, user root, no service");
	agent_config_free(&cfg);
	is_int(parse("lbx.serve=0", &cfg, err), -EINVAL, "port 0 refused");
	agent_config_free(&cfg);
	is_int(parse("lbx.uid=12x", &cfg, err), -EINVAL, "non-numeric uid refused");
	agent_config_free(&cfg);
	is_int(parse("lbx.user=-x", &cfg, err), -EINVAL, "user name starting with - refused");
	agent_config_free(&cfg);
	is_int(parse("lbx.home=relative", &cfg, err), -EINVAL, "relative home refused");
	agent_config_free(&cfg);

	rc = parse("lbx.mount=project:/home/u/my%20app lbx.mount=data:/data:ro lbx.rw=/opt/out "
		   "lbx.ro=/srv lbx.elsewhere=none",
		   &cfg, err);
	ok(rc == 0 && cfg.nmounts == 2, "two mounts (%s)", err);
	ok(cfg.nmounts == 2 && !strcmp(cfg.mounts[0].tag, "project") &&
		   !strcmp(cfg.mounts[0].path, "/home/u/my app") && !cfg.mounts[0].read_only &&
		   cfg.mounts[1].read_only && !strcmp(cfg.mounts[1].path, "/data"),
	   "mount tags, decoded paths, ro flag");
	ok(cfg.nrw == 1 && cfg.nro == 1 && !strcmp(cfg.rw_paths[0], "/opt/out") &&
		   !cfg.elsewhere_readable,
	   "Landlock paths and elsewhere=none");
	agent_config_free(&cfg);
	rc = parse("lbx.net=10.0.2.15/24,10.0.2.2,10.0.2.3", &cfg, err);
	ok(rc == 0 && !strcmp(cfg.net_cidr, "10.0.2.15/24") && !strcmp(cfg.net_gw, "10.0.2.2") &&
		   !strcmp(cfg.net_dns, "10.0.2.3"),
	   "static network from lbx.net");
	agent_config_free(&cfg);
	is_int(parse("lbx.net=10.0.2.15,10.0.2.2", &cfg, err), -EINVAL, "lbx.net needs three parts");
	agent_config_free(&cfg);
	rc = parse("lbx.rootfs=root", &cfg, err);
	ok(rc == 0 && !strcmp(cfg.rootfs, "root"), "root tree tag");
	agent_config_free(&cfg);
	is_int(parse("lbx.rootfs=0123456789012345678901234567890123456", &cfg, err), -EINVAL,
	       "a root tag longer than virtio-fs allows refused");
	agent_config_free(&cfg);
	is_int(parse("lbx.mount=/nopath", &cfg, err), -EINVAL, "mount without a tag refused");
	agent_config_free(&cfg);
	is_int(parse("lbx.mount=t:relative", &cfg, err), -EINVAL, "relative mount path refused");
	agent_config_free(&cfg);
	is_int(parse("lbx.mount=t:/a/../etc", &cfg, err), -EINVAL, "mount path with .. refused");
	agent_config_free(&cfg);
	is_int(parse("lbx.mount=0123456789012345678901234567890123456:/x", &cfg, err), -EINVAL,
	       "a tag longer than virtio-fs allows refused");
	agent_config_free(&cfg);
	is_int(parse("lbx.elsewhere=all", &cfg, err), -EINVAL, "bad elsewhere refused");
	agent_config_free(&cfg);
	is_int(parse("lbx.rw=tmp", &cfg, err), -EINVAL, "relative rw path refused");
	agent_config_free(&cfg);

	char many[64 * 12 + 64] = "";
	for (int i = 0; i < 65; i++)
		strcat(many, "lbx.argv=x ");
	is_int(parse(many, &cfg, err), -E2BIG, "more than 64 arguments rejected");
	agent_config_free(&cfg);
	return tap_done();
}

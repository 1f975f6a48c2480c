/* SPDX-License-Identifier: MIT */
/* Box definitions: defaults, every key, and one clear error per mistake. */
#include <errno.h>
#include <string.h>

#include "config.h"
#include "tap.h"

static int parse(const char *json, struct box_config *c, char *err, const char *project)
{
	return box_config_parse(c, "lbx.json", json, strlen(json), project, err, 512);
}

static void expect_error(const char *json, const char *needle, const char *what)
{
	struct box_config c;
	char err[512] = "";
	int rc = parse(json, &c, err, "/src/app");

	ok(rc < 0 && strstr(err, needle) != NULL, "%s: %s", what, err);
	ok(strchr(err, '\n') == NULL, "  ...in one line");
	box_config_free(&c);
}

int main(void)
{
	struct box_config c;
	char err[512];

	ok(box_config_defaults(&c, "/home/u/src/my app") == 0, "defaults");
	ok(!strcmp(c.name, "my-app"), "name from the directory, made valid: %s", c.name);
	ok(!strcmp(c.project, "/home/u/src/my app") && !strcmp(c.workdir, c.project),
	   "the project appears at the same path in the guest");
	ok(c.engine == ENGINE_AUTO && c.cpus == 2 && c.memory_mib == 1024 && c.root_sessions &&
		   c.elsewhere_readable,
	   "engine auto, 2 cpus, 1 GiB, root sessions, the rest read-only");
	box_config_free(&c);

	ok(parse("{\"name\": \"web\", \"workdir\": \"/work\", \"engine\": \"qemu\", \"cpus\": 4,"
		 " \"memory\": 2048, \"image\": \"busybox\","
		 " \"mounts\": [{\"host\": \"/data\", \"guest\": \"/mnt/data\", \"mode\": \"ro\"},"
		 "              {\"host\": \"/cache\", \"guest\": \"/cache\"}],"
		 " \"env\": [\"EDITOR=vi\", \"A=b=c\"],"
		 " \"landlock\": {\"read_write\": [\"/opt/out\"], \"read_only\": [\"/srv\"],"
		 "                \"elsewhere\": \"none\", \"root_sessions\": false}}",
		 &c, err, "/src/app") == 0,
	   "a definition with every key parses (%s)", err);
	ok(!strcmp(c.name, "web") && !strcmp(c.workdir, "/work") && !strcmp(c.project, "/src/app"),
	   "name, workdir; the project is the directory of lbx.json");
	ok(c.engine == ENGINE_QEMU && c.cpus == 4 && c.memory_mib == 2048, "engine, cpus, memory");
	ok(c.nmounts == 2 && c.mounts[0].read_only && !c.mounts[1].read_only &&
		   !strcmp(c.mounts[0].guest, "/mnt/data"),
	   "mounts with modes (rw by default)");
	ok(c.nenv == 2 && !strcmp(c.env[1], "A=b=c"), "env");
	ok(c.nrw == 1 && c.nro == 1 && !c.elsewhere_readable && !c.root_sessions, "landlock");
	box_config_free(&c);

	ok(parse("{\"engine\": \"libvirt\"}", &c, err, "/src/app") == 0 &&
		   c.engine == ENGINE_LIBVIRT && !strcmp(box_engine_name(c.engine), "libvirt"),
	   "engine libvirt (%s)", err);
	box_config_free(&c);
	expect_error("{\"nmae\": \"x\"}", "nmae", "an unknown key is named");
	expect_error("{\"cpus\": \"4\"}", "cpus", "a string where a number belongs");
	expect_error("{\"cpus\": 0}", "cpus", "cpus out of range");
	expect_error("{\"memory\": 64}", "memory", "memory below 128 MiB");
	expect_error("{\"engine\": \"docker\"}", "engine", "an unknown engine");
	expect_error("{\"name\": \"../evil\"}", "name", "a name that is not a box name");
	expect_error("{\"workdir\": \"relative\"}", "workdir", "a relative workdir");
	expect_error("{\"workdir\": \"/a/../b\"}", "workdir", "a workdir with ..");
	expect_error("{\"mounts\": [{\"host\": \"/x\"}]}", "guest", "a mount without guest");
	expect_error("{\"mounts\": [{\"host\": \"/x\", \"guest\": \"/y\", \"mode\": \"rx\"}]}",
		     "mode", "a mount with a bad mode");
	expect_error("{\"env\": [\"NOVALUE\"]}", "env", "an env entry without =");
	expect_error("{\"landlock\": {\"elsewhere\": \"all\"}}", "elsewhere", "a bad elsewhere");
	expect_error("{\"devices\": {\"usb\": [{\"id\": \"0483\"}]}}", "lbx.json: devices.usb[0].id",
		     "a bad USB rule names its key");
	expect_error("{\"devices\": {\"pci\": []}}", "pci", "an unknown device class is named");
	expect_error("{\"devices\": {\"serial\": [\"/etc/passwd\"]}}", "devices.serial[0]",
		     "a serial port outside /dev is refused");
	expect_error("{\"wayland\": {\"globals\": {\"zwlr_screencopy_manager_v1\": 3}}}",
		     "lbx.json: wayland.globals.zwlr_screencopy_manager_v1",
		     "a privileged Wayland global names the file and key");
	ok(parse("{\"wayland\": {\"clipboard\": {\"from_host\": \"deny\"}}}", &c, err, "/p") ==
			   0 &&
		   c.wayland_policy,
	   "a wayland section is kept for lbx-wayland-proxy");
	box_config_free(&c);
	expect_error("{\"network\": {\"mode\": \"open\"}}", "lbx.json: network.mode",
		     "a network policy mistake names the file and key");
	ok(parse("{\"network\": {\"mode\": \"none\"}}", &c, err, "/p") == 0 && c.net_none,
	   "network mode none means no network card");
	box_config_free(&c);
	expect_error("{\"ssh\": {\"keys\": [{\"key\": \"laptop\", \"confirm\": 1}]}}",
		     "lbx.json: ssh.keys[0].confirm", "an ssh policy mistake names the file and key");
	ok(parse("{\"ssh\": {\"keys\": [{\"key\": \"work laptop\", \"namespaces\": [\"git\"]}]}}",
		 &c, err, "/p") == 0 &&
		   c.ssh_policy && strstr(c.ssh_policy, "\"namespaces\":[\"git\"]"),
	   "an ssh section is kept for the proxy (%s)", err);
	box_config_free(&c);
	expect_error("{\"project\": \"/x\"}", "project", "project inside a project's lbx.json");
	expect_error("{\"name\": \"a\",", "lbx.json", "broken JSON names the file");
	expect_error("[1, 2]", "object", "a top level that is not an object");
	expect_error("{\"image\": \"windows\"}", "image", "an unknown image");

	ok(box_config_parse(&c, "NAME.json", "{\"name\": \"n\"}", 13, NULL, err, sizeof(err)) < 0 &&
		   strstr(err, "project"),
	   "outside a project, \"project\" is required: %s", err);
	box_config_free(&c);
	ok(box_config_parse(&c, "NAME.json", "{\"project\": \"/p\"}", 17, NULL, err, sizeof(err)) ==
			   0 &&
		   !strcmp(c.project, "/p") && !strcmp(c.workdir, "/p"),
	   "outside a project, project sets the tree and the workdir");
	box_config_free(&c);
	/* "protect" and "quota" (lbx-fsd --protect, --quota-bytes). */
	ok(parse("{}", &c, err, "/p") == 0 && c.nprotect == 2 && !strcmp(c.protect[0], ".git/config") &&
		   !strcmp(c.protect[1], ".git/hooks") && c.quota_bytes == 0,
	   "by default .git/config and .git/hooks are protected, no quota");
	box_config_free(&c);
	ok(parse("{\"protect\": [\".husky\", \".git/hooks\"], \"quota\": \"20G\"}", &c, err, "/p") == 0 &&
		   c.nprotect == 2 && !strcmp(c.protect[0], ".husky") && c.quota_bytes == 20ull << 30,
	   "protect replaces the list; quota takes a size (%s)", err);
	box_config_free(&c);
	ok(parse("{\"quota\": 1073741824}", &c, err, "/p") == 0 && c.quota_bytes == 1ull << 30,
	   "quota as bytes");
	box_config_free(&c);
	ok(parse("{\"protect\": [\"../etc\"]}", &c, err, "/p") < 0 && strstr(err, "protect"),
	   "a protected path outside the project is refused: %s", err);
	box_config_free(&c);
	ok(parse("{\"quota\": \"12X\"}", &c, err, "/p") < 0 && strstr(err, "quota"),
	   "a bad quota names the key: %s", err);
	box_config_free(&c);
	ok(parse("{\"quota\": \"100K\"}", &c, err, "/p") < 0, "a quota under 1M is refused");
	box_config_free(&c);
	return tap_done();
}

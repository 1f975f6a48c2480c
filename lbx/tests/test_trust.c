/* SPDX-License-Identifier: MIT */
/*
 * Approvals (lbx/trust.h): the widening diff, key by key, both ways; the
 * store's canonical form read back; the recipe's hash; who owns a name;
 * lbx's state out of the box's reach; the gate without a terminal.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "box.h"
#include "config.h"
#include "tap.h"
#include "trust.h"

#define FP1 "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
#define FP2 "SHA256:BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB"

/* approved -> now: the key expected to widen, or NULL for none. */
struct diff_case {
	const char *what, *approved, *now, *widens;
};

static const struct diff_case cases[] = {
	/* engine: only light (the host kernel) widens */
	{ "engine auto -> light", "{}", "{\"engine\": \"light\"}", "engine" },
	{ "engine qemu -> light", "{\"engine\": \"qemu\"}", "{\"engine\": \"light\"}", "engine" },
	{ "engine light -> qemu", "{\"engine\": \"light\"}", "{\"engine\": \"qemu\"}", NULL },
	{ "engine auto -> vm", "{}", "{\"engine\": \"vm\"}", NULL },
	{ "engine light -> light", "{\"engine\": \"light\"}", "{\"engine\": \"light\"}", NULL },
	/* devices.usb: a rule with no approved equal, or allow_dfu newly set */
	{ "usb: a first rule", "{}", "{\"devices\": {\"usb\": [{\"id\": \"0483:3748\"}]}}",
	  "devices.usb" },
	{ "usb: the same rule", "{\"devices\": {\"usb\": [{\"id\": \"0483:3748\"}]}}",
	  "{\"devices\": {\"usb\": [{\"id\": \"0483:3748\"}]}}", NULL },
	{ "usb: a rule removed",
	  "{\"devices\": {\"usb\": [{\"id\": \"0483:3748\"}, {\"id\": \"1209:0001\"}]}}",
	  "{\"devices\": {\"usb\": [{\"id\": \"1209:0001\"}]}}", NULL },
	{ "usb: the serial dropped (any probe of the kind)",
	  "{\"devices\": {\"usb\": [{\"id\": \"0483:3748\", \"serial\": \"A1\"}]}}",
	  "{\"devices\": {\"usb\": [{\"id\": \"0483:3748\"}]}}", "devices.usb" },
	{ "usb: allow_dfu added", "{\"devices\": {\"usb\": [{\"id\": \"0483:3748\"}]}}",
	  "{\"devices\": {\"usb\": [{\"id\": \"0483:3748\", \"allow_dfu\": true}]}}",
	  "devices.usb" },
	{ "serial: a port added", "{\"devices\": {\"serial\": [\"/dev/ttyS0\"]}}",
	  "{\"devices\": {\"serial\": [\"/dev/ttyS0\", \"/dev/ttyS1\"]}}", "devices.serial" },
	{ "serial: a port removed",
	  "{\"devices\": {\"serial\": [\"/dev/ttyS0\", \"/dev/ttyS1\"]}}",
	  "{\"devices\": {\"serial\": [\"/dev/ttyS1\"]}}", NULL },
	{ "engine qemu -> libvirt", "{\"engine\": \"qemu\"}", "{\"engine\": \"libvirt\"}", NULL },
	{ "engine libvirt -> light", "{\"engine\": \"libvirt\"}", "{\"engine\": \"light\"}",
	  "engine" },
	/* workdir */
	{ "workdir moved", "{}", "{\"workdir\": \"/etc\"}", "workdir" },
	{ "workdir kept", "{\"workdir\": \"/w\"}", "{\"workdir\": \"/w\"}", NULL },
	/* image */
	{ "image debian -> busybox", "{}", "{\"image\": \"busybox\"}", NULL },
	{ "image busybox -> debian", "{\"image\": \"busybox\"}", "{}", NULL },
	{ "image -> a Containerfile", "{}", "{\"image\": {\"containerfile\": \"Cf\"}}", "image" },
	{ "image Containerfile -> debian", "{\"image\": {\"containerfile\": \"Cf\"}}", "{}", NULL },
	{ "image: another Containerfile", "{\"image\": {\"containerfile\": \"Cf\"}}",
	  "{\"image\": {\"containerfile\": \"Other\"}}", "image" },
	{ "image: another context", "{\"image\": {\"containerfile\": \"d/Cf\"}}",
	  "{\"image\": {\"containerfile\": \"d/Cf\", \"context\": \".\"}}", "image" },
	{ "image: the same Containerfile", "{\"image\": {\"containerfile\": \"Cf\"}}",
	  "{\"image\": {\"containerfile\": \"Cf\"}}", NULL },
	{ "image: ./Cf is Cf", "{\"image\": {\"containerfile\": \"Cf\"}}",
	  "{\"image\": {\"containerfile\": \"./Cf\"}}", NULL },
	{ "image: context \".\" is the project", "{\"image\": {\"containerfile\": \"Cf\"}}",
	  "{\"image\": {\"containerfile\": \"Cf\", \"context\": \".\"}}", NULL },
	/* mounts */
	{ "mount added (ro)", "{}",
	  "{\"mounts\": [{\"host\": \"/srv\", \"guest\": \"/srv\", "
	  "\"mode\": \"ro\"}]}",
	  "mounts" },
	{ "mount added (rw)", "{}", "{\"mounts\": [{\"host\": \"/home/u\", \"guest\": \"/h\"}]}",
	  "mounts" },
	{ "mount ro -> rw",
	  "{\"mounts\": [{\"host\": \"/srv\", \"guest\": \"/srv\", \"mode\": \"ro\"}]}",
	  "{\"mounts\": [{\"host\": \"/srv\", \"guest\": \"/srv\"}]}", "mounts" },
	{ "mount rw -> ro", "{\"mounts\": [{\"host\": \"/srv\", \"guest\": \"/srv\"}]}",
	  "{\"mounts\": [{\"host\": \"/srv\", \"guest\": \"/srv\", \"mode\": \"ro\"}]}", NULL },
	{ "mount removed", "{\"mounts\": [{\"host\": \"/srv\", \"guest\": \"/srv\"}]}", "{}",
	  NULL },
	{ "mount of a subtree at the matching guest path",
	  "{\"mounts\": [{\"host\": \"/srv\", \"guest\": \"/data\"}]}",
	  "{\"mounts\": [{\"host\": \"/srv/a\", \"guest\": \"/data/a\"}]}", NULL },
	{ "mount of a subtree elsewhere in the guest",
	  "{\"mounts\": [{\"host\": \"/srv\", \"guest\": \"/data\"}]}",
	  "{\"mounts\": [{\"host\": \"/srv/a\", \"guest\": \"/etc\"}]}", "mounts" },
	{ "mount of the parent", "{\"mounts\": [{\"host\": \"/srv/a\", \"guest\": \"/a\"}]}",
	  "{\"mounts\": [{\"host\": \"/srv\", \"guest\": \"/\"}]}", "mounts" },
	{ "mount: a name sharing a prefix is not inside",
	  "{\"mounts\": [{\"host\": \"/srv\", \"guest\": \"/srv\"}]}",
	  "{\"mounts\": [{\"host\": \"/srv2\", \"guest\": \"/srv2\"}]}", "mounts" },
	{ "mount of / covers /srv at /srv", "{\"mounts\": [{\"host\": \"/\", \"guest\": \"/\"}]}",
	  "{\"mounts\": [{\"host\": \"/srv\", \"guest\": \"/srv\"}]}", NULL },
	/* landlock */
	{ "landlock.read_write added", "{}", "{\"landlock\": {\"read_write\": [\"/opt\"]}}",
	  "landlock.read_write" },
	{ "landlock.read_write inside an approved one",
	  "{\"landlock\": {\"read_write\": [\"/opt\"]}}",
	  "{\"landlock\": {\"read_write\": [\"/opt/x\"]}}", NULL },
	{ "landlock.read_write removed", "{\"landlock\": {\"read_write\": [\"/opt\"]}}", "{}",
	  NULL },
	{ "landlock.read_only while elsewhere was read-only", "{}",
	  "{\"landlock\": {\"read_only\": [\"/srv\"], \"elsewhere\": \"none\"}}", NULL },
	{ "landlock.read_only while elsewhere was none",
	  "{\"landlock\": {\"elsewhere\": \"none\"}}",
	  "{\"landlock\": {\"read_only\": [\"/srv\"], \"elsewhere\": \"none\"}}",
	  "landlock.read_only" },
	{ "landlock.read_only under an approved read_write",
	  "{\"landlock\": {\"read_write\": [\"/srv\"], \"elsewhere\": \"none\"}}",
	  "{\"landlock\": {\"read_only\": [\"/srv/x\"], \"elsewhere\": \"none\"}}", NULL },
	{ "landlock.read_write -> read_only", "{\"landlock\": {\"read_write\": [\"/srv\"]}}",
	  "{\"landlock\": {\"read_only\": [\"/srv\"]}}", NULL },
	{ "landlock.elsewhere none -> read-only", "{\"landlock\": {\"elsewhere\": \"none\"}}", "{}",
	  "landlock.elsewhere" },
	{ "landlock.elsewhere read-only -> none", "{}", "{\"landlock\": {\"elsewhere\": \"none\"}}",
	  NULL },
	{ "root_sessions false -> true", "{\"landlock\": {\"root_sessions\": false}}",
	  "{\"landlock\": {\"root_sessions\": true}}", "landlock.root_sessions" },
	{ "root_sessions true -> false", "{}", "{\"landlock\": {\"root_sessions\": false}}", NULL },
	/* decided not to widen */
	{ "env added", "{}", "{\"env\": [\"LD_PRELOAD=/x.so\"]}", NULL },
	{ "cpus and memory raised", "{}", "{\"cpus\": 64, \"memory\": 65536}", NULL },
	{ "quota raised", "{\"quota\": \"1G\"}", "{\"quota\": \"1T\"}", NULL },
	/* protect */
	{ "protect emptied", "{}", "{\"protect\": []}", "protect" },
	{ "protect: .git/hooks dropped", "{}", "{\"protect\": [\".git/config\"]}", "protect" },
	{ "protect: a path added", "{}",
	  "{\"protect\": [\".git/config\", \".git/hooks\", \".husky\"]}", NULL },
	/* network.mode */
	{ "network none -> nat", "{\"network\": {\"mode\": \"none\"}}", "{}", "network.mode" },
	{ "network allowlist -> nat", "{\"network\": {\"mode\": \"allowlist\"}}", "{}",
	  "network.mode" },
	{ "network none -> allowlist", "{\"network\": {\"mode\": \"none\"}}",
	  "{\"network\": {\"mode\": \"allowlist\"}}", "network.mode" },
	{ "network nat -> allowlist", "{}", "{\"network\": {\"mode\": \"allowlist\"}}", NULL },
	{ "network nat -> none, rules and all", "{}",
	  "{\"network\": {\"mode\": \"none\", \"host\": [\"tcp:1-65535\"]}}", NULL },
	/* network.allow */
	{ "network.allow: a name added", "{}", "{\"network\": {\"allow\": [\"github.com\"]}}",
	  "network.allow" },
	{ "network.allow: a subdomain of an approved wildcard",
	  "{\"network\": {\"allow\": [\"*.debian.org\"]}}",
	  "{\"network\": {\"allow\": [\"deb.debian.org\"]}}", NULL },
	{ "network.allow: a wildcard under an approved wildcard",
	  "{\"network\": {\"allow\": [\"*.debian.org\"]}}",
	  "{\"network\": {\"allow\": [\"*.security.debian.org\"]}}", NULL },
	{ "network.allow: a wildcard over an approved name",
	  "{\"network\": {\"allow\": [\"debian.org\"]}}",
	  "{\"network\": {\"allow\": [\"*.debian.org\"]}}", "network.allow" },
	{ "network.allow: a block inside an approved block",
	  "{\"network\": {\"allow\": [\"10.0.0.0/8\"]}}",
	  "{\"network\": {\"allow\": [\"10.1.0.0/16\"]}}", NULL },
	{ "network.allow: a block around an approved block",
	  "{\"network\": {\"allow\": [\"10.1.0.0/16\"]}}",
	  "{\"network\": {\"allow\": [\"10.0.0.0/8\"]}}", "network.allow" },
	{ "network.allow: fewer ports", "{\"network\": {\"allow\": [\"tcp:github.com:1-1000\"]}}",
	  "{\"network\": {\"allow\": [\"tcp:github.com:443\"]}}", NULL },
	{ "network.allow: more ports", "{\"network\": {\"allow\": [\"tcp:github.com:443\"]}}",
	  "{\"network\": {\"allow\": [\"tcp:github.com:1-1000\"]}}", "network.allow" },
	{ "network.allow: tcp -> any protocol", "{\"network\": {\"allow\": [\"tcp:github.com\"]}}",
	  "{\"network\": {\"allow\": [\"github.com\"]}}", "network.allow" },
	{ "network.allow: any protocol -> udp", "{\"network\": {\"allow\": [\"github.com\"]}}",
	  "{\"network\": {\"allow\": [\"udp:github.com\"]}}", NULL },
	{ "network.allow: * does not cover a block", "{\"network\": {\"allow\": [\"*\"]}}",
	  "{\"network\": {\"allow\": [\"192.168.0.0/16\"]}}", "network.allow" },
	{ "network.allow removed", "{\"network\": {\"allow\": [\"*\"]}}", "{}", NULL },
	/* network.host */
	{ "network.host: every port", "{\"network\": {\"host\": [\"tcp:5432\"]}}",
	  "{\"network\": {\"host\": [\"tcp:1-65535\"]}}", "network.host" },
	{ "network.host: fewer ports", "{\"network\": {\"host\": [\"tcp:5000-6000\"]}}",
	  "{\"network\": {\"host\": [\"tcp:5432\"]}}", NULL },
	{ "network.host: tcp -> udp", "{\"network\": {\"host\": [\"tcp:53\"]}}",
	  "{\"network\": {\"host\": [\"udp:53\"]}}", "network.host" },
	{ "network.host added", "{}", "{\"network\": {\"host\": [\"tcp:22\"]}}", "network.host" },
	/* network.forward */
	{ "network.forward added", "{}", "{\"network\": {\"forward\": [\"8080:80\"]}}",
	  "network.forward" },
	{ "network.forward kept", "{\"network\": {\"forward\": [\"8080:80\"]}}",
	  "{\"network\": {\"forward\": [\"127.0.0.1:8080:80\"]}}", NULL },
	{ "network.forward on another host address", "{\"network\": {\"forward\": [\"8080:80\"]}}",
	  "{\"network\": {\"forward\": [\"0.0.0.0:8080:80\"]}}", "network.forward" },
	{ "network.forward removed", "{\"network\": {\"forward\": [\"8080:80\"]}}", "{}", NULL },
	/* wayland */
	{ "wayland section added", "{}", "{\"wayland\": {}}", "wayland" },
	{ "wayland section removed", "{\"wayland\": {}}", "{}", NULL },
	{ "wayland: a global added", "{\"wayland\": {\"globals\": {\"wl_shm\": 1}}}",
	  "{\"wayland\": {\"globals\": {\"wl_shm\": 1, \"wl_seat\": 5}}}", "wayland.globals" },
	{ "wayland: a version raised", "{\"wayland\": {\"globals\": {\"wl_seat\": 2}}}",
	  "{\"wayland\": {\"globals\": {\"wl_seat\": 5}}}", "wayland.globals" },
	{ "wayland: a global removed", "{\"wayland\": {\"globals\": {\"wl_shm\": 1, \"wl_seat\": 5}}}",
	  "{\"wayland\": {\"globals\": {\"wl_shm\": 1}}}", NULL },
	{ "wayland: the box may read the host's clipboard",
	  "{\"wayland\": {\"clipboard\": {\"from_host\": \"ask\"}}}",
	  "{\"wayland\": {\"clipboard\": {\"from_host\": \"allow\"}}}",
	  "wayland.clipboard.from_host" },
	{ "wayland: clipboard to the host denied now",
	  "{\"wayland\": {}}", "{\"wayland\": {\"clipboard\": {\"to_host\": \"deny\"}}}", NULL },
	{ "wayland: a larger shm budget", "{\"wayland\": {}}",
	  "{\"wayland\": {\"shm_max_mib\": 1024}}", NULL },
	/* gpu */
	{ "gpu turned on", "{}", "{\"gpu\": true}", "gpu" },
	{ "gpu turned off", "{\"gpu\": true}", "{\"gpu\": false}", NULL },
	/* ssh */
	{ "ssh section added", "{}", "{\"ssh\": {\"keys\": [{\"key\": \"" FP1 "\"}]}}", "ssh" },
	{ "ssh section removed", "{\"ssh\": {\"keys\": [{\"key\": \"" FP1 "\"}]}}", "{}", NULL },
	{ "ssh: another key", "{\"ssh\": {\"keys\": [{\"key\": \"" FP1 "\"}]}}",
	  "{\"ssh\": {\"keys\": [{\"key\": \"" FP1 "\"}, {\"key\": \"" FP2 "\"}]}}", "ssh.keys" },
	{ "ssh: a key removed",
	  "{\"ssh\": {\"keys\": [{\"key\": \"" FP1 "\"}, {\"key\": \"" FP2 "\"}]}}",
	  "{\"ssh\": {\"keys\": [{\"key\": \"" FP2 "\"}]}}", NULL },
	{ "ssh: any destination -> listed", "{\"ssh\": {\"keys\": [{\"key\": \"" FP1 "\"}]}}",
	  "{\"ssh\": {\"keys\": [{\"key\": \"" FP1 "\", \"destinations\": [\"git@github.com\"]}]}}",
	  NULL },
	{ "ssh: listed -> any destination",
	  "{\"ssh\": {\"keys\": [{\"key\": \"" FP1 "\", \"destinations\": [\"git@github.com\"]}]}}",
	  "{\"ssh\": {\"keys\": [{\"key\": \"" FP1 "\"}]}}", "ssh.keys" },
	{ "ssh: a destination added",
	  "{\"ssh\": {\"keys\": [{\"key\": \"" FP1 "\", \"destinations\": [\"git@github.com\"]}]}}",
	  "{\"ssh\": {\"keys\": [{\"key\": \"" FP1 "\", \"destinations\": [\"git@github.com\", "
	  "\"root@prod.example\"]}]}}",
	  "ssh.keys" },
	{ "ssh: a destination under an approved pattern",
	  "{\"ssh\": {\"keys\": [{\"key\": \"" FP1
	  "\", \"destinations\": [\"*@*.example.org\"]}]}}",
	  "{\"ssh\": {\"keys\": [{\"key\": \"" FP1
	  "\", \"destinations\": [\"git@a.example.org\"]}]}}",
	  NULL },
	{ "ssh: '?' does not cover '*'",
	  "{\"ssh\": {\"keys\": [{\"key\": \"" FP1
	  "\", \"destinations\": [\"git@?.example.org\"]}]}}",
	  "{\"ssh\": {\"keys\": [{\"key\": \"" FP1
	  "\", \"destinations\": [\"git@*.example.org\"]}]}}",
	  "ssh.keys" },
	{ "ssh: any namespace -> listed", "{\"ssh\": {\"keys\": [{\"key\": \"" FP1 "\"}]}}",
	  "{\"ssh\": {\"keys\": [{\"key\": \"" FP1 "\", \"namespaces\": [\"git\"]}]}}", NULL },
	{ "ssh: a namespace added",
	  "{\"ssh\": {\"keys\": [{\"key\": \"" FP1 "\", \"namespaces\": [\"git\"]}]}}",
	  "{\"ssh\": {\"keys\": [{\"key\": \"" FP1 "\", \"namespaces\": [\"git\", \"file\"]}]}}",
	  "ssh.keys" },
	{ "ssh: confirm dropped",
	  "{\"ssh\": {\"keys\": [{\"key\": \"" FP1 "\", \"confirm\": true}]}}",
	  "{\"ssh\": {\"keys\": [{\"key\": \"" FP1 "\"}]}}", "ssh.keys" },
	{ "ssh: confirm added", "{\"ssh\": {\"keys\": [{\"key\": \"" FP1 "\"}]}}",
	  "{\"ssh\": {\"keys\": [{\"key\": \"" FP1 "\", \"confirm\": true}]}}", NULL },
	{ "ssh: a comment rule ahead of an approved fingerprint rule",
	  "{\"ssh\": {\"keys\": [{\"key\": \"" FP1 "\"}]}}",
	  "{\"ssh\": {\"keys\": [{\"key\": \"me@laptop\"}, {\"key\": \"" FP1 "\"}]}}", "ssh.keys" },
	{ "ssh: an approved comment rule may have shadowed the fingerprint rule",
	  "{\"ssh\": {\"keys\": [{\"key\": \"me@laptop\", \"confirm\": true}, {\"key\": \"" FP1
	  "\"}]}}",
	  "{\"ssh\": {\"keys\": [{\"key\": \"" FP1 "\"}]}}", "ssh.keys" },
	{ "ssh: rate raised", "{\"ssh\": {\"keys\": [], \"rate\": \"10/min\"}}",
	  "{\"ssh\": {\"keys\": [], \"rate\": \"20/min\"}}", "ssh.rate" },
	{ "ssh: rate per second above per minute",
	  "{\"ssh\": {\"keys\": [], \"rate\": \"10/min\"}}",
	  "{\"ssh\": {\"keys\": [], \"rate\": \"1/s\"}}", "ssh.rate" },
	{ "ssh: rate lowered", "{\"ssh\": {\"keys\": [], \"rate\": \"10/min\"}}",
	  "{\"ssh\": {\"keys\": [], \"rate\": \"5/h\"}}", NULL },
	{ "ssh: rate removed", "{\"ssh\": {\"keys\": [], \"rate\": \"10/min\"}}",
	  "{\"ssh\": {\"keys\": []}}", "ssh.rate" },
	{ "ssh: rate added", "{\"ssh\": {\"keys\": []}}",
	  "{\"ssh\": {\"keys\": [], \"rate\": \"10/min\"}}", NULL },
};

static int load(const char *json, struct box_config *c, char *err)
{
	return box_config_parse(c, "lbx.json", json, strlen(json), "/p", err, 512);
}

static bool has_key(const struct trust_diff *d, const char *key)
{
	for (unsigned i = 0; i < d->n; i++)
		if (!strcmp(d->items[i].key, key))
			return true;
	return false;
}

static void test_cases(void)
{
	struct trust_recipe none = { 0 };
	struct trust_diff d;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct diff_case *k = &cases[i];
		struct box_config a, n;
		char err[512] = "";

		if (!ok(load(k->approved, &a, err) == 0 && load(k->now, &n, err) == 0,
			"%s: both parse (%s)", k->what, err))
			continue;
		trust_diff(&a, &none, &n, &none, false, &d);
		if (k->widens)
			ok(has_key(&d, k->widens), "%s: widens %s (%s)", k->what, k->widens,
			   d.n ? d.items[0].what : "nothing");
		else
			ok(d.n == 0, "%s: widens nothing (%s%s)", k->what,
			   d.n ? d.items[0].key : "", d.n ? d.items[0].what : "");
		box_config_free(&a);
		box_config_free(&n);
	}
}

static void test_recipe_diff(void)
{
	struct trust_recipe r1 = { .known = true, .files = 3, .bytes = 10 }, r2 = r1, none = { 0 };
	const char *cf = "{\"image\": {\"containerfile\": \"Cf\"}, \"mounts\": [{\"host\": "
			 "\"/srv\", \"guest\": \"/srv\"}]}";
	struct box_config a, n;
	struct trust_diff d;
	char err[512];

	memset(r1.sha256, 'a', 64);
	memset(r2.sha256, 'b', 64);
	if (!ok(load(cf, &a, err) == 0 && load(cf, &n, err) == 0, "recipe cases parse"))
		return;
	trust_diff(&a, &r1, &n, &r1, false, &d);
	ok(d.n == 0, "the same recipe hash widens nothing");
	trust_diff(&a, &r1, &n, &r2, false, &d);
	ok(d.n == 1 && has_key(&d, "image"), "a changed Containerfile or context widens image");
	trust_diff(&a, &none, &n, &r1, false, &d);
	ok(has_key(&d, "image"), "a recipe hashed now but never approved widens image");
	trust_diff(&a, &r1, &n, &none, false, &d);
	ok(d.n == 0, "a recipe not hashed now (no build) is not compared");
	box_config_free(&a);
	ok(load("{}", &a, err) == 0, "defaults parse");
	trust_diff(&a, &none, &n, &r1, true, &d);
	ok(d.n == 1 && has_key(&d, "image"),
	   "a definition of the user's own: only the recipe counts, not its mount");
	box_config_free(&a);
	box_config_free(&n);
}

static void test_escape(void)
{
	char out[128];

	trust_escape("/srv/\x1b[2Kok", out, sizeof(out));
	ok(!strcmp(out, "/srv/\\x1b[2Kok"), "ESC is escaped: %s", out);
	trust_escape("a\xc2\x9b"
		     "b\x7f",
		     out, sizeof(out));
	ok(!strcmp(out, "a\\xc2\\x9bb\\x7f"), "C1 CSI (U+009B) and DEL are escaped: %s", out);
	trust_escape("caf\xc3\xa9 \xe2\x82\xac", out, sizeof(out));
	ok(!strcmp(out, "caf\xc3\xa9 \xe2\x82\xac"), "valid UTF-8 is kept: %s", out);
	trust_escape("x\xff\xc3", out, sizeof(out));
	ok(!strcmp(out, "x\\xff\\xc3"), "bad UTF-8 is escaped: %s", out);
	trust_escape("0123456789abcdef", out, 12);
	ok(!strcmp(out, "01234567..."), "the output is bounded, and says it was cut: %s", out);
	trust_escape("/srv/\xe2\x80\xaegnp.exe", out, sizeof(out));
	ok(!strcmp(out, "/srv/\\xe2\\x80\\xaegnp.exe"), "a right-to-left override is escaped: %s",
	   out);
}

static void test_canonical(void)
{
	const char *rich =
	    "{\"name\": \"web\", \"workdir\": \"/w\", \"engine\": \"light\", \"cpus\": 3,"
	    " \"memory\": 2048, \"image\": {\"containerfile\": \"d/Cf\", \"context\": \"d\"},"
	    " \"mounts\": [{\"host\": \"/srv\", \"guest\": \"/data\", \"mode\": \"ro\"},"
	    "              {\"host\": \"/cache\", \"guest\": \"/cache\"}],"
	    " \"env\": [\"A=b\"],"
	    " \"landlock\": {\"read_write\": [\"/o\"], \"read_only\": [\"/r\"],"
	    "               \"elsewhere\": \"none\", \"root_sessions\": false},"
	    " \"ssh\": {\"keys\": [{\"key\": \"" FP1 "\", \"destinations\": [\"git@github.com\"],"
	    "          \"namespaces\": [\"git\"], \"confirm\": true}], \"rate\": \"10/min\"},"
	    " \"network\": {\"mode\": \"allowlist\", \"allow\": [\"*.debian.org\"],"
	    "              \"host\": [\"tcp:5432\"], \"forward\": [\"8080:80\"]}}";
	struct trust_recipe r = { .known = true, .files = 7, .bytes = 99 }, back;
	struct box_config c, b, defaults;
	struct trust_diff d;
	char err[512] = "", *text;

	memset(r.sha256, 'c', 64);
	if (!ok(load(rich, &c, err) == 0, "a rich definition parses (%s)", err))
		return;
	text = trust_canonical(&c, &r);
	if (!ok(text != NULL, "canonical form"))
		return;
	ok(trust_parse(text, strlen(text), &b, &back, err, sizeof(err)) == 0,
	   "the canonical form reads back (%s)", err);
	ok(!strcmp(b.name, "web") && !strcmp(b.project, "/p") &&
	       !strcmp(b.containerfile, "/p/d/Cf") && b.nmounts == 2 && b.cpus == 3 &&
	       b.nenv == 1 && !b.root_sessions && b.ssh_policy && b.net_policy,
	   "with every key");
	ok(back.known && !strcmp(back.sha256, r.sha256) && back.files == 7 && back.bytes == 99,
	   "and the recipe's hash");
	trust_diff(&b, &back, &c, &r, false, &d);
	ok(d.n == 0, "what was stored covers what was approved (%u)", d.n);
	trust_diff(&c, &r, &b, &back, false, &d);
	ok(d.n == 0, "and the other way round (%u)", d.n);
	ok(box_config_defaults(&defaults, "/p") == 0, "defaults");
	trust_diff(&defaults, &(struct trust_recipe){ 0 }, &c, &r, false, &d);
	ok(has_key(&d, "image") && has_key(&d, "engine") && has_key(&d, "mounts") &&
	       has_key(&d, "ssh") && has_key(&d, "network.host") &&
	       has_key(&d, "network.forward") && has_key(&d, "workdir") &&
	       has_key(&d, "landlock.read_write"),
	   "against the defaults it widens image, engine, mounts, ssh, network, workdir, landlock");
	box_config_free(&b);
	{
		const char *v2 = "{\"version\": 2, \"project\": \"/p\", \"definition\": \"\", "
				 "\"box\": {}}";

		ok(trust_parse(v2, strlen(v2), &b, &back, err, sizeof(err)) < 0,
		   "a store of another version is not read (%s)", err);
	}
	box_config_free(&b);
	ok(trust_parse(
	       "{\"version\": 1, \"project\": \"/p\", \"definition\": \"\", \"box\": "
	       "{\"mounts\": 3}}",
	       strlen("{\"version\": 1, \"project\": \"/p\", \"definition\": \"\", \"box\": "
		      "{\"mounts\": 3}}"),
	       &b, &back, err, sizeof(err)) < 0,
	   "a stored box is read as strictly as lbx.json (%s)", err);
	box_config_free(&b);
	box_config_free(&defaults);
	box_config_free(&c);
	free(text);
}

/* A Containerfile at the project's top: its context is the project itself. */
static void test_canonical_root_containerfile(void)
{
	struct trust_recipe r = { 0 }, back;
	struct box_config c, b;
	struct trust_diff d;
	char err[512] = "", *text;

	if (!ok(load("{\"image\": {\"containerfile\": \"Containerfile\"}}", &c, err) == 0,
		"a Containerfile at the top"))
		return;
	text = trust_canonical(&c, &r);
	ok(text && strstr(text, "\"context\":\t\".\"") != NULL, "is stored with context \".\"");
	ok(text && trust_parse(text, strlen(text), &b, &back, err, sizeof(err)) == 0,
	   "and reads back (%s)", err);
	trust_diff(&b, &back, &c, &r, false, &d);
	ok(d.n == 0, "as the same recipe (%s)", d.n ? d.items[0].what : "");
	box_config_free(&b);
	box_config_free(&c);
	free(text);
}

static void put(const char *dir, const char *rel, const char *text)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	f = fopen(path, "w");
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

static void test_recipe_hash(const char *tmp)
{
	char proj[4096], path[8192], err[600] = "", json[256];
	struct trust_recipe r0, r;
	struct box_config c;
	int rc;

	snprintf(proj, sizeof(proj), "%s/proj", tmp);
	mkdir(proj, 0755);
	snprintf(path, sizeof(path), "%s/.git", proj);
	mkdir(path, 0755);
	put(proj, "Containerfile", "FROM scratch\nCOPY . /\n");
	put(proj, "run.sh", "echo hi\n");
	put(proj, "lbx.json", "{}");
	snprintf(json, sizeof(json), "{\"image\": {\"containerfile\": \"Containerfile\"}}");
	if (!ok(box_config_parse(&c, "x", json, strlen(json), proj, err, sizeof(err)) == 0,
		"a Containerfile definition (%s)", err))
		return;
	free(c.file);
	snprintf(path, sizeof(path), "%s/lbx.json", proj);
	c.file = strdup(path);
	rc = trust_hash_recipe(&c, &r0, err, sizeof(err));
	ok(rc == 0 && r0.known && r0.files == 2 &&
	       r0.bytes == 2 * strlen("FROM scratch\nCOPY . /\n") + strlen("echo hi\n"),
	   "the recipe hashes: the context's files but .git and lbx.json (%s; %llu files, %llu "
	   "bytes)",
	   err, r0.files, r0.bytes);
	ok(trust_hash_recipe(&c, &r, err, sizeof(err)) == 0 && !strcmp(r.sha256, r0.sha256),
	   "the same tree hashes the same");
	put(proj, "run.sh", "echo HI\n");
	ok(trust_hash_recipe(&c, &r, err, sizeof(err)) == 0 && strcmp(r.sha256, r0.sha256),
	   "a changed file in the context changes it");
	put(proj, "run.sh", "echo hi\n");
	ok(trust_hash_recipe(&c, &r, err, sizeof(err)) == 0 && !strcmp(r.sha256, r0.sha256),
	   "changed back, the same again");
	snprintf(path, sizeof(path), "%s/run.sh", proj);
	chmod(path, 0755);
	ok(trust_hash_recipe(&c, &r, err, sizeof(err)) == 0 && strcmp(r.sha256, r0.sha256),
	   "an executable bit changes it");
	chmod(path, 0644);
	put(proj, "Containerfile", "FROM scratch\nCOPY . /x\n");
	ok(trust_hash_recipe(&c, &r, err, sizeof(err)) == 0 && strcmp(r.sha256, r0.sha256),
	   "a changed Containerfile changes it");
	put(proj, "Containerfile", "FROM scratch\nCOPY . /\n");
	put(proj, ".git/HEAD", "ref: refs/heads/x\n");
	put(proj, "lbx.json", "{\"cpus\": 4}");
	free(c.build_context);
	snprintf(path, sizeof(path), "%s/.", proj);
	c.build_context = strdup(path); /* "context": "." */
	ok(trust_hash_recipe(&c, &r, err, sizeof(err)) == 0 && !strcmp(r.sha256, r0.sha256),
	   ".git and the definition itself are not part of it");
	snprintf(path, sizeof(path), "%s/link", proj);
	ok(symlink("/etc/passwd", path) == 0 && trust_hash_recipe(&c, &r, err, sizeof(err)) == 0 &&
	       strcmp(r.sha256, r0.sha256),
	   "a link is part of it");
	memcpy(&r0, &r, sizeof(r));
	unlink(path);
	ok(symlink("/etc/shadow", path) == 0 && trust_hash_recipe(&c, &r, err, sizeof(err)) == 0 &&
	       strcmp(r.sha256, r0.sha256),
	   "by its target, not followed");
	/* A context deeper than the walk goes is refused, in one line. */
	snprintf(path, sizeof(path), "%s", proj);
	for (int i = 0; i < TRUST_CONTEXT_MAX_DEPTH + 2; i++) {
		strcat(path, "/d");
		mkdir(path, 0755);
	}
	ok(trust_hash_recipe(&c, &r, err, sizeof(err)) == -EFBIG && strstr(err, "image.context") &&
	       !strchr(err, '\n'),
	   "a context beyond the bounds cannot be approved: %s", err);
	box_config_free(&c);
	snprintf(json, sizeof(json), "{\"image\": {\"containerfile\": \"Nope\"}}");
	snprintf(proj, sizeof(proj), "%s/proj2", tmp);
	mkdir(proj, 0755);
	ok(box_config_parse(&c, "x", json, strlen(json), proj, err, sizeof(err)) == 0 &&
	       trust_hash_recipe(&c, &r, err, sizeof(err)) == 0 && r.known,
	   "a missing Containerfile hashes (the build reports it)");
	box_config_free(&c);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

static void test_owner_and_store(const char *tmp)
{
	char data[4096], cfgdir[4096], path[8192], err[1200] = "";
	struct trust_recipe r = { 0 };
	struct box_config c, other, got;
	struct box_paths p;

	snprintf(data, sizeof(data), "%s/data", tmp);
	snprintf(cfgdir, sizeof(cfgdir), "%s/config", tmp);
	setenv("XDG_DATA_HOME", data, 1);
	setenv("XDG_CONFIG_HOME", cfgdir, 1);
	snprintf(path, sizeof(path), "%s/run", tmp);
	setenv("XDG_RUNTIME_DIR", path, 1);
	setenv("LBX_CACHE_DIR", path, 1);
	ok(load("{\"name\": \"victim\"}", &c, err) == 0 && box_paths_init(&p, "victim") == 0,
	   "a box named victim in /p");
	ok(trust_check_owner(&c, &p, err, sizeof(err)) == 0, "a name nobody holds is free");
	ok(trust_store(&p, &c, &r) == 0, "an approval is stored");
	ok(trust_load(&p, "/p", &got, &r) == 0 && !strcmp(got.name, "victim"), "and loaded");
	box_config_free(&got);
	ok(trust_load(&p, "/elsewhere", &got, &r) == -ENOENT,
	   "an approval of another project approves nothing here");
	box_config_defaults(&other, "/attacker");
	snprintf(other.name, sizeof(other.name), "victim");
	ok(trust_check_owner(&other, &p, err, sizeof(err)) == -EEXIST && strstr(err, "/p ") &&
	       strstr(err, "lbx rm victim") && !strchr(err, '\n'),
	   "another project cannot take the name (approval): %s", err);
	snprintf(path, sizeof(path), "%s/box.json", p.data);
	write_file(path,
		   "{\"definition\": \"\", \"project\": \"/owner\", \"workdir\": \"/owner\"}");
	ok(trust_check_owner(&other, &p, err, sizeof(err)) == -EEXIST && strstr(err, "/owner"),
	   "nor when the record names its project: %s", err);
	ok(trust_check_owner(&c, &p, err, sizeof(err)) == -EEXIST,
	   "the record wins over the approval");
	write_file(path, "{\"definition\": \"\", \"project\": \"/attacker\", \"workdir\": \"/x\"}");
	ok(trust_check_owner(&other, &p, err, sizeof(err)) == 0, "the owning project may use it");
	snprintf(path, sizeof(path), "%s/approved.json", p.data);
	write_file(path, "not json");
	ok(trust_load(&p, "/p", &got, &r) == -ENOENT, "a damaged approval approves nothing");

	/* A definition of the user's own names the project that owns the name. */
	mkdir(cfgdir, 0700);
	snprintf(path, sizeof(path), "%s/lbx", cfgdir);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/lbx/boxes", cfgdir);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/lbx/boxes/victim.json", cfgdir);
	write_file(path, "{\"project\": \"/mine\"}");
	ok(trust_check_owner(&other, &p, err, sizeof(err)) == -EEXIST && strstr(err, "/mine") &&
	       strstr(err, "victim.json"),
	   "a project cannot take the name of a box defined in ~/.config: %s", err);
	free(other.file);
	other.file = strdup(path);
	ok(trust_definition_is_own(&other) && trust_check_owner(&other, &p, err, sizeof(err)) == 0,
	   "the user's own definition may move its box");
	box_config_free(&other);
	box_config_free(&c);
}

static void test_state_hidden(const char *tmp)
{
	char json[8192], err[1200] = "";
	struct box_config c;

	ok(box_config_defaults(&c, tmp) == 0 &&
	       trust_check_state_hidden(&c, err, sizeof(err)) == -EPERM &&
	       strstr(err, "approve itself"),
	   "a project holding lbx's data directory is refused: %s", err);
	box_config_free(&c);
	snprintf(json, sizeof(json), "{\"mounts\": [{\"host\": \"%s/config\", \"guest\": \"/c\"}]}",
		 tmp);
	ok(load(json, &c, err) == 0 && trust_check_state_hidden(&c, err, sizeof(err)) == -EPERM,
	   "so is a read-write mount of lbx's config directory: %s", err);
	box_config_free(&c);
	snprintf(json, sizeof(json),
		 "{\"mounts\": [{\"host\": \"%s/config\", \"guest\": \"/c\", \"mode\": \"ro\"}]}",
		 tmp);
	ok(load(json, &c, err) == 0 && trust_check_state_hidden(&c, err, sizeof(err)) == 0,
	   "a read-only one is not refused (the diff shows it)");
	box_config_free(&c);
	ok(load("{}", &c, err) == 0 && trust_check_state_hidden(&c, err, sizeof(err)) == 0,
	   "a project elsewhere is fine");
	box_config_free(&c);
}

static void test_gate(const char *tmp)
{
	char proj[4096], path[8192], err[1200] = "", json[256];
	struct box_config c;

	/* Never a terminal here, whoever runs the test. */
	if (!freopen("/dev/null", "r", stdin))
		return;
	snprintf(proj, sizeof(proj), "%s/gated", tmp);
	mkdir(proj, 0755);
	snprintf(json, sizeof(json), "{\"landlock\": {\"root_sessions\": false}}");
	ok(box_config_parse(&c, "lbx.json", json, strlen(json), proj, err, sizeof(err)) == 0 &&
	       trust_gate(&c, TRUST_UP, err, sizeof(err)) == 0,
	   "a narrowing definition passes without approval (%s)", err);
	box_config_free(&c);
	snprintf(json, sizeof(json), "{\"landlock\": {\"root_sessions\": true}}");
	ok(box_config_parse(&c, "lbx.json", json, strlen(json), proj, err, sizeof(err)) == 0 &&
	       trust_gate(&c, TRUST_UP, err, sizeof(err)) == -EPERM &&
	       strstr(err, "'lbx allow gated'") && strstr(err, "landlock.root_sessions") &&
	       !strchr(err, '\n'),
	   "widening what it ran with is refused in one line naming lbx allow: %s", err);
	snprintf(path, sizeof(path), "%s/data/lbx/boxes/gated/approved.json", tmp);
	ok(access(path, F_OK) == 0, "the approval is in the box's data directory");
	box_config_free(&c);
	snprintf(json, sizeof(json), "{}");
	ok(box_config_parse(&c, "lbx.json", json, strlen(json), proj, err, sizeof(err)) == 0 &&
	       trust_gate(&c, TRUST_UP, err, sizeof(err)) == -EPERM,
	   "so is going back to the defaults (root sessions)");
	box_config_free(&c);
}

/* A mount through a link the box could retarget: the view resolves it. */
static void test_view(const char *tmp)
{
	char a[4096], b[4096], link[4096], json[8192], err[512] = "";
	struct box_config c, va, vb;
	struct trust_recipe none = { 0 };
	struct trust_diff d;

	snprintf(a, sizeof(a), "%s/tree-a", tmp);
	snprintf(b, sizeof(b), "%s/tree-b", tmp);
	snprintf(link, sizeof(link), "%s/tree-link", tmp);
	mkdir(a, 0755);
	mkdir(b, 0755);
	if (!ok(symlink(a, link) == 0, "a link to a tree"))
		return;
	snprintf(json, sizeof(json), "{\"mounts\": [{\"host\": \"%s\", \"guest\": \"/m\"}]}", link);
	if (!ok(load(json, &c, err) == 0 && trust_view_init(&c, &va) == 0, "a mount through it"))
		return;
	ok(!strcmp(va.mounts[0].host, a), "the view resolves the mount's host path: %s",
	   va.mounts[0].host);
	unlink(link);
	ok(symlink(b, link) == 0 && trust_view_init(&c, &vb) == 0, "the link moved");
	trust_diff(&va, &none, &vb, &none, false, &d);
	ok(has_key(&d, "mounts") && strstr(d.items[0].what, "tree-b"),
	   "the same definition through a moved link widens mounts (%s)",
	   d.n ? d.items[0].what : "");
	trust_diff(&va, &none, &va, &none, false, &d);
	ok(d.n == 0, "unmoved, nothing");
	trust_view_free(&va);
	trust_view_free(&vb);
	box_config_free(&c);
}

int main(void)
{
	char tmp[] = "/tmp/lbx-test-trust-XXXXXX";

	test_cases();
	test_recipe_diff();
	test_escape();
	test_canonical();
	test_canonical_root_containerfile();
#if defined(__x86_64__)
	/* A new field in struct box_config must be classified in trust_diff.c (widens or not). */
	is_int(sizeof(struct box_config), 1800,
	       "struct box_config has the fields trust_diff.c knows");
#endif
	if (!mkdtemp(tmp)) {
		tap_skip("no temporary directory");
		return tap_done();
	}
	test_recipe_hash(tmp);
	test_owner_and_store(tmp);
	test_state_hidden(tmp);
	test_view(tmp);
	test_gate(tmp);
	{
		char cmd[256];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
		if (system(cmd) != 0)
			printf("# could not remove %s\n", tmp);
	}
	return tap_done();
}

/* SPDX-License-Identifier: MIT */
/*
 * The widening diff (trust.h): what a box definition grants that the
 * approved one did not. One function per key, in one table; each looks
 * for what `now` reaches that `approved` did not, so a narrowing (a mount
 * removed, rw made ro, a port range shrunk) adds nothing.
 *
 * Keys that widen nothing, by decision:
 *   env      reaches only the box's own sessions, which can set any
 *            variable themselves (their home is theirs); nothing on the
 *            host reads it.
 *   cpus, memory  host resources, bounded by the parser, shown by
 *            `lbx status`; not access.
 *   image "debian"/"busybox"  lbx's own recipes; switching between them
 *            grants nothing. A Containerfile is the project's recipe,
 *            built on the host by podman: it widens when it is new, moved,
 *            or its contents (or its context's) changed.
 *   name     bound to its project by trust_check_owner instead.
 *   quota    a host resource like cpus and memory.
 *
 * devices.usb widens with every rule the approved definition has no
 * equal of (a device the box may now take), and with allow_dfu newly set;
 * devices.serial with every port it did not name.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "trust.h"
/* Two components each call their policy header policy.h: name them by path. */
#include "../backends/net/policy.h"
#include "../vsock-ssh/policy.h"
#include "../passthrough/rules.h"
#include "../wayland-proxy/policy_json.h"

struct diff_ctx {
	const struct box_config *a, *n; /* approved, now */
	const struct trust_recipe *ar, *nr;
	struct trust_diff *d;
};

static void widen(struct diff_ctx *x, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void widen(struct diff_ctx *x, const char *key, const char *fmt, ...)
{
	struct trust_widening *w;
	char raw[4 * TRUST_WHAT_MAX];
	va_list ap;

	if (x->d->n >= TRUST_DIFF_MAX) {
		x->d->truncated = true;
		return;
	}
	w = &x->d->items[x->d->n++];
	w->key = key;
	va_start(ap, fmt);
	vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	trust_escape(raw, w->what, sizeof(w->what));
}

/* Is path p the tree q or inside it? */
static bool path_within(const char *p, const char *q)
{
	size_t n = strlen(q);

	if (!strcmp(q, "/"))
		return true;
	return !strncmp(p, q, n) && (p[n] == '\0' || p[n] == '/');
}

static void diff_engine(struct diff_ctx *x)
{
	/* vm, qemu and auto are all a VM; light shares the host kernel. */
	if (x->n->engine == ENGINE_LIGHT && x->a->engine != ENGINE_LIGHT)
		widen(x, "engine", "light: a podman container sharing the host kernel (was %s)",
		      box_engine_name(x->a->engine));
}

static void diff_workdir(struct diff_ctx *x)
{
	/* The project, which sessions write, over another guest path (/etc, say). */
	if (strcmp(x->n->workdir, x->a->workdir))
		widen(x, "workdir", "the project appears at %s in the box (was %s)", x->n->workdir,
		      x->a->workdir);
}

/* "protect": a path read-only to the box (.git/hooks, say) that no longer is. */
static void diff_protect(struct diff_ctx *x)
{
	for (unsigned i = 0; i < x->a->nprotect; i++) {
		bool kept = false;

		for (unsigned j = 0; j < x->n->nprotect && !kept; j++)
			kept = !strcmp(x->a->protect[i], x->n->protect[j]);
		if (!kept)
			widen(x, "protect", "the box may write %s (host git may run what it writes)",
			      x->a->protect[i]);
	}
}

/* A path in the project, as lbx.json names it ("." for the project itself). */
static const char *rel(const struct box_config *c, const char *path)
{
	size_t n = strlen(c->project);

	if (trust_same_path(path, c->project))
		return ".";
	return !strncmp(path, c->project, n) && path[n] == '/' ? path + n + 1 : path;
}

void trust_norm_path(const char *path, char *out, size_t sz)
{
	size_t o = 0;

	for (const char *p = path; *p && o + 1 < sz; p++) {
		/* Skip a "/." component: followed by '/' or the end. */
		if (p[0] == '/' && p[1] == '.' && (p[2] == '/' || p[2] == '\0')) {
			p++;
			continue;
		}
		out[o++] = *p;
	}
	while (o > 1 && out[o - 1] == '/')
		o--;
	if (o == 0 && sz > 1)
		out[o++] = '/';
	out[o] = '\0';
}

bool trust_same_path(const char *a, const char *b)
{
	char na[PATH_MAX], nb[PATH_MAX];

	trust_norm_path(a, na, sizeof(na));
	trust_norm_path(b, nb, sizeof(nb));
	return !strcmp(na, nb);
}

bool trust_same_recipe_spec(const struct box_config *a, const struct box_config *n)
{
	return !strcmp(a->image, "containerfile") && !strcmp(n->image, "containerfile") &&
	       a->containerfile && n->containerfile && a->build_context && n->build_context &&
	       trust_same_path(a->containerfile, n->containerfile) &&
	       trust_same_path(a->build_context, n->build_context);
}

static void diff_image(struct diff_ctx *x)
{
	const struct box_config *n = x->n;

	if (strcmp(n->image, "containerfile"))
		return;
	if (!trust_same_recipe_spec(x->a, n)) {
		widen(x, "image", "built on this host by podman from %s (context %s/)",
		      rel(n, n->containerfile), rel(n, n->build_context));
		return;
	}
	if (!x->nr->known)
		return;
	if (!x->ar->known)
		widen(x, "image",
		      "the contents of %s and its context (%llu files, %llu bytes) are "
		      "not approved yet",
		      rel(n, n->containerfile), x->nr->files, x->nr->bytes);
	else if (strcmp(x->ar->sha256, x->nr->sha256))
		widen(x, "image", "%s or its context %s/ changed (now %llu files, %llu bytes)",
		      rel(n, n->containerfile), rel(n, n->build_context), x->nr->files,
		      x->nr->bytes);
}

/* A mount is covered by an approved one over the same host tree (or a tree
 * inside it, at the matching guest path), with no more rights. */
static bool mount_covered(const struct box_config *a, const struct box_mount *m)
{
	for (unsigned i = 0; i < a->nmounts; i++) {
		const struct box_mount *am = &a->mounts[i];
		const char *suffix;
		char guest[8200];

		if (!path_within(m->host, am->host) || (!m->read_only && am->read_only))
			continue;
		/* Where that part of the approved mount already appeared in the guest. */
		suffix = !strcmp(m->host, am->host) ? ""
			 : strcmp(am->host, "/")    ? m->host + strlen(am->host)
						    : m->host;
		snprintf(guest, sizeof(guest), "%s%s",
			 strcmp(am->guest, "/") || !suffix[0] ? am->guest : "", suffix);
		if (!strcmp(guest, m->guest))
			return true;
	}
	return false;
}

static void diff_mounts(struct diff_ctx *x)
{
	for (unsigned i = 0; i < x->n->nmounts; i++) {
		const struct box_mount *m = &x->n->mounts[i];

		if (!mount_covered(x->a, m))
			widen(x, "mounts", "%s: the host's %s at %s",
			      m->read_only ? "read-only" : "read-write", m->host, m->guest);
	}
}

static bool paths_cover(char *const *list, unsigned n, const char *p)
{
	for (unsigned i = 0; i < n; i++)
		if (path_within(p, list[i]))
			return true;
	return false;
}

static void diff_landlock(struct diff_ctx *x)
{
	const struct box_config *a = x->a, *n = x->n;

	for (unsigned i = 0; i < n->nrw; i++)
		if (!paths_cover(a->rw_paths, a->nrw, n->rw_paths[i]))
			widen(x, "landlock.read_write", "sessions may write %s", n->rw_paths[i]);
	/* With "elsewhere": "read-only" approved, everything was readable already. */
	for (unsigned i = 0; i < n->nro && !a->elsewhere_readable; i++)
		if (!paths_cover(a->rw_paths, a->nrw, n->ro_paths[i]) &&
		    !paths_cover(a->ro_paths, a->nro, n->ro_paths[i]))
			widen(x, "landlock.read_only", "sessions may read %s", n->ro_paths[i]);
	if (n->elsewhere_readable && !a->elsewhere_readable)
		widen(x, "landlock.elsewhere",
		      "read-only: sessions may read the whole guest tree "
		      "(was none)");
	if (n->root_sessions && !a->root_sessions)
		widen(x, "landlock.root_sessions",
		      "true: root sessions without Landlock (was "
		      "false)");
}

/* ---- network (lbx-netd's policy) ---- */

static int mode_rank(enum net_mode m)
{
	return m == NET_MODE_NONE ? 0 : m == NET_MODE_ALLOWLIST ? 1 : 2;
}

static bool ports_cover(uint8_t ap, uint16_t alo, uint16_t ahi, uint8_t np, uint16_t nlo,
			uint16_t nhi)
{
	return (ap == 0 || ap == np) && alo <= nlo && nhi <= ahi;
}

static bool name_covered(const struct net_rule *a, const struct net_rule *r)
{
	if (!a->wildcard)
		return !r->wildcard && !strcmp(a->name, r->name);
	/* "*.example.com" covers its subdomains, and "*.x.example.com". */
	return (r->wildcard && !strcmp(a->name, r->name)) || net_rule_matches_name(a, r->name);
}

static bool rule_covered(const struct net_policy *ap, const struct net_rule *r)
{
	for (size_t i = 0; i < ap->nallow; i++) {
		const struct net_rule *a = &ap->allow[i];

		if (a->kind != r->kind || !ports_cover(a->proto, a->port_lo, a->port_hi, r->proto,
						       r->port_lo, r->port_hi))
			continue;
		if (r->kind == NET_RULE_ANY)
			return true;
		if (r->kind == NET_RULE_CIDR && a->cidr.len <= r->cidr.len &&
		    net_cidr_contains(&a->cidr, &r->cidr.addr))
			return true;
		if (r->kind == NET_RULE_NAME && name_covered(a, r))
			return true;
	}
	return false;
}

static const char *proto_name(uint8_t p)
{
	return p == NET_PROTO_TCP ? "tcp:" : p == NET_PROTO_UDP ? "udp:" : "";
}

static int parse_net(const struct box_config *c, struct net_policy *p)
{
	char err[LBX_JSON_ERROR_MAX];
	const char *text = c->net_policy ? c->net_policy : "{}";

	net_policy_init(p);
	return net_policy_parse(text, strlen(text), "network", p, err, sizeof(err));
}

static void diff_network_lists(struct diff_ctx *x, const struct net_policy *a,
			       const struct net_policy *n)
{
	for (size_t i = 0; i < n->nallow; i++)
		if (!rule_covered(a, &n->allow[i]))
			widen(x, "network.allow", "the box may reach %s", n->allow[i].text);
	for (size_t i = 0; i < n->nhost; i++) {
		const struct net_service *s = &n->host[i];
		bool covered = false;

		for (size_t j = 0; j < a->nhost && !covered; j++)
			covered = ports_cover(a->host[j].proto, a->host[j].port_lo,
					      a->host[j].port_hi, s->proto, s->port_lo, s->port_hi);
		if (!covered)
			widen(x, "network.host", "the box may reach the host's loopback at %s%u-%u",
			      proto_name(s->proto), s->port_lo, s->port_hi);
	}
	for (size_t i = 0; i < n->nforward; i++) {
		const struct net_forward *f = &n->forward[i];
		bool covered = false;

		for (size_t j = 0; j < a->nforward && !covered; j++)
			covered = a->forward[j].proto == f->proto &&
				  net_addr_eq(&a->forward[j].host, &f->host) &&
				  a->forward[j].host_port == f->host_port &&
				  a->forward[j].guest_port == f->guest_port;
		if (!covered)
			widen(x, "network.forward",
			      "a host port forwarded into the box: %s%u -> %u",
			      proto_name(f->proto), f->host_port, f->guest_port);
	}
}

static void diff_network(struct diff_ctx *x)
{
	struct net_policy a, n;

	if (parse_net(x->n, &n) < 0) {
		widen(x, "network", "a section lbx cannot read");
		net_policy_free(&n);
		return;
	}
	if (parse_net(x->a, &a) < 0) {
		/* An approval lbx cannot read approved nothing. */
		net_policy_free(&a);
		net_policy_init(&a);
		a.mode = NET_MODE_NONE;
	}
	if (n.mode != NET_MODE_NONE) {
		if (mode_rank(n.mode) > mode_rank(a.mode))
			widen(x, "network.mode", "%s (was %s)", net_mode_name(n.mode),
			      net_mode_name(a.mode));
		diff_network_lists(x, &a, &n);
	}
	net_policy_free(&a);
	net_policy_free(&n);
}

/* ---- ssh (lbx-ssh-proxy's policy) ---- */

/* Pattern p covers pattern q if p has only '*' wildcards and matches q's text. */
static bool glob_covers(const char *p, const char *q, bool icase)
{
	if (!strcmp(p, q))
		return true;
	return !strchr(p, '?') && sshp_glob(p, q, icase);
}

static bool dest_covered(const struct sshp_key_rule *a, const struct sshp_dest *d)
{
	if (a->any_destination)
		return true;
	for (size_t i = 0; i < a->ndests; i++)
		if (glob_covers(a->dests[i].user, d->user, false) &&
		    glob_covers(a->dests[i].host, d->host, true) &&
		    (a->dests[i].port == 0 || a->dests[i].port == d->port))
			return true;
	return false;
}

static bool same_identity(const struct sshp_key_rule *a, const struct sshp_key_rule *b)
{
	if (a->comment || b->comment)
		return a->comment && b->comment && !strcmp(a->comment, b->comment);
	return !strcmp(a->fp, b->fp);
}

/* Does approved rule a give no less than rule r? */
static bool key_rule_covers(const struct sshp_key_rule *a, const struct sshp_key_rule *r)
{
	if (!a->any_destination && r->any_destination)
		return false;
	for (size_t i = 0; i < r->ndests; i++)
		if (!dest_covered(a, &r->dests[i]))
			return false;
	if (!a->any_namespace && r->any_namespace)
		return false;
	for (size_t i = 0; i < r->nnamespaces; i++)
		if (!sshp_rule_allows_namespace(a, r->namespaces[i]))
			return false;
	return !(a->confirm && !r->confirm);
}

/*
 * The first approved rule for r's key decides what the key had; a rule of
 * the other kind before it (a comment rule before a fingerprint rule, or
 * the reverse) may have matched the same key first, so r must be covered
 * by those too.
 */
static bool key_covered(const struct sshp_policy *a, const struct sshp_key_rule *r)
{
	size_t first = a->nkeys;

	for (size_t i = 0; i < a->nkeys && first == a->nkeys; i++)
		if (same_identity(&a->keys[i], r))
			first = i;
	if (first == a->nkeys || !key_rule_covers(&a->keys[first], r))
		return false;
	for (size_t i = 0; i < first; i++)
		if (!a->keys[i].comment != !r->comment && !key_rule_covers(&a->keys[i], r))
			return false;
	return true;
}

static bool rate_wider(const struct sshp_rate *a, const struct sshp_rate *n)
{
	if (a->count == 0)
		return false;
	if (n->count == 0 || n->count > a->count)
		return true;
	/* n->count / n->period > a->count / a->period */
	return (unsigned __int128)n->count * a->period_ms >
	       (unsigned __int128)a->count * n->period_ms;
}

static void diff_ssh(struct diff_ctx *x)
{
	struct sshp_policy a = { 0 }, n = { 0 };
	char err[LBX_JSON_ERROR_MAX];
	bool have_a;

	if (!x->n->ssh_policy)
		return;
	if (sshp_policy_parse(x->n->ssh_policy, strlen(x->n->ssh_policy), "ssh", &n, err,
			      sizeof(err)) < 0) {
		widen(x, "ssh", "a section lbx cannot read");
		return;
	}
	have_a = x->a->ssh_policy && sshp_policy_parse(x->a->ssh_policy, strlen(x->a->ssh_policy),
						       "ssh", &a, err, sizeof(err)) == 0;
	if (!have_a)
		widen(x, "ssh", "the box gets an SSH agent: your host agent's keys below");
	for (size_t i = 0; i < n.nkeys; i++) {
		const struct sshp_key_rule *r = &n.keys[i];

		if (have_a && key_covered(&a, r))
			continue;
		widen(x, "ssh.keys", "%s %s, destinations %s, namespaces %s%s",
		      r->comment ? "the key with comment" : "key", r->comment ? r->comment : r->fp,
		      r->any_destination ? "any"
		      : r->ndests	 ? "listed"
					 : "none",
		      r->any_namespace ? "any"
		      : r->nnamespaces ? "listed"
				       : "none",
		      r->confirm ? ", confirmed" : "");
	}
	if (have_a && rate_wider(&a.rate, &n.rate))
		widen(x, "ssh.rate", "%s",
		      n.rate.count ? "more signatures per period" : "no limit");
	if (have_a)
		sshp_policy_free(&a);
	sshp_policy_free(&n);
}

static bool usb_rule_covered(const struct usb_rules *a, const struct usb_rule *r)
{
	for (unsigned i = 0; i < a->n; i++) {
		const struct usb_rule *o = &a->rule[i];

		if (o->vendor == r->vendor && o->product == r->product &&
		    o->has_serial == r->has_serial && !strcmp(o->serial, r->serial) &&
		    o->nifs == r->nifs && !memcmp(o->ifs, r->ifs, sizeof(o->ifs[0]) * o->nifs) &&
		    (o->allow_dfu || !r->allow_dfu))
			return true;
	}
	return false;
}

static void diff_devices(struct diff_ctx *x)
{
	static struct usb_rules a, n;
	char err[LBX_JSON_ERROR_MAX], id[16];

	for (unsigned i = 0; i < x->n->nserial; i++) {
		bool had = false;

		for (unsigned j = 0; j < x->a->nserial && !had; j++)
			had = !strcmp(x->a->serial_ports[j], x->n->serial_ports[i]);
		if (!had)
			widen(x, "devices.serial", "the serial port %s", x->n->serial_ports[i]);
	}
	if (!x->n->usb_rules)
		return;
	if (usb_rules_parse(x->n->usb_rules, strlen(x->n->usb_rules), "devices", &n, err,
			    sizeof(err)) < 0) {
		widen(x, "devices.usb", "rules lbx cannot read");
		return;
	}
	if (!x->a->usb_rules || usb_rules_parse(x->a->usb_rules, strlen(x->a->usb_rules),
						"devices", &a, err, sizeof(err)) < 0)
		a.n = 0;
	for (unsigned i = 0; i < n.n; i++) {
		const struct usb_rule *r = &n.rule[i];

		if (usb_rule_covered(&a, r))
			continue;
		if (r->vendor < 0)
			snprintf(id, sizeof(id), "*:");
		else
			snprintf(id, sizeof(id), "%04x:", r->vendor);
		if (r->product < 0)
			snprintf(id + strlen(id), sizeof(id) - strlen(id), "*");
		else
			snprintf(id + strlen(id), sizeof(id) - strlen(id), "%04x", r->product);
		widen(x, "devices.usb", "USB devices %s%s%s%s (rule %s)%s", id,
		      r->has_serial ? " serial " : "", r->has_serial ? r->serial : "",
		      r->nifs ? ", listed interfaces" : ", any interfaces", r->name,
		      r->allow_dfu ? ", may be reflashed (allow_dfu)" : "");
	}
}

/* ---- wayland (lbx-wayland-proxy's policy) ---- */

static void diff_wayland(struct diff_ctx *x)
{
	struct wlp_policy a, n;
	char err[LBX_JSON_ERROR_MAX];
	bool have_a;

	if (!x->n->wayland_policy)
		return;
	if (wlp_policy_parse(x->n->wayland_policy, strlen(x->n->wayland_policy), "wayland", &n,
			     err, sizeof(err)) < 0) {
		widen(x, "wayland", "a section lbx cannot read");
		return;
	}
	have_a = x->a->wayland_policy &&
		 wlp_policy_parse(x->a->wayland_policy, strlen(x->a->wayland_policy), "wayland",
				  &a, err, sizeof(err)) == 0;
	if (!have_a)
		widen(x, "wayland", "the box gets windows on your desktop, with the globals below");
	for (size_t i = 0; i < n.nglobals; i++) {
		uint32_t had =
			have_a ? wlp_policy_global(&a, n.globals[i].iface->name, UINT32_MAX) : 0;
		if (n.globals[i].max_version > had)
			widen(x, "wayland.globals", "%s version %u", n.globals[i].iface->name,
			      n.globals[i].max_version);
	}
	/* deny < ask < allow; the shm budget is a host resource, like quota */
	if (!have_a || n.to_host > a.to_host)
		widen(x, "wayland.clipboard.to_host", "the host may read the box's clipboard: %s",
		      wlp_clip_name(n.to_host));
	if (!have_a || n.from_host > a.from_host)
		widen(x, "wayland.clipboard.from_host", "the box may read your clipboard: %s",
		      wlp_clip_name(n.from_host));
}

/* ---- gpu (lbx-gpud) ---- */

static void diff_gpu(struct diff_ctx *x)
{
	if (x->n->gpu && !x->a->gpu)
		widen(x, "gpu", "the box gets a GPU: the host's GL driver (virglrenderer in "
				"lbx-gpud) runs the box's commands");
}

/* Every key of a definition that can widen, in the order they are shown. */
static const struct {
	void (*fn)(struct diff_ctx *x);
	bool recipe;
} checks[] = {
	{ diff_image, true },	 { diff_engine, false }, { diff_mounts, false },
	{ diff_network, false }, { diff_ssh, false },	 { diff_landlock, false },
	{ diff_workdir, false }, { diff_protect, false }, { diff_devices, false },
	{ diff_wayland, false }, { diff_gpu, false },
};

void trust_diff(const struct box_config *approved, const struct trust_recipe *ar,
		const struct box_config *now, const struct trust_recipe *nr, bool recipe_only,
		struct trust_diff *d)
{
	struct diff_ctx x = { .a = approved, .n = now, .ar = ar, .nr = nr, .d = d };

	memset(d, 0, sizeof(*d));
	for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++)
		if (checks[i].recipe || !recipe_only)
			checks[i].fn(&x);
}

void trust_diff_keys(const struct trust_diff *d, char *buf, size_t sz)
{
	size_t o = 0;

	buf[0] = '\0';
	for (unsigned i = 0; i < d->n; i++) {
		bool seen = false;

		for (unsigned j = 0; j < i && !seen; j++)
			seen = !strcmp(d->items[j].key, d->items[i].key);
		if (!seen && o < sz)
			o += (size_t)snprintf(buf + o, sz - o, "%s%s", o ? ", " : "",
					      d->items[i].key);
	}
}

/* Bidirectional overrides and isolates (U+202A-U+202E, U+2066-U+2069) reorder what a terminal
 * shows. */
static bool is_bidi(const unsigned char *p, size_t len)
{
	return len == 3 && p[0] == 0xe2 &&
	       ((p[1] == 0x80 && p[2] >= 0xaa && p[2] <= 0xae) ||
		(p[1] == 0x81 && p[2] >= 0xa6 && p[2] <= 0xa9));
}

void trust_escape(const char *s, char *out, size_t sz)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t o = 0;

	if (sz < 8) {
		if (sz)
			out[0] = '\0';
		return;
	}
	while (*p) {
		unsigned char ch = *p;
		size_t len = ch < 0x80		   ? 1
			     : (ch & 0xe0) == 0xc0 ? 2
			     : (ch & 0xf0) == 0xe0 ? 3
			     : (ch & 0xf8) == 0xf0 ? 4
						   : 0;
		bool good = len > 0;

		for (size_t k = 1; good && k < len; k++)
			good = (p[k] & 0xc0) == 0x80;
		/* C0 controls, DEL, C1 controls (U+0080-U+009F), overlong 2-byte forms. */
		if (good && len == 1 && (ch < 0x20 || ch == 0x7f))
			good = false;
		if (good && len == 2 && (ch < 0xc2 || (ch == 0xc2 && p[1] < 0xa0)))
			good = false;
		if (good && is_bidi(p, len))
			good = false;
		/* Room for this, and for "..." should more follow. */
		if (o + (good ? len : 4) + 4 > sz) {
			memcpy(out + o, "...", 3);
			o += 3;
			break;
		}
		if (!good) {
			o += (size_t)snprintf(out + o, sz - o, "\\x%02x", ch);
			p++;
			continue;
		}
		memcpy(out + o, p, len);
		o += len;
		p += len;
	}
	out[o] = '\0';
}

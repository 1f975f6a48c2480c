/* SPDX-License-Identifier: MIT */
/*
 * The guest's network: one interface with a static address, a default
 * route and a resolver, the way slirp's network is laid out (lbx-netd:
 * 10.0.2.15/24, gateway 10.0.2.2, DNS 10.0.2.3). Plain ioctls on an
 * AF_INET socket (netdevice(7), SIOCADDRT in route(7)'s struct rtentry),
 * so the agent needs neither ip(8) nor a DHCP client; slirp's DHCP would
 * hand out the same address anyway.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <net/route.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent.h"
#include "log.h"

#define RESOLV_CONF "/etc/resolv.conf"

/* "a.b.c.d/n" into an address and a netmask. */
static int parse_cidr(const char *cidr, struct in_addr *addr, struct in_addr *mask)
{
	char buf[INET_ADDRSTRLEN + 4];
	const char *slash = strchr(cidr, '/');
	unsigned long len;
	char *end;

	if (!slash || (size_t)(slash - cidr) >= INET_ADDRSTRLEN)
		return -EINVAL;
	memcpy(buf, cidr, (size_t)(slash - cidr));
	buf[slash - cidr] = 0;
	errno = 0;
	len = strtoul(slash + 1, &end, 10);
	if (inet_pton(AF_INET, buf, addr) != 1 || errno || *end || end == slash + 1 || len > 32)
		return -EINVAL;
	mask->s_addr = htonl(len ? ~0u << (32 - len) : 0);
	return 0;
}

static void set_sin(struct sockaddr *sa, struct in_addr a)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr = a };

	memcpy(sa, &sin, sizeof(sin));
}

static int set_addr(int fd, const char *ifname, struct in_addr addr, struct in_addr mask,
		    char *err, size_t errsz)
{
	struct ifreq ifr = { 0 };

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	set_sin(&ifr.ifr_addr, addr);
	if (ioctl(fd, SIOCSIFADDR, &ifr) < 0)
		return lbx_fail(err, errsz, errno, "cannot set the address of %s", ifname);
	set_sin(&ifr.ifr_netmask, mask);
	if (ioctl(fd, SIOCSIFNETMASK, &ifr) < 0)
		return lbx_fail(err, errsz, errno, "cannot set the netmask of %s", ifname);
	return 0;
}

static int bring_up(int fd, const char *ifname, char *err, size_t errsz)
{
	struct ifreq ifr = { 0 };

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
		return lbx_fail(err, errsz, errno, "no interface %s", ifname);
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
		return lbx_fail(err, errsz, errno, "cannot bring %s up", ifname);
	return 0;
}

static int add_default_route(int fd, const char *ifname, struct in_addr gw, char *err,
			     size_t errsz)
{
	char dev[IFNAMSIZ];
	struct rtentry rt = { 0 };

	snprintf(dev, sizeof(dev), "%s", ifname);
	set_sin(&rt.rt_dst, (struct in_addr){ 0 });
	set_sin(&rt.rt_genmask, (struct in_addr){ 0 });
	set_sin(&rt.rt_gateway, gw);
	rt.rt_flags = RTF_UP | RTF_GATEWAY;
	rt.rt_dev = dev;
	if (ioctl(fd, SIOCADDRT, &rt) < 0 && errno != EEXIST)
		return lbx_fail(err, errsz, errno, "cannot add a default route via %s",
			    inet_ntoa(gw));
	return 0;
}

static int write_resolv_conf(const char *dns, char *err, size_t errsz)
{
	char line[INET6_ADDRSTRLEN + 16];
	int n = snprintf(line, sizeof(line), "nameserver %s\n", dns);
	int fd = open(RESOLV_CONF, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	int e;

	if (fd < 0)
		return lbx_fail(err, errsz, errno, "cannot write %s", RESOLV_CONF);
	if (write(fd, line, (size_t)n) != n) {
		e = errno ? errno : EIO;
		close(fd);
		return lbx_fail(err, errsz, e, "cannot write %s", RESOLV_CONF);
	}
	return close(fd) < 0 ? lbx_fail(err, errsz, errno, "cannot write %s", RESOLV_CONF) : 0;
}

int agent_net_configure(const char *ifname, const char *cidr, const char *gateway,
			const char *dns, char *err, size_t errsz)
{
	struct in_addr addr, mask, gw, ns;
	int fd, rc;

	if (!ifname || !*ifname || strlen(ifname) >= IFNAMSIZ)
		return lbx_fail(err, errsz, EINVAL, "bad interface name '%s'", ifname ? ifname : "");
	if (parse_cidr(cidr, &addr, &mask))
		return lbx_fail(err, errsz, EINVAL, "bad address '%s' (expected a.b.c.d/n)", cidr);
	if (gateway && inet_pton(AF_INET, gateway, &gw) != 1)
		return lbx_fail(err, errsz, EINVAL, "bad gateway '%s'", gateway);
	if (dns && inet_pton(AF_INET, dns, &ns) != 1)
		return lbx_fail(err, errsz, EINVAL, "bad DNS server '%s'", dns);
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return lbx_fail(err, errsz, errno, "cannot configure %s", ifname);
	rc = bring_up(fd, ifname, err, errsz);
	if (!rc)
		rc = set_addr(fd, ifname, addr, mask, err, errsz);
	if (!rc && gateway)
		rc = add_default_route(fd, ifname, gw, err, errsz);
	close(fd);
	if (!rc && dns)
		rc = write_resolv_conf(dns, err, errsz);
	return rc;
}

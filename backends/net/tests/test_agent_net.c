/* SPDX-License-Identifier: MIT */
/*
 * guest-agent/net.c on the host, inside new network and mount namespaces
 * (root only): the loopback interface stands in for eth0, and a file
 * bind-mounted over /etc/resolv.conf catches what the agent writes there.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent.h"
#include "tap.h"

static int enter_namespaces(char *tmp)
{
	int fd;

	if (geteuid() != 0)
		return -EPERM;
	if (unshare(CLONE_NEWNET | CLONE_NEWNS) < 0 ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return -errno;
	fd = mkstemp(tmp);
	if (fd < 0)
		return -errno;
	close(fd);
	if (access("/etc/resolv.conf", F_OK) < 0 &&
	    close(open("/etc/resolv.conf", O_WRONLY | O_CREAT, 0644)) < 0)
		return -errno;
	return mount(tmp, "/etc/resolv.conf", NULL, MS_BIND, NULL) < 0 ? -errno : 0;
}

static in_addr_t if_ioctl_addr(int fd, unsigned long req)
{
	struct ifreq ifr = { .ifr_name = "lo" };
	struct sockaddr_in sin;

	if (ioctl(fd, req, &ifr) < 0)
		return 0;
	memcpy(&sin, &ifr.ifr_addr, sizeof(sin));
	return sin.sin_addr.s_addr;
}

static bool default_route_via(const char *gw_hex)
{
	char line[256], ifn[32], dst[16], gw[16];
	FILE *f = fopen("/proc/net/route", "r");
	bool found = false;

	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%31s %15s %15s", ifn, dst, gw) == 3 && !strcmp(dst, "00000000") &&
		    !strcmp(gw, gw_hex) && !strcmp(ifn, "lo"))
			found = true;
	fclose(f);
	return found;
}

static void test_configure(void)
{
	char err[256] = "", buf[64] = "";
	struct ifreq ifr = { .ifr_name = "lo" };
	int fd = socket(AF_INET, SOCK_DGRAM, 0), rfd;
	ssize_t n;

	is_int(agent_net_configure("lo", "127.0.0.5/8", "127.0.0.1", "10.0.2.3", err, sizeof(err)),
	       0, "configure lo as eth0 would be (%s)", err);
	ok(ioctl(fd, SIOCGIFFLAGS, &ifr) == 0 && (ifr.ifr_flags & IFF_UP), "the interface is up");
	ok(if_ioctl_addr(fd, SIOCGIFADDR) == inet_addr("127.0.0.5"), "it has the address");
	ok(if_ioctl_addr(fd, SIOCGIFNETMASK) == inet_addr("255.0.0.0"), "and the /8 netmask");
	ok(default_route_via("0100007F"), "a default route goes via the gateway");
	rfd = open("/etc/resolv.conf", O_RDONLY);
	n = rfd >= 0 ? read(rfd, buf, sizeof(buf) - 1) : -1;
	if (rfd >= 0)
		close(rfd);
	ok(n > 0 && !strcmp(buf, "nameserver 10.0.2.3\n"), "resolv.conf names the DNS server");
	is_int(agent_net_configure("lo", "127.0.0.5/8", "127.0.0.1", NULL, err, sizeof(err)), 0,
	       "configuring again is fine (the route exists)");
	close(fd);
}

static void test_errors(void)
{
	char err[256];

	ok(agent_net_configure("nosuch0", "10.0.2.15/24", "10.0.2.2", NULL, err, sizeof(err)) < 0 &&
		   strstr(err, "no interface nosuch0"),
	   "a missing interface is named (%s)", err);
	ok(agent_net_configure("lo", "10.0.2.15", NULL, NULL, err, sizeof(err)) == -EINVAL &&
		   strstr(err, "10.0.2.15"),
	   "an address without a prefix length is refused (%s)", err);
	ok(agent_net_configure("lo", "10.0.2.15/33", NULL, NULL, err, sizeof(err)) == -EINVAL,
	   "/33 is refused");
	ok(agent_net_configure("lo", "10.0.2.15/24", "gateway", NULL, err, sizeof(err)) == -EINVAL &&
		   strstr(err, "gateway"),
	   "a bad gateway is refused (%s)", err);
	ok(agent_net_configure("lo", "10.0.2.15/24", NULL, "::1", err, sizeof(err)) == -EINVAL,
	   "an IPv6 DNS server is refused (resolv.conf gets IPv4 here)");
	ok(agent_net_configure("averyveryverylongname", "10.0.2.15/24", NULL, NULL, err,
			       sizeof(err)) == -EINVAL,
	   "an interface name longer than IFNAMSIZ is refused");
}

int main(void)
{
	char tmp[] = "/tmp/lbx-agent-net-XXXXXX";
	int err = enter_namespaces(tmp);

	if (err) {
		printf("1..0 # SKIP needs root for network and mount namespaces (%s)\n",
		       strerror(-err));
		if (err != -EPERM)
			unlink(tmp);
		return 0;
	}
	test_configure();
	test_errors();
	unlink(tmp);
	return tap_done();
}

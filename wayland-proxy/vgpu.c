/* SPDX-License-Identifier: MIT */
#include "vgpu.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

/*
 * The few ioctls used, as linux uapi defines them (drm/drm.h: DRM_IOCTL_BASE
 * 'd', DRM_COMMAND_BASE 0x40; drm/virtgpu_drm.h): Debian's linux-libc-dev
 * carries no drm headers, and libdrm would be a dependency of a static
 * binary for four structures.
 */
struct vg_prime_handle {
	uint32_t handle, flags;
	int32_t fd;
};
struct vg_gem_close {
	uint32_t handle, pad;
};
struct vg_resource_info {
	uint32_t bo_handle, res_handle, size, blob_mem;
};
struct vg_wait {
	uint32_t handle, flags;
};
#define VG_IOCTL_GEM_CLOSE	    _IOW('d', 0x09, struct vg_gem_close)
#define VG_IOCTL_PRIME_FD_TO_HANDLE _IOWR('d', 0x2e, struct vg_prime_handle)
#define VG_IOCTL_RESOURCE_INFO	    _IOWR('d', 0x40 + 0x05, struct vg_resource_info)
#define VG_IOCTL_WAIT		    _IOWR('d', 0x40 + 0x08, struct vg_wait)

#define GEMS_MAX 256

static int node = -2; /* -2: not opened yet, -1: none */
static struct {
	uint32_t handle, refs;
} gems[GEMS_MAX];

static int node_fd(void)
{
	static const char *const paths[] = { "/dev/dri/renderD128", "/dev/dri/card0" };

	for (size_t i = 0; node == -2 && i < 2; i++) {
		int fd = open(paths[i], O_RDWR | O_CLOEXEC);
		if (fd >= 0)
			node = fd;
	}
	if (node == -2)
		node = -1;
	return node;
}

static int xioctl(int fd, unsigned long req, void *arg)
{
	int rc;

	do
		rc = ioctl(fd, req, arg);
	while (rc < 0 && (errno == EINTR || errno == EAGAIN));
	return rc < 0 ? -errno : 0;
}

static int gem_ref(uint32_t handle)
{
	int free_slot = -1;

	for (int i = 0; i < GEMS_MAX; i++) {
		if (gems[i].refs && gems[i].handle == handle) {
			gems[i].refs++;
			return 0;
		}
		if (!gems[i].refs && free_slot < 0)
			free_slot = i;
	}
	if (free_slot < 0)
		return -ENOSPC;
	gems[free_slot].handle = handle;
	gems[free_slot].refs = 1;
	return 0;
}

void wlp_vgpu_release(uint32_t gem)
{
	for (int i = 0; gem && i < GEMS_MAX; i++)
		if (gems[i].refs && gems[i].handle == gem) {
			if (--gems[i].refs == 0) {
				struct vg_gem_close c = { gem, 0 };
				(void)xioctl(node, VG_IOCTL_GEM_CLOSE, &c);
			}
			return;
		}
}

int wlp_vgpu_import(int dmabuf, uint32_t *gem, uint32_t *resource, char *why, size_t whylen)
{
	int fd = node_fd(), rc;
	struct vg_prime_handle p = { .fd = dmabuf };
	struct vg_resource_info ri = { 0 };

	if (fd < 0) {
		snprintf(why, whylen, "the box has no GPU (no /dev/dri/renderD128 or card0)");
		return -ENODEV;
	}
	rc = xioctl(fd, VG_IOCTL_PRIME_FD_TO_HANDLE, &p);
	if (rc < 0) {
		snprintf(why, whylen, "the dmabuf is no buffer of the box's virtio-gpu: %s",
			 strerror(-rc));
		return rc;
	}
	ri.bo_handle = p.handle;
	rc = xioctl(fd, VG_IOCTL_RESOURCE_INFO, &ri);
	if (rc == 0 && ri.res_handle == 0)
		rc = -EINVAL;
	if (rc == 0)
		rc = gem_ref(p.handle);
	if (rc < 0) {
		struct vg_gem_close c = { p.handle, 0 };
		/* A handle already counted is someone else's: leave it open. */
		int counted = 0;
		for (int i = 0; i < GEMS_MAX; i++)
			counted |= gems[i].refs && gems[i].handle == p.handle;
		if (!counted)
			(void)xioctl(fd, VG_IOCTL_GEM_CLOSE, &c);
		snprintf(why, whylen, "the dmabuf is no virtio-gpu resource: %s", strerror(-rc));
		return rc;
	}
	*gem = p.handle;
	*resource = ri.res_handle;
	return 0;
}

int wlp_vgpu_wait(uint32_t gem)
{
	struct vg_wait w = { gem, 0 };

	return node >= 0 ? xioctl(node, VG_IOCTL_WAIT, &w) : -ENODEV;
}

int wlp_vgpu_device(uint64_t *dev)
{
	struct stat st;
	int fd = node_fd();

	if (fd < 0)
		return -ENODEV;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISCHR(st.st_mode))
		return -ENODEV;
	*dev = (uint64_t)st.st_rdev;
	return 0;
}

/* SPDX-License-Identifier: MIT */
#include "gic.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "arm64/layout.h"

static int set_attr(int fd, uint32_t group, uint64_t attr, const void *val)
{
	struct kvm_device_attr a = {
		.group = group,
		.attr = attr,
		.addr = (uint64_t)(uintptr_t)val,
	};

	return ioctl(fd, KVM_SET_DEVICE_ATTR, &a) < 0 ? -errno : 0;
}

int vmm_a64_gic_create(struct vmm_machine *m, unsigned ncpus, int *fd, char *err, size_t errsz)
{
	struct kvm_create_device dev = { .type = KVM_DEV_TYPE_ARM_VGIC_V3 };
	uint64_t dist = LBX_A64_GICD_ADDR, redist = LBX_A64_GICR_ADDR;
	uint32_t nr_irqs = LBX_A64_GIC_NR_IRQS;
	const char *what;
	int rc;

	*fd = -1;
	if (ioctl(m->vm_fd, KVM_CREATE_DEVICE, &dev) < 0) {
		rc = -errno;
		snprintf(err, errsz,
			 "KVM_CREATE_DEVICE (GICv3): %s; lbx-vmm needs a host whose KVM offers "
			 "a GICv3",
			 strerror(-rc));
		return rc;
	}
	*fd = (int)dev.fd;
	what = "distributor address";
	rc = set_attr(*fd, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_V3_ADDR_TYPE_DIST, &dist);
	if (rc == 0) {
		what = "redistributor address";
		rc =
		    set_attr(*fd, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_V3_ADDR_TYPE_REDIST, &redist);
	}
	if (rc == 0) {
		what = "number of interrupts";
		rc = set_attr(*fd, KVM_DEV_ARM_VGIC_GRP_NR_IRQS, 0, &nr_irqs);
	}
	if (rc == 0) {
		what = "initialisation";
		rc = set_attr(*fd, KVM_DEV_ARM_VGIC_GRP_CTRL, KVM_DEV_ARM_VGIC_CTRL_INIT, NULL);
	}
	if (rc) {
		snprintf(err, errsz, "GICv3 %s (%u vCPUs): %s", what, ncpus, strerror(-rc));
		close(*fd);
		*fd = -1;
	}
	return rc;
}

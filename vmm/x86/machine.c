/* SPDX-License-Identifier: MIT */
/*
 * The x86_64 machine: RAM around the MMIO gap (layout.h), the in-kernel
 * PIC, IOAPIC and PIT, and the CPUID table KVM supports. The rest of
 * struct vmm_machine is vmm/machine.c's.
 */
#include "machine.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "cpuid.h"
#include "layout.h"
#include "log.h"

static int get_supported_cpuid(struct vmm_machine *m)
{
	for (unsigned n = 64; n <= 4096; n *= 2) {
		struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + n * sizeof(c->entries[0]));

		if (!c)
			return -ENOMEM;
		c->nent = n;
		if (ioctl(m->kvm_fd, KVM_GET_SUPPORTED_CPUID, c) == 0) {
			m->cpuid = c;
			return 0;
		}
		free(c);
		if (errno != E2BIG)
			return -errno;
	}
	return -E2BIG;
}

/* RAM below the MMIO gap at memfd offset 0, the rest above 4 GiB after it (layout.h). */
static int create_ram(struct vmm_machine *m, uint64_t ram_bytes, char *err, size_t errsz)
{
	uint64_t low = vmm_ram_low_bytes(ram_bytes);
	int rc = vmm_machine_ram(m, ram_bytes, err, errsz);

	if (rc)
		return rc;
	rc = vmm_machine_add_ram(m, 0, 0, low, 0);
	if (rc == 0 && ram_bytes > low)
		rc = vmm_machine_add_ram(m, 1, LBX_MMIO_GAP_END, ram_bytes - low, low);
	if (rc) {
		errno = -rc;
		return vmm_machine_fail(err, errsz, "registering guest RAM");
	}
	return 0;
}

static int create_irqchip(struct vmm_machine *m, char *err, size_t errsz)
{
	uint64_t identity = LBX_KVM_IDENTITY_MAP_ADDR;
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };

	/* Intel without unrestricted guest needs these; others ignore them. */
	if (ioctl(m->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &identity) < 0)
		lbx_debug("KVM_SET_IDENTITY_MAP_ADDR: %s", strerror(errno));
	if (ioctl(m->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)LBX_KVM_TSS_ADDR) < 0)
		lbx_debug("KVM_SET_TSS_ADDR: %s", strerror(errno));
	if (ioctl(m->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0)
		return vmm_machine_fail(err, errsz, "KVM_CREATE_IRQCHIP");
	if (ioctl(m->vm_fd, KVM_CREATE_PIT2, &pit) < 0)
		return vmm_machine_fail(err, errsz, "KVM_CREATE_PIT2");
	return 0;
}

int vmm_machine_create(struct vmm_machine *m, uint64_t ram_bytes, char *err, size_t errsz)
{
	int rc = vmm_machine_open(m, err, errsz);

	if (rc)
		return rc;
	rc = get_supported_cpuid(m);
	if (rc) {
		errno = -rc;
		return vmm_machine_fail(err, errsz, "KVM_GET_SUPPORTED_CPUID");
	}
	vmm_cpuid_add_kvm_features(m->cpuid->entries, m->cpuid->nent,
				   ioctl(m->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_TSC_DEADLINE_TIMER) > 0);
	/*
	 * RAM before the irqchip: registering a memslot in a VM that has no
	 * irqchip yet skips a slow memslot update (measured on this nested
	 * KVM: 0.3 ms instead of 4-10 ms, most of the start-up time).
	 */
	rc = create_ram(m, ram_bytes, err, errsz);
	if (rc == 0)
		rc = create_irqchip(m, err, errsz);
	return rc;
}

int vmm_machine_irq_line(struct vmm_machine *m, unsigned gsi, int level)
{
	struct kvm_irq_level irq = { .irq = gsi, .level = (uint32_t)level };

	return ioctl(m->vm_fd, KVM_IRQ_LINE, &irq) < 0 ? -errno : 0;
}

/* SPDX-License-Identifier: MIT */
/*
 * The machine's parts every architecture shares: /dev/kvm and the VM, the
 * memfd of guest RAM and its memory slots, irqfd and ioeventfd, and the
 * stop logic. vmm_machine_create (the RAM layout and the interrupt
 * controller) and vmm_machine_irq_line are each architecture's
 * (x86/machine.c, arm64/machine.c).
 */
#include "machine.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "compiler.h"
#include "log.h"

#define KVM_API 12

int vmm_machine_fail(char *err, size_t errsz, const char *what)
{
	int e = errno;

	snprintf(err, errsz, "%s: %s", what, strerror(e));
	return -e;
}

int vmm_machine_open(struct vmm_machine *m, char *err, size_t errsz)
{
	int size;

	memset(m, 0, sizeof(*m));
	m->kvm_fd = m->vm_fd = m->ram_fd = m->stop_fd = -1;
	m->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (m->stop_fd < 0)
		return vmm_machine_fail(err, errsz, "eventfd");
	m->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (m->kvm_fd < 0)
		return vmm_machine_fail(err, errsz, "/dev/kvm");
	if (ioctl(m->kvm_fd, KVM_GET_API_VERSION, 0) != KVM_API) {
		snprintf(err, errsz, "/dev/kvm: unsupported KVM API version");
		return -ENOTSUP;
	}
	/* Type 0: x86's only one; on arm64 the default 40-bit IPA space. */
	m->vm_fd = ioctl(m->kvm_fd, KVM_CREATE_VM, 0);
	if (m->vm_fd < 0)
		return vmm_machine_fail(err, errsz, "KVM_CREATE_VM");
	size = ioctl(m->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (size < (int)sizeof(struct kvm_run))
		return vmm_machine_fail(err, errsz, "KVM_GET_VCPU_MMAP_SIZE");
	m->run_size = (size_t)size;
	m->has_irqfd = ioctl(m->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_IRQFD) > 0;
	m->has_ioeventfd = ioctl(m->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_IOEVENTFD) > 0;
	return 0;
}

/*
 * One memfd for all RAM: vhost-user backends map the same fd. Sealing its
 * size means no one who holds the fd can shrink it under us (SIGBUS).
 */
int vmm_machine_ram(struct vmm_machine *m, uint64_t ram_bytes, char *err, size_t errsz)
{
	m->ram_fd = memfd_create("lbx-guest-ram", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (m->ram_fd < 0)
		return vmm_machine_fail(err, errsz, "memfd_create");
	if (ftruncate(m->ram_fd, (off_t)ram_bytes) < 0)
		return vmm_machine_fail(err, errsz, "sizing guest RAM");
	if (fcntl(m->ram_fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0)
		return vmm_machine_fail(err, errsz, "sealing guest RAM");
	m->ram =
	    mmap(NULL, ram_bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, m->ram_fd, 0);
	if (m->ram == MAP_FAILED) {
		m->ram = NULL;
		return vmm_machine_fail(err, errsz, "mapping guest RAM");
	}
	m->ram_bytes = ram_bytes;
	lbx_guest_mem_init(&m->mem);
	return 0;
}

int vmm_machine_add_ram(struct vmm_machine *m, unsigned slot, uint64_t gpa, uint64_t size,
			uint64_t offset)
{
	struct kvm_userspace_memory_region r = {
		.slot = slot,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = (uint64_t)(uintptr_t)(m->ram + offset),
	};

	if (ioctl(m->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0)
		return -errno;
	return lbx_guest_mem_add_mapped(&m->mem, gpa, size, m->ram + offset);
}

void vmm_machine_destroy(struct vmm_machine *m)
{
	int fds[] = { m->ram_fd, m->vm_fd, m->kvm_fd, m->stop_fd };

	if (m->ram)
		munmap(m->ram, m->ram_bytes);
	free(m->cpuid);
	for (size_t i = 0; i < LBX_ARRAY_SIZE(fds); i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

int vmm_machine_irqfd(struct vmm_machine *m, int fd, unsigned gsi)
{
	struct kvm_irqfd irqfd = { .fd = (uint32_t)fd, .gsi = gsi };

	if (!m->has_irqfd)
		return -ENOTSUP;
	return ioctl(m->vm_fd, KVM_IRQFD, &irqfd) < 0 ? -errno : 0;
}

int vmm_machine_ioeventfd(struct vmm_machine *m, int fd, uint64_t addr, uint32_t value)
{
	struct kvm_ioeventfd io = {
		.datamatch = value,
		.addr = addr,
		.len = 4,
		.fd = fd,
		.flags = KVM_IOEVENTFD_FLAG_DATAMATCH,
	};

	if (!m->has_ioeventfd)
		return -ENOTSUP;
	return ioctl(m->vm_fd, KVM_IOEVENTFD, &io) < 0 ? -errno : 0;
}

void vmm_machine_stop(struct vmm_machine *m, int code, const char *fmt, ...)
{
	int expected = 0;
	uint64_t one = 1;
	va_list ap;

	if (!atomic_compare_exchange_strong(&m->stopping, &expected, 1))
		return;
	m->exit_code = code;
	va_start(ap, fmt);
	vsnprintf(m->stop_reason, sizeof(m->stop_reason), fmt, ap);
	va_end(ap);
	if (write(m->stop_fd, &one, sizeof(one)) < 0)
		lbx_debug("stop eventfd: %s", strerror(errno));
}

bool vmm_machine_stopping(struct vmm_machine *m)
{
	return atomic_load(&m->stopping) != 0;
}

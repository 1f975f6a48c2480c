/* SPDX-License-Identifier: MIT */
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

#include "cpuid.h"
#include "e820.h"
#include "layout.h"
#include "compiler.h"
#include "log.h"

#define KVM_API 12

static int fail(char *err, size_t errsz, const char *what)
{
	int e = errno;

	snprintf(err, errsz, "%s: %s", what, strerror(e));
	return -e;
}

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

static int set_slot(struct vmm_machine *m, unsigned slot, uint64_t gpa, uint64_t size,
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

/*
 * One memfd for all RAM: vhost-user backends map the same fd. Sealing its
 * size means no one who holds the fd can shrink it under us (SIGBUS).
 */
static int create_ram(struct vmm_machine *m, uint64_t ram_bytes, char *err, size_t errsz)
{
	uint64_t low = vmm_ram_low_bytes(ram_bytes);
	int rc;

	m->ram_fd = memfd_create("lbx-guest-ram", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (m->ram_fd < 0)
		return fail(err, errsz, "memfd_create");
	if (ftruncate(m->ram_fd, (off_t)ram_bytes) < 0)
		return fail(err, errsz, "sizing guest RAM");
	if (fcntl(m->ram_fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0)
		return fail(err, errsz, "sealing guest RAM");
	m->ram = mmap(NULL, ram_bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE,
		      m->ram_fd, 0);
	if (m->ram == MAP_FAILED) {
		m->ram = NULL;
		return fail(err, errsz, "mapping guest RAM");
	}
	m->ram_bytes = ram_bytes;
	lbx_guest_mem_init(&m->mem);
	rc = set_slot(m, 0, 0, low, 0);
	if (rc == 0 && ram_bytes > low)
		rc = set_slot(m, 1, LBX_MMIO_GAP_END, ram_bytes - low, low);
	if (rc) {
		errno = -rc;
		return fail(err, errsz, "registering guest RAM");
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
		return fail(err, errsz, "KVM_CREATE_IRQCHIP");
	if (ioctl(m->vm_fd, KVM_CREATE_PIT2, &pit) < 0)
		return fail(err, errsz, "KVM_CREATE_PIT2");
	return 0;
}

int vmm_machine_create(struct vmm_machine *m, uint64_t ram_bytes, char *err, size_t errsz)
{
	int rc, size;

	memset(m, 0, sizeof(*m));
	m->kvm_fd = m->vm_fd = m->ram_fd = m->stop_fd = -1;
	m->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (m->stop_fd < 0)
		return fail(err, errsz, "eventfd");
	m->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (m->kvm_fd < 0)
		return fail(err, errsz, "/dev/kvm");
	if (ioctl(m->kvm_fd, KVM_GET_API_VERSION, 0) != KVM_API) {
		snprintf(err, errsz, "/dev/kvm: unsupported KVM API version");
		return -ENOTSUP;
	}
	m->vm_fd = ioctl(m->kvm_fd, KVM_CREATE_VM, 0);
	if (m->vm_fd < 0)
		return fail(err, errsz, "KVM_CREATE_VM");
	size = ioctl(m->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (size < (int)sizeof(struct kvm_run))
		return fail(err, errsz, "KVM_GET_VCPU_MMAP_SIZE");
	m->run_size = (size_t)size;
	m->has_irqfd = ioctl(m->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_IRQFD) > 0;
	m->has_ioeventfd = ioctl(m->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_IOEVENTFD) > 0;
	rc = get_supported_cpuid(m);
	if (rc) {
		errno = -rc;
		return fail(err, errsz, "KVM_GET_SUPPORTED_CPUID");
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

void vmm_machine_destroy(struct vmm_machine *m)
{
	if (m->ram)
		munmap(m->ram, m->ram_bytes);
	free(m->cpuid);
	int fds[] = { m->ram_fd, m->vm_fd, m->kvm_fd, m->stop_fd };

	for (size_t i = 0; i < LBX_ARRAY_SIZE(fds); i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

int vmm_machine_irq_line(struct vmm_machine *m, unsigned gsi, int level)
{
	struct kvm_irq_level irq = { .irq = gsi, .level = (uint32_t)level };

	return ioctl(m->vm_fd, KVM_IRQ_LINE, &irq) < 0 ? -errno : 0;
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

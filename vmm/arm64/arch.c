/* SPDX-License-Identifier: MIT */
/*
 * The arm64 machine for main.c (arch.h), built in this order:
 *
 *   vCPUs (KVM_ARM_VCPU_INIT, PSCI) -> GICv3 (needs every vCPU) -> UART
 *   and virtio-mmio devices (irqfd on SPIs) -> Image and initrd -> device
 *   tree (memory, cpus, GIC, timer, UART, each device, /chosen) -> boot
 *   registers. The machine ends on PSCI SYSTEM_OFF or SYSTEM_RESET
 *   (vcpu.c). --boot is x86's and ignored here.
 */
#include <errno.h>
#include <unistd.h>

#include "arch.h"
#include "device_tree.h"
#include "gic.h"
#include "image.h"
#include "log.h"
#include "vcpu.h"

#include "arm64/layout.h"

static struct {
	struct vmm_a64_vcpu vcpu[LBX_MAX_CPUS];
	unsigned nvcpu;
	int gic_fd;
	struct vmm_a64_layout boot;
} a64 = { .gic_fd = -1 };

static void uart_irq(void *ctx, int level)
{
	struct vmm *v = ctx;

	vmm_machine_irq_line(&v->m, LBX_A64_UART_SPI, level);
}

static int vcpu_before_run(struct vmm_a64_vcpu *c, void *ctx)
{
	return vmm_vcpu_gate(ctx, c->index);
}

static int create_vcpus(struct vmm *v)
{
	char err[256];

	for (unsigned i = 0; i < v->cfg.cpus; i++) {
		struct vmm_a64_vcpu *c = &a64.vcpu[i];

		c->fd = -1;
		c->mmio = &v->mmio;
		c->before_run = vcpu_before_run;
		c->ctx = v;
		a64.nvcpu = i + 1;
		if (vmm_a64_vcpu_create(c, &v->m, i, err, sizeof(err))) {
			lbx_err("%s", err);
			return -1;
		}
	}
	if (vmm_a64_gic_create(&v->m, v->cfg.cpus, &a64.gic_fd, err, sizeof(err))) {
		lbx_err("%s", err);
		return -1;
	}
	return 0;
}

static int add_uart(struct vmm *v)
{
	vmm_uart_init(&v->uart, v->console_fd, uart_irq, v);
	return vmm_iobus_add(&v->mmio, LBX_A64_UART_ADDR, 8, vmm_uart_io, &v->uart);
}

/* The device tree, from what was created and placed, at the DTB address. */
static int write_device_tree(struct vmm *v)
{
	struct vmm_fdt_params p = {
		.ram_base = LBX_A64_RAM_BASE,
		.ram_size = v->m.ram_bytes,
		.ncpus = v->cfg.cpus,
		.gicd_base = LBX_A64_GICD_ADDR,
		.gicd_size = LBX_A64_GICD_SIZE,
		.gicr_base = LBX_A64_GICR_ADDR,
		.gicr_size = v->cfg.cpus * LBX_A64_GICR_SIZE_PER_CPU,
		.uart_base = LBX_A64_UART_ADDR,
		.uart_size = LBX_A64_UART_SIZE,
		.uart_spi = LBX_A64_UART_SPI,
		.uart_clock = LBX_A64_UART_CLOCK,
		.bootargs = v->cfg.cmdline,
	};
	void *blob = lbx_guest_mem_ptr(&v->m.mem, a64.boot.fdt_addr, LBX_A64_FDT_MAX);
	char err[256];

	for (unsigned i = 0; i < v->devs.n && i < VMM_FDT_MAX_VIRTIO; i++)
		p.virtio[p.nvirtio++] =
		    (struct vmm_fdt_virtio){ v->devs.t[i]->base, LBX_VIRTIO_MMIO_SIZE,
					     v->devs.t[i]->irq };
	if (a64.boot.initrd_size) {
		p.initrd_start = a64.boot.initrd_addr;
		p.initrd_end = a64.boot.initrd_addr + a64.boot.initrd_size;
	}
	if (!blob || vmm_fdt_build(blob, LBX_A64_FDT_MAX, &p, err, sizeof(err))) {
		lbx_err("%s", blob ? err : "device tree: its place is not in guest RAM");
		return -1;
	}
	return 0;
}

static int load_boot(struct vmm *v)
{
	char err[256];

	if (vmm_a64_load(&v->m.mem, LBX_A64_RAM_BASE, v->m.ram_bytes, v->cfg.kernel, v->cfg.initrd,
			 &a64.boot, err, sizeof(err)) ||
	    (write_device_tree(v) == 0 &&
	     vmm_a64_vcpu_set_boot_regs(&a64.vcpu[0], a64.boot.kernel_addr, a64.boot.fdt_addr, err,
					sizeof(err)))) {
		lbx_err("%s", err);
		return -1;
	}
	return 0;
}

/* --mem's lower bound (LBX_MIN_MEM_MIB) is arm64's already: nothing else to refuse early. */
int vmm_arch_check(struct vmm *v)
{
	return 0;
}

int vmm_arch_build(struct vmm *v)
{
	if (create_vcpus(v) || add_uart(v) ||
	    vmm_devices_create(&v->devs, &v->cfg, &v->m, &v->mmio, v->console_fd))
		return -1;
	return load_boot(v);
}

/* PSCI ends the machine (vcpu.c): no watch of its own. */
int vmm_arch_watch(struct vmm *v)
{
	return 0;
}

int vmm_arch_start_vcpus(struct vmm *v)
{
	for (unsigned i = 0; i < a64.nvcpu; i++)
		if (vmm_a64_vcpu_start(&a64.vcpu[i]))
			return -1;
	return 0;
}

void vmm_arch_teardown(struct vmm *v)
{
	for (unsigned i = 0; i < a64.nvcpu; i++)
		vmm_a64_vcpu_kick(&a64.vcpu[i]);
	for (unsigned i = 0; i < a64.nvcpu; i++)
		vmm_a64_vcpu_destroy(&a64.vcpu[i]);
	if (a64.gic_fd >= 0)
		close(a64.gic_fd);
}

/* SPDX-License-Identifier: MIT */
#include "device_tree.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <libfdt.h>

#include "layout.h"

/* include/dt-bindings/interrupt-controller/arm-gic.h and irq.h */
#define GIC_SPI		     0
#define GIC_PPI		     1
#define IRQ_TYPE_EDGE_RISING 1
#define IRQ_TYPE_LEVEL_HIGH  4
#define IRQ_TYPE_LEVEL_LOW   8

enum { PHANDLE_GIC = 1 };

uint64_t vmm_fdt_cpu_mpidr(unsigned i)
{
	/* arch/arm64/kvm/sys_regs.c reset_mpidr: Aff0 4 bits, then Aff1, Aff2. */
	return (uint64_t)(i & 0x0f) | (uint64_t)((i >> 4) & 0xff) << 8 |
	       (uint64_t)((i >> 12) & 0xff) << 16;
}

/* Every libfdt call's result, stopping at the first error (sticky, as reader.h). */
struct fdt_w {
	void *fdt;
	int err;
	const char *what;
};

static void chk(struct fdt_w *w, int rc, const char *what)
{
	if (rc < 0 && w->err == 0) {
		w->err = rc;
		w->what = what;
	}
}

static void begin(struct fdt_w *w, const char *name)
{
	if (!w->err)
		chk(w, fdt_begin_node(w->fdt, name), name);
}

static void end(struct fdt_w *w)
{
	if (!w->err)
		chk(w, fdt_end_node(w->fdt), "end of node");
}

static void prop_str(struct fdt_w *w, const char *name, const char *s)
{
	if (!w->err)
		chk(w, fdt_property_string(w->fdt, name, s), name);
}

static void prop_u32(struct fdt_w *w, const char *name, uint32_t v)
{
	if (!w->err)
		chk(w, fdt_property_u32(w->fdt, name, v), name);
}

static void prop_u64(struct fdt_w *w, const char *name, uint64_t v)
{
	if (!w->err)
		chk(w, fdt_property_u64(w->fdt, name, v), name);
}

static void prop_empty(struct fdt_w *w, const char *name)
{
	if (!w->err)
		chk(w, fdt_property(w->fdt, name, NULL, 0), name);
}

/* A property of big-endian cells (fdt32_t each). */
static void prop_cells(struct fdt_w *w, const char *name, const uint32_t *cells, unsigned n)
{
	fdt32_t be[16];

	for (unsigned i = 0; i < n && i < 16; i++)
		be[i] = cpu_to_fdt32(cells[i]);
	if (!w->err)
		chk(w, fdt_property(w->fdt, name, be, (int)(n * sizeof(be[0]))), name);
}

/* Several strings in one property ("a\0b\0"). */
static void prop_strings(struct fdt_w *w, const char *name, const char *const *s, unsigned n)
{
	char buf[128];
	size_t len = 0;

	for (unsigned i = 0; i < n; i++) {
		size_t l = strlen(s[i]) + 1;

		if (len + l > sizeof(buf)) {
			chk(w, -FDT_ERR_NOSPACE, name);
			return;
		}
		memcpy(buf + len, s[i], l);
		len += l;
	}
	if (!w->err)
		chk(w, fdt_property(w->fdt, name, buf, (int)len), name);
}

/* reg = <addr size> with #address-cells = #size-cells = 2 at the root. */
static void prop_reg(struct fdt_w *w, uint64_t addr, uint64_t size)
{
	uint32_t c[4] = { (uint32_t)(addr >> 32), (uint32_t)addr, (uint32_t)(size >> 32),
			  (uint32_t)size };

	prop_cells(w, "reg", c, 4);
}

static void node_name(char *buf, size_t len, const char *base, uint64_t addr)
{
	snprintf(buf, len, "%s@%llx", base, (unsigned long long)addr);
}

static void add_cpus(struct fdt_w *w, const struct vmm_fdt_params *p)
{
	char name[32];

	begin(w, "cpus");
	prop_u32(w, "#address-cells", 1);
	prop_u32(w, "#size-cells", 0);
	for (unsigned i = 0; i < p->ncpus; i++) {
		uint64_t mpidr = vmm_fdt_cpu_mpidr(i);

		node_name(name, sizeof(name), "cpu", mpidr);
		begin(w, name);
		prop_str(w, "device_type", "cpu");
		prop_str(w, "compatible", "arm,arm-v8");
		prop_u32(w, "reg", (uint32_t)mpidr);
		/* Secondary vCPUs start powered off; Linux brings them up with CPU_ON. */
		prop_str(w, "enable-method", "psci");
		end(w);
	}
	end(w);
}

static void add_psci(struct fdt_w *w)
{
	static const char *const compat[] = { "arm,psci-1.0", "arm,psci-0.2" };

	/* KVM implements PSCI for the guest; calls trap as HVC. */
	begin(w, "psci");
	prop_strings(w, "compatible", compat, 2);
	prop_str(w, "method", "hvc");
	end(w);
}

static void add_gic(struct fdt_w *w, const struct vmm_fdt_params *p)
{
	uint32_t reg[8] = {
		(uint32_t)(p->gicd_base >> 32), (uint32_t)p->gicd_base,
		(uint32_t)(p->gicd_size >> 32), (uint32_t)p->gicd_size,
		(uint32_t)(p->gicr_base >> 32), (uint32_t)p->gicr_base,
		(uint32_t)(p->gicr_size >> 32), (uint32_t)p->gicr_size,
	};
	char name[40];

	node_name(name, sizeof(name), "interrupt-controller", p->gicd_base);
	begin(w, name);
	prop_str(w, "compatible", "arm,gic-v3");
	prop_u32(w, "#interrupt-cells", 3);
	prop_empty(w, "interrupt-controller");
	/* No child nodes (no ITS); 0 so an interrupt-map could name it with no address. */
	prop_u32(w, "#address-cells", 0);
	prop_cells(w, "reg", reg, 8);
	prop_u32(w, "#redistributor-regions", 1);
	prop_u32(w, "phandle", PHANDLE_GIC);
	end(w);
}

static void add_timer(struct fdt_w *w)
{
	/* PPIs are level triggered; GICv3 has no CPU mask in the flags cell. */
	static const uint32_t irqs[12] = {
		GIC_PPI, LBX_A64_PPI_TIMER_SEC,	 IRQ_TYPE_LEVEL_HIGH,
		GIC_PPI, LBX_A64_PPI_TIMER_NS,	 IRQ_TYPE_LEVEL_HIGH,
		GIC_PPI, LBX_A64_PPI_TIMER_VIRT, IRQ_TYPE_LEVEL_HIGH,
		GIC_PPI, LBX_A64_PPI_TIMER_HYP,	 IRQ_TYPE_LEVEL_HIGH,
	};

	begin(w, "timer");
	prop_str(w, "compatible", "arm,armv8-timer");
	prop_cells(w, "interrupts", irqs, 12);
	prop_empty(w, "always-on");
	end(w);
}

static void add_uart(struct fdt_w *w, const struct vmm_fdt_params *p, char *path, size_t len)
{
	uint32_t irq[3] = { GIC_SPI, p->uart_spi, IRQ_TYPE_LEVEL_HIGH };
	char name[32];

	node_name(name, sizeof(name), "uart", p->uart_base);
	snprintf(path, len, "/%s", name);
	begin(w, name);
	prop_str(w, "compatible", "ns16550a");
	prop_reg(w, p->uart_base, p->uart_size);
	prop_cells(w, "interrupts", irq, 3);
	prop_u32(w, "clock-frequency", p->uart_clock);
	prop_u32(w, "reg-shift", 0);
	prop_u32(w, "reg-io-width", 1);
	end(w);
}

static void add_virtio(struct fdt_w *w, const struct vmm_fdt_virtio *v)
{
	/* Edge: the transport pulses its line (irqfd), the driver reads InterruptStatus. */
	uint32_t irq[3] = { GIC_SPI, v->spi, IRQ_TYPE_EDGE_RISING };
	char name[32];

	node_name(name, sizeof(name), "virtio_mmio", v->base);
	begin(w, name);
	prop_str(w, "compatible", "virtio,mmio");
	prop_reg(w, v->base, v->size);
	prop_cells(w, "interrupts", irq, 3);
	prop_empty(w, "dma-coherent");
	end(w);
}

static void add_chosen(struct fdt_w *w, const struct vmm_fdt_params *p, const char *stdout_path)
{
	begin(w, "chosen");
	prop_str(w, "bootargs", p->bootargs ? p->bootargs : "");
	prop_str(w, "stdout-path", stdout_path);
	if (p->initrd_end > p->initrd_start) {
		prop_u64(w, "linux,initrd-start", p->initrd_start);
		prop_u64(w, "linux,initrd-end", p->initrd_end);
	}
	end(w);
}

static int check(const struct vmm_fdt_params *p, char *err, size_t errsz)
{
	if (p->ncpus == 0 || p->ram_size == 0) {
		snprintf(err, errsz, "device tree: no CPUs or no RAM");
		return -EINVAL;
	}
	if (p->nvirtio > VMM_FDT_MAX_VIRTIO) {
		snprintf(err, errsz, "device tree: %u virtio devices, at most %d", p->nvirtio,
			 VMM_FDT_MAX_VIRTIO);
		return -EINVAL;
	}
	if (p->uart_spi > LBX_A64_SPI_MAX) {
		snprintf(err, errsz, "device tree: UART SPI %u is past the GIC's %d", p->uart_spi,
			 LBX_A64_SPI_MAX);
		return -EINVAL;
	}
	for (unsigned i = 0; i < p->nvirtio; i++)
		if (p->virtio[i].spi > LBX_A64_SPI_MAX) {
			snprintf(err, errsz,
				 "device tree: virtio device %u has SPI %u, past the GIC's %d", i,
				 p->virtio[i].spi, LBX_A64_SPI_MAX);
			return -EINVAL;
		}
	return 0;
}

int vmm_fdt_build(void *buf, size_t size, const struct vmm_fdt_params *p, char *err, size_t errsz)
{
	struct fdt_w w = { .fdt = buf };
	char name[32], stdout_path[40];
	int rc = check(p, err, errsz);

	if (rc)
		return rc;
	chk(&w, fdt_create(buf, (int)size), "header");
	if (!w.err)
		chk(&w, fdt_finish_reservemap(buf), "reserve map");
	begin(&w, "");
	prop_u32(&w, "#address-cells", 2);
	prop_u32(&w, "#size-cells", 2);
	prop_str(&w, "compatible", "linux,dummy-virt");
	prop_str(&w, "model", "lbx-vmm");
	prop_u32(&w, "interrupt-parent", PHANDLE_GIC);
	add_cpus(&w, p);
	add_psci(&w);
	node_name(name, sizeof(name), "memory", p->ram_base);
	begin(&w, name);
	prop_str(&w, "device_type", "memory");
	prop_reg(&w, p->ram_base, p->ram_size);
	end(&w);
	add_gic(&w, p);
	add_timer(&w);
	add_uart(&w, p, stdout_path, sizeof(stdout_path));
	for (unsigned i = 0; i < p->nvirtio; i++)
		add_virtio(&w, &p->virtio[i]);
	add_chosen(&w, p, stdout_path);
	end(&w);
	if (!w.err)
		chk(&w, fdt_finish(buf), "finish");
	if (w.err) {
		snprintf(err, errsz, "device tree: %s: %s%s", w.what, fdt_strerror(w.err),
			 w.err == -FDT_ERR_NOSPACE ? " (the tree outgrew its buffer)" : "");
		return w.err == -FDT_ERR_NOSPACE ? -ENOSPC : -EINVAL;
	}
	return 0;
}

/* SPDX-License-Identifier: MIT */
/*
 * The x86_64 machine for main.c (arch.h), built in this order:
 *
 *   legacy devices (COM1, i8042 reset) -> virtio-mmio devices and their
 *   cmdline entries -> kernel, initrd and boot tables (zero page or PVH,
 *   e820, MP table, GDT, page tables) -> vCPUs (boot registers on the
 *   first) -> the halt watch (haltwatch.h) in the event loop.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>

#include "arch.h"
#include "boot.h"
#include "i8042.h"
#include "layout.h"
#include "log.h"
#include "vcpu.h"

static struct {
	struct vmm_iobus pio;
	struct vmm_i8042 i8042;
	struct vmm_vcpu vcpu[LBX_MAX_CPUS];
	unsigned nvcpu;
	struct vmm_park park;
	int halt_timer_fd;
	enum vmm_halt_verdict last_verdict;
	char *cmdline;
	struct vmm_boot boot;
} x86 = { .park = VMM_PARK_INIT, .halt_timer_fd = -1 };

static void uart_irq(void *ctx, int level)
{
	struct vmm *v = ctx;

	vmm_machine_irq_line(&v->m, LBX_COM1_IRQ, level);
}

static void i8042_reset(void *ctx)
{
	struct vmm *v = ctx;

	vmm_machine_stop(&v->m, 0, "guest reset through the i8042");
}

static int add_legacy(struct vmm *v)
{
	vmm_uart_init(&v->uart, v->console_fd, uart_irq, v);
	x86.i8042 = (struct vmm_i8042){ i8042_reset, v };
	if (vmm_iobus_add(&x86.pio, LBX_COM1_PORT, 8, vmm_uart_io, &v->uart) ||
	    vmm_iobus_add(&x86.pio, LBX_I8042_DATA_PORT, 5, vmm_i8042_io, &x86.i8042))
		return -EEXIST;
	return 0;
}

static int load_boot(struct vmm *v)
{
	struct vmm_boot_params p = {
		.kernel_path = v->cfg.kernel,
		.initrd_path = v->cfg.initrd,
		.cmdline = x86.cmdline,
		.ram_bytes = v->cfg.mem_mib << 20,
		.ncpus = v->cfg.cpus,
		.protocol = v->cfg.protocol,
	};
	char err[256];
	FILE *f;

	vmm_vcpu_signature(&v->m, &p.cpu_signature, &p.cpu_features);
	if (vmm_boot_setup(&v->m.mem, &p, &x86.boot, err, sizeof(err))) {
		lbx_err("%s", err);
		return -1;
	}
	if (!v->cfg.dump_boot_info)
		return 0;
	f = fopen(v->cfg.dump_boot_info, "we");
	if (!f) {
		lbx_err("--dump-boot-info %s: %s", v->cfg.dump_boot_info, strerror(errno));
		return -1;
	}
	vmm_boot_dump(f, &x86.boot, x86.cmdline);
	return fclose(f) ? -1 : 0;
}

static int vcpu_before_run(struct vmm_vcpu *c, void *ctx)
{
	return vmm_vcpu_gate(ctx, c->index);
}

static int create_vcpus(struct vmm *v)
{
	char err[256];

	for (unsigned i = 0; i < v->cfg.cpus; i++) {
		struct vmm_vcpu *c = &x86.vcpu[i];

		c->fd = -1;
		c->pio = &x86.pio;
		c->mmio = &v->mmio;
		c->before_run = vcpu_before_run;
		c->ctx = v;
		c->park = &x86.park;
		x86.nvcpu = i + 1;
		if (vmm_vcpu_create(c, &v->m, i, v->cfg.cpus, err, sizeof(err)) ||
		    (i == 0 && vmm_vcpu_set_boot_regs(c, &x86.boot, err, sizeof(err)))) {
			lbx_err("%s", err);
			return -1;
		}
	}
	return 0;
}

static const char *verdict_name(enum vmm_halt_verdict h)
{
	return h == VMM_HALT_FOR_GOOD ? "halted for good"
	       : h == VMM_HALT_IDLE   ? "every vCPU idle, interrupts on"
				      : "running";
}

/* See haltwatch.h: a guest that halted every CPU for good has powered off. */
static void on_halt_tick(struct lbx_loop *loop, int fd, uint32_t events, void *data)
{
	struct vmm *v = data;
	struct vmm_vcpu_sample s[LBX_MAX_CPUS];
	enum vmm_halt_verdict h = VMM_HALT_RUNNING;
	uint64_t ticks;

	if (read(fd, &ticks, sizeof(ticks)) < 0 || vmm_machine_stopping(&v->m))
		return;
	if (vmm_vcpus_park(x86.vcpu, x86.nvcpu, &x86.park, 100)) {
		for (unsigned i = 0; i < x86.nvcpu; i++)
			s[i] = x86.vcpu[i].sample;
		h = vmm_halt_verdict(s, x86.nvcpu);
	}
	vmm_vcpus_unpark(&x86.park);
	if (h != x86.last_verdict)
		lbx_debug("halt watch: %s", verdict_name(h));
	x86.last_verdict = h;
	if (h == VMM_HALT_FOR_GOOD)
		vmm_machine_stop(&v->m, 0,
				 "guest powered off: every vCPU halted with interrupts off");
}

int vmm_arch_watch(struct vmm *v)
{
	struct itimerspec every = {
		.it_interval = { 0, VMM_HALTWATCH_MS * 1000000L },
		.it_value = { 0, VMM_HALTWATCH_MS * 1000000L },
	};

	x86.halt_timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (x86.halt_timer_fd < 0 || timerfd_settime(x86.halt_timer_fd, 0, &every, NULL) < 0) {
		lbx_err("halt watch timer: %s", strerror(errno));
		return -1;
	}
	return lbx_loop_add(v->loop, x86.halt_timer_fd, EPOLLIN, on_halt_tick, v);
}

static char *build_cmdline(struct vmm *v)
{
	size_t len = strlen(v->cfg.cmdline) + vmm_devices_cmdline_len(&v->devs) + 1;
	char *s = malloc(len);

	if (s) {
		strcpy(s, v->cfg.cmdline);
		vmm_devices_cmdline(&v->devs, s + strlen(s), len - strlen(s));
	}
	return s;
}

int vmm_arch_check(struct vmm *v)
{
	char err[256];

	if (vmm_boot_check_kernel(v->cfg.kernel, err, sizeof(err))) {
		lbx_err("%s", err);
		return -1;
	}
	return 0;
}

int vmm_arch_build(struct vmm *v)
{
	if (add_legacy(v) || vmm_devices_create(&v->devs, &v->cfg, &v->m, &v->mmio, v->console_fd))
		return -1;
	x86.cmdline = build_cmdline(v);
	if (!x86.cmdline || load_boot(v) || create_vcpus(v))
		return -1;
	return 0;
}

int vmm_arch_start_vcpus(struct vmm *v)
{
	for (unsigned i = 0; i < x86.nvcpu; i++)
		if (vmm_vcpu_start(&x86.vcpu[i]))
			return -1;
	return 0;
}

void vmm_arch_teardown(struct vmm *v)
{
	for (unsigned i = 0; i < x86.nvcpu; i++)
		vmm_vcpu_kick(&x86.vcpu[i]);
	for (unsigned i = 0; i < x86.nvcpu; i++)
		vmm_vcpu_destroy(&x86.vcpu[i]);
	if (x86.halt_timer_fd >= 0)
		close(x86.halt_timer_fd);
	free(x86.cmdline);
}

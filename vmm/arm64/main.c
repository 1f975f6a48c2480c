/* SPDX-License-Identifier: MIT */
/*
 * lbx-vmm for arm64: start-up in the order the machine is built, then the
 * event loop. The command line is lbx-vmm's (vmm/cli.c); --boot is x86's
 * and ignored here.
 *
 *   arguments -> console -> VM and RAM -> vCPUs (KVM_ARM_VCPU_INIT, PSCI)
 *   -> GICv3 (needs every vCPU) -> UART and virtio-mmio devices (irqfd on
 *   SPIs) -> Image and initrd -> device tree (memory, cpus, GIC, timer,
 *   UART, each device, /chosen) -> boot registers -> seccomp on every
 *   thread -> run until PSCI SYSTEM_OFF or SYSTEM_RESET, a signal or a
 *   backend dying.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>

#include "cli.h"
#include "device_tree.h"
#include "devices.h"
#include "evloop.h"
#include "gic.h"
#include "image.h"
#include "iobus.h"
#include "log.h"
#include "machine.h"
#include "syscall_filter.h"
#include "uart.h"
#include "vcpu.h"
#include "virtio_console.h"

#include "arm64/layout.h"

struct vmm {
	struct vmm_config cfg;
	struct vmm_machine m;
	struct vmm_iobus mmio;
	struct vmm_uart uart;
	struct vmm_devices devs;
	struct vmm_a64_vcpu vcpu[LBX_MAX_CPUS];
	unsigned nvcpu;
	int gic_fd;
	struct lbx_loop *loop;
	pthread_mutex_t gate_lock;
	pthread_cond_t gate_cond;
	bool go;
	int console_fd;
	struct vmm_a64_layout boot;
};

static int open_console(struct vmm *v)
{
	if (!strcmp(v->cfg.console, "stdio")) {
		v->console_fd = STDOUT_FILENO;
		return 0;
	}
	v->console_fd =
	    open(v->cfg.console, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY, 0600);
	if (v->console_fd < 0) {
		lbx_err("console %s: %s", v->cfg.console, strerror(errno));
		return -errno;
	}
	return 0;
}

static void uart_irq(void *ctx, int level)
{
	struct vmm *v = ctx;

	vmm_machine_irq_line(&v->m, LBX_A64_UART_SPI, level);
}

static void gate_wait(struct vmm *v)
{
	pthread_mutex_lock(&v->gate_lock);
	while (!v->go)
		pthread_cond_wait(&v->gate_cond, &v->gate_lock);
	pthread_mutex_unlock(&v->gate_lock);
}

static void gate_open(struct vmm *v)
{
	pthread_mutex_lock(&v->gate_lock);
	v->go = true;
	pthread_cond_broadcast(&v->gate_cond);
	pthread_mutex_unlock(&v->gate_lock);
}

/* LBX_VMM_REPORT_START=1: when the first KVM_RUN happens (bench). */
static void report_start(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	fprintf(stderr, "lbx-vmm: first-kvm-run monotonic_ns=%lld\n",
		(long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
}

static int vcpu_before_run(struct vmm_a64_vcpu *c, void *ctx)
{
	struct vmm *v = ctx;

	gate_wait(v);
	if (vmm_machine_stopping(&v->m))
		return -1;
	if (c->index == 0 && getenv("LBX_VMM_REPORT_START"))
		report_start();
	return v->cfg.seccomp ? vmm_seccomp_apply(VMM_THREAD_VCPU) : 0;
}

static int create_vcpus(struct vmm *v)
{
	char err[256];

	for (unsigned i = 0; i < v->cfg.cpus; i++) {
		struct vmm_a64_vcpu *c = &v->vcpu[i];

		c->fd = -1;
		c->mmio = &v->mmio;
		c->before_run = vcpu_before_run;
		c->ctx = v;
		v->nvcpu = i + 1;
		if (vmm_a64_vcpu_create(c, &v->m, i, err, sizeof(err))) {
			lbx_err("%s", err);
			return -1;
		}
	}
	if (vmm_a64_gic_create(&v->m, v->cfg.cpus, &v->gic_fd, err, sizeof(err))) {
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
	void *blob = lbx_guest_mem_ptr(&v->m.mem, v->boot.fdt_addr, LBX_A64_FDT_MAX);
	char err[256];

	for (unsigned i = 0; i < v->devs.n && i < VMM_FDT_MAX_VIRTIO; i++)
		p.virtio[p.nvirtio++] =
		    (struct vmm_fdt_virtio){ v->devs.t[i]->base, 0x1000, v->devs.t[i]->irq };
	if (v->boot.initrd_size) {
		p.initrd_start = v->boot.initrd_addr;
		p.initrd_end = v->boot.initrd_addr + v->boot.initrd_size;
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
			 &v->boot, err, sizeof(err)) ||
	    (write_device_tree(v) == 0 &&
	     vmm_a64_vcpu_set_boot_regs(&v->vcpu[0], v->boot.kernel_addr, v->boot.fdt_addr, err,
					sizeof(err)))) {
		lbx_err("%s", err);
		return -1;
	}
	return 0;
}

static void on_stop(struct lbx_loop *loop, int fd, uint32_t events, void *data)
{
	lbx_loop_stop(loop, 0);
}

static void on_signal(struct lbx_loop *loop, int signo, void *data)
{
	struct vmm *v = data;

	vmm_machine_stop(&v->m, 128 + signo, "stopped by signal %d", signo);
}

/* Terminal input goes to the virtio console when there is one, else the UART. */
static void on_stdin(struct lbx_loop *loop, int fd, uint32_t events, void *data)
{
	struct vmm *v = data;
	uint8_t buf[512];
	ssize_t n = read(fd, buf, sizeof(buf));

	if (n <= 0) {
		if (n == 0 || (errno != EAGAIN && errno != EINTR))
			lbx_loop_del(loop, fd);
		return;
	}
	if (v->devs.console)
		vmm_virtio_console_input(v->devs.console, buf, (size_t)n);
	else
		vmm_uart_input(&v->uart, buf, (size_t)n);
}

static int setup_loop(struct vmm *v)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };

	v->loop = lbx_loop_new();
	if (!v->loop || lbx_loop_add(v->loop, v->m.stop_fd, EPOLLIN, on_stop, v) ||
	    lbx_loop_add_signals(v->loop, sigs, LBX_ARRAY_SIZE(sigs), on_signal, v) < 0)
		return -1;
	if (v->console_fd == STDOUT_FILENO &&
	    lbx_loop_add(v->loop, STDIN_FILENO, EPOLLIN, on_stdin, v) < 0)
		lbx_debug("console input: stdin cannot be watched");
	return vmm_devices_watch(&v->devs, v->loop);
}

static int start_vcpus(struct vmm *v)
{
	int rc = 0;

	for (unsigned i = 0; i < v->nvcpu && rc == 0; i++)
		if (vmm_a64_vcpu_start(&v->vcpu[i])) {
			vmm_machine_stop(&v->m, 1, "cannot start vCPU threads");
			rc = -1;
		}
	if (rc == 0 && v->cfg.seccomp && vmm_seccomp_apply(VMM_THREAD_MAIN)) {
		vmm_machine_stop(&v->m, 1, "cannot install the seccomp filter");
		rc = -1;
	}
	gate_open(v);
	return rc;
}

static int setup(struct vmm *v)
{
	char err[256];

	if ((v->cfg.mem_mib) < LBX_A64_MIN_MEM_MIB) {
		lbx_err("--mem %llu: an arm64 box needs at least %d MiB",
			(unsigned long long)v->cfg.mem_mib, LBX_A64_MIN_MEM_MIB);
		return -1;
	}
	if (open_console(v))
		return -1;
	if (vmm_machine_create(&v->m, v->cfg.mem_mib << 20, err, sizeof(err))) {
		lbx_err("%s", err);
		return -1;
	}
	if (create_vcpus(v) || add_uart(v) ||
	    vmm_devices_create(&v->devs, &v->cfg, &v->m, &v->mmio, v->console_fd))
		return -1;
	if (load_boot(v) || setup_loop(v))
		return -1;
	return 0;
}

static void teardown(struct vmm *v)
{
	for (unsigned i = 0; i < v->nvcpu; i++)
		vmm_a64_vcpu_kick(&v->vcpu[i]);
	for (unsigned i = 0; i < v->nvcpu; i++)
		vmm_a64_vcpu_destroy(&v->vcpu[i]);
	vmm_devices_destroy(&v->devs);
	if (v->loop)
		lbx_loop_free(v->loop);
	if (v->gic_fd >= 0)
		close(v->gic_fd);
	vmm_machine_destroy(&v->m);
}

int main(int argc, char **argv)
{
	static struct vmm v = {
		.gate_lock = PTHREAD_MUTEX_INITIALIZER,
		.gate_cond = PTHREAD_COND_INITIALIZER,
		.gic_fd = -1,
	};
	char err[256];
	int rc;

	lbx_log_init("lbx-vmm");
	rc = vmm_cli_parse(argc, argv, &v.cfg, err, sizeof(err));
	if (rc) {
		if (rc < 0)
			lbx_err("%s", err);
		return rc < 0 ? 2 : 0;
	}
	signal(SIGPIPE, SIG_IGN);
	if (setup(&v) || start_vcpus(&v)) {
		if (!vmm_machine_stopping(&v.m))
			vmm_machine_stop(&v.m, 1, "setup failed");
		rc = 1;
	} else {
		lbx_loop_run(v.loop);
		rc = v.m.exit_code;
		if (rc)
			lbx_err("%s", v.m.stop_reason);
		else
			lbx_info("%s", v.m.stop_reason);
	}
	teardown(&v);
	return rc;
}

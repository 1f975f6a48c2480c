/* SPDX-License-Identifier: MIT */
/*
 * lbx-vmm: start-up in the order a machine is built, then the event loop.
 *
 *   arguments -> console -> VM and RAM -> devices (and their cmdline
 *   entries) -> kernel, initrd and boot tables -> vCPUs -> seccomp on
 *   every thread -> run until reset, triple fault, a signal or a backend
 *   dying.
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
#include <sys/timerfd.h>

#include "boot.h"
#include "cli.h"
#include "devices.h"
#include "evloop.h"
#include "i8042.h"
#include "iobus.h"
#include "layout.h"
#include "log.h"
#include "machine.h"
#include "syscall_filter.h"
#include "uart.h"
#include "vcpu.h"
#include "virtio_console.h"

struct vmm {
	struct vmm_config cfg;
	struct vmm_machine m;
	struct vmm_iobus pio, mmio;
	struct vmm_uart uart;
	struct vmm_i8042 i8042;
	struct vmm_devices devs;
	struct vmm_vcpu vcpu[LBX_MAX_CPUS];
	unsigned nvcpu;
	struct vmm_park park;
	int halt_timer_fd;
	enum vmm_halt_verdict last_verdict;
	struct lbx_loop *loop;
	pthread_mutex_t gate_lock;
	pthread_cond_t gate_cond;
	bool go;
	int console_fd;
	char *cmdline;
	struct vmm_boot boot;
};

static int open_console(struct vmm *v)
{
	if (!strcmp(v->cfg.console, "stdio")) {
		v->console_fd = STDOUT_FILENO;
		return 0;
	}
	v->console_fd = open(v->cfg.console, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY,
			     0600);
	if (v->console_fd < 0) {
		lbx_err("console %s: %s", v->cfg.console, strerror(errno));
		return -errno;
	}
	return 0;
}

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
	v->i8042 = (struct vmm_i8042){ i8042_reset, v };
	if (vmm_iobus_add(&v->pio, LBX_COM1_PORT, 8, vmm_uart_io, &v->uart) ||
	    vmm_iobus_add(&v->pio, LBX_I8042_DATA_PORT, 5, vmm_i8042_io, &v->i8042))
		return -EEXIST;
	return 0;
}

static int load_boot(struct vmm *v)
{
	struct vmm_boot_params p = {
		.kernel_path = v->cfg.kernel,
		.initrd_path = v->cfg.initrd,
		.cmdline = v->cmdline,
		.ram_bytes = v->cfg.mem_mib << 20,
		.ncpus = v->cfg.cpus,
		.protocol = v->cfg.protocol,
	};
	char err[256];
	FILE *f;

	vmm_vcpu_signature(&v->m, &p.cpu_signature, &p.cpu_features);
	if (vmm_boot_setup(&v->m.mem, &p, &v->boot, err, sizeof(err))) {
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
	vmm_boot_dump(f, &v->boot, v->cmdline);
	return fclose(f) ? -1 : 0;
}

/* LBX_VMM_REPORT_START=1: when the first KVM_RUN happens and the RSS then (bench). */
static void report_start(void)
{
	char line[128];
	struct timespec ts;
	FILE *f;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	fprintf(stderr, "lbx-vmm: first-kvm-run monotonic_ns=%lld\n",
		(long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
	f = fopen("/proc/self/status", "re");
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "VmHWM:", 6) || !strncmp(line, "VmRSS:", 6) ||
		    !strncmp(line, "RssShmem:", 9) || !strncmp(line, "RssFile:", 8) ||
		    !strncmp(line, "RssAnon:", 8))
			fprintf(stderr, "lbx-vmm: first-kvm-run %s", line);
	if (f)
		fclose(f);
}

static void gate_wait(struct vmm *v);

static int vcpu_before_run(struct vmm_vcpu *c, void *ctx)
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
		struct vmm_vcpu *c = &v->vcpu[i];

		c->fd = -1;
		c->pio = &v->pio;
		c->mmio = &v->mmio;
		c->before_run = vcpu_before_run;
		c->ctx = v;
		c->park = &v->park;
		v->nvcpu = i + 1;
		if (vmm_vcpu_create(c, &v->m, i, v->cfg.cpus, err, sizeof(err)) ||
		    (i == 0 && vmm_vcpu_set_boot_regs(c, &v->boot, err, sizeof(err)))) {
			lbx_err("%s", err);
			return -1;
		}
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

/* Terminal input goes to the virtio console when there is one, else COM1. */
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
	if (vmm_vcpus_park(v->vcpu, v->nvcpu, &v->park, 100)) {
		for (unsigned i = 0; i < v->nvcpu; i++)
			s[i] = v->vcpu[i].sample;
		h = vmm_halt_verdict(s, v->nvcpu);
	}
	vmm_vcpus_unpark(&v->park);
	if (h != v->last_verdict)
		lbx_debug("halt watch: %s", verdict_name(h));
	v->last_verdict = h;
	if (h == VMM_HALT_FOR_GOOD)
		vmm_machine_stop(&v->m, 0, "guest powered off: every vCPU halted with interrupts off");
}

static int setup_halt_watch(struct vmm *v)
{
	struct itimerspec every = {
		.it_interval = { 0, VMM_HALTWATCH_MS * 1000000L },
		.it_value = { 0, VMM_HALTWATCH_MS * 1000000L },
	};

	v->halt_timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (v->halt_timer_fd < 0 || timerfd_settime(v->halt_timer_fd, 0, &every, NULL) < 0) {
		lbx_err("halt watch timer: %s", strerror(errno));
		return -1;
	}
	return lbx_loop_add(v->loop, v->halt_timer_fd, EPOLLIN, on_halt_tick, v);
}

static int setup_loop(struct vmm *v)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };

	v->loop = lbx_loop_new();
	if (!v->loop || lbx_loop_add(v->loop, v->m.stop_fd, EPOLLIN, on_stop, v) ||
	    lbx_loop_add_signals(v->loop, sigs, LBX_ARRAY_SIZE(sigs), on_signal, v) < 0 ||
	    setup_halt_watch(v))
		return -1;
	/* stdin may be a file or /dev/null that epoll refuses: then no input. */
	if (v->console_fd == STDOUT_FILENO &&
	    lbx_loop_add(v->loop, STDIN_FILENO, EPOLLIN, on_stdin, v) < 0)
		lbx_debug("console input: stdin cannot be watched");
	return vmm_devices_watch(&v->devs, v->loop);
}

/*
 * The start gate: vCPU threads wait here until the main thread has its own
 * filter, then each loads its filter and enters the guest. Setting go with
 * the machine stopping lets them leave instead.
 */
static void gate_open(struct vmm *v)
{
	pthread_mutex_lock(&v->gate_lock);
	v->go = true;
	pthread_cond_broadcast(&v->gate_cond);
	pthread_mutex_unlock(&v->gate_lock);
}

static void gate_wait(struct vmm *v)
{
	pthread_mutex_lock(&v->gate_lock);
	while (!v->go)
		pthread_cond_wait(&v->gate_cond, &v->gate_lock);
	pthread_mutex_unlock(&v->gate_lock);
}

static int start_vcpus(struct vmm *v)
{
	int rc = 0;

	for (unsigned i = 0; i < v->nvcpu && rc == 0; i++)
		if (vmm_vcpu_start(&v->vcpu[i])) {
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

static int setup(struct vmm *v)
{
	char err[256];

	if (vmm_boot_check_kernel(v->cfg.kernel, err, sizeof(err))) {
		lbx_err("%s", err);
		return -1;
	}
	if (open_console(v))
		return -1;
	if (vmm_machine_create(&v->m, v->cfg.mem_mib << 20, err, sizeof(err))) {
		lbx_err("%s", err);
		return -1;
	}
	if (add_legacy(v) || vmm_devices_create(&v->devs, &v->cfg, &v->m, &v->mmio, v->console_fd))
		return -1;
	v->cmdline = build_cmdline(v);
	if (!v->cmdline || load_boot(v) || create_vcpus(v) || setup_loop(v))
		return -1;
	return 0;
}

static void teardown(struct vmm *v)
{
	for (unsigned i = 0; i < v->nvcpu; i++)
		vmm_vcpu_kick(&v->vcpu[i]);
	for (unsigned i = 0; i < v->nvcpu; i++)
		vmm_vcpu_destroy(&v->vcpu[i]);
	vmm_devices_destroy(&v->devs);
	if (v->loop)
		lbx_loop_free(v->loop);
	if (v->halt_timer_fd >= 0)
		close(v->halt_timer_fd);
	vmm_machine_destroy(&v->m);
	free(v->cmdline);
}

int main(int argc, char **argv)
{
	static struct vmm v = {
		.gate_lock = PTHREAD_MUTEX_INITIALIZER,
		.gate_cond = PTHREAD_COND_INITIALIZER,
		.park = VMM_PARK_INIT,
		.halt_timer_fd = -1,
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

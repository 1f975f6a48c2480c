/* SPDX-License-Identifier: MIT */
/*
 * lbx-vmm: start-up in the order a machine is built, then the event loop.
 *
 *   arguments -> the architecture's checks -> console -> VM and RAM ->
 *   the architecture's machine (arch.h: x86/arch.c, arm64/arch.c) ->
 *   event loop watches -> vCPU threads -> seccomp on every thread -> run
 *   until the guest resets or powers off, a signal or a backend dying.
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

#include "arch.h"
#include "log.h"
#include "syscall_filter.h"
#include "virtio_console.h"

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

int vmm_vcpu_gate(struct vmm *v, unsigned index)
{
	pthread_mutex_lock(&v->gate_lock);
	while (!v->go)
		pthread_cond_wait(&v->gate_cond, &v->gate_lock);
	pthread_mutex_unlock(&v->gate_lock);
	if (vmm_machine_stopping(&v->m))
		return -1;
	if (index == 0 && getenv("LBX_VMM_REPORT_START"))
		report_start();
	return v->cfg.seccomp ? vmm_seccomp_apply(VMM_THREAD_VCPU) : 0;
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
	    lbx_loop_add_signals(v->loop, sigs, LBX_ARRAY_SIZE(sigs), on_signal, v) < 0 ||
	    vmm_arch_watch(v))
		return -1;
	/* stdin may be a file or /dev/null that epoll refuses: then no input. */
	if (v->console_fd == STDOUT_FILENO &&
	    lbx_loop_add(v->loop, STDIN_FILENO, EPOLLIN, on_stdin, v) < 0)
		lbx_debug("console input: stdin cannot be watched");
	return vmm_devices_watch(&v->devs, v->loop);
}

static int start_vcpus(struct vmm *v)
{
	int rc = 0;

	if (vmm_arch_start_vcpus(v)) {
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

	if (vmm_arch_check(v) || open_console(v))
		return -1;
	if (vmm_machine_create(&v->m, v->cfg.mem_mib << 20, err, sizeof(err))) {
		lbx_err("%s", err);
		return -1;
	}
	if (vmm_arch_build(v) || setup_loop(v))
		return -1;
	return 0;
}

static void teardown(struct vmm *v)
{
	vmm_arch_teardown(v);
	vmm_devices_destroy(&v->devs);
	if (v->loop)
		lbx_loop_free(v->loop);
	vmm_machine_destroy(&v->m);
}

int main(int argc, char **argv)
{
	static struct vmm v = {
		.gate_lock = PTHREAD_MUTEX_INITIALIZER,
		.gate_cond = PTHREAD_COND_INITIALIZER,
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

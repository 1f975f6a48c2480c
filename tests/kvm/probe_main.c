/* SPDX-License-Identifier: MIT */
/*
 * Probe guest main: reads the command line the way its boot protocol
 * passes it, then runs the probe named by lbx.probe= and resets.
 */
#include "probe.h"

/* boot_params.hdr.cmd_line_ptr (boot.rst 0x228) and ext_cmd_line_ptr (0x0c8). */
static const char *linux64_cmdline(uint64_t zp)
{
	uint64_t lo = *(volatile uint32_t *)(zp + 0x228);
	uint64_t hi = *(volatile uint32_t *)(zp + 0x0c8);

	return (const char *)(lo | hi << 32);
}

/* hvm_start_info.cmdline_paddr (start_info.h, offset 24). */
static const char *pvh_cmdline(uint64_t si)
{
	return (const char *)*(volatile uint64_t *)(si + 24);
}

void probe_main(uint64_t info, int protocol);

void probe_main(uint64_t info, int protocol)
{
	struct probe_boot b = { (enum probe_protocol)protocol, info, 0 };
	char mode[32];

	b.cmdline = protocol == PROBE_PVH ? pvh_cmdline(info) : linux64_cmdline(info);
	put_str("probe: hello from ");
	put_str(protocol == PROBE_PVH ? "pvh\n" : "linux64\n");
	if (!probe_cmdline_get(b.cmdline, "lbx.probe", mode, sizeof(mode)))
		mode[0] = 0;
	if (!memcmp(mode, "bootinfo", 9))
		probe_bootinfo(&b);
	else if (!memcmp(mode, "virtio", 7))
		probe_virtio(&b);
	else if (!memcmp(mode, "blk", 4))
		probe_blk(&b);
	else if (!memcmp(mode, "triple", 7))
		probe_triple_fault();
	else if (!memcmp(mode, "halt", 5))
		probe_halt(false);
	else if (!memcmp(mode, "idle", 5))
		probe_halt(true);
	else if (!memcmp(mode, "spin", 5))
		for (put_str("probe: spinning\n");;)
			__asm__ volatile("pause");
	probe_reset();
}

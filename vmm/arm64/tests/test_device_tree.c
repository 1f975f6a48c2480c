/* SPDX-License-Identifier: MIT */
/*
 * The arm64 device tree, read back with libfdt and decompiled by dtc: every
 * node the guest needs is there with the values the machine uses, bad
 * parameters and a too-small buffer fail with a reason, and dtc accepts the
 * blob without a warning.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libfdt.h>

#include "device_tree.h"
#include "layout.h"
#include "tap.h"

static uint8_t blob[LBX_A64_FDT_MAX];

static void params(struct vmm_fdt_params *p)
{
	memset(p, 0, sizeof(*p));
	p->ram_base = LBX_A64_RAM_BASE;
	p->ram_size = 512ULL << 20;
	p->ncpus = 2;
	p->gicd_base = LBX_A64_GICD_ADDR;
	p->gicd_size = LBX_A64_GICD_SIZE;
	p->gicr_base = LBX_A64_GICR_ADDR;
	p->gicr_size = 2 * LBX_A64_GICR_SIZE_PER_CPU;
	p->uart_base = LBX_A64_UART_ADDR;
	p->uart_size = LBX_A64_UART_SIZE;
	p->uart_spi = LBX_A64_UART_SPI;
	p->uart_clock = LBX_A64_UART_CLOCK;
	for (unsigned i = 0; i < 3; i++)
		p->virtio[i] = (struct vmm_fdt_virtio){ 0xd0000000ULL + i * 0x1000, 0x1000, 5 + i };
	p->nvirtio = 3;
	p->bootargs = "console=ttyS0 quiet lbx.hostname=box";
	p->initrd_start = LBX_A64_RAM_BASE + (256ULL << 20);
	p->initrd_end = p->initrd_start + 12345;
}

static uint32_t cell(const void *prop, int i)
{
	return fdt32_to_cpu(((const fdt32_t *)prop)[i]);
}

static uint64_t cells64(const void *prop, int i)
{
	return (uint64_t)cell(prop, i) << 32 | cell(prop, i + 1);
}

static const void *prop(const char *path, const char *name, int *len)
{
	int node = fdt_path_offset(blob, path);

	*len = -1;
	return node < 0 ? NULL : fdt_getprop(blob, node, name, len);
}

static int prop_is(const char *path, const char *name, const char *want)
{
	int len;
	const char *s = prop(path, name, &len);

	return s && len == (int)strlen(want) + 1 && !memcmp(s, want, (size_t)len);
}

static void test_tree(void)
{
	struct vmm_fdt_params p;
	char err[256] = "";
	const void *v;
	int len, n = 0, node;

	params(&p);
	is_int(vmm_fdt_build(blob, sizeof(blob), &p, err, sizeof(err)), 0, "tree built (%s)", err);
	is_int(fdt_check_header(blob), 0, "libfdt accepts the header");
	ok(fdt_totalsize(blob) <= sizeof(blob), "blob within its buffer");
	v = prop("/", "#address-cells", &len);
	ok(v && len == 4 && cell(v, 0) == 2, "root: 2 address cells");

	v = prop("/memory@100000000", "reg", &len);
	ok(v && len == 16 && cells64(v, 0) == p.ram_base && cells64(v, 2) == p.ram_size,
	   "memory node: base and size");
	ok(prop_is("/memory@100000000", "device_type", "memory"), "memory device_type");

	node = fdt_path_offset(blob, "/cpus");
	for (int c = fdt_first_subnode(blob, node); c >= 0; c = fdt_next_subnode(blob, c))
		n++;
	is_int(n, 2, "one cpu node per vCPU");
	ok(prop_is("/cpus/cpu@1", "enable-method", "psci"), "cpu@1: PSCI enable-method");
	v = prop("/cpus/cpu@1", "reg", &len);
	ok(v && len == 4 && cell(v, 0) == 1, "cpu@1: reg is its MPIDR");
	is_int(vmm_fdt_cpu_mpidr(17), 0x101, "vCPU 17's MPIDR: Aff1 1, Aff0 1 (KVM's reset value)");
	ok(prop_is("/psci", "method", "hvc"), "psci: hvc");
	v = prop("/psci", "compatible", &len);
	ok(v && len == (int)sizeof("arm,psci-1.0\0arm,psci-0.2") &&
	       !memcmp(v, "arm,psci-1.0\0arm,psci-0.2", (size_t)len),
	   "psci: 1.0 and 0.2 compatible");

	ok(prop_is("/interrupt-controller@8000000", "compatible", "arm,gic-v3"), "GICv3 node");
	v = prop("/interrupt-controller@8000000", "reg", &len);
	ok(v && len == 32 && cells64(v, 0) == LBX_A64_GICD_ADDR &&
	       cells64(v, 4) == LBX_A64_GICR_ADDR && cells64(v, 6) == 2 * LBX_A64_GICR_SIZE_PER_CPU,
	   "GIC: distributor and redistributor regions");
	v = prop("/", "interrupt-parent", &len);
	ok(v && len == 4 &&
	       fdt_node_offset_by_phandle(blob, cell(v, 0)) ==
		   fdt_path_offset(blob, "/interrupt-controller@8000000"),
	   "interrupt-parent is the GIC's phandle");

	ok(prop_is("/timer", "compatible", "arm,armv8-timer"), "timer node");
	v = prop("/timer", "interrupts", &len);
	ok(v && len == 48 && cell(v, 0) == 1 && cell(v, 1) == 13 && cell(v, 4) == 14 &&
	       cell(v, 7) == 11 && cell(v, 10) == 10,
	   "timer: the four PPIs (13 14 11 10)");

	ok(prop_is("/uart@9000000", "compatible", "ns16550a"), "UART node");
	v = prop("/uart@9000000", "interrupts", &len);
	ok(v && len == 12 && cell(v, 0) == 0 && cell(v, 1) == LBX_A64_UART_SPI, "UART: its SPI");

	for (unsigned i = 0; i < 3; i++) {
		char path[40];

		snprintf(path, sizeof(path), "/virtio_mmio@%llx", 0xd0000000ULL + i * 0x1000);
		ok(prop_is(path, "compatible", "virtio,mmio"), "%s: compatible", path);
		v = prop(path, "reg", &len);
		ok(v && len == 16 && cells64(v, 0) == p.virtio[i].base && cells64(v, 2) == 0x1000,
		   "%s: reg", path);
		v = prop(path, "interrupts", &len);
		ok(v && len == 12 && cell(v, 0) == 0 && cell(v, 1) == 5 + i && cell(v, 2) == 1,
		   "%s: SPI %u, edge", path, 5 + i);
	}

	ok(prop_is("/chosen", "bootargs", p.bootargs), "chosen: bootargs");
	ok(prop_is("/chosen", "stdout-path", "/uart@9000000"),
	   "chosen: stdout-path names the UART");
	v = prop("/chosen", "linux,initrd-start", &len);
	ok(v && len == 8 && cells64(v, 0) == p.initrd_start, "chosen: initrd start (64-bit)");
	v = prop("/chosen", "linux,initrd-end", &len);
	ok(v && len == 8 && cells64(v, 0) == p.initrd_end, "chosen: initrd end");
	ok(!strstr(p.bootargs, "virtio_mmio"), "no device on the command line");
}

static void test_no_initrd(void)
{
	struct vmm_fdt_params p;
	char err[256];
	int len;

	params(&p);
	p.initrd_start = p.initrd_end = 0;
	is_int(vmm_fdt_build(blob, sizeof(blob), &p, err, sizeof(err)), 0, "tree without initrd");
	ok(!prop("/chosen", "linux,initrd-start", &len), "no initrd properties without an initrd");
}

static void test_errors(void)
{
	static uint8_t small[256];
	struct vmm_fdt_params p;
	char err[256] = "";

	params(&p);
	is_int(vmm_fdt_build(small, sizeof(small), &p, err, sizeof(err)), -ENOSPC,
	       "a small buffer: ENOSPC");
	ok(strstr(err, "outgrew") != NULL, "and says so (%s)", err);
	params(&p);
	p.virtio[1].spi = LBX_A64_SPI_MAX + 1;
	is_int(vmm_fdt_build(blob, sizeof(blob), &p, err, sizeof(err)), -EINVAL,
	       "an SPI past the GIC: EINVAL");
	ok(strstr(err, "virtio device 1") != NULL, "names the device (%s)", err);
	params(&p);
	p.ncpus = 0;
	is_int(vmm_fdt_build(blob, sizeof(blob), &p, err, sizeof(err)), -EINVAL, "no CPUs: EINVAL");
}

/* dtc decompiles it, with no warning, to the nodes read above. */
static void test_dtc(void)
{
	struct vmm_fdt_params p;
	char dir[] = "/tmp/lbx-fdt-XXXXXX", path[64], cmd[256], dts[16384];
	char err[256];
	size_t n;
	FILE *f;

	if (system("command -v dtc >/dev/null 2>&1") != 0) {
		tap_skip("dtc not installed (apt-get install device-tree-compiler)");
		return;
	}
	params(&p);
	if (!ok(mkdtemp(dir) != NULL, "temporary directory") ||
	    !ok(vmm_fdt_build(blob, sizeof(blob), &p, err, sizeof(err)) == 0, "tree for dtc"))
		return;
	snprintf(path, sizeof(path), "%s/t.dtb", dir);
	f = fopen(path, "wb");
	ok(f && fwrite(blob, 1, fdt_totalsize(blob), f) == fdt_totalsize(blob) && !fclose(f),
	   "blob written");
	snprintf(cmd, sizeof(cmd), "dtc -I dtb -O dts -o %s/t.dts %s 2>%s/warn", dir, path, dir);
	is_int(system(cmd), 0, "dtc decompiles the blob");
	snprintf(path, sizeof(path), "%s/warn", dir);
	f = fopen(path, "r");
	n = f ? fread(dts, 1, sizeof(dts) - 1, f) : 0;
	dts[n] = 0;
	if (f)
		fclose(f);
	ok(n == 0, "dtc prints no warning%s%s", n ? ": " : "", dts);
	snprintf(path, sizeof(path), "%s/t.dts", dir);
	f = fopen(path, "r");
	n = f ? fread(dts, 1, sizeof(dts) - 1, f) : 0;
	dts[n] = 0;
	if (f)
		fclose(f);
	ok(strstr(dts, "compatible = \"virtio,mmio\";") != NULL, "dts: virtio,mmio nodes");
	ok(strstr(dts, "enable-method = \"psci\";") != NULL, "dts: PSCI enable-method");
	ok(strstr(dts, "compatible = \"arm,gic-v3\";") != NULL, "dts: GICv3");
	ok(strstr(dts, "bootargs = \"console=ttyS0 quiet lbx.hostname=box\";") != NULL,
	   "dts: bootargs");
	ok(strstr(dts, "linux,initrd-start = <0x01 0x10000000>;") != NULL, "dts: initrd start");
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", dir);
}

int main(void)
{
	test_tree();
	test_no_initrd();
	test_errors();
	test_dtc();
	return tap_done();
}

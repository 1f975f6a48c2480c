/* SPDX-License-Identifier: MIT */
/*
 * Freestanding helpers for the probe guests: port I/O, MMIO, COM1 output,
 * and the few string and memory functions the compiler may call. Probes
 * use integer instructions only (the emulating KVM on our test machines
 * cannot run SSE) and poll; they never enable interrupts.
 */
#ifndef PROBE_H
#define PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum probe_protocol { PROBE_LINUX64 = 0, PROBE_PVH = 1 };

static inline void outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
	uint8_t v;

	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline uint32_t mmio_read32(uint64_t addr)
{
	return *(volatile uint32_t *)addr;
}

static inline void mmio_write32(uint64_t addr, uint32_t v)
{
	*(volatile uint32_t *)addr = v;
}

static inline void barrier(void)
{
	__asm__ volatile("" ::: "memory");
}

void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
/* The value of "key=" in a command line, copied into out; 0 if absent. */
int probe_cmdline_get(const char *cmdline, const char *key, char *out, size_t outsz);

void put_str(const char *s);
void put_hex(uint64_t v);
void put_dec(uint64_t v);
/* "key 0xVALUE\n" */
void put_kv_hex(const char *key, uint64_t v);
void put_kv_dec(const char *key, uint64_t v);

/*
 * Halts for ever: with interrupts off (Linux's halt; lbx-vmm's halt watch
 * must end the machine) or on, every interrupt source masked (idle: the
 * machine must keep running).
 */
__attribute__((noreturn)) void probe_halt(bool irq_on);
/* Ends the machine through the i8042 (lbx-vmm exits 0). */
__attribute__((noreturn)) void probe_reset(void);
/* Ends it with a triple fault (no IDT, then an exception). */
__attribute__((noreturn)) void probe_triple_fault(void);

/* What the boot protocol handed us. */
struct probe_boot {
	enum probe_protocol protocol;
	uint64_t info;
	const char *cmdline;
};

void probe_bootinfo(const struct probe_boot *b);
void probe_virtio(const struct probe_boot *b);
void probe_blk(const struct probe_boot *b);

#endif

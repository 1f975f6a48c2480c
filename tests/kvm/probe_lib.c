/* SPDX-License-Identifier: MIT */
#include "probe.h"

#define COM1 0x3f8

void *memset(void *d, int c, size_t n)
{
	volatile uint8_t *p = d;

	while (n--)
		*p++ = (uint8_t)c;
	return d;
}

void *memcpy(void *d, const void *s, size_t n)
{
	volatile uint8_t *p = d;
	const uint8_t *q = s;

	while (n--)
		*p++ = *q++;
	return d;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const uint8_t *p = a, *q = b;

	for (; n; n--, p++, q++)
		if (*p != *q)
			return *p - *q;
	return 0;
}

size_t strlen(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}

int probe_cmdline_get(const char *c, const char *key, char *out, size_t outsz)
{
	size_t klen = strlen(key);

	for (size_t i = 0; c[i]; i++) {
		size_t n = 0;

		if ((i && c[i - 1] != ' ') || memcmp(c + i, key, klen) || c[i + klen] != '=')
			continue;
		for (const char *v = c + i + klen + 1; *v && *v != ' ' && n + 1 < outsz; v++)
			out[n++] = *v;
		out[n] = 0;
		return 1;
	}
	return 0;
}

static void put_char(char c)
{
	/* Wait for THR empty (LSR bit 5), as an 8250 driver does. */
	while (!(inb(COM1 + 5) & 0x20))
		;
	outb(COM1, (uint8_t)c);
}

void put_str(const char *s)
{
	while (*s)
		put_char(*s++);
}

void put_hex(uint64_t v)
{
	char buf[19];
	int i = 18;

	buf[i] = 0;
	do {
		buf[--i] = "0123456789abcdef"[v & 0xf];
		v >>= 4;
	} while (v);
	buf[--i] = 'x';
	buf[--i] = '0';
	put_str(buf + i);
}

void put_dec(uint64_t v)
{
	char buf[21];
	int i = 20;

	buf[i] = 0;
	do {
		buf[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	put_str(buf + i);
}

void put_kv_hex(const char *key, uint64_t v)
{
	put_str(key);
	put_str(" ");
	put_hex(v);
	put_str("\n");
}

void put_kv_dec(const char *key, uint64_t v)
{
	put_str(key);
	put_str(" ");
	put_dec(v);
	put_str("\n");
}

void probe_reset(void)
{
	put_str("probe: reset\n");
	outb(0x64, 0xfe);
	/* QEMU's microvm has no i8042: its isa-debug-exit device (benchmarks) ends it. */
	outb(0xf4, 0);
	for (;;)
		__asm__ volatile("hlt");
}

void probe_halt(bool irq_on)
{
	if (!irq_on) {
		put_str("probe: halting, interrupts off\n");
		for (;;)
			__asm__ volatile("cli; hlt");
	}
	/* Both 8259s masked; the IOAPIC starts masked and no LAPIC timer runs. */
	outb(0x21, 0xff);
	outb(0xa1, 0xff);
	put_str("probe: idle, interrupts on\n");
	for (;;)
		__asm__ volatile("sti; hlt");
}

void probe_triple_fault(void)
{
	static const struct __attribute__((packed)) {
		uint16_t limit;
		uint64_t base;
	} no_idt = { 0, 0 };

	put_str("probe: triple fault\n");
	/* With an empty IDT every exception escalates: #UD -> #DF -> shutdown. */
	__asm__ volatile("lidt %0\n\tud2" : : "m"(no_idt));
	for (;;)
		;
}

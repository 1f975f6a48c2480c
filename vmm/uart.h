/* SPDX-License-Identifier: MIT */
/*
 * An 8250/16550A UART on COM1, as far as Linux's 8250 driver and early
 * console use it: transmit, receive from the host, divisor latch, FIFO
 * control (so the driver detects a 16550A), loopback (the driver's probe
 * test), scratch register, and the THRE and receive interrupts on IRQ 4
 * as a level the in-kernel irqchip sees.
 */
#ifndef VMM_UART_H
#define VMM_UART_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VMM_UART_RX_SIZE 256

struct vmm_uart {
	pthread_mutex_t lock;
	int out_fd;
	uint8_t ier, lcr, mcr, scr, fcr, dll, dlm;
	bool thri_pending;	/* THR empty interrupt, cleared by reading IIR */
	uint8_t rx[VMM_UART_RX_SIZE];
	unsigned rx_head, rx_len;
	/* Interrupt line: called with the new level under the lock. */
	void (*set_irq)(void *ctx, int level);
	void *irq_ctx;
	int irq_level;
};

void vmm_uart_init(struct vmm_uart *u, int out_fd, void (*set_irq)(void *, int), void *ctx);
/* The iobus handler for ports base..base+7. */
void vmm_uart_io(void *dev, uint64_t offset, uint8_t *data, unsigned len, bool is_write);
/* Queue host input for the guest; returns bytes accepted. */
size_t vmm_uart_input(struct vmm_uart *u, const uint8_t *buf, size_t len);

#endif

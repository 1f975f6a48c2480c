/* SPDX-License-Identifier: MIT */
#include "uart.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

/* Register offsets and bits, from the 16550A data sheet (and Linux's serial_reg.h). */
enum { RBR_THR = 0, IER = 1, IIR_FCR = 2, LCR = 3, MCR = 4, LSR = 5, MSR = 6, SCR = 7 };
#define IER_RDI 0x01
#define IER_THRI 0x02
#define IIR_NONE 0x01
#define IIR_THRI 0x02
#define IIR_RDI 0x04
#define IIR_FIFO 0xc0
#define FCR_ENABLE 0x01
#define FCR_CLEAR_RX 0x02
#define LCR_DLAB 0x80
#define MCR_DTR 0x01
#define MCR_RTS 0x02
#define MCR_OUT1 0x04
#define MCR_OUT2 0x08
#define MCR_LOOP 0x10
#define LSR_DR 0x01
#define LSR_THRE 0x20
#define LSR_TEMT 0x40
#define MSR_CTS 0x10
#define MSR_DSR 0x20
#define MSR_RI 0x40
#define MSR_DCD 0x80

void vmm_uart_init(struct vmm_uart *u, int out_fd, void (*set_irq)(void *, int), void *ctx)
{
	memset(u, 0, sizeof(*u));
	pthread_mutex_init(&u->lock, NULL);
	u->out_fd = out_fd;
	u->set_irq = set_irq;
	u->irq_ctx = ctx;
	u->mcr = MCR_OUT2;
	u->dll = 12; /* 9600 baud */
}

static uint8_t iir(const struct vmm_uart *u)
{
	uint8_t fifo = (u->fcr & FCR_ENABLE) ? IIR_FIFO : 0;

	if ((u->ier & IER_RDI) && u->rx_len)
		return fifo | IIR_RDI;
	if ((u->ier & IER_THRI) && u->thri_pending)
		return fifo | IIR_THRI;
	return fifo | IIR_NONE;
}

static void update_irq(struct vmm_uart *u)
{
	int level = !(iir(u) & IIR_NONE);

	if (level != u->irq_level && u->set_irq) {
		u->irq_level = level;
		u->set_irq(u->irq_ctx, level);
	}
}

static void transmit(struct vmm_uart *u, uint8_t c)
{
	if (u->mcr & MCR_LOOP) {
		if (u->rx_len < VMM_UART_RX_SIZE)
			u->rx[(u->rx_head + u->rx_len++) % VMM_UART_RX_SIZE] = c;
	} else if (u->out_fd >= 0) {
		while (write(u->out_fd, &c, 1) < 0 && errno == EINTR)
			;
	}
	u->thri_pending = true; /* the byte left at once: THR is empty again */
}

/* In loopback, MSR reflects MCR: DTR->DSR, RTS->CTS, OUT1->RI, OUT2->DCD. */
static uint8_t msr(const struct vmm_uart *u)
{
	uint8_t m = u->mcr;

	if (!(m & MCR_LOOP))
		return MSR_DCD | MSR_DSR | MSR_CTS;
	return (m & MCR_DTR ? MSR_DSR : 0) | (m & MCR_RTS ? MSR_CTS : 0) |
	       (m & MCR_OUT1 ? MSR_RI : 0) | (m & MCR_OUT2 ? MSR_DCD : 0);
}

static uint8_t read_reg(struct vmm_uart *u, unsigned reg)
{
	uint8_t v;

	switch (reg) {
	case RBR_THR:
		if (u->lcr & LCR_DLAB)
			return u->dll;
		if (!u->rx_len)
			return 0;
		v = u->rx[u->rx_head];
		u->rx_head = (u->rx_head + 1) % VMM_UART_RX_SIZE;
		u->rx_len--;
		return v;
	case IER:
		return (u->lcr & LCR_DLAB) ? u->dlm : u->ier;
	case IIR_FCR:
		v = iir(u);
		if ((v & 0x0f) == IIR_THRI)
			u->thri_pending = false; /* reading IIR acknowledges THRE */
		return v;
	case LCR:
		return u->lcr;
	case MCR:
		return u->mcr;
	case LSR:
		return LSR_THRE | LSR_TEMT | (u->rx_len ? LSR_DR : 0);
	case MSR:
		return msr(u);
	default:
		return u->scr;
	}
}

static void write_reg(struct vmm_uart *u, unsigned reg, uint8_t v)
{
	switch (reg) {
	case RBR_THR:
		if (u->lcr & LCR_DLAB)
			u->dll = v;
		else
			transmit(u, v);
		break;
	case IER:
		if (u->lcr & LCR_DLAB) {
			u->dlm = v;
		} else {
			/* Enabling THRI with THR empty raises it at once, as a 16550 does. */
			if ((v & IER_THRI) && !(u->ier & IER_THRI))
				u->thri_pending = true;
			u->ier = v & 0x0f;
		}
		break;
	case IIR_FCR:
		u->fcr = v & (FCR_ENABLE | 0xc0);
		if (v & FCR_CLEAR_RX)
			u->rx_len = 0;
		break;
	case LCR:
		u->lcr = v;
		break;
	case MCR:
		u->mcr = v & 0x1f;
		break;
	case SCR:
		u->scr = v;
		break;
	default:
		break; /* LSR and MSR are read-only */
	}
}

void vmm_uart_io(void *dev, uint64_t offset, uint8_t *data, unsigned len, bool is_write)
{
	struct vmm_uart *u = dev;

	if (len != 1 || offset > SCR) {
		if (!is_write)
			memset(data, 0xff, len);
		return;
	}
	pthread_mutex_lock(&u->lock);
	if (is_write)
		write_reg(u, (unsigned)offset, data[0]);
	else
		data[0] = read_reg(u, (unsigned)offset);
	update_irq(u);
	pthread_mutex_unlock(&u->lock);
}

size_t vmm_uart_input(struct vmm_uart *u, const uint8_t *buf, size_t len)
{
	size_t n = 0;

	pthread_mutex_lock(&u->lock);
	while (n < len && u->rx_len < VMM_UART_RX_SIZE)
		u->rx[(u->rx_head + u->rx_len++) % VMM_UART_RX_SIZE] = buf[n++];
	update_irq(u);
	pthread_mutex_unlock(&u->lock);
	return n;
}

/* SPDX-License-Identifier: MIT */
/*
 * Probe guest entry points, one per boot protocol lbx-vmm implements:
 *   _start     64-bit Linux boot protocol (boot.rst): long mode, paging on,
 *              %rsi = zero page. We keep the VMM's GDT and page tables.
 *   pvh_start  PVH (Xen HVM direct boot ABI): 32-bit flat protected mode,
 *              paging off, %ebx = hvm_start_info. We build our own page
 *              tables and GDT and switch to long mode, as Linux's
 *              arch/x86/platform/pvh/head.S does.
 * Both call probe_main(info, protocol) on a stack of our own.
 */
	.section .note.Xen, "a", @note
	.p2align 2
	.long 4			/* namesz */
	.long 4			/* descsz */
	.long 18		/* XEN_ELFNOTE_PHYS32_ENTRY */
	.asciz "Xen"
	.long pvh_start

	.section .text.start, "ax"
	.code64
	.globl _start
_start:
	lea stack_top(%rip), %rsp
	mov %rsi, %rdi
	xor %esi, %esi
	call probe_main
1:	hlt
	jmp 1b

	.code32
	.globl pvh_start
pvh_start:
	mov $stack_top, %esp
	mov %ebx, %ebp
	/*
	 * pml4[0] -> pdpt, pdpt[0..3] -> four page directories, pd[i] = 2 MiB
	 * page i: the low 4 GiB, so the virtio-mmio windows are reachable.
	 */
	mov $pdpt, %eax
	or $3, %eax
	mov %eax, pml4
	xor %ecx, %ecx
1:	mov %ecx, %eax
	shl $12, %eax
	add $pd, %eax
	or $3, %eax
	mov %eax, pdpt(,%ecx,8)
	inc %ecx
	cmp $4, %ecx
	jne 1b
	xor %ecx, %ecx
2:	mov %ecx, %eax
	shl $21, %eax
	or $0x83, %eax
	mov %eax, pd(,%ecx,8)
	inc %ecx
	cmp $2048, %ecx
	jne 2b
	lgdt gdt_desc
	mov %cr4, %eax
	or $0x20, %eax		/* PAE */
	mov %eax, %cr4
	mov $pml4, %eax
	mov %eax, %cr3
	mov $0xc0000080, %ecx	/* EFER */
	rdmsr
	or $0x100, %eax		/* LME */
	wrmsr
	mov %cr0, %eax
	or $0x80000001, %eax	/* PG | PE */
	mov %eax, %cr0
	ljmp $0x10, $pvh64

	.code64
pvh64:
	mov $0x18, %ax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %ss
	lea stack_top(%rip), %rsp
	mov %ebp, %edi
	mov $1, %esi
	call probe_main
3:	hlt
	jmp 3b

	.section .rodata
	.p2align 3
gdt:
	.quad 0
	.quad 0
	.quad 0x00af9b000000ffff	/* 0x10: 64-bit code */
	.quad 0x00cf93000000ffff	/* 0x18: data */
gdt_end:
gdt_desc:
	.word gdt_end - gdt - 1
	.long gdt

	.section .bss
	.p2align 12
pml4:	.skip 4096
pdpt:	.skip 4096
pd:	.skip 4096 * 4
	.p2align 4
	.skip 16384
stack_top:

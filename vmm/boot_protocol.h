/* SPDX-License-Identifier: MIT */
/*
 * The kernel entry protocol --boot chooses (cli.c). Only x86_64 has more
 * than one (x86/boot.c); arm64 enters an Image one way (booting.rst) and
 * ignores the choice.
 */
#ifndef VMM_BOOT_PROTOCOL_H
#define VMM_BOOT_PROTOCOL_H

enum vmm_boot_protocol {
	VMM_BOOT_AUTO,	  /* PVH if the ELF has the note, else 64-bit Linux */
	VMM_BOOT_LINUX64, /* boot.rst 64-bit boot protocol, %rsi = zero page */
	VMM_BOOT_PVH,	  /* 32-bit PVH entry, %ebx = hvm_start_info */
};

#endif
